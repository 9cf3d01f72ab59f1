#!/usr/bin/perl
# The glue files are layers (README, "Layout"): each includes only its own
# header, mod_memwatch_private.h and the headers of files below it, so no
# file calls back up and there is no circle. Prints each include that
# breaks this and exits 1; 0 when there is none.
use strict;
use warnings;

my @order = qw(config cgroup children table mapping leave retire sample parent
               status);
my %rank = map { $order[$_] => $_ + 1 } 0 .. $#order;
$rank{''} = @order + 1;                 # mod_memwatch.c, on top

sub rank_of {
    my ($file) = @_;
    my ($concern) = $file =~ /^mod_memwatch_?(\w*)\.[ch]$/ or return;
    return $rank{$concern};
}

my $bad = 0;
for my $file (sort glob 'mod_memwatch*.[ch]') {
    next if $file eq 'mod_memwatch_private.h';
    my $mine = rank_of($file) // die "$file: not in the layering\n";
    open my $fh, '<', $file or die "$file: $!\n";
    while (<$fh>) {
        my ($inc) = /^#include "(mod_memwatch\w*\.h)"/ or next;
        next if $inc eq 'mod_memwatch_private.h'
             || ($file =~ /\.c$/ && $inc eq ($file =~ s/\.c$/.h/r));
        my $theirs = rank_of($inc) // die "$inc: not in the layering\n";
        next if $theirs < $mine;
        print "$file includes $inc, which is not below it\n";
        $bad++;
    }
}
exit($bad ? 1 : 0);
