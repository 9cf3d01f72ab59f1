# The allocator's view (issue 27): a fragmenting heap is called
# fragmented, not leaking, and MemwatchTrim gives its free memory back
# before the child would retire.
#
# Two private servers side by side, the same but for MemwatchTrim (Off,
# On), MemwatchMaxGrowth 24M. One keep-alive connection to one child of
# each. After warm-up, /mw/frag calls whose working set is 48 KiB larger
# each time (one block in 64 kept, the previous call's freed): RSS
# climbs, malloc's bytes in use do not. The calls are paced, as malloc's
# figures are read once a second and the trend's window must hold
# readings; they stop once the child grew by half its limit (read from
# /proc). The verdict is fragmented, and every format shows the heap.
# Then one call of 32 MiB takes each child past its limit: with Off it is
# recycled; with On it trims (MW0025), is back under its limit and keeps
# serving, and its trim and the bytes given back are counted.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestUtil;
use Time::HiRes qw(time sleep);
use MemwatchClient qw(request req child_of poll);
use MemwatchProc ();
use MemwatchServer;

plan tests => 25, need_module 'memwatch_test';

my $MiB = 1024 * 1024;
my $limit = 24 * $MiB;
my $t0 = time;
my %srv;
for my $trim (qw(Off On)) {
    $srv{$trim} = MemwatchServer->new(name => "allocator-" . lc $trim,
        conf => join "\n", 'MemwatchMaxGrowth 24M', 'MemwatchWarmup 20',
                           "MemwatchTrim $trim",
                           # Each connection idles while the other server
                           # ramps or is polled: it must outlive that.
                           'KeepAliveTimeout 30');
    $srv{$trim}->start;
}

# A child of each, warmed up.
my (%sock, %pid, %base);
for my $trim (qw(Off On)) {
    ($sock{$trim}, $pid{$trim}) = $srv{$trim}->conn_to_child;
    req($sock{$trim}, '/mw/hello') for 1 .. 25;
    $base{$trim} = MemwatchProc::rss($pid{$trim});
}

# ---- The ramp: RSS climbs, in use does not --------------------------------
my %ramping = (Off => 1, On => 1);
my %kb = (Off => 0, On => 0);
my %first_in_use;
my $calls = 0;
while (grep { $ramping{$_} } keys %ramping) {
    last if ++$calls > 1500;
    for my $trim (grep { $ramping{$_} } sort keys %ramping) {
        $kb{$trim} += 48;
        req($sock{$trim}, "/mw/frag?kb=$kb{$trim}");
        my $grown = (MemwatchProc::rss($pid{$trim}) // 0) - $base{$trim};
        $ramping{$trim} = 0 if $grown >= $limit / 2;
    }
    # The first heap figure read after warm-up, for the rise in use.
    for my $trim (grep { !defined $first_in_use{$_} } keys %ramping) {
        next if $calls % 10;
        my $c = child_of($srv{$trim}->json, $pid{$trim}) // {};
        $first_in_use{$trim} = $c->{heap_in_use_bytes};
    }
    sleep 0.02;                 # the pace, not a wait for anything
}
t_debug(sprintf 'ramp: %d calls in %.1f s, up to %d KiB (Off) and %d KiB '
        . '(On)', $calls, time - $t0, $kb{Off}, $kb{On});

my %c;
my $ramp_end = time;
for my $trim (qw(Off On)) {
    # The verdict needs the window's newer half to hold a reading of its
    # own, and the figures a reading made once the calls stopped (on
    # worker and event one made during a call counts what it held for a
    # moment): a second or two more.
    # A prefork child reads them on a request: a small one now and then.
    $c{$trim} = poll(5, sub {
        req($sock{$trim}, '/mw/hello');
        my $c = child_of($srv{$trim}->json, $pid{$trim}) // {};
        return ($c->{verdict} // '') eq 'fragmented'
               && ($c->{heap_time} // 0) > $ramp_end ? $c : undef;
    }) // child_of($srv{$trim}->json, $pid{$trim}) // {};
    my $c = $c{$trim};
    t_debug(sprintf "$trim: growth %.1f MiB, heap in use %.2f MiB (%.2f at "
            . 'the start), free %.1f MiB; over the trend: in use %s, free %s, RSS %s; '
            . 'verdict %s', ($c->{growth_bytes} // 0) / $MiB,
            ($c->{heap_in_use_bytes} // 0) / $MiB,
            ($first_in_use{$trim} // 0) / $MiB,
            ($c->{heap_free_bytes} // 0) / $MiB,
            $c->{trend_heap_in_use_rise_bytes} // "null",
            $c->{trend_heap_free_rise_bytes} // "null",
            $c->{trend_rss_rise_bytes} // 'null', $c->{verdict} // '?');
}
my $c = $c{On};
ok t_cmp($c->{verdict}, 'fragmented',
         'a fragmenting heap: verdict fragmented, not leaking');
ok t_cmp($c{Off}{verdict}, 'fragmented', 'on the other server too');
ok t_cmp(($c->{growth_bytes} // 0) >= $limit / 2 ? 1 : 0, 1,
         'the child grew by half its limit');
ok t_cmp(defined $c->{heap_in_use_bytes} && defined $first_in_use{On}
         && $c->{heap_in_use_bytes} - $first_in_use{On}
            < ($c->{growth_bytes} // 0) / 4 ? 1 : 0, 1,
         "malloc's bytes in use rose by less than a quarter of it");
ok t_cmp(($c->{heap_free_bytes} // 0) >= $limit / 4 ? 1 : 0, 1,
         'malloc holds the rest free');
ok t_cmp(defined $c->{trend_heap_in_use_rise_bytes}
         && $c->{trend_heap_in_use_rise_bytes}
            < $c->{trend_rss_rise_bytes} / 4
         && $c->{trend_heap_free_rise_bytes}
            >= $c->{trend_rss_rise_bytes} / 4 ? 1 : 0, 1,
         'over the trend: in use rose under a quarter of what RSS did, '
         . 'free a quarter of it or more');
ok t_cmp(defined $c->{seconds_to_limit} ? 1 : 0, 1,
         'a fragmented child has a forecast, RSS climbing as it does');

# Every format shows the heap, per child.
my $slot = $c->{slot} // -1;
my (undef, $auto) = $srv{On}->get('/memwatch?auto');
ok t_cmp($auto =~ /^Child$slot: .* heap_in_use=\d+ heap_free=\d+ .*verdict=fragmented$/m
         ? 1 : 0, 1, '?auto: heap_in_use=, heap_free=, verdict=fragmented');
my (undef, $prom) = $srv{On}->get('/memwatch?prometheus');
ok t_cmp($prom =~ /^memwatch_child_heap_in_use_bytes\{slot="$slot"\} \d+$/m
         && $prom =~ /^memwatch_child_heap_free_bytes\{slot="$slot"\} \d+$/m
         ? 1 : 0, 1, 'Prometheus: memwatch_child_heap_{in_use,free}_bytes');
ok t_cmp($prom =~ /^memwatch_child_fragmented\{slot="$slot"\} 1$/m
         && $prom =~ /^memwatch_child_leaking\{slot="$slot"\} 0$/m ? 1 : 0,
         1, 'Prometheus: memwatch_child_fragmented 1, leaking 0');
my (undef, $html) = $srv{On}->get("/memwatch?child=$slot");
ok t_cmp($html =~ m{<dd class="fragmented">fragmented</dd>}
         && $html =~ m{Heap \(malloc\)</dt><dd>[\d.]+ [KM]iB} ? 1 : 0, 1,
         'HTML: the child page has the verdict and its heap');

# ---- Past the limit: Off recycles, On trims --------------------------------
my %big;
for my $trim (qw(Off On)) {
    $big{$trim} = req($sock{$trim}, '/mw/frag?kb=32768');
}
# A few more calls on the same connection: the On child answers them all.
my ($served, $closed) = (0, 0);
for (1 .. 10) {
    my ($r) = request($sock{On}, '/mw/frag?kb=64');
    last unless $r;
    $served += $r->{body} =~ /pid=$pid{On}\b/ ? 1 : 0;
    $closed ||= $r->{close};
}
my $off_event = poll(20, sub {
    my ($ev) = grep { $_->{pid} == $pid{Off} }
               @{ $srv{Off}->json->{recycles} };
    return $ev;
});
ok t_cmp($off_event ? $off_event->{reason} : 'not recycled', 'growth',
         'MemwatchTrim Off: the child is recycled for growth');
my $joff = $srv{Off}->json;
ok t_cmp($joff->{totals}{trims}, 0, 'and nothing trimmed');

my $jon = $srv{On}->json;
$c = child_of($jon, $pid{On}) // {};
t_debug(sprintf 'On: %d of 10 calls served after the big one, state %s, '
        . 'rss %.1f MiB, growth %.1f MiB, %s trims, %.1f MiB given back',
        $served, $c->{state} // 'gone', ($c->{rss_bytes} // 0) / $MiB,
        ($c->{growth_bytes} // 0) / $MiB, $c->{trims} // '-',
        ($c->{trim_reclaimed_bytes} // 0) / $MiB);
ok t_cmp($served, 10, 'MemwatchTrim On: the child served on, same pid');
ok t_cmp($closed ? 1 : 0, 0, 'no Connection: close');
ok t_cmp($c->{state} // 'gone', 'ok', 'its state is ok');
ok t_cmp(($c->{growth_bytes} // $limit) < $limit ? 1 : 0, 1,
         'back under its growth limit');
ok t_cmp(scalar(grep { $_->{pid} == $pid{On} } @{ $jon->{recycles} }), 0,
         'not recycled');
ok t_cmp($c->{trims}, 1, 'one trim');
ok t_cmp(($c->{trim_reclaimed_bytes} // 0) >= 16 * $MiB ? 1 : 0, 1,
         sprintf('it gave back 16 MiB or more (%.1f MiB)',
                 ($c->{trim_reclaimed_bytes} // 0) / $MiB));
ok t_cmp($jon->{totals}{trims} == 1 && $jon->{totals}{trims_under_limit} == 1
         && $jon->{totals}{trim_reclaimed_bytes}
            == $c->{trim_reclaimed_bytes} ? 1 : 0, 1,
         'JSON totals: trims 1, trims_under_limit 1, the bytes');
(undef, $prom) = $srv{On}->get('/memwatch?prometheus');
ok t_cmp($prom =~ /^memwatch_trims_total\{outcome="under_limit"\} 1$/m
         && $prom =~ /^memwatch_trims_total\{outcome="over_limit"\} 0$/m
         ? 1 : 0, 1, 'Prometheus: memwatch_trims_total by outcome');
my ($bytes) = $prom =~ /^memwatch_trim_reclaimed_bytes_total (\d+)$/m;
ok t_cmp($bytes // 0, $c->{trim_reclaimed_bytes},
         'Prometheus: memwatch_trim_reclaimed_bytes_total');
ok t_cmp($srv{On}->log_count(qr/MW0025: child pid $pid{On} .* over its growth limit: malloc_trim gave back .* under its limits now: it stays/),
         1, 'MW0025 says what the trim gave back');
ok t_cmp($srv{Off}->log_count(qr/MW0025/), 0, 'no MW0025 with Off');

MemwatchServer::stop_all(values %srv);
t_debug(sprintf "allocator.t on $ENV{MEMWATCH_MPM}: %.1f s", time - $t0);
