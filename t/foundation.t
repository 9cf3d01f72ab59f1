# The foundation against the Apache::Test server: exact request counts,
# pool sizes that follow allocations, RSS that agrees with the kernel, the
# four formats, escaping of what a request controls, hostile query
# strings, the mod_status section and the history ring.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestRequest qw(GET HEAD);
use Apache::TestUtil;
use File::Temp qw(tempfile);
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(time sleep);
use MemwatchClient qw(child_of poll);

plan tests => 31, need_module 'memwatch_test';

my $hostport = Apache::TestRequest::hostport();
my ($host, $port) = split /:/, $hostport;

sub conn { MemwatchClient::conn($host, $port) }
sub req { MemwatchClient::req(@_) }

sub json { decode_json(GET('/memwatch?json')->content) }

sub vmrss {
    my $pid = shift;
    open my $fh, '<', "/proc/$pid/status" or return;
    while (<$fh>) { return $1 * 1024 if /^VmRSS:\s+(\d+) kB/ }
    return;
}

# ---- counts --------------------------------------------------------------
{
    my $before = json()->{totals};
    GET('/mw/hello') for 1 .. 50;
    # The ?json request that took `before` is counted once its pool is
    # gone, like every other request: so 50 + 1 more.
    # Each ?json that polls is counted too, but not in its own answer.
    my $want = $before->{requests} + 51;
    my ($polls, $n) = (0, 0);
    poll(10, sub {
        $n = json()->{totals}{requests} - $polls++;
        return $n >= $want;
    });
    ok t_cmp($n, $want, 'request count is exact after 50 requests');
    ok t_cmp(json()->{totals}{connections} > $before->{connections} ? 1 : 0, 1,
             'connections are counted');
}

# ---- pools ---------------------------------------------------------------
{
    my $j = json();
    ok t_cmp($j->{pools}{available} ? 1 : 0, 1,
             'pool sizes are available on this APR');
    # Larger than anything the other tests allocate from a request pool.
    my $s = conn();
    my ($pid) = req($s, '/mw/info')->{body} =~ /pid=(\d+)/;
    req($s, '/mw/rpool?kb=4096');
    req($s, '/mw/hello');
    close $s;
    my $peak = child_of(json(), $pid)->{request_pool_peak_bytes} // 0;
    ok t_cmp($peak >= 4 * 1048576 && $peak < 5 * 1048576 ? 1 : 0, 1,
             "request pool peak follows a 4 MiB allocation from r->pool ($peak)");

    $s = conn();
    req($s, '/mw/info')->{body} =~ /pid=(\d+)/ and $pid = $1;
    req($s, '/mw/cpool?kb=16') for 1 .. 10;
    req($s, '/mw/hello');
    my $growth = poll(10, sub {
        my $c = child_of(json(), $pid);
        return $c && $c->{connection_pool_growth_bytes} >= 9 * 16 * 1024
            ? $c->{connection_pool_growth_bytes} : 0;
    });
    ok t_cmp($growth ? 1 : 0, 1,
             'connection pool growth over one keep-alive connection follows '
             . '10 x 16 KiB from c->pool (' . ($growth // 'none') . ')');
    my $c = child_of(json(), $pid);
    ok t_cmp($c->{connection_pool_peak_bytes} >= 10 * 16 * 1024 ? 1 : 0, 1,
             'connection pool peak is at least what was allocated');
    close $s;
}

# ---- RSS -----------------------------------------------------------------
{
    my $s = conn();
    my ($pid) = req($s, '/mw/info')->{body} =~ /pid=(\d+)/;
    my $before = child_of(json(), $pid);
    req($s, '/mw/leak?kb=16384');
    req($s, '/mw/hello');
    my $after = child_of(json(), $pid);
    my $grew = $after->{rss_bytes} - $before->{rss_bytes};
    t_debug("rss of $pid grew by $grew after a 16 MiB leak");
    ok t_cmp($grew >= 15 * 1048576 ? 1 : 0, 1,
             'RSS grows by what the handler leaked');
    ok t_cmp($after->{rss_peak_bytes} >= $after->{rss_bytes} ? 1 : 0, 1,
             'peak is at least the current RSS');
    # The child is idle now: its last sample and the kernel must agree.
    my $kernel = vmrss($pid);
    my $diff = abs($kernel - $after->{rss_bytes});
    t_debug("pid $pid: memwatch $after->{rss_bytes}, VmRSS $kernel");
    ok t_cmp($diff <= 1048576 || $diff <= 0.05 * $kernel ? 1 : 0, 1,
             'RSS agrees with /proc/PID/status VmRSS');
    # The split is read at most every second, at the end of a request.
    my $priv = poll(10, sub {
        req($s, '/mw/hello');
        my $c = child_of(json(), $pid);
        return ($c->{private_bytes} // 0) >= 15 * 1048576 ? $c : 0;
    });
    ok t_cmp($priv && $priv->{private_bytes} >= 15 * 1048576
             && $priv->{private_bytes} <= $priv->{rss_bytes} ? 1 : 0, 1,
             'private memory is known and holds the leak');
    ok t_cmp($priv && defined $priv->{shared_bytes} ? 1 : 0, 1,
             'shared memory is known');
    close $s;
}

# ---- formats -------------------------------------------------------------
{
    my $res = GET('/memwatch?json');
    ok t_cmp($res->header('Content-Type'), qr{^application/json}, 'JSON type');
    my $j = eval { decode_json($res->content) };
    ok t_cmp($j && ref $j->{children} eq 'ARRAY' && @{ $j->{children} } ? 1 : 0,
             1, 'JSON parses, with children');
    my @keys = qw(slot pid generation started requests connections rss_bytes
                  rss_peak_bytes baseline_rss_bytes growth_bytes private_bytes
                  shared_bytes request_pool_peak_bytes request_pool_mean_bytes
                  connection_pool_peak_bytes state verdict history);
    my @missing = grep { !exists $j->{children}[0]{$_} } @keys;
    ok t_cmp("@missing", '', 'each child has every documented key');

    $res = GET('/memwatch?prometheus');
    ok t_cmp($res->header('Content-Type'), qr{^text/plain; version=0\.0\.4},
             'Prometheus type');
    my ($fh, $file) = tempfile(UNLINK => 1);
    print $fh $res->content;
    close $fh;
    my $check = `promtool check metrics < $file 2>&1`;
    ok t_cmp($?, 0, "promtool check metrics passes: $check");
    ok t_cmp($res->content, qr/^memwatch_child_rss_bytes\{slot="\d+"\} \d+$/m,
             'per-child RSS series labelled by slot');

    my $auto = GET('/memwatch?auto')->content;
    my @bad = grep { !/^[A-Za-z0-9_]+: \S/ } split /\n/, $auto;
    ok t_cmp(scalar(@bad), 0, '?auto: every line is "Key: value"');
    ok t_cmp($auto, qr/^TotalRSS: \d+$/m, '?auto has TotalRSS');

    my $html = GET('/memwatch?refresh=5')->content;
    ok t_cmp($html, qr{<meta http-equiv="refresh" content="5">}, '?refresh=5');
    ok t_cmp($html, qr{<svg class="chart"}, 'HTML has the chart');
    my $slot = $j->{children}[0]{slot};
    my $pid = $j->{children}[0]{pid};
    ok t_cmp(GET("/memwatch?child=$slot")->content, qr/pid $pid</,
             'the detail view of a child');
    ok t_cmp(HEAD('/memwatch?json')->code, 200, 'HEAD works');
}

# ---- escaping and hostile input -------------------------------------------
{
    # A raw path with markup: attribution records it (the request grew).
    my $s = conn();
    my $r = req($s, '/mw/<script>alert(1)</leak?kb=2048');
    close $s;
    my $html = poll(10, sub {
        my $h = GET('/memwatch')->content;
        return $h =~ /&lt;script&gt;/ ? $h : 0;
    }) || '';
    ok t_cmp($html =~ /&lt;script&gt;alert\(1\)/ ? 1 : 0, 1,
             'a hostile URL prefix is shown escaped');
    ok t_cmp($html =~ /<script>/ ? 1 : 0, 0, 'and never raw');
    my $json = GET('/memwatch?json')->content;
    ok t_cmp($json =~ /<script>/ ? 1 : 0, 0, 'nor raw in JSON');

    my @hostile = ('bogus', 'json=1', 'refresh=-1', 'refresh=abc',
                   'child=99999999999999', 'x' x 10000, '%00', '&&&&',
                   '<script>', 'json&auto&prometheus&refresh=1&child=0&zz');
    my @codes = map { GET("/memwatch?$_")->code } @hostile;
    ok t_cmp(join(',', grep { $_ != 400 && $_ != 200 && $_ != 414 } @codes), '',
             'hostile query strings get 400 (or 200), never a server error: '
             . join(',', @codes));
    ok t_cmp(GET('/memwatch?json')->code, 200, 'and the server still answers');
}

# ---- mod_status section and history -----------------------------------------
{
    my $auto = GET('/server-status?auto')->content;
    ok t_cmp($auto, qr/^MemwatchTotalRSS: \d+$/m,
             '/server-status?auto has the memwatch lines');
    ok t_cmp(GET('/server-status')->content, qr/Memory \(mod_memwatch\)/,
             '/server-status HTML has the memwatch section');

    my $c = poll(20, sub {
        GET('/mw/hello');
        my ($h) = grep { @{ $_->{history} } >= 3 } @{ json()->{children} };
        return $h;
    });
    my @t = $c ? map { $_->{time} } @{ $c->{history} } : ();
    my $increasing = @t >= 3 && !grep { $t[$_] <= $t[$_ - 1] } 1 .. $#t;
    ok t_cmp($increasing ? 1 : 0, 1,
             'a child keeps a history of samples with increasing times');
}
