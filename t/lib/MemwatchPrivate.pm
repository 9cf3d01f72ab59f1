package MemwatchPrivate;

# Private memory of a private server's children, read from /proc,
# independently of the module (t/private.t): Private_Clean + Private_Dirty
# of /proc/PID/smaps_rollup, the memory that leaves when a process exits,
# what MemwatchMaxPrivate and MemwatchMaxTotalPrivate limit.
#
#   my $bytes = MemwatchPrivate::private_bytes($pid);   # undef: gone
#   my ($seen, @ret) = MemwatchPrivate::during($srv, sub { ...load... });
#   $seen->{peak}{$pid}      the largest private memory of each child
#   $seen->{total_peak}      the largest sum over all children at one
#                            sampling instant ($seen->{total_children}:
#                            how many children that sum counted)
#   $seen->{samples}         how many sweeps over the children were made
#
# A process of its own sweeps every child of the server's parent (those
# leaving and exiting too: they still hold their memory) every 20 ms, as
# MemwatchServer::peak_rss_during does for RSS. A sweep is not atomic: a
# child may exit, or a new one start, while the others are read.

use strict;
use warnings FATAL => 'all';


sub private_bytes {
    my $pid = shift;
    open my $fh, '<', "/proc/$pid/smaps_rollup" or return;
    my ($kb, $seen) = (0, 0);
    while (defined(my $line = <$fh>)) {
        if ($line =~ /^Private_(?:Clean|Dirty):\s+(\d+) kB/) {
            $kb += $1;
            $seen++;
        }
    }
    # An exiting process may give an empty file: no figure, not zero.
    return $seen == 2 ? $kb * 1024 : undef;
}

# Sweep the server's children every $a{interval} s (0.02) while $code
# runs; ($seen, what $code returned).
sub during {
    my ($srv, $code, %a) = @_;
    return $srv->sample_during($code, sub {
        my $seen = shift;
        my ($total, $n) = (0, 0);
        for my $c ($srv->children) {
            my $p = private_bytes($c) // next;
            $total += $p;
            $n++;
            $seen->{peak}{$c} = $p if $p > ($seen->{peak}{$c} // 0);
        }
        @$seen{qw(total_peak total_children)} = ($total, $n)
            if $total > $seen->{total_peak};
        $seen->{samples}++;
    }, interval => $a{interval},
       state => { peak => {}, total_peak => 0, total_children => 0,
                  samples => 0 });
}

# The children's private memory now: (sum, { pid => bytes }).
sub total {
    my $srv = shift;
    my %p;
    for my $c ($srv->children) {
        my $b = private_bytes($c) // next;
        $p{$c} = $b;
    }
    my $sum = 0;
    $sum += $_ for values %p;
    return ($sum, \%p);
}

1;
