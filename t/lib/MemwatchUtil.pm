package MemwatchUtil;

# Helpers shared by the foundation tests that talk to the Apache::Test
# server (t/counts.t, t/pools.t, t/rss.t, t/formats.t, t/hostile.t,
# t/status_hook.t, t/history.t, t/restart.t).
#
#   get_json()                 GET /memwatch?json through the current
#                              Apache::TestRequest user agent, decoded
#   poll_until(sub, timeout)   sub's first true value, or undef once
#                              `timeout` seconds have passed
#   child_by_pid($j, $pid)     the entry of children[] for that pid
#   vmrss($pid)                /proc/PID/status VmRSS in bytes (undef if
#                              the process is gone)
#   proc_status($pid)          { VmSize => bytes, VmRSS => bytes, ... }
#   map_count($pid)            lines in /proc/PID/maps
#   server_addr()              (host, port) of the Apache::Test server
#   raw_connect()              a socket to the Apache::Test server
#   raw_request($sock, $target, close => 1, method => 'HEAD')
#                              send a request target as is (no escaping) and
#                              read one response: { status, headers, body }
#   exited_key($e)             identity of an exited[] entry (pid/started)

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use IO::Socket::INET;
use MemwatchClient ();
use JSON::PP ();
use Time::HiRes qw(time sleep);
use Apache::Test ();
use Apache::TestRequest ();

our @EXPORT_OK = qw(get_json poll_until child_by_pid vmrss proc_status
                    map_count server_addr raw_connect raw_request
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

# Calls $cond until it returns a true value (returned) or $timeout seconds
# pass (undef): MemwatchClient::poll, with the arguments the other way.
# Never a fixed sleep: the figures appear when a request's pool is
# destroyed, which on event may be a moment after the response arrived.
sub poll_until {
    my ($cond, $timeout) = @_;
    return MemwatchClient::poll($timeout // 10, $cond);
}

sub child_by_pid { MemwatchClient::child_of(@_) }

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

sub vmrss {
    my $st = proc_status(shift) or return;
    return $st->{VmRSS};
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

sub raw_connect {
    my ($host, $port) = server_addr();
    my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                     Proto => 'tcp', Timeout => 10)
        or die "connect $host:$port: $!\n";
    return $sock;
}

# One request on an open socket: $target is sent as is (so it may hold
# bytes a URI library would escape). Keeps the connection open unless
# $close. Returns { status, headers, body, close }; dies on a short read.
sub raw_request {
    my ($sock, $target, %o) = @_;
    my $method = $o{method} || 'GET';
    my $req = "$method $target HTTP/1.1\r\nHost: localhost\r\n"
            . ($o{close} ? "Connection: close\r\n" : '') . "\r\n";
    defined syswrite($sock, $req) or die "write: $!\n";
    my $buf = '';
    my $deadline = time + 10;
    while ($buf !~ /\r\n\r\n/) {
        die "timeout reading headers of $target\n" if time > $deadline;
        my $n = sysread($sock, $buf, 65536, length $buf);
        die "eof reading headers of $target\n" unless $n;
    }
    my ($head, $body) = split /\r\n\r\n/, $buf, 2;
    my ($status) = $head =~ m{^HTTP/1\.[01] (\d{3})}
        or die "bad status line for $target: $head\n";
    my %h;
    for (split /\r\n/, $head) {
        $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }
    my $close = ($h{connection} // '') =~ /close/i;
    if ($method eq 'HEAD' || $status == 204 || $status == 304) {
        $body = '';
    }
    elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        while ($body !~ /(?:^|\r\n)0\r\n\r\n\z/) {
            die "timeout reading $target\n" if time > $deadline;
            my $n = sysread($sock, $body, 65536, length $body);
            die "short chunked body of $target\n" unless $n;
        }
        my $plain = '';
        while ($body =~ /\G([0-9a-fA-F]+)[^\r]*\r\n/gc) {
            my $len = hex $1;
            last unless $len;
            $plain .= substr($body, pos($body), $len);
            pos($body) += $len + 2;
        }
        $body = $plain;
    }
    elsif (defined $h{'content-length'}) {
        while (length($body) < $h{'content-length'}) {
            die "timeout reading $target\n" if time > $deadline;
            my $n = sysread($sock, $body, 65536, length $body);
            die "short body of $target\n" unless $n;
        }
    }
    elsif ($close) {
        while (1) {
            die "timeout reading $target\n" if time > $deadline;
            my $n = sysread($sock, $body, 65536, length $body);
            last unless $n;
        }
    }
    return { status => $status, headers => \%h, body => $body,
             close => $close };
}

# An exited[] entry's identity: a pid may be reused, its start time not.
sub exited_key {
    my $e = shift;
    return "$e->{pid}/$e->{started}";
}

1;
