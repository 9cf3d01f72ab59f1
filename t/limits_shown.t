# Limits as they are enforced, in every format (issue 26):
# - MemwatchMaxRSS below what a fresh child holds is switched off (MW0015,
#   mw_policy_born_over): each child past warm-up shows it off
#   (max_rss_bytes null, max_rss_off true), the server shows it off with
#   the reason (JSON, the HTML page, memwatch_limit_off in Prometheus),
#   and no child carries memwatch_child_max_rss_bytes, so the near-limit
#   alert (contrib/prometheus) cannot fire on it;
# - MemwatchMaxTotalPrivate alone is a limit: the page does not say "none
#   set", and JSON and Prometheus show the budget;
# - MemwatchMaxTotalPrivate 50% is settled from the server's memory cgroup
#   (the lowest of its memory.high, its limit and MemTotal; issue 28): logged, and shown with its percentage;
# - memwatch_child_info{slot,pid,generation} joins a slot to its process.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestUtil;
use MemwatchClient qw(req poll child_of);
use MemwatchServer;

plan tests => 16, need_module 'memwatch_test';

# ---- MemwatchMaxRSS below a fresh child
{
    my $srv = MemwatchServer->new(name => 'limits-rss-off', conf => <<'EOF')->start;
MemwatchMaxRSS 1M
MemwatchWarmup 5
EOF
    my ($s, $pid) = $srv->conn_to_child;
    req($s, '/mw/hello') for 1 .. 10;
    my $c = poll(10, sub {
        my $c = child_of($srv->json, $pid);
        return $c && $c->{state} ne 'warming' ? $c : 0;
    });
    close $s;
    ok t_cmp($c ? 1 : 0, 1, "child $pid is past its warm-up");
    ok t_cmp(!defined $c->{limits}{max_rss_bytes} && $c->{limits}{max_rss_off}
             ? 1 : 0, 1, 'the child shows MemwatchMaxRSS off (null, '
             . 'max_rss_off true)');
    my $j = $srv->json;
    ok t_cmp(!defined $j->{limits}{max_rss_bytes}
             && ($j->{limits}{max_rss_off} // '') =~ /MW0015/ ? 1 : 0, 1,
             'the server shows it off, with the reason: '
             . ($j->{limits}{max_rss_off} // 'null'));
    my (undef, $html) = $srv->get('/memwatch');
    ok t_cmp($html, qr/RSS &gt; 1\.0 MiB <strong>\(off: below what a fresh child holds \(MW0015\)\)/,
             'the page says the limit is off, and why');
    my (undef, $prom) = $srv->get('/memwatch?prometheus');
    my ($slot) = $c->{slot};
    ok t_cmp($prom =~ /^memwatch_child_max_rss_bytes\{slot="$slot"\}/m ? 1 : 0,
             0, 'no memwatch_child_max_rss_bytes for the child: the '
             . 'near-limit alert cannot fire on a limit that is off');
    ok t_cmp($prom, qr/^memwatch_limit_off\{limit="max_rss"\} 1$/m,
             'memwatch_limit_off{limit="max_rss"} 1');
    ok t_cmp($prom, qr/^memwatch_child_info\{slot="$slot",pid="$pid",generation="\d+"\} 1$/m,
             'memwatch_child_info joins the slot to its pid');
    $srv->stop;
}

# ---- MemwatchMaxTotalPrivate alone
{
    my $srv = MemwatchServer->new(name => 'limits-total', conf => <<'EOF')->start;
MemwatchMaxTotalPrivate 1G
EOF
    my (undef, $html) = $srv->get('/memwatch');
    ok t_cmp($html =~ /none set/ ? 1 : 0, 0,
             'with only MemwatchMaxTotalPrivate, the page does not say '
             . '"none set"');
    ok t_cmp($html, qr/all children's private &gt; 1\.0 GiB \(now /,
             'the page shows the budget and its use');
    my $j = $srv->json;
    ok t_cmp($j->{limits}{max_total_private_bytes}, 1024 ** 3,
             'JSON limits.max_total_private_bytes');
    my (undef, $prom) = $srv->get('/memwatch?prometheus');
    ok t_cmp($prom, qr/^memwatch_max_total_private_bytes 1073741824$/m,
             'memwatch_max_total_private_bytes');
    $srv->stop;
}

# ---- MemwatchMaxTotalPrivate as a share of the machine's budget
{
    my $srv = MemwatchServer->new(name => 'limits-percent', conf => <<'EOF')->start;
MemwatchMaxTotalPrivate 50%
EOF
    my $j = $srv->json;
    my $g = $j->{cgroup} || {};
    # The lowest that is known: the group's high mark, its limit, MemTotal.
    my ($base, $of) = (undef, 'nothing');
    for (['high_bytes', $g], ['limit_bytes', $g], ['memory_total_bytes', $j]) {
        my $v = $_->[1]{$_->[0]};
        ($base, $of) = ($v, $_->[0]) if defined $v && (!defined $base || $v < $base);
    }
    ok t_cmp(defined $base ? 1 : 0, 1, "the budget's base is known: $of");
    ok t_cmp($j->{limits}{max_total_private_percent}, 50,
             'JSON limits.max_total_private_percent');
    ok t_cmp(abs(($j->{limits}{max_total_private_bytes} // 0) - ($base // 0) / 2)
             <= 1 ? 1 : 0, 1, "the budget is half of $of ("
             . ($j->{limits}{max_total_private_bytes} // 'null') . ')');
    my (undef, $html) = $srv->get('/memwatch');
    ok t_cmp($html, qr/all children's private &gt; [\d.]+ [KMGT]iB \(50%\)/,
             'the page shows the percentage beside the budget');
    open my $fh, '<', $srv->error_log or die $!;
    my $log = do { local $/; <$fh> };
    ok t_cmp($log, qr/MW0020: MemwatchMaxTotalPrivate 50% of \S+ is /,
             'the settled budget is logged (MW0020)');
    $srv->stop;
}
