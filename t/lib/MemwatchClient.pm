package MemwatchClient;

# Small helpers the tests share: a keep-alive connection of their own (so
# consecutive requests stay on one child), one request on it, a child by
# pid in /memwatch?json, and polling a condition with a deadline.

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use MemwatchLoad;

our @EXPORT_OK = qw(conn req child_of poll);

sub conn {
    my ($host, $port) = @_;
    IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => 10)
        or die "connect $host:$port: $!";
}

# GET on an open connection: { status, close, body }; dies on a failure.
sub req {
    my ($sock, $path) = @_;
    print $sock "GET $path HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    my ($r, $err) = MemwatchLoad::read_response($sock);
    die "request $path: $err" unless $r;
    return $r;
}

sub child_of {
    my ($j, $pid) = @_;
    my ($c) = grep { $_->{pid} == $pid } @{ $j->{children} };
    return $c;
}

# $cond->() until it returns true (its value) or $timeout seconds pass.
sub poll {
    my ($timeout, $cond) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $v = eval { $cond->() };
        return $v if $v;
        sleep 0.05;
    }
    return;
}

1;
