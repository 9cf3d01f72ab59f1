# Resident set sizes agree with the kernel and follow what a handler
# mallocs; the private/shared split (smaps_rollup, read at most every
# MemwatchSmapsInterval = 1 s at the end of a request) becomes known; and
# an idle child's RSS on the page is fresh, not what it read at its last
# request (issue 26).
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil;
use MemwatchClient qw(poll child_of);
use MemwatchProc qw(rss);
use MemwatchUtil qw(get_json KiB MiB);

plan tests => 12, need_module 'memwatch_test';

sub close_enough {
    my ($ours, $kernel) = @_;
    my $tol = 0.05 * $kernel;
    $tol = MiB if $tol < MiB;
    return abs($ours - $kernel) <= $tol;
}

# ---- every child's rss_bytes against /proc/PID/statm -----------------------
{
    Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);
    # A child's rss_bytes is what it read at the end of its last request;
    # compare it while the children are idle. The ?json request itself is
    # served by one of them, which may change its RSS a little after that
    # child's last sample: read its RSS just before and just after the JSON,
    # and take a snapshot where every child agrees with one of the two
    # (bounded: a wrong figure never agrees).
    my @report;
    my $compared = 0;
    my $agree = poll(10, sub {
        my $pids0 = get_json();
        my %pre = map { $_->{pid} => rss($_->{pid}) } @{ $pids0->{children} };
        my $j = get_json();
        @report = ();
        $compared = 0;
        my $bad = 0;
        for my $c (@{ $j->{children} }) {
            my $pre = $pre{ $c->{pid} };
            my $post = rss($c->{pid});
            next unless defined $post;      # exited since
            $compared++;
            my $ok = close_enough($c->{rss_bytes} // 0, $post)
                || (defined $pre && close_enough($c->{rss_bytes} // 0, $pre));
            push @report, "pid $c->{pid}: memwatch " . ($c->{rss_bytes} // 'null')
                . ", kernel " . ($pre // '-') . " / $post" . ($ok ? '' : ' DIFFERS');
            $bad++ unless $ok;
        }
        return $compared && !$bad;
    });
    t_debug($_) for @report;
    ok t_cmp($compared ? 1 : 0, 1, "children to compare ($compared)");
    ok t_cmp($agree ? 1 : 0, 1,
             'every child\'s rss_bytes is within max(1 MiB, 5%) of the kernel\'s: '
             . join('; ', @report));
}

# ---- a 16 MiB malloc shows in RSS, peak and private memory -------------------
{
    # One keep-alive connection: the same child answers everything below.
    Apache::TestRequest::user_agent(reset => 1, keep_alive => 1);
    my ($pid) = GET('/mw/info')->content =~ /pid=(\d+)/;
    my $before = poll(10, sub { child_of(get_json(), $pid) });
    ok t_cmp($before && $before->{rss_bytes} > 0 ? 1 : 0, 1,
             "child $pid is listed with an RSS");
    my $res = GET('/mw/leak?kb=16384');
    ok t_cmp($res->content, qr/leaked 16384 KiB pid=$pid\b/,
             'the same child leaked 16 MiB');
    my $after = poll(10, sub {
        my $c = child_of(get_json(), $pid);
        return $c && $c->{requests} >= $before->{requests} + 2 ? $c : 0;
    });
    my $grew = $after->{rss_bytes} - $before->{rss_bytes};
    my $peak_grew = $after->{rss_peak_bytes} - $before->{rss_peak_bytes};
    t_debug("child $pid: rss $before->{rss_bytes} -> $after->{rss_bytes}, "
            . "peak $before->{rss_peak_bytes} -> $after->{rss_peak_bytes}");
    ok t_cmp($grew >= 15 * MiB ? 1 : 0, 1,
             "rss_bytes grew by >= 15 MiB ($grew)");
    # The peak grows by the leak less any transient peak the child had
    # above its RSS before (normally none: then >= 15 MiB as well).
    my $headroom = $before->{rss_peak_bytes} - $before->{rss_bytes};
    $headroom = 0 if $headroom < 0;
    ok t_cmp($peak_grew >= 15 * MiB - $headroom ? 1 : 0, 1,
             "rss_peak_bytes grew by >= 15 MiB"
             . ($headroom ? " less its earlier headroom $headroom" : '')
             . " ($peak_grew)");
    ok t_cmp($after->{rss_peak_bytes} >= $after->{rss_bytes} ? 1 : 0, 1,
             'rss_peak_bytes >= rss_bytes');

    # The split is refreshed at most every second at the end of a request;
    # each ?json on this connection is such a request.
    my $split = poll(10, sub {
        my $c = child_of(get_json(), $pid);
        return $c && defined $c->{private_bytes} && defined $c->{shared_bytes}
            && $c->{private_bytes} >= 16 * MiB ? $c : 0;
    });
    my $c = $split || child_of(get_json(), $pid);
    t_debug("child $pid: private " . ($c->{private_bytes} // 'null')
            . ", shared " . ($c->{shared_bytes} // 'null')
            . ", rss $c->{rss_bytes}");
    ok t_cmp(defined $c->{private_bytes} && defined $c->{shared_bytes} ? 1 : 0, 1,
             'private_bytes and shared_bytes are known');
    ok t_cmp($split ? 1 : 0, 1,
             'private_bytes holds the 16 MiB leak ('
             . ($c->{private_bytes} // 'null') . ')');
    ok t_cmp(($c->{private_bytes} // 0) <= $c->{rss_bytes} ? 1 : 0, 1,
             'private_bytes <= rss_bytes');
}

Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);

# ---- an idle child's RSS is fresh -----------------------------------------
# A load that grows the children (1 MiB kept per request, new connections,
# so they spread), then 3 s of quiet: every child listed must show its RSS
# of now, within 10 % or 512 KiB of the kernel's. A child reads RSS at
# most every 64 requests or 100 ms as requests end, so without a fresh
# reading the last leaks of a child would be missing from the page.
{
    Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);
    GET('/mw/leak?kb=1024') for 1 .. 40;
    sleep 3;    # the premise: three idle seconds, nothing to poll for
    my $j = get_json();
    my ($compared, @report, $bad) = (0);
    for my $c (@{ $j->{children} }) {
        my $kernel = rss($c->{pid}) // next;
        my $tol = 0.10 * $kernel;
        $tol = 512 * KiB if $tol < 512 * KiB;
        my $ok = abs(($c->{rss_bytes} // 0) - $kernel) <= $tol;
        $compared++;
        $bad++ unless $ok;
        push @report, "pid $c->{pid}: page " . ($c->{rss_bytes} // 'null')
            . ", kernel $kernel" . ($ok ? '' : ' DIFFERS');
    }
    t_debug($_) for @report;
    ok t_cmp($compared ? 1 : 0, 1, "idle children to compare ($compared)");
    ok t_cmp($bad // 0, 0, 'every idle child shows its RSS of now, within '
             . '10 % or 512 KiB: ' . join('; ', @report));
}
