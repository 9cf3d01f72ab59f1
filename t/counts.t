# Request and connection counts are exact: N requests to /mw/hello add
# exactly N (plus the ?json requests themselves) to totals.requests, and one
# connection each to totals.connections.
#
# A request is counted when its pool is destroyed, i.e. just after its
# response went out; so the ?json request that read `before` is counted
# after it, and each polling ?json is counted too but not in its own
# answer. Connections are counted when they open, so each ?json (one
# connection each here: no keep-alive) counts its own connection.
#
# totals only cover live children. A child that exits during the test
# (prefork keeps MaxSpareServers 1, so an extra child spawned while the
# first is busy is stopped again) takes its counts into exited[]: those
# are added back so the sum stays exact however children come and go.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil;
use MemwatchClient qw(poll);
use MemwatchUtil qw(get_json exited_key);

plan tests => 6, need_module 'memwatch_test';

Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);

my $N = 50;

# Requests and connections of live children, plus those of children that
# exited since `before` (not in %$seen).
sub counted {
    my ($j, $seen) = @_;
    my ($req, $conn) = ($j->{totals}{requests}, $j->{totals}{connections});
    for my $e (@{ $j->{exited} }) {
        next if $seen->{ exited_key($e) };
        $req += $e->{requests};
        $conn += $e->{connections};
    }
    return ($req, $conn);
}

my $before = get_json();
my %seen = map { exited_key($_) => 1 } @{ $before->{exited} };
my ($req0, $conn0) = counted($before, \%seen);

my @codes = map { GET('/mw/hello')->code } 1 .. $N;
ok t_cmp(scalar(grep { $_ == 200 } @codes), $N, "$N requests to /mw/hello answered 200");

# Poll k (k earlier polls) must eventually see
#   requests    = before + N + 1 (the first ?json) + k
#   connections = before + N + k + 1 (its own, counted when it opened)
my ($polls, $req, $conn, $exits) = (0, 0, 0, 0);
my $exact = poll(15, sub {
    my $j = get_json();
    my $k = $polls++;
    ($req, $conn) = counted($j, \%seen);
    $req -= $k;
    $conn -= $k + 1;
    $exits = grep { !$seen{ exited_key($_) } } @{ $j->{exited} };
    return $req == $req0 + $N + 1;
});
t_debug("polled $polls times; $exits children exited meanwhile");
ok t_cmp($req - $req0, $N + 1,
         "totals.requests grew by exactly $N + 1 (the ?json that read it)");
ok t_cmp($exact ? 1 : 0, 1, 'the exact count was reached within 15 s');
ok t_cmp($conn - $conn0, $N,
         "totals.connections grew by exactly one per request ($N)");

# One keep-alive connection: many requests, a single connection.
Apache::TestRequest::user_agent(reset => 1, keep_alive => 1);
my $j1 = get_json();
GET('/mw/hello') for 1 .. 5;
my $j2 = get_json();
Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);
my %seen1 = map { exited_key($_) => 1 } @{ $j1->{exited} };
my ($r1, $c1) = counted($j1, \%seen1);
my ($r2, $c2) = counted($j2, \%seen1);
ok t_cmp($c2 - $c1, 0, 'six requests on one keep-alive connection open no new connection');
ok t_cmp($r2 - $r1, 6, 'and count six requests (on one connection each is '
         . 'counted before the next starts)');
