# Times a compromised child writes into the shared table (issue 24): the
# extremes of apr_int64_t, and a time in the future, in every time field
# of every slot (started, retire_time, exiting_since, hist_last,
# smaps_last). Every interval the module computes from them saturates, so
# the children go on serving and deciding, every format of the page
# renders, and the parent's monitor passes over them; under the UBSan
# build scripts/test.sh runs this file with, any overflow is a report and
# fails the suite. worker takes the same paths as event and is skipped.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestUtil;
use MemwatchClient qw(poll);
use MemwatchLoad;
use MemwatchServer;

my $mpm = $ENV{MEMWATCH_MPM} // '';
plan tests => 7, need need_module('memwatch_test'),
    { 'worker takes the paths event does' => $mpm ne 'worker' };

my @times = ('-9223372036854775808', '9223372036854775807', '-1',
             '4102444800000000');   # the year 2100
my $srv = MemwatchServer->new(name => 'times', conf => join "\n",
    'MemwatchMaxGrowth 16M', 'MemwatchMaxTotalPrivate 512M',
    'MemwatchMinLifetime 30', 'MemwatchExitTimeout 1',
    'MemwatchSmapsInterval 1', 'MemwatchHistory 120 1');
$srv->start;
MemwatchLoad::run(port => $srv->port, path => '/mw/hello', requests => 400,
                  clients => 4, seconds => 20);

my ($served, $pages) = (1, 1);
for my $t (@times) {
    my ($st, $body) = $srv->get("/mw/forge-times?t=$t");
    $served &&= $st == 200 && $body =~ /forged times=/;
    my $r = MemwatchLoad::run(port => $srv->port, path => '/mw/leak?kb=1',
                              requests => 200, clients => 4, seconds => 20);
    $served &&= $r->{failed} == 0 && $r->{ok} == 200;
    for my $q ('', '?json&history', '?auto', '?prometheus') {
        my ($code) = $srv->get("/memwatch$q");
        $pages &&= $code == 200;
    }
    t_debug("forged $t: $r->{ok} served, $r->{failed} failed");
}
ok t_cmp($served, 1, 'every child serves on whatever times its slot holds');
ok t_cmp($pages, 1, 'every format of the page renders');

# Two passes of the parent's monitor over the forged times: it looks every
# ten seconds and refuses (MW0018), on its next pass, a slot naming a
# process that is not its child. That process is ours.
my $bystander = fork // die "fork: $!";
if (!$bystander) {
    exec 'sleep', '120';
}
my ($st) = $srv->get('/mw/forge-times?t=-9223372036854775808');
my ($fst, $fbody) = $srv->get("/mw/forge?pid=$bystander");
ok t_cmp($fst, 200, "a slot forged to name pid $bystander ($fbody)");
my $refused = poll(45, sub {
    $srv->log_count(qr/MW0018.*\b$bystander\b/)
});
ok t_cmp($refused ? 1 : 0, 1, 'the parent passed over the forged slots');
ok t_cmp(kill(0, $bystander), 1, 'and left the process they name alone');
kill 'TERM', $bystander;
waitpid $bystander, 0;

my ($code) = $srv->get('/mw/hello');
ok t_cmp($code, 200, 'the server still serves');
ok t_cmp($srv->crashes, 0, 'no child died on a signal');
