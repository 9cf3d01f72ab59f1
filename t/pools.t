# Pool sizes follow what handlers allocate: the request pool peak follows
# an allocation from r->pool, the connection pool growth follows repeated
# allocations from c->pool on one keep-alive connection.
#
# Each part runs on one keep-alive connection (Apache::TestRequest's user
# agent with keep_alive), so /mw/info, the allocating requests and the
# ?json reads are all answered by the same child, one after another: a
# request's pool is destroyed (and measured) before the next request on the
# connection is read. Still, figures are polled, never waited for.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil;
use MemwatchClient qw(poll child_of);
use MemwatchUtil qw(get_json KiB MiB);

plan tests => 9, need_module 'memwatch_test';

my $j = get_json();
ok t_cmp($j->{pools}{available} ? 1 : 0, 1,
         'pools.available is true (stock APR 1.7)');
ok t_cmp($j->{pools}{reason}, undef, 'and no reason is given');

# ---- request pool ---------------------------------------------------------
{
    Apache::TestRequest::user_agent(reset => 1, keep_alive => 1);
    my ($pid) = GET('/mw/info')->content =~ /pid=(\d+)/;
    my $before = poll(10, sub { child_of(get_json(), $pid) });
    my $peak0 = $before->{request_pool_peak_bytes} // 0;
    my $res = GET('/mw/rpool?kb=512');
    ok t_cmp($res->content, qr/r->pool \+512 KiB/, '/mw/rpool?kb=512 answered');
    my $after = poll(10, sub {
        my $c = child_of(get_json(), $pid);
        return $c && $c->{requests} >= $before->{requests} + 2 ? $c : 0;
    });
    my $peak = $after ? $after->{request_pool_peak_bytes} // 0 : 0;
    t_debug("child $pid: request pool peak $peak0 before, $peak after "
            . "512 KiB from r->pool");
    ok t_cmp($peak >= 512 * KiB ? 1 : 0, 1,
             "request pool peak covers 512 KiB from r->pool ($peak)");
    if ($peak0 < 512 * KiB) {
        # The peak was set by this request: it must be the pool that held
        # 512 KiB and a few pages more, not a whole allocator or pool tree.
        ok t_cmp($peak < 2 * MiB ? 1 : 0, 1,
                 "and is less than 2 MiB ($peak)");
    }
    else {
        # An earlier test made this child's peak larger already: a maximum
        # cannot show this request then, but must not have moved down.
        t_debug("peak was already $peak0: upper bound not checkable here");
        ok t_cmp($peak >= $peak0 ? 1 : 0, 1, 'the peak never goes down');
    }
    my $mean = $after ? $after->{request_pool_mean_bytes} // 0 : 0;
    ok t_cmp($mean > 0 && $mean <= $peak ? 1 : 0, 1,
             "request pool mean ($mean) is known and at most the peak");
}

# ---- connection pool --------------------------------------------------------
{
    Apache::TestRequest::user_agent(reset => 1, keep_alive => 1);
    my ($pid) = GET('/mw/info')->content =~ /pid=(\d+)/;
    my $before = poll(10, sub { child_of(get_json(), $pid) });
    my $growth0 = $before->{connection_pool_growth_bytes} // 0;
    # 10 x 16 KiB normally. If an earlier connection on this child grew its
    # pool more than that already, allocate more per request so that the
    # figure (a maximum over connections) must still move.
    my ($K, $kb) = (10, 16);
    $kb *= 2 while 9 * $kb * KiB <= $growth0;
    my $ok = grep { GET("/mw/cpool?kb=$kb")->code == 200 } 1 .. $K;
    ok t_cmp($ok, $K, "$K requests to /mw/cpool?kb=$kb on one connection");
    my $pid2 = GET('/mw/info')->content =~ /pid=(\d+)/ ? $1 : 0;
    ok t_cmp($pid2, $pid, 'all answered by the same child (one connection)');
    my $growth = poll(10, sub {
        my $c = child_of(get_json(), $pid);
        my $g = $c ? $c->{connection_pool_growth_bytes} // 0 : 0;
        return $g >= 9 * $kb * KiB ? $g : 0;
    });
    $growth //= child_of(get_json(), $pid)->{connection_pool_growth_bytes};
    t_debug("child $pid: connection pool growth $growth0 before, "
            . ($growth // 'null') . " after $K x $kb KiB");
    ok t_cmp(($growth // 0) >= 9 * $kb * KiB ? 1 : 0, 1,
             "connection_pool_growth_bytes >= 9 x $kb KiB ("
             . ($growth // 'null') . ')');
}

Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);
