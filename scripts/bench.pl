#!/usr/bin/perl
# The measurements behind `make bench` (see scripts/bench.sh). Every figure
# is a median of rounds taken alternately against the servers compared, so
# noise on this shared machine hits both sides alike.
use strict;
use warnings;

use File::Temp qw(tempfile);
use List::Util qw(max);
use MemwatchServer;

my $secs = $ENV{BENCH_SECONDS} || 5;
my $rounds = 5;
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

printf "mod_memwatch benchmark: %s MPM, wrk -t2 -c32, %d rounds of %d s, "
     . "medians\n\n", $mpm, $rounds, $secs;

# ---- 1. Overhead: the same server with and without the module -----------
{
    my $without = MemwatchServer->new(name => 'bench-without',
                                      without_memwatch => 1)->start;
    my $with = MemwatchServer->new(name => 'bench-with')->start;
    print "1. Throughput with the module loaded (watching only) / without\n";
    for my $case (['static file', '/index.html'], ['tiny handler', '/mw/hello']) {
        my ($name, $path) = @$case;
        my (@a, @b);
        wrk($_->port, $path) for $without, $with;     # warm both up
        for my $r (1 .. $rounds) {
            # Alternate who goes first.
            if ($r % 2) {
                push @a, wrk($without->port, $path);
                push @b, wrk($with->port, $path);
            }
            else {
                push @b, wrk($with->port, $path);
                push @a, wrk($without->port, $path);
            }
        }
        printf "   %-13s without %8.0f req/s   with %8.0f req/s   ratio %.3f\n",
               $name, median(@a), median(@b), median(@b) / median(@a);
    }
    print "\n";
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
