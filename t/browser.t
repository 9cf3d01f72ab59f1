# /memwatch as a person sees it: headless Chromium (Debian's, installed by
# scripts/deps.sh) loads the overview and a child's detail view from the
# Apache::Test server. The rendered DOM must have the RSS chart (an
# <svg class="chart"> with lines in it), a row per live child and, in the
# detail view, the history table; Chromium's console must stay free of
# errors; screenshots go to $MEMWATCH_OUT/memwatch-<mpm>.png and
# memwatch-<mpm>-child.png for a person to look at.
#
# Every Chromium run is bounded (60 s) and its whole process group is
# killed past that. A missing Chromium is a failure, not a skip.
use strict;
use warnings FATAL => 'all';

use lib 't/lib';

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil;
use File::Temp qw(tempdir);
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);
use MemwatchServer;

my $CHROMIUM = $ENV{MEMWATCH_CHROMIUM} || '/usr/bin/chromium';
my $TIMEOUT  = 60;          # seconds, for one Chromium run
my $MIN_PNG  = 10 * 1024;   # a blank or error page is smaller than this

plan tests => 25;

my $mpm = $ENV{MEMWATCH_MPM} || die "MEMWATCH_MPM not set";
my $out = $ENV{MEMWATCH_OUT}
    || die "MEMWATCH_OUT not set (scripts/test.sh sets it)";
-d $out or mkdir $out or die "mkdir $out: $!";
my $base = 'http://' . Apache::TestRequest::hostport();

# ---- Chromium -------------------------------------------------------------

ok t_cmp(-x $CHROMIUM ? 1 : 0, 1,
         "$CHROMIUM is installed (scripts/deps.sh installs chromium)")
    or die "no Chromium at $CHROMIUM: run scripts/deps.sh\n";

# Run Chromium on $url with @args, in a process group of its own, with a
# fresh profile; kill the group past $TIMEOUT. Returns a hash: rc (exit
# status, -1 when killed), timed_out, stdout, stderr, console (Chromium's
# CONSOLE log lines) and errors (those that report a problem).
sub chromium {
    my ($url, @args) = @_;
    my $dir = tempdir('memwatch-chromium-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my @cmd = ($CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu',
               '--disable-background-networking', '--disable-component-update',
               '--disable-sync', '--no-first-run', '--disable-quic',
               '--no-default-browser-check', "--user-data-dir=$dir/profile",
               '--enable-logging=stderr', '--v=0', @args, $url);
    t_debug("@cmd");
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        setpgrp(0, 0);
        $ENV{XDG_CONFIG_HOME} = "$dir/config";
        $ENV{XDG_CACHE_HOME}  = "$dir/cache";
        open STDIN,  '<', '/dev/null'     or POSIX::_exit(126);
        open STDOUT, '>', "$dir/stdout"   or POSIX::_exit(126);
        open STDERR, '>', "$dir/stderr"   or POSIX::_exit(126);
        exec @cmd or do { print STDERR "exec $CHROMIUM: $!\n"; POSIX::_exit(127) };
    }
    setpgrp($pid, $pid);    # whichever of the two runs first
    my $deadline = time + $TIMEOUT;
    my ($rc, $timed_out) = (undef, 0);
    while (1) {
        if (waitpid($pid, WNOHANG) == $pid) {
            $rc = $? >> 8;
            $rc = -1 if $? & 127;
            last;
        }
        if (time > $deadline) {
            $timed_out = 1;
            kill 'TERM', -$pid;
            sleep 1;
            kill 'KILL', -$pid;
            waitpid($pid, 0);
            $rc = -1;
            last;
        }
        sleep 0.1;
    }
    kill 'KILL', -$pid;     # helpers left behind, if any
    my %r = (rc => $rc, timed_out => $timed_out);
    for my $f (qw(stdout stderr)) {
        local $/;
        open my $fh, '<', "$dir/$f" or die "$dir/$f: $!";
        $r{$f} = <$fh> // '';
    }
    # The page has no scripts, so the console only speaks when something
    # went wrong: a script error, a resource that failed to load, a
    # Content-Security-Policy refusal.
    $r{console} = [ grep { /CONSOLE/ } split /\n/, $r{stderr} ];
    $r{errors}  = [ grep { /Uncaught|Error|Refused to|violates|Failed to load/ }
                    @{ $r{console} } ];
    t_debug("chromium: exit $rc" . ($timed_out ? ", killed after $TIMEOUT s" : ''));
    t_debug("console: $_") for @{ $r{console} };
    if ($rc) {
        t_debug("stderr: $_") for grep { !/dbus|DBus/ } split /\n/, $r{stderr};
    }
    return \%r;
}

sub ran_ok {
    my ($r, $what) = @_;
    ok t_cmp($r->{rc}, 0, "$what: Chromium exits 0 within $TIMEOUT s");
}

sub no_console_errors {
    my ($r, $what) = @_;
    ok t_cmp(scalar @{ $r->{errors} }, 0,
             "$what: no console errors (" . join(' | ', @{ $r->{errors} }) . ')');
}

sub screenshot {
    my ($url, $png, $what) = @_;
    unlink $png;
    my $r = chromium($url, "--screenshot=$png", '--window-size=1280,1600',
                     '--hide-scrollbars');
    my $size = -s $png || 0;
    my $magic = '';
    if (open my $fh, '<:raw', $png) {
        read $fh, $magic, 8;
    }
    t_debug("$png: $size bytes");
    ok t_cmp($r->{rc} == 0 && $magic eq "\x89PNG\r\n\x1a\n" && $size > $MIN_PNG
             ? 1 : 0, 1,
             "$what: screenshot $png is a PNG of more than $MIN_PNG bytes "
             . "($size, exit $r->{rc})");
    no_console_errors($r, "$what screenshot");
}

# ---- The DOM, as Chromium serialises it -----------------------------------

# The rows (as lists of cell contents) of the first <table class="$class">.
sub table_rows {
    my ($dom, $class) = @_;
    my ($table) = $dom =~ m{<table class="\Q$class\E">(.*?)</table>}s
        or return;
    my @rows;
    while ($table =~ m{<tr>(.*?)</tr>}sg) {
        my $tr = $1;
        my @cells = $tr =~ m{<td[^>]*>(.*?)</td>}sg;
        push @rows, \@cells if @cells;      # not the header row
    }
    return \@rows;
}

# The chart: the first <svg class="chart">, and its polylines with at
# least two points each.
sub chart_lines {
    my ($dom) = @_;
    my ($svg) = $dom =~ m{(<svg[^>]*\bclass="chart"[^>]*>.*?</svg>)}s
        or return;
    my @lines = grep { my @p = split ' ', $_; @p >= 2 }
                $svg =~ m{<polyline[^>]*\bpoints="([^"]*)"}g;
    return scalar @lines;
}

# What Chromium returned, shortened, when an assertion on it failed.
sub dom_debug {
    my ($dom) = @_;
    my $n = length $dom;
    $dom = substr($dom, 0, 4000) . "\n[... $n characters in all]" if $n > 4000;
    t_debug("DOM: $dom");
}

sub strip { my $s = shift; $s =~ s/<[^>]*>//g; $s =~ s/^\s+|\s+$//g; $s }

# ---- Traffic, then history to draw ----------------------------------------

sub json { decode_json(GET('/memwatch?json&history')->content) }

GET('/mw/hello') for 1 .. 50;
GET('/mw/leak?kb=256') for 1 .. 5;

# Every live child has at least two samples (idle ones are sampled by the
# parent about every ten seconds).
my $j;
my $deadline = time + 90;
while (1) {
    $j = json();
    my @c = @{ $j->{children} };
    last if @c && !grep { @{ $_->{history} } < 2 } @c;
    last if time > $deadline;
    GET('/mw/hello');
    GET('/mw/leak?kb=256');
    sleep 0.5;
}
t_debug(join ', ', map { "slot $_->{slot} pid $_->{pid}: "
                         . scalar(@{ $_->{history} }) . ' samples' }
        @{ $j->{children} });
ok t_cmp((@{ $j->{children} }
          && !grep { @{ $_->{history} } < 2 } @{ $j->{children} }) ? 1 : 0, 1,
         'every live child has at least two history samples');

# ---- The overview ---------------------------------------------------------

{
    my $before = json();
    my $r = chromium("$base/memwatch", '--dump-dom');
    my $after = json();
    my $dom = $r->{stdout};
    ran_ok($r, 'overview');

    ok t_cmp($dom =~ m{<svg[^>]*\bclass="chart"} ? 1 : 0, 1,
             'overview: the RSS chart (<svg class="chart">)')
        or dom_debug($dom);
    my $lines = chart_lines($dom) || 0;
    ok t_cmp($lines >= 1 ? 1 : 0, 1,
             "overview: the chart has lines ($lines polylines of 2+ points)")
        or dom_debug($dom);

    # A row per live child: the rows agree with the page's own count, and
    # with the children alive both just before and just after the page.
    my $rows = table_rows($dom, 'children') || [];
    my %shown = map { strip($_->[1]) => strip($_->[0]) } @$rows;   # pid => slot
    my ($count) = $dom =~ m{<dt>Children</dt><dd>(\d+) of ServerLimit};
    my %after = map { $_->{pid} => 1 } @{ $after->{children} };
    my @stayed = grep { $after{$_->{pid}} } @{ $before->{children} };
    my @missing = grep { !exists $shown{$_->{pid}} } @stayed;
    t_debug('rows: ' . join(', ', map { "slot $shown{$_} pid $_" } sort keys %shown));
    ok t_cmp(scalar(@$rows) >= 1 && defined $count && @$rows == $count
             && !@missing ? 1 : 0, 1,
             'overview: the children table has a row per live child ('
             . scalar(@$rows) . ' rows, page says ' . ($count // '?')
             . ', missing: ' . join(' ', map { $_->{pid} } @missing) . ')')
        or dom_debug($dom);
    # Each child a colour of its own: its swatch in the table, its line
    # and its "now" dot in the chart (slots 0 and 1 were once both grey).
    my @sw = map { $_->[0] =~ /class="sw" style="background:\s*([^";]+)/ ? $1 : '?' }
             @$rows;
    my %seen;
    my @dup = grep { $seen{$_}++ } @sw;
    ok t_cmp(scalar(@sw) >= 1 && !@dup && !grep({ $_ eq '?' } @sw) ? 1 : 0, 1,
             'overview: each child has a colour of its own (' . join(' ', @sw) . ')')
        or dom_debug($dom);
    my ($svg) = $dom =~ m{(<svg[^>]*\bclass="chart"[^>]*>.*?</svg>)}s;
    my @dots = ($svg // '') =~ m{<circle class="now"[^>]*fill="([^"]+)"}g;
    ok t_cmp(join(' ', sort @dots), join(' ', sort @sw),
             'overview: the chart ends each child\'s line at its current figure, '
             . 'a dot in its colour');
    # "Private" comes from smaps_rollup every MemwatchSmapsInterval: its age
    # is shown next to it (column 10), and is no older than the child.
    my @aged = grep { strip($_->[9]) =~ /^[\d.]+ [KMG]?i?B \((\d+)s old\)$/ } @$rows;
    ok t_cmp(scalar(@aged), scalar(@$rows),
             'overview: each child\'s private memory shows its age ("... (Ns old)"): '
             . join(' | ', map { strip($_->[9]) } @$rows))
        or dom_debug($dom);
    my ($pss) = $dom =~ m{Total PSS</dt><dd>([^<]*)</dd>};
    ok t_cmp($pss // 'missing', qr/^[\d.]+ [KMG]?i?B$/, 'overview: the total PSS');
    my @bad_links = grep { $_->[0] !~ m{<a href="[^"]*\?child=(\d+)">\1</a>} } @$rows;
    ok t_cmp(scalar @bad_links, 0,
             "overview: each child's slot links to its detail view");
    no_console_errors($r, 'overview');

    screenshot("$base/memwatch", "$out/memwatch-$mpm.png", 'overview');
}

# ---- A child's detail view ------------------------------------------------

{
    # The child that served most: it has the most history and is the least
    # likely to be reaped as a spare meanwhile.
    my ($c) = sort { $b->{requests} <=> $a->{requests} }
              grep { @{ $_->{history} } >= 2 } @{ json()->{children} };
    my $slot = $c ? $c->{slot} : 0;
    t_debug($c ? "detail of slot $slot, pid $c->{pid}, "
                 . scalar(@{ $c->{history} }) . ' samples'
               : 'no child with two samples');
    my $url = "$base/memwatch?child=$slot";
    my $r = chromium($url, '--dump-dom');
    my $dom = $r->{stdout};
    ran_ok($r, 'detail');
    ok t_cmp($dom =~ m{<h1>Child in slot \Q$slot\E, pid \d+</h1>} ? 1 : 0, 1,
             "detail: the view of slot $slot")
        or dom_debug($dom);
    my $lines = chart_lines($dom) || 0;
    ok t_cmp($dom =~ m{<svg[^>]*\bclass="chart"} && $lines >= 1 ? 1 : 0, 1,
             "detail: the chart, with lines ($lines polylines of 2+ points)")
        or dom_debug($dom);
    my $hist = table_rows($dom, 'history');
    my $n = $hist ? @$hist : 0;
    ok t_cmp($n >= 2 ? 1 : 0, 1,
             "detail: the history table has a row per sample ($n rows)")
        or dom_debug($dom);
    my @bad = grep { strip($_->[0]) !~ /ago$/ || strip($_->[2]) !~ /\d/ }
              @{ $hist || [] };
    ok t_cmp($hist && !@bad ? 1 : 0, 1,
             'detail: each history row has a time and an RSS');
    no_console_errors($r, 'detail');

    screenshot($url, "$out/memwatch-$mpm-child.png", 'detail');
}

# ---- Before the first history interval --------------------------------------
# A fresh server sampling every 300 s: children have at most one sample
# (taken at a first request), none from the parent yet. The chart must
# still draw every child, at its current figures.
{
    my $srv = MemwatchServer->new(name => 'browser', conf => "MemwatchHistory 60 300\n")
                            ->start;
    my ($status, $body) = $srv->get('/memwatch?json&history');
    my $fresh = eval { decode_json($body) } || { children => [] };
    my @few = grep { @{ $_->{history} } < 2 } @{ $fresh->{children} };
    ok t_cmp(scalar(@few) . ' of ' . scalar(@{ $fresh->{children} }),
             scalar(@{ $fresh->{children} }) . ' of ' . scalar(@{ $fresh->{children} }),
             'fresh server: no child has two samples yet: '
             . join(', ', map { "slot $_->{slot}: " . scalar(@{ $_->{history} }) }
                    @{ $fresh->{children} }));
    my $r = chromium($srv->url('/memwatch'), '--dump-dom');
    my $dom = $r->{stdout};
    ran_ok($r, 'fresh overview');
    my ($svg) = $dom =~ m{(<svg[^>]*\bclass="chart"[^>]*>.*?</svg>)}s;
    my $dots = () = ($svg // '') =~ m{<circle class="now"}g;
    my $rows = table_rows($dom, 'children') || [];
    ok t_cmp(($svg // '') !~ /No samples yet/ && @$rows && $dots == @$rows ? 1 : 0, 1,
             "fresh overview: the chart is drawn, a dot for each of the "
             . scalar(@$rows) . " children ($dots dots)")
        or dom_debug($dom);
    $srv->stop;
}
