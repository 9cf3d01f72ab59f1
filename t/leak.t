# Leak hunting: a handler that leaks a fixed amount per request is called
# "leaking" with the right slope; one that fills a cache once is called
# "plateau"; attribution puts the leaking handler and URL prefix on top,
# with the right growth per request from one, four or eight clients at
# once;
# random URLs cannot grow the attribution table.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestUtil;
use JSON::PP qw(decode_json);
use MemwatchClient qw(req child_of poll);
use MemwatchLoad;
use MemwatchServer;

plan tests => 13, need_module 'memwatch_test';

my $threaded = $ENV{MEMWATCH_MPM} ne 'prefork';
# One child, so every request of a connection lands in it.
my $one = $threaded
    ? "StartServers 1\nServerLimit 1\nThreadsPerChild 25\n"
      . "MinSpareThreads 1\nMaxSpareThreads 25\nMaxRequestWorkers 25\n"
    : "StartServers 1\nMinSpareServers 1\nMaxSpareServers 1\n"
      . "ServerLimit 1\nMaxRequestWorkers 1\n";

# ---- A steady leak of 4 KiB a request ------------------------------------
{
    my $srv = MemwatchServer->new(name => 'leak', mpm_conf => $one,
        conf => "MemwatchWarmup 20\nMemwatchAttributeDepth 2");
    $srv->start;
    my ($s, $pid) = $srv->conn_to_child;
    req($s, '/mw/hello') for 1 .. 30;
    req($s, '/mw/leak?kb=4') for 1 .. 3000;
    req($s, '/mw/hello') for 1 .. 20;
    my $c = child_of($srv->json, $pid);
    t_debug("verdict $c->{verdict}, $c->{growth_per_request_bytes} B/request, "
            . "$c->{trend_points} points over $c->{trend_window_requests} requests");
    ok t_cmp($c->{verdict}, 'leaking', 'a steady leak is called leaking');
    my $err = abs($c->{growth_per_request_bytes} - 4096) / 4096;
    ok t_cmp($err <= 0.20 ? 1 : 0, 1,
             sprintf('slope %.0f B/request is within 20%% of 4096 (%.1f%%)',
                     $c->{growth_per_request_bytes}, 100 * $err));
    ok t_cmp(defined $c->{growth_per_minute_bytes}
             && $c->{growth_per_minute_bytes} > 0 ? 1 : 0, 1,
             'growth per minute is reported');

    my $top = $srv->json->{attribution}[0];
    t_debug("top attribution: $top->{handler} $top->{prefix} "
            . "$top->{growth_per_request_bytes} B/request");
    ok t_cmp("$top->{handler} $top->{prefix}", 'memwatch_test /mw/leak',
             'attribution puts the leaking handler and prefix on top');
    # The entry exists from the first request after which RSS was seen to
    # grow (the heap grows in steps), so a few early requests are "other".
    # Counts are exact but where the requests a measured one stands for
    # (those since the previous measured one, docs/design.md) straddle the
    # 30 /mw/hello requests before the leaks, or the 20 after them.
    ok t_cmp($top->{requests} >= 2000 && $top->{requests} <= 3000 + 48
             ? 1 : 0, 1, "with most of its requests ($top->{requests} of 3000)");
    # At most 50 requests a second are measured, each standing for those
    # before it (docs/design.md): the known leak of 3000 x 4 KiB must still
    # be there.
    my $known = 3000 * 4096;
    t_debug(sprintf "attributed %.0f%% of the known growth",
            100 * $top->{growth_bytes} / $known);
    ok t_cmp($top->{growth_bytes} >= 0.9 * $known ? 1 : 0, 1,
             'and at least 90% of the known growth');
}

# ---- A cache filled once, then flat --------------------------------------
{
    my $srv = MemwatchServer->new(name => 'plateau', mpm_conf => $one,
        conf => "MemwatchWarmup 20");
    $srv->start;
    my ($s, $pid) = $srv->conn_to_child;
    req($s, '/mw/hello') for 1 .. 30;
    req($s, '/mw/cache?mb=32');
    req($s, '/mw/hello') for 1 .. 3000;
    my $c = child_of($srv->json, $pid);
    t_debug("verdict $c->{verdict}, growth $c->{growth_bytes}, "
            . "$c->{growth_per_request_bytes} B/request");
    ok t_cmp($c->{growth_bytes} >= 30 * 1048576 ? 1 : 0, 1,
             'the child grew by the 32 MiB cache');
    ok t_cmp($c->{verdict}, 'plateau', 'and is called plateau, not leaking');
}

# ---- Random URLs keep the attribution table bounded ----------------------
{
    my $srv = MemwatchServer->new(name => 'random', mpm_conf => $one,
        conf => "MemwatchWarmup 1\nMemwatchAttributeSlots 16");
    $srv->start;
    my $s = $srv->conn;
    # Only a measured request (at most fifty a second) takes an entry, for its
    # own prefix: random URLs in batches until one finds the table full and is
    # counted as other.
    my $j;
    my $full = poll(30, sub {
        for (1 .. 100) {
            my $rnd = join '', map { ('a' .. 'z')[rand 26] } 1 .. 12;
            req($s, "/mw/$rnd/leak?kb=16");
        }
        $j = decode_json(req($s, '/memwatch?json')->{body});
        return $j->{attribution_other}{requests};
    });
    my $n = @{ $j->{attribution} };
    t_debug("$n entries once " . ($full // 0) . " requests were other, "
            . "after $j->{children}[0]{requests} served");
    ok t_cmp($full && $n <= 16 ? 1 : 0, 1,
             "the table holds at most 16 entries ($n), the rest is other");
    # Those after the last measured one are counted by the next measured
    # request of the connection (docs/design.md): a measure is due at most
    # 30 ms after the last and goes to one of the next 8 requests of the
    # child, later on a loaded machine. Until all served so far are
    # counted, one more request at a time, and the page on the same
    # connection (prefork's one child serves no other connection while
    # this one is open).
    my $served_before = $j->{children}[0]{requests};
    my ($counted, $served);
    poll(10, sub {
        req($s, '/mw/hello');
        $j = decode_json(req($s, '/memwatch?json')->{body});
        $counted = $j->{attribution_other}{requests};
        $counted += $_->{requests} for @{ $j->{attribution} };
        $served = $j->{children}[0]{requests};
        return $counted >= $served_before;
    });
    t_debug("$counted requests counted, $served served");
    # Every request is counted once: all served before, and never more
    # than the child served.
    ok t_cmp($counted >= $served_before && $counted <= $served ? 1 : 0, 1,
             "every request counted once ($counted counted, "
             . "$served_before to $served served)");
}

# ---- Growth per request is the handler's own, alone or with company ------
# A known leak of 8 KiB a request that then takes 2 ms more (so requests
# overlap), from 1, 4 and 8 keep-alive clients at once, in one
# child (worker, event): the attribution table's growth per request for
# /mw/leak against 8 KiB. With company a measured request's RSS
# difference also holds what the others allocated meanwhile; the module
# divides it by the mean count of requests that end while one runs, and
# measures a request picked at random (docs/design.md, "Attribution").
# Within 10 %, alone or not. The estimate with company reads 2 to 6 %
# high, give or take 2 % from run to run over 8 s (docs/design.md): 16 s
# of it keeps a run from straying past 10 % by chance.
# prefork: a child for each client (the table is the server's).
sub children {
    my ($n) = @_;
    return "StartServers $n\nMinSpareServers $n\nMaxSpareServers $n\n"
         . "ServerLimit $n\nMaxRequestWorkers $n\n";
}
for my $clients (1, 4, 8) {
    my $srv = MemwatchServer->new(name => "attr-c$clients",
        mpm_conf => $threaded || $clients == 1 ? $one : children($clients),
        conf => "MemwatchWarmup 20\nMemwatchAttributeDepth 2");
    $srv->start;
    my $warm = MemwatchLoad::run(port => $srv->port, path => '/mw/hello',
                                 requests => 200, clients => $clients);
    my $r = MemwatchLoad::run(port => $srv->port,
                              path => '/mw/leak?kb=8&ms=2',
                              requests => 1_000_000,
                              seconds => $threaded && $clients > 1 ? 16 : 8,
                              clients => $clients);
    my ($row) = grep { $_->{prefix} eq '/mw/leak' }
                @{ $srv->json->{attribution} };
    my $per = $row && $row->{requests}
            ? $row->{growth_bytes} / $row->{requests} : 0;
    my $err = abs($per - 8192) / 8192;
    my $tol = 0.10;
    t_debug(sprintf "%d client(s): %d ok, %d failed; /mw/leak %.0f B a "
            . "request over %d requests (%.1f%% off)", $clients, $r->{ok},
            $r->{failed}, $per, $row ? $row->{requests} : 0, 100 * $err);
    ok t_cmp($err <= $tol ? 1 : 0, 1,
             sprintf('%d client(s): %.0f B a request attributed to /mw/leak, '
                     . 'within %d%% of 8192', $clients, $per, 100 * $tol));
    $srv->stop;
}
