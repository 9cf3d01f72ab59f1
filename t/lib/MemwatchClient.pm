package MemwatchClient;

# The tests' one HTTP/1.1 client, loopback only, and the two helpers every
# test needs around it:
#
#   conn($host, $port)            a connected socket; dies if it cannot
#   request($sock, $target, %o)   one request on it, read by read_response:
#                                 ($response, undef) or (undef, $error)
#   req($sock, $target, %o)       the same, the response or die
#   read_response($sock, %o)      the one response reader (below)
#   child_of($json, $pid)         that child's entry in /memwatch?json
#   poll($timeout, $cond)         $cond's first true value, or undef once
#                                 $timeout seconds have passed
#
# Options of request/req: method => 'HEAD', close => 1 (send "Connection:
# close"), timeout => seconds for the whole response (10), on_read => a
# sub called with the unread bytes after every read (to watch a stream),
# headers => { name => value } to send, body => bytes to send (with their
# Content-Length).
# $target is sent as it is, so it may hold bytes a URI library would
# escape.
#
# The reader is strict, as the load client (MemwatchLoad) needs it: a
# reset, a timeout, EOF before or inside a response, a status line that is
# not HTTP/1.1, a short Content-Length or chunked body, or a body with no
# length on a connection the server keeps open is an error. Chunked bodies
# are decoded. A body without length on a "Connection: close" response
# runs to EOF. The response is { status, headers (lower-case names), body,
# close (the server said Connection: close) }; non-2xx is for the caller
# to judge.

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(conn request req read_response child_of poll);

# A write to a connection the server has closed is an error that request()
# reports ("write: Broken pipe"), not a signal that ends the test silently.
$SIG{PIPE} = 'IGNORE';

sub conn {
    my ($host, $port) = @_;
    IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                          Proto => 'tcp', Timeout => 10)
        or die "connect $host:$port: $!\n";
}

sub request {
    my ($sock, $target, %o) = @_;
    my $method = $o{method} || 'GET';
    my %h = %{ $o{headers} // {} };
    $h{'Content-Length'} = length $o{body} if defined $o{body};
    my $req = "$method $target HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            . ($o{close} ? "Connection: close\r\n" : '')
            . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n"
            . ($o{body} // '');
    while (length $req) {
        my $n = syswrite($sock, $req);
        return (undef, "write: $!") unless defined $n;
        substr($req, 0, $n, '');
    }
    return read_response($sock, %o, method => $method);
}

sub req {
    my ($sock, $target, %o) = @_;
    my ($r, $err) = request($sock, $target, %o);
    die "request $target: $err\n" unless $r;
    return $r;
}

sub read_response {
    my ($sock, %o) = @_;
    my $deadline = time + ($o{timeout} // 10);
    my ($buf, $err) = ('');
    # One read onto $buf: true if it got bytes; else $err says why
    # ('eof', a read error or a timeout).
    my $read = sub {
        my $left = $deadline - time;
        unless ($left > 0 && IO::Select->new($sock)->can_read($left)) {
            $err = 'timeout';
            return 0;
        }
        my $n = sysread($sock, $buf, 65536, length $buf);
        $err = defined $n ? 'eof' : "read error: $!" unless $n;
        $o{on_read}->($buf) if $n && $o{on_read};
        return $n;
    };
    # At least $n bytes in $buf, or false.
    my $have = sub {
        my $n = shift;
        while (length($buf) < $n) {
            $read->() or return 0;
        }
        return 1;
    };
    # The next line of $buf (taken off, without its CRLF), or undef.
    my $line = sub {
        my $i;
        until (($i = index($buf, "\r\n")) >= 0) {
            $read->() or return;
        }
        my $l = substr($buf, 0, $i);
        substr($buf, 0, $i + 2, '');
        return $l;
    };
    my $fail = sub { (undef, $err eq 'eof' ? $_[0] : "$_[0] ($err)") };

    my $end;
    until (($end = index($buf, "\r\n\r\n")) >= 0) {
        $read->() or return $fail->($buf eq '' ? 'eof before response'
                                               : 'eof in headers');
    }
    my $head = substr($buf, 0, $end);
    substr($buf, 0, $end + 4, '');
    my ($status) = $head =~ m{\AHTTP/1\.1 (\d{3})}
        or return (undef, "bad status line: " . (split /\r\n/, $head)[0]);
    my %h;
    for (split /\r\n/, $head) {
        $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }
    my $close = ($h{connection} // '') =~ /\bclose\b/i ? 1 : 0;
    my $body = '';
    if ($o{method} && $o{method} eq 'HEAD' || $status =~ /^(1..|204|304)$/) {
        # no body
    }
    elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        while (1) {
            my $size = $line->() // return $fail->('short chunked body');
            my ($hex) = $size =~ /\A([0-9a-fA-F]{1,8})\b/
                or return (undef, "bad chunk size: $size");
            my $len = hex $hex;
            last unless $len;
            $have->($len + 2) or return $fail->('short chunked body');
            return (undef, 'chunk not followed by CRLF')
                unless substr($buf, $len, 2) eq "\r\n";
            $body .= substr($buf, 0, $len);
            substr($buf, 0, $len + 2, '');
        }
        # Trailer fields, if any, up to the empty line.
        while (1) {
            my $t = $line->() // return $fail->('short chunked body');
            last if $t eq '';
        }
    }
    elsif (defined $h{'content-length'}) {
        my $len = $h{'content-length'};
        return (undef, "bad Content-Length: $len") unless $len =~ /^\d+$/;
        $have->($len) or return $fail->('short body');
        $body = substr($buf, 0, $len);
    }
    elsif ($close) {
        1 while $read->();
        return $fail->('body up to close') unless $err eq 'eof';
        $body = $buf;
    }
    else {
        return (undef, 'no length');
    }
    return ({ status => $status, headers => \%h, body => $body,
              close => $close });
}

sub child_of {
    my ($j, $pid) = @_;
    my ($c) = grep { $_->{pid} == $pid } @{ $j->{children} };
    return $c;
}

# Never a fixed sleep: the figures appear when a request's pool is
# destroyed, which on event may be a moment after the response arrived.
# A $cond that dies counts as false.
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
