# A child that hangs on its way out (a module's pchild cleanup that never
# returns, as embedded mod_wsgi's does on Python 3.11) no longer stops
# recycling: it shows as "exiting", gives its retire ticket back, and the
# parent kills it after MemwatchExitTimeout. Also for a child that left for
# MaxConnectionsPerChild, which memwatch did not recycle.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestUtil;
use MemwatchClient qw(req child_of);
use MemwatchServer;

plan tests => 9, need_module 'memwatch_test';

my $timeout = 3;
# The parent looks every ten seconds (the monitor hook): a kill comes
# within the timeout and ten seconds, and a little more on a busy machine.
my $kill_within = $timeout + 15;

sub log_count {
    my ($srv, $re) = @_;
    open my $fh, '<', $srv->error_log or return 0;
    return scalar grep { /$re/ } <$fh>;
}

# A keep-alive connection to a child other than those in %not.
sub conn_to_other {
    my ($srv, %not) = @_;
    for (1 .. 100) {
        my $s = MemwatchClient::conn('127.0.0.1', $srv->port);
        my ($pid) = req($s, '/mw/info')->{body} =~ /pid=(\d+)/;
        return ($s, $pid) unless $not{$pid};
        close $s;
    }
    die "no other child to talk to";
}

# ---- 1. A retiring child that hangs in its exit --------------------------
{
    my $srv = MemwatchServer->new(name => 'stuck', conf => join "\n",
        'MemwatchMaxGrowth 4M', 'MemwatchWarmup 1',
        "MemwatchExitTimeout $timeout",
        # Below the ceiling a ticket is needed: show it comes back.
        'MemwatchCeiling off');
    $srv->start;
    my ($a, $hung) = conn_to_other($srv);
    req($a, '/mw/hang-on-exit');
    my $r = req($a, '/mw/leak?kb=6000');
    $r = req($a, '/mw/hello') unless $r->{close};
    close $a;

    my $exiting = $srv->poll(20, sub {
        my $c = child_of($srv->json, $hung);
        return $c && $c->{state} eq 'exiting' ? $c : undef;
    });
    t_debug("hung child $hung: " . ($exiting ? "exiting for "
            . "$exiting->{exiting_seconds} s" : 'never shown exiting'));
    ok t_cmp($exiting ? 1 : 0, 1,
             'a child that stopped serving but is alive shows as exiting');
    ok t_cmp($exiting && kill(0, $hung) ? 1 : 0, 1,
             'while its process is still there');

    # MemwatchMaxRetiring 1: the hung child holds no ticket any more.
    my ($b, $next) = conn_to_other($srv, $hung => 1);
    $r = req($b, '/mw/leak?kb=6000');
    $r = req($b, '/mw/hello') unless $r->{close};
    close $b;
    my $gone = $srv->poll(20, sub { !kill(0, $next) });
    ok t_cmp($gone ? 1 : 0, 1,
             "the next child over its limit retired and left ($next)");

    my $killed = $srv->poll($kill_within, sub { !kill(0, $hung) });
    ok t_cmp($killed ? 1 : 0, 1,
             "the hung child was ended within ${kill_within} s");
    ok t_cmp(log_count($srv, qr/\[memwatch:warn\].*child pid $hung .*stopped serving.*killing it \(MemwatchExitTimeout $timeout\)/),
             1, 'and that was logged once at warning level');
    my $c = child_of($srv->json, $hung);
    ok t_cmp($c ? 1 : 0, 0, 'it left the list of children');
}

# ---- 2. Any child stuck in exit: MaxConnectionsPerChild ------------------
{
    my $srv = MemwatchServer->new(name => 'stuckmcpc', conf => join "\n",
        "MemwatchExitTimeout $timeout", 'MaxConnectionsPerChild 3');
    $srv->start;
    # Every child will hang once it has served three connections.
    for (1 .. 12) {
        my $s = MemwatchClient::conn('127.0.0.1', $srv->port);
        req($s, '/mw/hang-on-exit');
        close $s;
    }
    my @seen;
    my $exiting = $srv->poll(20, sub {
        @seen = grep { $_->{state} eq 'exiting' } @{ $srv->json->{children} };
        return scalar @seen;
    });
    ok t_cmp($exiting ? 1 : 0, 1,
             'a child that left for MaxConnectionsPerChild and hangs shows '
             . 'as exiting');
    my @pids = map { $_->{pid} } @seen;
    my $all_gone = $srv->poll($kill_within, sub { !grep { kill 0, $_ } @pids });
    ok t_cmp($all_gone ? 1 : 0, 1, "and was ended (@pids)");
    my ($status) = $srv->get('/mw/hello');
    ok t_cmp($status, 200, 'the server serves on');
}
