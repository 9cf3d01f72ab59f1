package MemwatchUtil;

# Helpers for the tests that talk to the Apache::Test server (t/counts.t,
# t/pools.t, t/rss.t, t/formats.t, t/hostile.t, t/status_hook.t,
# t/history.t, t/restart.t). HTTP of their own, polling and a child by pid
# are MemwatchClient's (conn, req, poll, child_of); a process's RSS and
# children MemwatchProc's.
#
#   get_json()                 GET /memwatch?json through the current
#                              Apache::TestRequest user agent, decoded
#   proc_status($pid)          { VmSize => bytes, VmRSS => bytes, ... }
#   map_count($pid)            lines in /proc/PID/maps
#   server_addr()              (host, port) of the Apache::Test server:
#                              MemwatchClient::conn(server_addr())
#   exited_key($e)             identity of an exited[] entry (pid/started)

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use JSON::PP ();
use Apache::Test ();
use Apache::TestRequest ();

our @EXPORT_OK = qw(get_json proc_status map_count server_addr
                    exited_key MiB KiB);

use constant KiB => 1024;
use constant MiB => 1024 * 1024;

sub get_json {
    my ($more) = @_;        # e.g. 'history': /memwatch?json&history
    my $url = '/memwatch?json' . (defined $more ? "&$more" : '');
    my $res = Apache::TestRequest::GET($url);
    die "GET $url: " . $res->status_line . "\n" unless $res->code == 200;
    return JSON::PP::decode_json($res->content);
}

sub proc_status {
    my $pid = shift;
    my %st;
    open my $fh, '<', "/proc/$pid/status" or return;
    # A lexical, not $_: callers may call this inside map or for.
    while (defined(my $line = <$fh>)) {
        $st{$1} = $2 * 1024 if $line =~ /^(Vm\w+|Rss\w+):\s+(\d+) kB/;
    }
    return \%st;
}

sub map_count {
    my $pid = shift;
    open my $fh, '<', "/proc/$pid/maps" or return;
    my @maps = <$fh>;
    return scalar @maps;
}

sub server_addr {
    my $vars = Apache::Test::config()->{vars};
    my $host = $vars->{servername} || 'localhost';
    $host = '127.0.0.1' if $host eq 'localhost';
    return ($host, $vars->{port});
}

# An exited[] entry's identity: a pid may be reused, its start time not.
sub exited_key {
    my $e = shift;
    return "$e->{pid}/$e->{started}";
}

1;
