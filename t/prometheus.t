# Prometheus end to end, with what contrib/prometheus/ ships: a real
# Prometheus server (Debian's, installed by scripts/deps.sh) on loopback
# scrapes a private httpd through the shipped scrape config (params:
# {prometheus: [""]}, so /memwatch?prometheus=), loads the shipped alert
# rules and evaluates them; every alert expression and every query of the
# Grafana dashboard goes through its query API. promtool checks the config
# and the rules as shipped.
#
# The httpd has MemwatchMaxGrowth 8M as a dry run (jitter 0), and one
# child leaks about 8 MiB: "near its limit" must then fire (pending: the
# rule's `for` is minutes) for exactly that child's slot.
#
# Prometheus runs with its own storage in a temporary directory, a 1 s
# scrape and evaluation interval, every wait bounded; it is stopped
# (its process group) at the end. Skipped only if Prometheus is not
# installed at all.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestUtil;
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use MemwatchClient qw(conn req poll);
use MemwatchServer;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

my $PROMETHEUS = '/usr/bin/prometheus';
my $PROMTOOL   = '/usr/bin/promtool';
my $contrib    = abs_path('contrib/prometheus')
    // abs_path(Apache::Test::vars('top_dir') . '/contrib/prometheus');

plan tests => 25, need need_module('memwatch_test'),
    { "$PROMETHEUS and $PROMTOOL (scripts/deps.sh installs prometheus)"
          => (-x $PROMETHEUS && -x $PROMTOOL) };

my $MiB = 1024 * 1024;

# ---- promtool on the files as shipped ---------------------------------------
my $out = `$PROMTOOL check config $contrib/prometheus.yml 2>&1`;
ok t_cmp($? >> 8, 0, "promtool check config prometheus.yml: $out");
$out = `$PROMTOOL check rules $contrib/memwatch-rules.yml 2>&1`;
ok t_cmp($? >> 8, 0, "promtool check rules memwatch-rules.yml: $out");
my ($nrules) = $out =~ /SUCCESS: (\d+) rules found/;
ok t_cmp($nrules // 0, 11, 'eleven rules: leaking, near limit, recycle '
         . 'expected, recycling stuck, stuck in exit, table damaged, '
         . 'recycling often, near the budget, OOM kills, cgroup near its '
         . 'limit, scrape down');

# ---- the httpd ---------------------------------------------------------------
my $srv = MemwatchServer->new(name => 'prom', conf => <<'EOF')->start;
MemwatchMaxGrowth 8M
MemwatchJitter 0
MemwatchDryRun On
MemwatchWarmup 5
MemwatchHistory 60 1
MemwatchSmapsInterval 1
EOF
my ($code, $body) = $srv->get('/memwatch?prometheus=');
ok t_cmp($code, 200, '/memwatch?prometheus= (what params: {prometheus: [""]} '
         . 'asks for) answers 200');

# ---- Prometheus, with the shipped config pointed at it -------------------------
my $dir = tempdir('memwatch-prometheus-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $conf = slurp("$contrib/prometheus.yml");
my $n = 0;
$n += $conf =~ s/^(\s*scrape_interval:) \S+/$1 1s/m;
$n += $conf =~ s/^(\s*evaluation_interval:) \S+/$1 1s/m;
$n += $conf =~ s/^(\s*- )memwatch-rules\.yml$/$1$contrib\/memwatch-rules.yml/m;
$n += $conf =~ s/- targets: \["127\.0\.0\.1:80"\]/- targets: ["127.0.0.1:@{[$srv->port]}"]/;
ok t_cmp($n, 4, 'the shipped config has the four lines the test points at '
         . 'the test httpd (intervals, rule file, target)');
spew("$dir/prometheus.yml", $conf);

my $pport = MemwatchServer::free_port();
my $api = "http://127.0.0.1:$pport";
my $ppid = fork // die "fork: $!";
if (!$ppid) {
    setpgrp(0, 0);
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', "$dir/prometheus.log";
    open STDERR, '>&', \*STDOUT;
    exec $PROMETHEUS, "--config.file=$dir/prometheus.yml",
        "--storage.tsdb.path=$dir/data", "--web.listen-address=127.0.0.1:$pport",
        '--storage.tsdb.retention.time=1h', '--log.level=warn'
        or POSIX::_exit(127);
}
END { stop_prometheus() }

my $http = HTTP::Tiny->new(timeout => 10);
sub api {
    my ($path, %form) = @_;
    my $url = "$api$path" . (%form ? '?' . $http->www_form_urlencode(\%form) : '');
    my $r = $http->get($url);
    my $j = eval { decode_json($r->{content}) } // { status => "HTTP $r->{status}",
                                                     error => $r->{content} };
    return $j;
}
sub query { api('/api/v1/query', query => $_[0]) }

my $ready = poll(30, sub { $http->get("$api/-/ready")->{status} == 200 });
ok t_cmp($ready ? 1 : 0, 1, "Prometheus is ready on 127.0.0.1:$pport within 30 s")
    or print STDERR slurp("$dir/prometheus.log");

# The target is up: scraped through the shipped params.
my $target = poll(30, sub {
    my ($t) = grep { $_->{labels}{job} eq 'memwatch' }
              @{ api('/api/v1/targets')->{data}{activeTargets} || [] };
    return $t && $t->{health} eq 'up' ? $t : undef;
});
ok t_cmp($target ? $target->{health} : 'not up', 'up',
         'the memwatch target is up within 30 s');
ok t_cmp($target ? $target->{scrapeUrl} : '', qr{/memwatch\?prometheus=$},
         'scraped as /memwatch?prometheus=');

# ---- series ---------------------------------------------------------------------
my $j = $srv->json;
my $r = query('memwatch_build_info');
ok t_cmp(join(',', map { "$_->{metric}{version}/$_->{metric}{mpm}" }
                   @{ $r->{data}{result} || [] }),
         "$j->{version}/$j->{mpm}", 'memwatch_build_info: version and MPM');
# The children as JSON lists them and as the last scrape saw them: until
# a scrape has seen the same children (prefork may start one between a
# scrape and the page), at most a few scrapes.
my (@kids, %start, %lim);
poll(10, sub {
    $j = $srv->json;
    @kids = @{ $j->{children} };
    %start = map { $_->{metric}{slot} => $_->{value}[1] }
        @{ query('memwatch_child_start_time_seconds')->{data}{result} || [] };
    %lim = map { $_->{metric}{slot} => $_->{value}[1] }
        @{ query('memwatch_child_max_growth_bytes')->{data}{result} || [] };
    return !grep { ($start{$_->{slot}} // -1) != $_->{started} } @kids;
});
ok t_cmp(join(' ', map { "$_->{slot}:" . ($start{$_->{slot}} // '?') } @kids),
         join(' ', map { "$_->{slot}:$_->{started}" } @kids),
         'memwatch_child_start_time_seconds per slot, as in JSON');
ok t_cmp(join(' ', map { $lim{$_->{slot}} // '?' } @kids),
         join(' ', map { 8 * $MiB } @kids),
         'memwatch_child_max_growth_bytes: each child\'s limit (8 MiB, no jitter)');
my $tot = poll(10, sub {
    my $x = query('memwatch_pss_bytes')->{data}{result}[0];
    my $y = query('memwatch_private_bytes')->{data}{result}[0];
    return $x && $y ? [$x->{value}[1], $y->{value}[1]] : undef;
});
ok t_cmp($tot && $tot->[0] > 0 && $tot->[1] > 0 ? 1 : 0, 1,
         'memwatch_pss_bytes and memwatch_private_bytes are scraped ('
         . ($tot ? "@$tot" : 'none') . ')');
my @ex = @{ query('memwatch_child_exiting')->{data}{result} || [] };
ok t_cmp(scalar(@ex) >= 1 && !grep({ $_->{value}[1] ne '0' } @ex) ? 1 : 0, 1,
         'memwatch_child_exiting: one series per child, 0 for a serving child ('
         . scalar(@ex) . ' series)');

# ---- the rules, loaded and evaluated by Prometheus --------------------------------
my $rules = poll(20, sub {
    my @r = map { @{ $_->{rules} } }
            @{ api('/api/v1/rules', type => 'alert')->{data}{groups} || [] };
    # health is "unknown" until a rule's first evaluation.
    return (@r == ($nrules // 5) && !grep({ $_->{health} eq 'unknown' } @r))
        ? \@r : undef;
}) || [];
ok t_cmp(scalar(@$rules), $nrules // 5, 'Prometheus loaded every rule and evaluated each');
ok t_cmp(join(' ', map { "$_->{name}:$_->{health}" . ($_->{lastError} ? "($_->{lastError})" : '') }
                   grep { $_->{health} ne 'ok' } @$rules), @$rules ? '' : 'no rules',
         'every rule evaluates without error (health ok)');
# Each alert expression through the query API as well.
my @bad = grep { (query($_->{query})->{status} // '') ne 'success' } @$rules;
ok t_cmp(scalar(@$rules) . ' ' . join(' ', map { $_->{name} } @bad),
         ($nrules // 5) . ' ', 'each alert expression evaluates through /api/v1/query');

# A child near its limit: leak on one keep-alive connection past warm-up.
my $sock = conn('127.0.0.1', $srv->port);
my $pid;
for (1 .. 6) {
    ($pid) = req($sock, '/mw/info')->{body} =~ /pid=(\d+)/;
}
my $leaker = sub { MemwatchClient::child_of($srv->json, $pid) };
my $c = poll(10, sub { my $x = $leaker->(); $x && $x->{state} ne 'warming' ? $x : undef });
ok t_cmp($c ? $c->{state} : 'none', qr/^(ok|would recycle)$/,
         "child $pid is past its warm-up");
# Leak until growth is over 90% of 8 MiB (a leak may first reuse freed heap).
my $leaks = 0;
while ($leaks < 6 && ($leaker->()->{growth_bytes} // 0) < 7.5 * $MiB) {
    my $res = req($sock, '/mw/leak?kb=2048');
    die "leak: $res->{status}" unless $res->{status} == 200;
    $leaks++;
}
$c = $leaker->();
close $sock;
ok t_cmp(($c->{growth_bytes} // 0) > 0.9 * 8 * $MiB ? 1 : 0, 1,
         "child $pid grew " . int(($c->{growth_bytes} // 0) / 1024)
         . " KiB after $leaks leak(s) of 2 MiB: over 90% of 8 MiB");
my $slot = $c->{slot} // -1;
my ($near) = grep { $_->{name} eq 'MemwatchChildNearLimit' } @$rules;
$near ||= { query => 'absent(nothing)' };
my $fired = poll(20, sub {
    my @s = @{ query($near->{query})->{data}{result} || [] };
    return @s ? \@s : undef;
}) || [];
ok t_cmp(join(',', map { $_->{metric}{slot} } @$fired), $slot,
         "the near-limit expression selects slot $slot only");
ok t_cmp(sprintf('%.2f', $fired->[0] ? $fired->[0]{value}[1] : 0) >= 0.9 ? 1 : 0, 1,
         'at a ratio over 0.9 (' . ($fired->[0] ? $fired->[0]{value}[1] : 'none') . ')');
my $alert = poll(20, sub {
    my ($a) = grep { $_->{labels}{alertname} eq 'MemwatchChildNearLimit' }
              @{ api('/api/v1/alerts')->{data}{alerts} || [] };
    return $a;
});
ok t_cmp($alert ? "$alert->{state} slot $alert->{labels}{slot}" : 'no alert',
         "pending slot $slot",
         'the rule engine has MemwatchChildNearLimit pending for that slot');
my ($leaking) = grep { $_->{name} eq 'MemwatchChildLeaking' }
                map { @{ $_->{rules} } }
                @{ api('/api/v1/rules', type => 'alert')->{data}{groups} || [] };
ok t_cmp($leaking ? $leaking->{state} : 'no rule', 'inactive',
         'MemwatchChildLeaking stays inactive: one jump is not a trend');
# Where predict_linear over RSS would see a steep rise, the forecast sees
# no leak: no series, no alert.
my ($expected) = grep { $_->{name} eq 'MemwatchRecycleExpected' }
                 map { @{ $_->{rules} } }
                 @{ api('/api/v1/rules', type => 'alert')->{data}{groups} || [] };
ok t_cmp(($expected ? $expected->{state} : 'no rule') . ' '
         . scalar(@{ query('memwatch_child_seconds_to_limit')->{data}{result}
                     || [] }), 'inactive 0',
         'MemwatchRecycleExpected stays inactive: a jump has no forecast');

# ---- the Grafana dashboard's queries parse ------------------------------------------
my $dash = eval { decode_json(slurp("$contrib/grafana-dashboard.json")) };
ok t_cmp($dash ? 1 : 0, 1, 'grafana-dashboard.json is JSON' . ($@ ? ": $@" : ''));
my @exprs = map { $_->{expr} } map { @{ $_->{targets} || [] } }
            @{ $dash ? $dash->{panels} : [] };
my @broken;
for my $e (@exprs) {
    # Grafana's variables, as Grafana would fill them in.
    (my $q = $e) =~ s/\$__rate_interval/1m/g;
    $q =~ s/\$instance/.+/g;
    my $res = query($q);
    push @broken, "$e: " . ($res->{error} // $res->{status})
        unless ($res->{status} // '') eq 'success';
}
ok t_cmp(scalar(@exprs) >= 10 && !@broken ? 1 : 0, 1,
         scalar(@exprs) . ' dashboard queries, each parses and runs'
         . (@broken ? ": $broken[0]" : ''));

stop_prometheus();
$srv->stop;

sub stop_prometheus {
    return unless $ppid;
    kill 'TERM', -$ppid;
    my $deadline = time + 10;
    sleep 0.05 while waitpid($ppid, WNOHANG) == 0 && time < $deadline;
    if (kill 0, $ppid) {
        kill 'KILL', -$ppid;
        waitpid($ppid, 0);
    }
    $ppid = undef;
}

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or die "$f: $!";
    local $/;
    return scalar <$fh>;
}

sub spew {
    my ($f, $s) = @_;
    open my $fh, '>', $f or die "$f: $!";
    print $fh $s;
    close $fh or die "$f: $!";
}
