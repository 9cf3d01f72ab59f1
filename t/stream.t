# A pool that grows while a long response is still flowing shows on
# /memwatch before the response ends.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil;
use JSON::PP;
use MemwatchClient qw(conn request);
use MemwatchServer;
use POSIX ();
use Time::HiRes qw(time sleep);

plan tests => 5, need_module 'memwatch_test';

my ($host, $port) = split /:/, Apache::TestRequest::hostport();

# 30 chunks, 100 ms apart, 64 KiB from r->pool before each: ~2 MiB over 3 s.
pipe(my $rd, my $wr) or die $!;
my $kid = fork // die "fork: $!";
if (!$kid) {
    close $rd;
    my $s = eval { conn($host, $port) } or POSIX::_exit(1);
    my ($r, $err) = request($s, '/mw/stream?chunks=30&ms=100&kb=64',
                            close => 1, timeout => 20);
    print $wr $r ? $r->{body} : "error: $err\n";
    close $wr;
    POSIX::_exit(0);
}
close $wr;

my ($seen, $still_running) = (0, 0);
my $deadline = time + 20;
while (time < $deadline) {
    my $j = eval { decode_json(GET('/memwatch?json')->content) } or next;
    my ($max) = sort { $b <=> $a }
                map { $_->{stream_pool_growth_bytes} // 0 } @{ $j->{children} };
    if ($max >= 512 * 1024) {
        $seen = $max;
        $still_running = waitpid($kid, POSIX::WNOHANG()) == 0;
        last;
    }
    last if waitpid($kid, POSIX::WNOHANG()) != 0;
    sleep 0.1;
}
my $out = do { local $/; <$rd> };
waitpid $kid, 0;
t_debug("stream pool growth seen: $seen");
ok t_cmp($seen >= 512 * 1024 ? 1 : 0, 1,
         'growth of the pools during a response is reported');
ok t_cmp($still_running ? 1 : 0, 1, 'while the response was still flowing');
ok t_cmp($out, qr/stream done pid=\d+/, 'and the response completed');

# MemwatchSampleStreams is Off by default: no filter, and the figure is
# unknown rather than a zero that would look like "no growth".
my $srv = MemwatchServer->new(name => 'stream-off')->start;
my ($code, $body) = $srv->get('/mw/stream?chunks=12&ms=10&kb=64');
my $j = decode_json(($srv->get('/memwatch?json'))[1]);
my @served = grep { ($_->{requests} // 0) > 0 } @{ $j->{children} };
t_debug("stream response: $code; children that served: " . @served);
ok t_cmp(scalar(grep { defined $_->{request_pool_peak_bytes} } @served)
         && $code == 200 ? 1 : 0, 1,
         'without MemwatchSampleStreams, pools are still measured');
ok t_cmp(scalar(grep { defined $_->{stream_pool_growth_bytes} }
                @{ $j->{children} }), 0,
         'and growth while streaming is unknown (null), not zero');
