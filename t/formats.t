# All four formats of /memwatch parse and carry the figures: JSON (JSON::PP),
# Prometheus (promtool check metrics), ?auto (mod_status style) and HTML
# (chart, a table row per child, the detail view of one child, refresh);
# HEAD answers with headers only.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestRequest qw(GET HEAD);
use Apache::TestUtil;
use File::Temp qw(tempfile);
use JSON::PP;
use MemwatchClient qw(poll);
use MemwatchUtil qw(get_json);

plan tests => 34, need_module 'memwatch_test';

Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);
GET('/mw/hello') for 1 .. 3;

# ---- JSON -----------------------------------------------------------------
my $res = GET('/memwatch?json');
ok t_cmp($res->code, 200, '?json: 200');
ok t_cmp($res->header('Content-Type'), qr{^application/json}, '?json: type');
my $j = eval { JSON::PP->new->decode($res->content) };
ok t_cmp($j ? 1 : 0, 1, 'JSON parses with JSON::PP' . ($@ ? ": $@" : ''));
$j ||= {};
my @top = qw(version mpm generation server_limit time dry_run pools
             private_shared limits totals children exited recycles
             recycles_total would_recycle_total attribution attribution_other);
ok t_cmp(join(' ', grep { !exists $j->{$_} } @top), '', 'every top-level key');
my @totals = qw(children rss_bytes rss_max_bytes private_bytes requests
                connections retiring);
ok t_cmp(join(' ', grep { !exists $j->{totals}{$_} } @totals), '',
         'every totals key');
my @kids = @{ $j->{children} || [] };
ok t_cmp(scalar(@kids) >= 1 && $j->{totals}{children} == @kids ? 1 : 0, 1,
         'totals.children (' . ($j->{totals}{children} // 'none')
         . ') is the number of children listed (' . scalar(@kids) . ')');
my @ckeys = qw(slot pid generation started requests connections rss_bytes
               rss_peak_bytes baseline_rss_bytes growth_bytes private_bytes
               shared_bytes request_pool_peak_bytes request_pool_mean_bytes
               connection_pool_peak_bytes connection_pool_growth_bytes state
               reason limits verdict growth_per_request_bytes
               growth_per_minute_bytes seconds_to_limit requests_to_limit
               pss_bytes private_time exiting);
my @missing;
for my $c (@kids) {
    push @missing, map { "$c->{slot}:$_" } grep { !exists $c->{$_} } @ckeys;
}
ok t_cmp("@missing", '', 'every child has every documented key');
my $sum = 0;
$sum += $_->{rss_bytes} for @kids;
ok t_cmp($j->{totals}{rss_bytes}, $sum, 'totals.rss_bytes is the sum over children');
# History only on request (?json&history): scrapes stay small.
my @with = grep { exists $_->{history} } @kids;
ok t_cmp(scalar(@with), 0, '?json: no child carries a history');
my $jh = get_json('history');
@with = grep { ref $_->{history} eq 'ARRAY' } @{ $jh->{children} };
ok t_cmp(scalar(@with) . ' of ' . scalar(@{ $jh->{children} }),
         scalar(@{ $jh->{children} }) . ' of ' . scalar(@{ $jh->{children} }),
         '?json&history: every child carries its history');
ok t_cmp(length(GET('/memwatch?json=&history=')->content) > 0
         && GET('/memwatch?json=&history=')->code == 200 ? 1 : 0, 1,
         '?json=&history= (key= forms) answers too');
# PSS: per child from smaps_rollup (MemwatchSmapsInterval 1), summed.
my $pss = poll(10, sub {
    my $x = get_json();
    my @k = @{ $x->{children} };
    return (@k && !grep { !defined $_->{pss_bytes} } @k) ? $x : 0;
});
my $pss_sum = 0;
$pss_sum += $_->{pss_bytes} for @{ $pss ? $pss->{children} : [] };
ok t_cmp($pss ? $pss->{totals}{pss_bytes} : 'no pss', $pss_sum,
         'totals.pss_bytes is the sum of the children\'s pss_bytes');
ok t_cmp($pss_sum > 0 && $pss_sum <= ($pss->{totals}{rss_bytes} // 0) ? 1 : 0, 1,
         "0 < PSS total ($pss_sum) <= RSS total ("
         . ($pss ? $pss->{totals}{rss_bytes} : '?') . ')');
# (absent while a child's PSS is unknown: a child may just have started)
ok t_cmp(poll(10, sub { (GET('/memwatch?auto')->content =~ /^TotalPSS: (\d+)$/m)[0] })
         // 'missing', qr/^[1-9]\d*$/, '?auto: TotalPSS');

# ---- Prometheus -------------------------------------------------------------
$res = GET('/memwatch?prometheus');
ok t_cmp($res->code, 200, '?prometheus: 200');
ok t_cmp($res->header('Content-Type'), qr{^text/plain; version=0\.0\.4(;|$)},
         '?prometheus: text/plain; version=0.0.4');
my $promtool = `sh -c 'command -v promtool'`;
chomp $promtool;
ok t_cmp($promtool ne '' ? 1 : 0, 1,
         'promtool is installed (scripts/deps.sh installs prometheus)');
my ($fh, $file) = tempfile(UNLINK => 1);
print $fh $res->content;
close $fh;
my $check = $promtool ne '' ? `$promtool check metrics < $file 2>&1` : 'no promtool';
my $rc = $promtool ne '' ? $? >> 8 : -1;
chomp $check;
ok t_cmp($rc, 0, "promtool check metrics passes" . ($check ne '' ? ": $check" : ''));
my @series = $res->content =~ /^memwatch_child_rss_bytes\{slot="\d+"\} (\d+)$/mg;
my ($nkids) = $res->content =~ /^memwatch_children (\d+)$/m;
my ($prss) = $res->content =~ /^memwatch_rss_bytes (\d+)$/m;
my $psum = 0;
$psum += $_ for @series;
ok t_cmp(scalar(@series) . " series, sum $psum", ($nkids // 'none') . " series, sum "
         . ($prss // 'none'), 'one memwatch_child_rss_bytes per child, summing '
         . 'to memwatch_rss_bytes');

# ---- ?auto ------------------------------------------------------------------
$res = GET('/memwatch?auto');
ok t_cmp($res->code, 200, '?auto: 200');
ok t_cmp($res->header('Content-Type'), qr{^text/plain}, '?auto: text/plain');
my @lines = split /\n/, $res->content;
my @bad = grep { !/^[A-Za-z0-9_]+: \S/ } @lines;
ok t_cmp(scalar(@lines) > 5 && !@bad ? 1 : 0, 1,
         '?auto: every line is "Key: value"' . (@bad ? " (not: $bad[0])" : ''));
my %auto = map { /^([^:]+): (.*)$/ } @lines;
ok t_cmp($auto{ServerMPM}, $ENV{MEMWATCH_MPM} || $j->{mpm}, '?auto: ServerMPM');
ok t_cmp(($auto{Children} // '') =~ /^[1-9]\d*$/ ? 1 : 0, 1,
         '?auto: Children (' . ($auto{Children} // 'missing') . ')');
ok t_cmp(($auto{TotalRSS} // '') =~ /^[1-9]\d*$/ ? 1 : 0, 1,
         '?auto: TotalRSS (' . ($auto{TotalRSS} // 'missing') . ')');

# ---- HTML -------------------------------------------------------------------
# One row per child: compare with a JSON snapshot taken just before and
# after the page, retried while children come or go in between.
my ($html, $rows, $want, @pids);
poll(10, sub {
    my $a = get_json();
    $res = GET('/memwatch');
    my $b = get_json();
    my $pa = join ',', sort map { $_->{pid} } @{ $a->{children} };
    my $pb = join ',', sort map { $_->{pid} } @{ $b->{children} };
    $html = $res->content;
    @pids = map { $_->{pid} } @{ $b->{children} };
    $want = @pids;
    my ($table) = $html =~ m{<table class="children">(.*?)</table>}s;
    $rows = () = ($table // '') =~ m{<tr><td><span class="sw"}g;
    return $pa eq $pb;
});
ok t_cmp($res->header('Content-Type'), qr{^text/html}, 'HTML: text/html');
ok t_cmp($html =~ /<svg\b/ ? 1 : 0, 1, 'HTML has an <svg chart');
ok t_cmp($rows, $want, "HTML: one row per child ($want)");
my @absent = grep { $html !~ m{</a></td><td>$_</td>} } @pids;
ok t_cmp("@absent", '', 'HTML: each child\'s pid in its row');

# Detail view of a live child, by its slot.
my ($slot, $pid);
my $detail = poll(10, sub {
    my $c = get_json()->{children}[0] or return 0;
    ($slot, $pid) = ($c->{slot}, $c->{pid});
    my $h = GET("/memwatch?child=$slot")->content;
    return $h =~ /Child in slot \Q$slot\E, pid \Q$pid\E\b/ ? $h : 0;
});
ok t_cmp($detail ? 1 : 0, 1, "?child=$slot shows the child in slot $slot with pid $pid");

ok t_cmp((GET('/memwatch?refresh')->content =~ m{(<meta http-equiv="refresh"[^>]*>)})[0]
         // 'none', '<meta http-equiv="refresh" content="10">',
         'a bare ?refresh reloads every 10 s, as in mod_status');
my $refresh = GET('/memwatch?refresh=5')->content;
ok t_cmp(($refresh =~ m{(<meta http-equiv="refresh"[^>]*>)})[0] // 'none',
         '<meta http-equiv="refresh" content="5">', '?refresh=5 adds a meta refresh');
ok t_cmp(GET('/memwatch')->content =~ /http-equiv="refresh"/ ? 1 : 0, 0,
         'without ?refresh there is none');

# ---- HEAD -------------------------------------------------------------------
my $head = HEAD('/memwatch?json');
ok t_cmp($head->code . ' ' . length($head->content) . ' '
         . ($head->header('Content-Type') // ''),
         qr{^200 0 application/json}, 'HEAD ?json: 200, type, no body');
