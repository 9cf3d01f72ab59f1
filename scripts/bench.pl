#!/usr/bin/perl
# The measurements behind `make bench` (see scripts/bench.sh). Every figure
# is a median of rounds taken alternately against the servers compared, so
# noise on this shared machine hits both sides alike.
use strict;
use warnings;

use File::Temp qw(tempfile);
use List::Util qw(max);
use MemwatchClient ();
use MemwatchServer;

my $secs = $ENV{BENCH_SECONDS} || 4;
my $rounds = $ENV{BENCH_ROUNDS} || 9;
my $mpm = $ENV{MEMWATCH_MPM};

sub median { my @s = sort { $a <=> $b } @_; $s[$#s / 2] }

# One wrk run: requests per second.
sub wrk {
    my ($port, $path, @extra) = @_;
    my $out = `wrk -t2 -c32 -d${secs}s @extra http://127.0.0.1:$port$path 2>&1`;
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/ or die "wrk: $out";
    my ($errors) = $out =~ /Non-2xx or 3xx responses: (\d+)/;
    die "wrk saw $errors non-2xx responses" if $errors;
    return $rps;
}

printf "mod_memwatch benchmark: %s MPM, wrk -t2 -c32, %d rounds of %d s\n"
     . "(each round runs both servers back to back; its ratio is taken within\n"
     . "the round, and the median of the rounds is reported, with their range)\n\n",
     $mpm, $rounds, $secs;

# ---- 1. Overhead: the same server with and without the module -----------
{
    my $without = MemwatchServer->new(name => 'bench-without',
                                      without_memwatch => 1)->start;
    my $with = MemwatchServer->new(name => 'bench-with')->start;
    print "1. Throughput with the module loaded (watching only) / without\n";
    for my $case (['static file', '/index.html'], ['tiny handler', '/mw/hello']) {
        my ($name, $path) = @$case;
        my (@a, @b, @ratio);
        wrk($_->port, $path) for $without, $with;     # warm both up
        for my $r (1 .. $rounds) {
            # Alternate who goes first.
            my ($x, $y);
            if ($r % 2) {
                $x = wrk($without->port, $path);
                $y = wrk($with->port, $path);
            }
            else {
                $y = wrk($with->port, $path);
                $x = wrk($without->port, $path);
            }
            push @a, $x;
            push @b, $y;
            push @ratio, $y / $x;
        }
        my @sorted = sort { $a <=> $b } @ratio;
        printf "   %-13s without %8.0f req/s   with %8.0f req/s   "
             . "ratio %.3f (rounds %.3f..%.3f)\n", $name, median(@a),
             median(@b), median(@ratio), $sorted[0], $sorted[-1];
    }
}

# ---- 1b. The same, counted in instructions (deterministic) --------------
# One httpd process (-X, prefork) under callgrind, the same requests with
# and without the module: instructions per request do not depend on what
# else the machine is doing. System calls (the statm pread) are not in it.
sub instructions {
    my ($without) = @_;
    my $srv = MemwatchServer->new(name => 'bench-cg',
                                  without_memwatch => $without,
                                  mpm_conf => '');
    $srv->{mpm} = 'prefork';
    $srv->write_conf;
    my $out = "$srv->{root}/callgrind.out";
    my $pid = fork // die;
    if (!$pid) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec 'valgrind', '--tool=callgrind', '--instr-atstart=no',
             "--callgrind-out-file=$out",
             '/usr/sbin/apache2', '-X', '-f', "$srv->{root}/httpd.conf";
    }
    MemwatchClient::poll(60, sub { ($srv->get('/mw/hello'))[0] == 200 })
        or die "httpd under callgrind did not answer";
    # Count the requests only, not start-up.
    system("callgrind_control -i on $pid >/dev/null 2>&1");
    system("ab -q -k -n 2000 -c 1 http://127.0.0.1:$srv->{port}/index.html "
           . ">/dev/null 2>&1");
    kill 'TERM', $pid;
    waitpid $pid, 0;
    my ($total) = `callgrind_annotate $out 2>/dev/null`
                  =~ /([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS/;
    $total =~ tr/,//d;
    delete $srv->{pid_file};
    return $total / 2000;
}
{
    my $without = instructions(1);
    my $with = instructions(0);
    printf "   %-13s without %8.0f instructions/request   with %8.0f   "
         . "ratio %.3f\n   (callgrind, one prefork process, keep-alive; "
         . "system calls not counted)\n\n", 'static file', $without, $with,
         $without / $with;
}

# ---- 2. Recycling a leaky workload: memwatch against a fixed limit -------
# 1% of requests leak 1 MiB, the rest leak nothing; every request is a new
# connection, so MaxConnectionsPerChild counts requests. Memwatch recycles
# a child when it grew by 64 MiB; the fixed limit is tuned until the
# largest child peaks no higher than under memwatch.
my ($fh, $lua) = tempfile(SUFFIX => '.lua', UNLINK => 1);
print $fh <<'LUA';
request = function()
  if math.random(100) == 1 then
    return wrk.format("GET", "/mw/leak?kb=1024")
  end
  return wrk.format("GET", "/mw/hello")
end
LUA
close $fh;

sub leaky_run {
    my ($srv) = @_;
    my $before = $srv->json;
    my $rps = wrk($srv->port, '/', '-H', '"Connection: close"',
                  '-s', $lua, '-d', (3 * $secs) . 's');
    my $j = $srv->json;
    my $peak = max(0, map { $_->{rss_peak_bytes} }
                      @{ $j->{children} }, @{ $j->{exited} });
    return { rps => $rps, peak => $peak,
             exits => $j->{exited_total} - $before->{exited_total},
             recycles => $j->{recycles_total}{growth}
                         - $before->{recycles_total}{growth} };
}

my $sizing = "StartServers 2\nThreadsPerChild 25\nMinSpareThreads 25\n"
           . "MaxSpareThreads 75\nMaxRequestWorkers 100\nServerLimit 8\n";
$sizing = "StartServers 4\nMinSpareServers 4\nMaxSpareServers 8\n"
        . "MaxRequestWorkers 32\nServerLimit 32\n" if $mpm eq 'prefork';

my $mw = MemwatchServer->new(name => 'bench-memwatch', mpm_conf => $sizing,
    conf => "MemwatchMaxGrowth 64M\nMemwatchMinLifetime 1\n"
          . "MemwatchMaxRetiring 2")->start;
my $m = leaky_run($mw);
# Starting point: the mean growth per request gives the connections that
# take a child to 64 MiB on average; the largest child needs fewer.
my $n = int(64 * 1024 * 1024 / (0.01 * 1024 * 1024));
my ($f, $tries);
for $tries (1 .. 4) {
    my $fixed = MemwatchServer->new(name => 'bench-fixed', mpm_conf => $sizing,
        conf => "MaxConnectionsPerChild $n")->start;
    $f = leaky_run($fixed);
    $f->{n} = $n;
    last if $f->{peak} <= $m->{peak} * 1.05;
    $n = int($n * ($m->{peak} / $f->{peak}) * 0.95);
}
print "2. Leaky workload (1% of requests leak 1 MiB, one request per connection)\n";
printf "   memwatch MemwatchMaxGrowth 64M:    %8.0f req/s  largest child %4.0f MiB"
     . "  %d children recycled\n", $m->{rps}, $m->{peak} / 1048576, $m->{recycles};
printf "   fixed MaxConnectionsPerChild %-5d %8.0f req/s  largest child %4.0f MiB"
     . "  %d children recycled\n", $f->{n}, $f->{rps}, $f->{peak} / 1048576,
     $f->{exits};
printf "   throughput ratio memwatch/fixed %.3f, recycles %d vs %d\n",
       $m->{rps} / $f->{rps}, $m->{recycles}, $f->{exits};
