package MemwatchLoad;

# A strict HTTP/1.1 keep-alive load client for the recycling tests.
# Unlike ab, which silently retries a keep-alive connection the server
# closed without answering, every request here must get a complete 200
# response: a reset, an EOF before or inside a response, a short body or
# a non-2xx status is counted as a failure. "Connection: close" from the
# server is honoured by reconnecting for the next request. Loopback only,
# bounded in requests and time.
#
#   my $r = MemwatchLoad::run(port => $p, path => '/mw/leak?kb=64',
#                             requests => 20000, clients => 8);
#   $r->{ok}, $r->{failed}, $r->{errors} (hash of kind => count)

use strict;
use warnings FATAL => 'all';

use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(time);

sub read_response {
    my ($sock) = @_;
    my $buf = '';
    while ($buf !~ /\r\n\r\n/) {
        my $n = sysread($sock, $buf, 65536, length $buf);
        return (undef, defined $n ? ($buf eq '' ? 'eof before response'
                                                : 'eof in headers')
                                  : "read error: $!") unless $n;
    }
    my ($head, $body) = split /\r\n\r\n/, $buf, 2;
    my ($status) = $head =~ m{^HTTP/1\.1 (\d{3})} or return (undef, 'bad status line');
    my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
    my $close = $head =~ /^Connection:\s*close/mi ? 1 : 0;
    my $chunked = $head =~ /^Transfer-Encoding:\s*chunked/mi;
    if ($chunked) {
        while ($body !~ /(?:^|\r\n)0\r\n\r\n\z/) {
            my $n = sysread($sock, $body, 65536, length $body);
            return (undef, 'short chunked body') unless $n;
        }
    }
    elsif (defined $len) {
        while (length($body) < $len) {
            my $n = sysread($sock, $body, 65536, length $body);
            return (undef, 'short body') unless $n;
        }
    }
    else {
        return (undef, 'no length');
    }
    return ({ status => $status, close => $close, body => $body });
}

sub client {
    my (%a) = @_;
    my %res = (ok => 0, failed => 0, errors => {}, connections => 0,
               closes => 0);
    my ($sock, $used, $lastpid);
    my $deadline = time + $a{seconds};
    for (my $i = 0; $i < $a{requests} && time < $deadline; $i++) {
        unless ($sock) {
            $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $a{port},
                                          Timeout => 10);
            unless ($sock) {
                $res{failed}++;
                $res{errors}{"connect: $!"}++;
                next;
            }
            $res{connections}++;
            $used = 0;
        }
        my $req = "GET $a{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        unless (defined syswrite($sock, $req)) {
            $res{failed}++;
            $res{errors}{"write: $!"}++;
            undef $sock;
            next;
        }
        my ($r, $err) = read_response($sock);
        $used++;
        if (!$r) {
            $res{failed}++;
            $res{errors}{$err . ($used > 1 ? " (reused connection, last pid $lastpid)"
                                           : ' (new connection)')}++;
            undef $sock;
            next;
        }
        if ($r->{status} !~ /^2/) {
            $res{failed}++;
            $res{errors}{"status $r->{status}"}++;
        }
        else {
            $res{ok}++;
        }
        ($lastpid) = $r->{body} =~ /pid=(\d+)/;
        $lastpid //= '?';
        if ($r->{close}) {
            $res{closes}++;
            close $sock;
            undef $sock;
        }
    }
    return \%res;
}

# Run `clients` processes, each sending requests/clients requests.
sub run {
    my (%a) = @_;
    $a{clients} ||= 8;
    $a{seconds} ||= 120;
    my $per = int($a{requests} / $a{clients});
    my @kids;
    for my $c (1 .. $a{clients}) {
        pipe(my $r, my $w) or die $!;
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            close $r;
            my $res = client(%a, requests => $per);
            print $w encode_json($res);
            close $w;
            require POSIX;
            POSIX::_exit(0);
        }
        close $w;
        push @kids, [$pid, $r];
    }
    my %total = (ok => 0, failed => 0, errors => {}, connections => 0,
                 closes => 0);
    for my $k (@kids) {
        my $fh = $k->[1];
        local $/;
        my $json = <$fh>;
        waitpid $k->[0], 0;
        my $res = eval { decode_json($json) } || { failed => $per,
                                                   errors => { 'client died' => 1 } };
        $total{$_} += $res->{$_} // 0 for qw(ok failed connections closes);
        $total{errors}{$_} += $res->{errors}{$_} for keys %{ $res->{errors} };
    }
    return \%total;
}

1;
