# Nothing a child writes in the shared table makes the root parent hurt
# another process (issue 24). As a compromised child could, /mw/forge
# finds the table in the child's own memory and claims slots that name
# processes that are not the parent's children, each "stuck in its exit
# since 1970" under MemwatchExitTimeout 1: the parent itself, a root
# piped logger, an unrelated process in httpd's process group, and a
# former child's pid now held by another process in that group (the
# process group is all ap_mpm_safe_kill checks). Over three passes of the
# parent's monitor all of them live on, each slot is refused in the log
# once, and the parent publishes no memory figure of any of them.
#
# Only a root parent makes this mean something, and Apache::Test refuses
# to run as root: so this file skips in the Apache::Test suite (which runs
# unprivileged) and scripts/test.sh runs it as root on its own, with
# prove, once per MPM (MEMWATCH_MPM; MEMWATCH_TESTMOD names the test
# module built by scripts/build-test-module.sh). It needs
# /proc/sys/kernel/ns_last_pid (root) to hand a former child's pid to a
# new process.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use File::Temp qw(tempdir);
use JSON::PP;
use MemwatchClient qw(poll);
use MemwatchServer;
use POSIX ();
use Test::More;

plan skip_all => 'the parent must run as root; scripts/test.sh runs this '
               . 'file as root' if $> != 0;
plan tests => 16;

# The parent looks every ten seconds (ap_wait_or_timeout runs the monitor
# hooks on every tenth one-second wait) and may act on a slot a pass
# after it first saw it (it times an exit on its own clock); a busy
# machine adds a little.
my $pass_within = 45;

my ($user, $gid) = (getpwnam('nobody'))[0, 3];
my $dir = tempdir('memwatch-forge-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# The piped logger: a root child of the parent, in its process group. It
# starts two processes of that group that are not the parent's children:
# a sleep (the unrelated pid) and, on request, a sleep that gets a pid
# given (a recycled pid): ns_last_pid makes it the next one the kernel
# hands out, unless another fork takes it first (then try again). Only
# the logger of the detached parent (the leader of its process group)
# does: httpd starts one before it detaches too. The files are named by
# the logger's pid; all of it ends within ten minutes, or at the
# clean-up below.
open my $sh, '>', "$dir/logger.sh" or die $!;
print $sh <<'EOF';
dir=$1
logger=$$
set -- $(cat /proc/$logger/stat)
[ "$4" = "$5" ] || exec cat >> "$dir/access_log"
echo $logger > "$dir/logger.$logger"
sleep 600 </dev/null &
echo $! > "$dir/unrelated.$logger"
(
    i=0
    until [ -s "$dir/want.$logger" ]; do
        i=$((i + 1))
        [ $i -le 1500 ] && kill -0 $logger 2>/dev/null || exit 0
        sleep 0.2
    done
    want=$(cat "$dir/want.$logger")
    try=0
    while [ $try -lt 50 ]; do
        try=$((try + 1))
        echo $((want - 1)) > /proc/sys/kernel/ns_last_pid || exit 0
        sleep 600 &
        [ $! = "$want" ] && break
        kill $!
    done
    echo $! > "$dir/recycled.tmp" && mv "$dir/recycled.tmp" "$dir/recycled.$logger"
) </dev/null &
exec cat >> "$dir/access_log"
EOF
close $sh;

# Room in the table (ServerLimit slots) for six forged slots besides the
# children.
my %mpm_conf = (
    prefork => "StartServers 2\nMinSpareServers 1\nMaxSpareServers 3\n"
             . "MaxRequestWorkers 4\nServerLimit 16\n",
    worker  => "StartServers 2\nThreadsPerChild 5\nMinSpareThreads 5\n"
             . "MaxSpareThreads 20\nMaxRequestWorkers 20\nServerLimit 16\n",
    event   => "StartServers 2\nThreadsPerChild 5\nMinSpareThreads 5\n"
             . "MaxSpareThreads 20\nMaxRequestWorkers 20\nServerLimit 16\n",
);
my $srv = MemwatchServer->new(name => 'forge',
    mpm_conf => $mpm_conf{ $ENV{MEMWATCH_MPM} // '' },
    conf => join "\n", "User $user", "Group #$gid",
        'MemwatchExitTimeout 1',
        qq{CustomLog "|\$exec /bin/sh $dir/logger.sh $dir" common});
$srv->start;
my $parent = $srv->pid;
# httpd -k start detached it into a process group of its own: what is
# left there once it has stopped was started for this test.
my $pgid = getpgrp($parent);

# A process's parent, owner and group; undef once it has ended (a zombie
# has: until it is reaped its pid still answers kill 0).
sub stat_of {
    my $pid = shift;
    open my $fh, '<', "/proc/$pid/stat" or return;
    my $line = <$fh> // return;
    my ($state, $ppid) = $line =~ /\)\s+(\S+)\s+(\d+)/ or return;
    return if $state =~ /^[ZX]/;
    return { ppid => $ppid, uid => (stat "/proc/$pid")[4],
             pgid => getpgrp($pid) };
}
sub alive { my $pid = shift; $pid && stat_of($pid) }
sub slurp {
    open my $fh, '<', shift or return;
    my $v = <$fh> // return;
    chomp $v;
    return $v;
}

# ---- The processes to name ---------------------------------------------
my $logger = poll(10, sub {
    my ($l) = grep { my $st = stat_of($_); $st && $st->{ppid} == $parent }
              map { /logger\.(\d+)$/ ? $1 : () } glob "$dir/logger.*";
    return $l && slurp("$dir/unrelated.$l") && $l;
});
my $unrelated = $logger && slurp("$dir/unrelated.$logger");
my ($lst, $ust) = map { $_ ? stat_of($_) : undef } $logger, $unrelated;
ok($lst && $lst->{uid} == 0 && $lst->{pgid} == $pgid
   && (stat "/proc/$parent")[4] == 0,
   "a root parent ($parent) and its root piped logger ("
   . ($logger // 'none') . ') in its process group');
ok($ust && $ust->{ppid} != $parent && $ust->{pgid} == $pgid,
   'a process in that group that is not the parent\'s child ('
   . ($unrelated // 'none') . ')');

# A child exits (SIGKILL from here), the parent reaps it, and the logger
# starts a process that gets its pid.
my ($c, $former) = $srv->conn_to_child;
close $c;
kill 'KILL', $former;
my $reaped = poll(10, sub { !-e "/proc/$former" });
my $recycled;
if ($reaped && $logger) {
    open my $w, '>', "$dir/want.tmp" or die "want.tmp: $!";
    print $w "$former\n";
    close $w;
    rename "$dir/want.tmp", "$dir/want.$logger" or die "want.$logger: $!";
    $recycled = poll(20, sub { slurp("$dir/recycled.$logger") });
}
my $rst = $recycled ? stat_of($recycled) : undef;
ok($recycled && $recycled == $former && $rst
   && $rst->{ppid} != $parent && $rst->{pgid} == $pgid,
   "a former child's pid ($former), now another process's in that group ("
   . ($recycled // 'none') . ')');

# ---- Forging ------------------------------------------------------------
# Each target in a slot of its own; the parent's own last, so that a
# parent that kills what it is told to (the code before issue 24) kills
# the others before itself.
my %slot;
my $uid;
sub forge {
    my $pid = shift;
    my ($status, $body) = $srv->get("/mw/forge?pid=$pid");
    return unless $status == 200
        && $body =~ /^forged slot=(\d+) pid=$pid by pid=\d+ uid=(\d+)/;
    $uid = $2;
    return $1;
}
my %target = (logger => $logger, unrelated => $unrelated,
              recycled => $recycled, parent => $parent);
my @order = qw(logger unrelated recycled parent);
my @children = $srv->children;     # for the clean-up
for my $name (@order) {
    $slot{$name} = forge($target{$name}) if $target{$name};
}
ok(4 == grep({ defined $slot{$_} } @order) && defined $uid && $uid != 0,
   'a child running as uid ' . ($uid // '?') . ' forged four slots: '
   . join(', ', map { "$_ in " . ($slot{$_} // 'none') } @order));

# ---- Three passes of the monitor ---------------------------------------
sub refused {
    my ($slot, $pid) = @_;
    return $srv->log_count(qr/\[memwatch:warn\].* MW0018: slot $slot of the shared table names pid $pid,/);
}
sub wait_refused {
    my ($slot, $pid) = @_;
    return poll($pass_within, sub {
        return 'parent gone' unless alive($parent);
        return refused($slot, $pid) ? 'refused' : undef;
    }) // 'timed out';
}
# Pass 1: the four slots. Passes 2 and 3: each time a new slot naming a
# pid no process holds (a process of this test's, reaped), whose refusal
# marks the end of one more pass over every slot.
my @pass = (wait_refused($slot{parent} // -1, $parent));
for (2, 3) {
    my $dead = fork // die "fork: $!";
    POSIX::_exit(0) unless $dead;
    waitpid $dead, 0;
    my $s = forge($dead);
    push @pass, defined $s ? wait_refused($s, $dead) : 'not forged';
}
is("@pass", 'refused refused refused',
   'three passes of the monitor over the forged slots');

ok(alive($parent), "the parent ($parent) is alive");
for my $name (qw(logger unrelated recycled)) {
    ok(alive($target{$name}),
       "the $name (" . ($target{$name} // 'none') . ') is alive');
}
for my $name (@order) {
    is(defined $slot{$name} ? refused($slot{$name}, $target{$name}) : -1, 1,
       "the ${name}'s slot (" . ($slot{$name} // 'none')
       . ') was refused once, at warning');
}
my $pids = join '|', grep { $_ } values %target;
is($srv->log_count(qr/MW0016: child pid (?:$pids) /), 0,
   'no kill of a forged pid was announced (MW0016)');

my ($status, $body) = $srv->get('/memwatch?json&history');
my $json = $status == 200 ? eval { decode_json($body) } : undef;
my @published;
for my $name (@order) {
    next unless defined $slot{$name};
    my ($ch) = grep { $_->{slot} == $slot{$name} }
               @{ $json ? $json->{children} : [] };
    push @published, "$name: not shown" unless $ch;
    push @published, "$name: " . scalar(@{ $ch->{history} }) . ' samples'
        if $ch && @{ $ch->{history} || [] };
    push @published, "$name: private $ch->{private_bytes}"
        if $ch && defined $ch->{private_bytes};
}
is("@published", '', 'the parent published no memory figure of them');
is(($srv->get('/mw/hello'))[0], 200, 'the server serves on');

# ---- Cleaning up -------------------------------------------------------
# Stop httpd, then end what is left in its process group: the logger's
# sleeps and helper and, if the parent was killed, its children, which
# would serve on. Only while a process this test knows is still in the
# group, so the number cannot be another group's by then.
END {
    if ($pgid && $pgid == $parent) {
        undef $srv;
        my @known = grep { $_ } $parent, $logger, $unrelated, $recycled,
                                @children;
        kill 'KILL', -$pgid
            if grep { my $st = stat_of($_); $st && $st->{pgid} == $pgid }
                    @known;
    }
}
