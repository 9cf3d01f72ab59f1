# A child that hangs on its way out (a module's pchild cleanup that never
# returns, as embedded mod_wsgi's does on Python 3.11) no longer stops
# recycling: it shows as "exiting", gives its retire ticket back, and the
# parent kills it after MemwatchExitTimeout. Also for a child that left for
# MaxConnectionsPerChild, which memwatch did not recycle. On prefork the
# parent does not count it as an idle spare while it exits.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestUtil;
use MemwatchClient qw(req child_of poll);
use MemwatchServer;

plan tests => 10, need_module 'memwatch_test';

my $timeout = 3;
# The parent looks every ten seconds (the monitor hook) and counts the
# timeout from the first look that finds the child exiting, on its own
# clock: a kill comes within the timeout and twenty seconds, and a little
# more on a busy machine.
my $kill_within = $timeout + 25;

# ---- 1. Any child stuck in exit: MaxConnectionsPerChild ------------------
# Its children hang first, and case 2 runs while the parent ends them: the
# two waits for a kill overlap.
my $mcpc = MemwatchServer->new(name => 'stuckmcpc', conf => join "\n",
    "MemwatchExitTimeout $timeout", 'MaxConnectionsPerChild 3');
$mcpc->start;
# Every child will hang once it has served three connections.
for (1 .. 12) {
    my $s = $mcpc->conn;
    req($s, '/mw/hang-on-exit');
    close $s;
}
my @seen;
my $mcpc_exiting = poll(20, sub {
    @seen = grep { $_->{state} eq 'exiting' } @{ $mcpc->json->{children} };
    return scalar @seen;
});
ok t_cmp($mcpc_exiting ? 1 : 0, 1,
         'a child that left for MaxConnectionsPerChild and hangs shows '
         . 'as exiting');

# ---- 2. A retiring child that hangs in its exit --------------------------
{
    my $srv = MemwatchServer->new(name => 'stuck', conf => join "\n",
        'MemwatchMaxGrowth 4M', 'MemwatchWarmup 1',
        "MemwatchExitTimeout $timeout",
        # Below the ceiling a ticket is needed: show it comes back.
        'MemwatchCeiling off',
        'LoadModule status_module ' . MemwatchServer::modules_dir()
            . '/mod_status.so',
        '<Location /server-status>', 'SetHandler server-status',
        '</Location>');
    $srv->start;
    my ($a, $hung) = $srv->conn_to_child;
    req($a, '/mw/hang-on-exit');
    my $r = req($a, '/mw/leak?kb=6000');
    $r = req($a, '/mw/hello') unless $r->{close};
    close $a;

    my $exiting = poll(20, sub {
        my $c = child_of($srv->json, $hung);
        return $c && $c->{state} eq 'exiting' ? $c : undef;
    });
    t_debug("hung child $hung: " . ($exiting ? "exiting for "
            . "$exiting->{exiting_seconds} s" : 'never shown exiting'));
    ok t_cmp($exiting ? 1 : 0, 1,
             'a child that stopped serving but is alive shows as exiting');
    ok t_cmp($exiting && kill(0, $hung) ? 1 : 0, 1,
             'while its process is still there');
    # Left at "_" (ready), it would count as a spare for prefork's parent
    # until reaped: no replacement for a second, the spawn rate reset.
    my (undef, $auto) = $srv->get('/server-status?auto');
    my ($board) = $auto =~ /^Scoreboard: (\S+)/m;
    skip($srv->{mpm} ne 'prefork' ? 'prefork only' : 0,
         t_cmp(($board // '') =~ /G/ ? 1 : 0, 1,
               "the scoreboard marks it G, finishing gracefully ("
               . ($board // 'no scoreboard') . ")"));

    # MemwatchMaxRetiring 1: the hung child holds no ticket any more.
    my ($b, $next) = $srv->conn_to_child($hung);
    $r = req($b, '/mw/leak?kb=6000');
    $r = req($b, '/mw/hello') unless $r->{close};
    close $b;
    my $gone = poll(20, sub { !kill(0, $next) });
    ok t_cmp($gone ? 1 : 0, 1,
             "the next child over its limit retired and left ($next)");

    my $killed = poll($kill_within, sub { !kill(0, $hung) });
    ok t_cmp($killed ? 1 : 0, 1,
             "the hung child was ended within ${kill_within} s");
    ok t_cmp($srv->log_count(qr/\[memwatch:warn\].*child pid $hung .*stopped serving.*killing it \(MemwatchExitTimeout $timeout\)/),
             1, 'and that was logged once at warning level');
    my $c = child_of($srv->json, $hung);
    ok t_cmp($c ? 1 : 0, 0, 'it left the list of children');
}

# ---- 1, continued ---------------------------------------------------------
my @pids = map { $_->{pid} } @seen;
my $all_gone = poll($kill_within, sub { !grep { kill 0, $_ } @pids });
ok t_cmp($all_gone ? 1 : 0, 1, "and was ended (@pids)");
my ($status) = $mcpc->get('/mw/hello');
ok t_cmp($status, 200, 'the server serves on');
