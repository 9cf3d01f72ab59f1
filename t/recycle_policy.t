# The recycling policy, one behaviour at a time, each on a server of its
# own: a prompt decision, a bounded exit on an idle server, a slow request
# in flight finishing intact, dry run, jitter, MemwatchMaxRetiring 1 and
# MemwatchMinLifetime.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestUtil;
use POSIX ();
use Time::HiRes qw(time);
use MemwatchClient qw(request req child_of poll);
use MemwatchLoad;
use MemwatchServer;

plan tests => 24, need_module 'memwatch_test';

my $mpm = $ENV{MEMWATCH_MPM};
my $threaded = $mpm ne 'prefork';

# ---- 1. The decision comes at the first request over the limit ----------
# Requests are paced by a slow handler on the server (100 ms each), so the
# child is past MemwatchMinLifetime when it crosses the limit.
{
    my $srv = MemwatchServer->new(name => 'prompt', conf => join "\n",
        'MemwatchMaxGrowth 4M', 'MemwatchWarmup 2', 'MemwatchMinLifetime 1');
    $srv->start;
    my ($s, $pid) = $srv->conn_to_child;
    req($s, '/mw/hello') for 1 .. 2;
    my ($closed, $n) = (0, 0);
    while (!$closed && $n++ < 40) {
        for my $path ('/mw/slow?ms=100', '/mw/leak?kb=256') {
            $closed = req($s, $path)->{close} and last;
        }
    }
    my $j = $srv->json;
    my ($ev) = grep { $_->{pid} == $pid } @{ $j->{recycles} };
    t_debug("decided after $n leaks of 256 KiB: growth "
            . ($ev ? $ev->{growth_bytes} : 'none'));
    ok t_cmp($ev && $ev->{reason} eq 'growth' ? 1 : 0, 1,
             'the child was recycled for growth');
    # One leak past 4 MiB, plus what malloc rounds up.
    ok t_cmp($ev && $ev->{growth_bytes} <= 4 * 1048576 + 2 * 262144 ? 1 : 0, 1,
             'decided at the first request over the limit');
    ok t_cmp($closed, 1,
             'the next response on the connection said Connection: close');

    # ---- 2. On an idle server the retiring child leaves by itself --------
    # The client keeps its connection open and sends nothing more.
    my $t0 = time;
    my $gone = poll(30, sub { !kill(0, $pid) });
    my $took = time - $t0;
    t_debug(sprintf "retiring child %d left %.2f s after its last request "
                    . "on an idle server", $pid, $took);
    ok t_cmp($gone ? 1 : 0, 1, 'the retiring child left on an idle server');
    # prefork: when the client's connection ends (here: it was closed
    # by the server after the Connection: close response). worker/event:
    # the wake-up thread, within a KeepAliveTimeout (2 s) and a second.
    ok t_cmp($took <= 4 ? 1 : 0, 1, sprintf('and within 4 s (%.2f s)', $took));
    close $s;
}

# ---- 3. A slow request in flight when its child crosses finishes intact --
{
    my $one = $threaded
        ? "StartServers 1\nServerLimit 2\nThreadsPerChild 25\n"
          . "MinSpareThreads 1\nMaxSpareThreads 50\nMaxRequestWorkers 50\n"
        : "StartServers 2\nMinSpareServers 1\nMaxSpareServers 4\n"
          . "ServerLimit 4\nMaxRequestWorkers 4\n";
    my $srv = MemwatchServer->new(name => 'inflight', mpm_conf => $one,
        conf => join "\n", 'MemwatchMaxGrowth 4M', 'MemwatchWarmup 1',
                           'MemwatchMinLifetime 1');
    $srv->start;
    my ($a, $pid) = $srv->conn_to_child;
    # Older than MemwatchMinLifetime before it crosses.
    req($a, '/mw/slow?ms=1100');

    pipe(my $rd, my $wr) or die $!;
    pipe(my $started, my $started_w) or die $!;
    my $kid = fork // die;
    if (!$kid) {
        close $rd;
        close $started;
        my $told = 0;
        my ($r, $err) = request($srv->conn, '/mw/stream?chunks=20&ms=100',
                                close => 1, timeout => 30, on_read => sub {
            return if $told || $_[0] !~ /chunk 0\n/;
            syswrite $started_w, "1";
            $told = 1;
        });
        syswrite $started_w, "0" unless $told;
        # The status, then the body: the reader checked it was complete.
        print $wr $r ? "$r->{status}\n$r->{body}" : "error: $err\n";
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    close $started_w;
    # Cross the limit only once the stream is on the wire.
    sysread($started, my $flag, 1);
    my $cross = req($a, '/mw/leak?kb=6000');
    t_debug("crossing response: close=$cross->{close}");
    my $out = do { local $/; <$rd> };
    waitpid $kid, 0;
    my @chunks = $out =~ /^chunk \d+$/mg;
    my ($served_by) = $out =~ /stream done pid=(\d+)/;
    t_debug("stream served by $served_by, crossing request by $pid");
    ok t_cmp($out =~ /\A200\n/ && @chunks == 20 && defined $served_by
             ? 1 : 0, 1,
             'the slow streaming request completed intact (20 chunks)');
    if ($threaded) {
        ok t_cmp($served_by, $pid,
                 'it was served by the child that crossed the limit');
    }
    else {
        ok 1;   # prefork: one connection per child, nothing to share
    }
    my $gone = poll(30, sub { !kill(0, $pid) });
    ok t_cmp($gone ? 1 : 0, 1, 'the child left after the stream finished');
    close $a;
}

# ---- 4. Dry run decides and logs, recycles nothing ----------------------
{
    my $srv = MemwatchServer->new(name => 'dryrun', conf => join "\n",
        'MemwatchMaxGrowth 4M', 'MemwatchWarmup 1', 'MemwatchMinLifetime 1',
        'MemwatchDryRun On');
    $srv->start;
    my ($s, $pid) = $srv->conn_to_child;
    req($s, '/mw/slow?ms=1100');
    my $r = req($s, '/mw/leak?kb=6000');
    $r = req($s, '/mw/hello');
    my $j = $srv->json;
    my $c = child_of($j, $pid);
    ok t_cmp($c && $c->{state}, 'would recycle', 'state is "would recycle"');
    ok t_cmp($j->{would_recycle_total} >= 1 && $j->{recycles_total}{growth} == 0
             ? 1 : 0, 1, 'counted as would-recycle, nothing recycled');
    ok t_cmp(!$r->{close} && kill(0, $pid) ? 1 : 0, 1,
             'the child keeps serving with keep-alive');
    ok t_cmp($srv->log_count(qr/would recycle \(MemwatchDryRun\) child pid $pid/)
             ? 1 : 0, 1, 'the decision was logged');
}

# ---- 5. Jitter spreads the limits ---------------------------------------
{
    my $srv = MemwatchServer->new(name => 'jitter', conf => join "\n",
        'MemwatchMaxGrowth 10M', 'MemwatchJitter 20');
    $srv->start;
    # The children start one after the other: wait for a few of them,
    # each past its child_init (its limits drawn).
    my $children = poll(20, sub {
        my @c = grep { defined $_->{limits}{max_growth_bytes} }
                @{ $srv->json->{children} };
        return @c >= 3 ? \@c : undef;
    }) || [];
    my @lim = map { $_->{limits}{max_growth_bytes} } @$children;
    my %distinct = map { $_ => 1 } @lim;
    t_debug("jittered limits: @lim");
    ok t_cmp((grep { $_ >= 8 * 1048576 && $_ <= 12 * 1048576 } @lim) == @lim
             ? 1 : 0, 1, 'every limit within 10M +/- 20%');
    ok t_cmp(keys(%distinct) >= 2 ? 1 : 0, 1, 'children got different limits');
}

# ---- 6. MemwatchMaxRetiring 1 never lets two children retire at once ----
{
    my $srv = MemwatchServer->new(name => 'maxretiring', conf => join "\n",
        'MemwatchMaxGrowth 4M', 'MemwatchWarmup 5', 'MemwatchMinLifetime 1',
        'MemwatchMaxRetiring 1',
        # Past the ceiling MaxRetiring no longer holds: no ceiling here.
        'MemwatchCeiling off');
    $srv->start;
    my $kid = fork // die;
    if (!$kid) {
        # Long enough that recycling goes on after the generation has
        # settled (worker and event retire nobody in its first 2 s).
        MemwatchLoad::run(port => $srv->port, path => '/mw/leak?kb=16',
                          requests => 1_000_000, clients => 6, seconds => 8);
        POSIX::_exit(0);
    }
    my ($max_retiring, $waiting_seen, $snapshots) = (0, 0, 0);
    while (waitpid($kid, POSIX::WNOHANG()) == 0) {
        my $j = eval { $srv->json } or next;
        $snapshots++;
        my $n = grep { $_->{state} eq 'retiring' } @{ $j->{children} };
        $n = $j->{totals}{retiring} if $j->{totals}{retiring} > $n;
        $max_retiring = $n if $n > $max_retiring;
        $waiting_seen++ if grep { $_->{state} =~ /waiting/ } @{ $j->{children} };
    }
    my $recycled = $srv->json->{recycles_total}{growth};
    t_debug("$snapshots snapshots, $recycled recycles, waiting seen in "
            . "$waiting_seen, most retiring at once: $max_retiring");
    ok t_cmp($max_retiring <= 1 && $recycled >= 2 ? 1 : 0, 1,
             'at most one child retiring at any time, over several recycles');
    ok t_cmp($srv->crashes, 0, 'no recycled child died on a signal');
}

# ---- 7. MemwatchMinLifetime holds a young child back, with a warning ----
{
    my $srv = MemwatchServer->new(name => 'minlife', conf => join "\n",
        'MemwatchMaxGrowth 4M', 'MemwatchWarmup 1', 'MemwatchMinLifetime 300',
        'MemwatchCeiling off');
    $srv->start;
    my ($s, $pid) = $srv->conn_to_child;
    req($s, '/mw/leak?kb=6000');
    req($s, '/mw/hello');
    my $c = child_of($srv->json, $pid);
    ok t_cmp($c && $c->{state}, 'over limit (waiting)',
             'a child younger than MemwatchMinLifetime waits');
    ok t_cmp($srv->log_count(qr/MemwatchMinLifetime is 300 s: holding it back/)
             ? 1 : 0, 1, 'with a warning in the log');
}

# ---- 8. MemwatchMaxTotalPrivate retires the largest child ---------------
# The parent applies the budget in its monitor hook, every ten seconds.
{
    my $srv = MemwatchServer->new(name => 'budget', conf => join "\n",
        'MemwatchMaxTotalPrivate 40M', 'MemwatchWarmup 1',
        'MemwatchMinLifetime 1', 'MemwatchSmapsInterval 1');
    $srv->start;
    # Two connections on two different children.
    my ($big, $big_pid) = $srv->conn_to_child;
    my ($small, $small_pid) = $srv->conn_to_child($big_pid);
    req($big, '/mw/leak?kb=32768');
    req($small, '/mw/leak?kb=12288');
    # Keep both busy enough to refresh their figures and act on a request.
    my $closed = poll(40, sub {
        req($small, '/mw/hello');
        return req($big, '/mw/slow?ms=200')->{close};
    });
    my $j = $srv->json;
    my ($ev) = grep { $_->{pid} == $big_pid } @{ $j->{recycles} };
    t_debug("budget: big $big_pid " . ($ev ? "recycled for $ev->{reason}" : 'kept')
            . ", small $small_pid");
    ok t_cmp($ev && $ev->{reason}, 'total_private',
             'over MemwatchMaxTotalPrivate, the largest child was recycled');
    ok t_cmp($closed ? 1 : 0, 1, 'its connection was answered with close');
    my ($other) = grep { $_->{pid} == $small_pid } @{ $j->{recycles} };
    ok t_cmp($other ? 1 : 0, 0, 'the smaller child was left alone');
}

# ---- 9. Dry run covers MemwatchMaxTotalPrivate --------------------------
# The same budget and children as 8: the largest child is marked "would
# recycle" for total_private, logged, and keeps serving with keep-alive.
{
    my $srv = MemwatchServer->new(name => 'budget-dry', conf => join "\n",
        'MemwatchMaxTotalPrivate 40M', 'MemwatchWarmup 1',
        'MemwatchMinLifetime 1', 'MemwatchSmapsInterval 1',
        'MemwatchDryRun On');
    $srv->start;
    my ($big, $big_pid) = $srv->conn_to_child;
    my ($small, $small_pid) = $srv->conn_to_child($big_pid);
    req($big, '/mw/leak?kb=32768');
    req($small, '/mw/leak?kb=12288');
    my $closed = 0;
    my $ev = poll(40, sub {
        req($small, '/mw/hello');
        $closed ||= req($big, '/mw/slow?ms=200')->{close};
        my ($e) = grep { $_->{pid} == $big_pid }
                  @{ $srv->json->{recycles} };
        return $e;
    });
    t_debug('budget, dry run: ' . ($ev ? "$ev->{reason}, dry_run "
            . ($ev->{dry_run} ? 'true' : 'false') : 'no event'));
    ok t_cmp($ev && $ev->{reason} eq 'total_private' && $ev->{dry_run}
             ? 1 : 0, 1, 'over the budget in a dry run, the largest child '
             . 'would recycle for total_private');
    ok t_cmp(!$closed && kill(0, $big_pid) && !req($big, '/mw/hello')->{close}
             ? 1 : 0, 1, 'and keeps serving with keep-alive');
    ok t_cmp($srv->log_count(qr/would recycle \(MemwatchDryRun\) child pid $big_pid.*total_private/)
             ? 1 : 0, 1, 'the decision was logged');
}
