# Growth by mapping (issue 27): a child that leaks is recycled, and its
# recycle event's growth_by_mapping puts at least 90 % of its growth in
# the class of mappings the leak went to.
#
# - malloc, 64 KiB a request (/mw/leak): below glibc's mmap threshold, so
#   on prefork the main arena grows [heap] ("heap"); on worker and event
#   the worker threads malloc from glibc's thread arenas, anonymous
#   mappings ("anonymous"). glibc makes at most 8 arenas a core: on this
#   2-core machine a child's 25 workers and its other threads outnumber
#   them, a few share the main arena, and the requests they serve grow
#   [heap] (about 4 % of the leak, once 17 %). The server runs with MALLOC_ARENA_MAX=64, so that
#   every thread has an arena of its own and the test checks the classes,
#   not which thread took a request;
# - the connection pool, 64 KiB a request on one keep-alive connection
#   (/mw/cpool): "anonymous" on every MPM, as Debian's APR (1.7) takes the
#   memory of its pools from mmap, not malloc.
#
# One client on one keep-alive connection drives one child to
# MemwatchMaxGrowth 16M (about 260 requests after a warm-up of 20). The
# MW0010 line names the top class, the page shows it beside the recycle,
# and a child's own page shows its growth by mapping once the child has
# read it (the page asks; a prefork child answers at its next request).
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestUtil;
use List::Util qw(sum0);
use MemwatchClient qw(request req child_of poll);
use MemwatchServer;

plan tests => 12, need_module 'memwatch_test';

my $mpm = $ENV{MEMWATCH_MPM};
my $malloc_class = $mpm eq 'prefork' ? 'heap' : 'anonymous';
my %classes = map { $_ => 1 } qw(heap anonymous file shared stack);
local $ENV{MALLOC_ARENA_MAX} = 64;
my $srv = MemwatchServer->new(name => 'mapping',
    conf => "MemwatchMaxGrowth 16M\nMemwatchWarmup 20")->start;

# $path on one keep-alive connection to one child (not one of @not) until
# it answers "Connection: close" (it decided), then its recycle event:
# (pid, event or undef, requests sent).
sub leak_until_recycled {
    my ($path, @not) = @_;
    my ($s, $pid) = $srv->conn_to_child(@not);
    my $sent = 0;
    while ($sent < 2000) {
        my ($r, $err) = request($s, $path);
        die "request $sent to pid $pid: $err\n" unless $r;
        $sent++;
        last if $r->{close};
    }
    close $s;
    my $event = poll(10, sub {
        my ($e) = grep { $_->{pid} == $pid } @{ $srv->json->{recycles} };
        return $e;
    });
    return ($pid, $event, $sent);
}

# The share of an event's growth (RSS, as it decided) that its growers
# put in $class.
sub share {
    my ($e, $class) = @_;
    return 0 unless $e && $e->{growth_bytes};
    return sum0(map { $_->{rss_growth_bytes} }
                grep { $_->{class} eq $class }
                @{ $e->{growth_by_mapping} || [] }) / $e->{growth_bytes};
}

sub describe {
    my ($e) = @_;
    return 'no event' unless $e;
    return join ', ', map {
        sprintf '%s %s +%.1f MiB (private +%.1f MiB)', $_->{class},
            $_->{name}, $_->{rss_growth_bytes} / 1048576,
            $_->{private_growth_bytes} / 1048576
    } @{ $e->{growth_by_mapping} || [] };
}

# ---- malloc -------------------------------------------------------------
my ($pid, $e, $sent) = leak_until_recycled('/mw/leak?kb=64');
t_debug("malloc leak on $mpm: pid $pid recycled after $sent requests, "
        . "growth " . ($e ? $e->{growth_bytes} : '?') . ': ' . describe($e));
ok t_cmp($e ? $e->{reason} : 'no recycle', 'growth',
         "the leaking child ($pid) was recycled for growth");
my $share = share($e, $malloc_class);
t_debug(sprintf 'malloc on %s: %.1f%% of the growth in %s', $mpm,
        100 * $share, $malloc_class);
ok t_cmp($share >= 0.9 ? 1 : 0, 1,
         sprintf('growth_by_mapping puts %.1f%% of it in %s (>= 90%%)',
                 100 * $share, $malloc_class));

my @g = @{ ($e && $e->{growth_by_mapping}) || [] };
my $formed = @g >= 1 && @g <= 4;
for my $i (0 .. $#g) {
    my $m = $g[$i];
    $formed &&= $classes{ $m->{class} } && length $m->{name}
        && $m->{rss_growth_bytes} =~ /^-?\d+$/
        && $m->{private_growth_bytes} =~ /^-?\d+$/;
    my $key = sub { $_[0]{rss_growth_bytes} > $_[0]{private_growth_bytes}
                    ? $_[0]{rss_growth_bytes} : $_[0]{private_growth_bytes} };
    $formed &&= $key->($m) > 0 && ($i == 0 || $key->($m) <= $key->($g[$i - 1]));
}
ok t_cmp($formed ? 1 : 0, 1, 'one to four growers, each a class, a name '
         . 'and two whole numbers, the most first');

ok t_cmp($srv->log_count(qr/MW0010: recycling child pid $pid .* top growth \Q$malloc_class\E \+\d/),
         1, "MW0010 for pid $pid names the top class: $malloc_class");

my (undef, $html) = $srv->get('/memwatch');
ok t_cmp($html =~ m{<td>$pid</td>.*?<td class="l" title="[^"]*">\Q$malloc_class\E \+[\d.]+ MiB</td></tr>}
         ? 1 : 0, 1, "the page shows \"$malloc_class +N MiB\" beside the "
         . 'recycle');

# ---- the connection pool --------------------------------------------------
my ($cpid, $ce, $csent) = leak_until_recycled('/mw/cpool?kb=64', $pid);
t_debug("connection pool leak on $mpm: pid $cpid recycled after $csent "
        . 'requests, growth ' . ($ce ? $ce->{growth_bytes} : '?') . ': '
        . describe($ce));
ok t_cmp($ce ? $ce->{reason} : 'no recycle', 'growth',
         "the child leaking into its connection pool ($cpid) was recycled");
my $cshare = share($ce, 'anonymous');
t_debug(sprintf 'connection pool on %s: %.1f%% of the growth anonymous',
        $mpm, 100 * $cshare);
ok t_cmp($cshare >= 0.9 ? 1 : 0, 1,
         sprintf('growth_by_mapping puts %.1f%% of it in anonymous '
                 . '(>= 90%%)', 100 * $cshare));
ok t_cmp($srv->log_count(qr/MW0010: recycling child pid $cpid .* top growth anonymous \+\d/),
         1, "MW0010 for pid $cpid: top growth anonymous");

# ---- A child's page ---------------------------------------------------------
# A child that leaked 2.5 MiB, warm-up included; its page asks it for a
# reading. A prefork child answers at the end of its next request that
# reads RSS, so the connection goes on asking it something.
my ($s, $kpid) = $srv->conn_to_child($pid, $cpid);
req($s, '/mw/leak?kb=64') for 1 .. 40;
my $c = poll(5, sub {
    my $c = child_of($srv->json, $kpid);
    return $c && $c->{state} ne 'warming' ? $c : undef;
}) || {};
my $slot = $c->{slot} // -1;
my $page = poll(10, sub {
    my (undef, $p) = $srv->get("/memwatch?child=$slot");
    req($s, '/mw/hello');
    return $p =~ m{<table class="mapping">} ? $p : undef;
}) // '';
close $s;
ok t_cmp($page =~ m{<h2>Growth by mapping since warm-up</h2><p class="note">From /proc/PID/smaps, read \d+s ago}
         ? 1 : 0, 1, "the page of slot $slot (pid $kpid) shows its growth "
         . 'by mapping, read when asked');
my ($row) = $page =~ m{(<tr><td class="l">\Q$malloc_class\E</td>.*?</tr>)};
t_debug('its first row: ' . ($row // 'none'));
ok t_cmp($row && $row =~ m{<td>[\d.]+ (?:KiB|MiB)</td><td>[\d.]+ (?:KiB|MiB)</td></tr>}
         ? 1 : 0, 1, "with a row for $malloc_class that grew");

my (undef, $gone) = $srv->get('/memwatch?child=9999');
ok t_cmp($gone =~ /No live child in slot 9999/ ? 1 : 0, 1,
         'a slot out of range asks nothing and shows the overview');

ok t_cmp($srv->crashes, 0, 'no child died on a signal');
$srv->stop;
