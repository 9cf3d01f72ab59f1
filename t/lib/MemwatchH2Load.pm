package MemwatchH2Load;

# Runs t/lib/mw_h2load.py, the strict HTTP/2 and TLS load client (see its
# header for what counts as failed, refused or held), under Debian's own
# python3, which sees python3-hpack and python3-hyperframe.
#
#   my $h = MemwatchH2Load::start(port => $p, proto => 'h2', tls => 1,
#                                 cafile => $srv->cafile, mode => 'long',
#                                 path => '/mw/leak?kb=32', seconds => 12);
#   ... while (!MemwatchH2Load::done($h, 0.5)) { watch the server }
#   my $r = MemwatchH2Load::finish($h);
#   $r->{ok}, $r->{failed}, $r->{errors}, $r->{refused}, $r->{above_last},
#   $r->{held}, $r->{p99_ms}, $r->{slow} (over 2 s), ...
#
# run(%a) is start + finish.

use strict;
use warnings FATAL => 'all';

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IO::Select;
use JSON::PP;

my $script = abs_path(dirname(__FILE__)) . '/mw_h2load.py';
my $python = $ENV{MEMWATCH_PYTHON} || '/usr/bin/python3';

sub start {
    my (%a) = @_;
    my @cmd = ($python, $script, '--port', $a{port},
               '--proto', $a{proto} || 'h2', '--mode', $a{mode} || 'long',
               '--path', $a{path} || '/', '--seconds', $a{seconds} || 10);
    push @cmd, '--tls', '--cafile', $a{cafile} if $a{tls};
    push @cmd, '--expect', $a{expect} if defined $a{expect};
    for my $k (qw(conns streams per_conn timeout slow)) {
        push @cmd, '--' . ($k =~ tr/_/-/r), $a{$k} if defined $a{$k};
    }
    my $pid = open(my $fh, '-|', @cmd) // die "cannot run $python: $!\n";
    return { fh => $fh, pid => $pid, cmd => "@cmd" };
}

# True once the client has finished (its one line of output is ready),
# waiting at most $wait seconds.
sub done {
    my ($h, $wait) = @_;
    return IO::Select->new($h->{fh})->can_read($wait) ? 1 : 0;
}

sub finish {
    my $h = shift;
    my $fh = $h->{fh};
    my $out = do { local $/; <$fh> };
    close $fh;
    my $rc = $?;
    my $r = eval { decode_json($out // '') };
    die "load client failed (exit $rc): $h->{cmd}\n" if $rc || !$r;
    return $r;
}

sub run { finish(start(@_)) }

1;
