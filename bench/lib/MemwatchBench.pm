package MemwatchBench;

# Measuring helpers for `make bench` (scripts/bench.pl): statistics over
# rounds, one wrk run with its counts, and a sampler that follows every
# child of an httpd parent (children and RSS through t/lib/MemwatchProc).
#
#   median(@x), spread(@x) -> (min, max)
#   ci95_median(@x) -> (lo, hi, coverage)
#   wrk(url, %o)      { requests, rps, failed, errors => {kind => n} }
#   wrk_start(url, %o) / wrk_finish($h)   the same in two steps
#   sampler_start($ppid) / sampler_stop($s)
#                     RSS of every child every 50 ms: peak per child,
#                     children that exited

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);
use MemwatchProc qw(children rss);

our @EXPORT_OK = qw(median ci95_median spread wrk wrk_start wrk_finish
                    sampler_start sampler_stop loadavg);

sub median {
    my @s = sort { $a <=> $b } @_;
    return undef unless @s;
    return @s % 2 ? $s[$#s / 2] : ($s[@s / 2 - 1] + $s[@s / 2]) / 2;
}

sub spread {
    my @s = sort { $a <=> $b } @_;
    return ($s[0], $s[-1]);
}

# A distribution-free confidence interval for the median: the k-th
# smallest and k-th largest of n rounds, with k the largest for which the
# binomial tail P(B(n, 1/2) < k) stays at or below 2.5% each side; its
# coverage is 1 - 2 P(B < k). With fewer than 6 rounds no such k exists and
# the range (k = 1) is returned, with its smaller coverage (94% for n = 5).
# Returns (lo, hi, coverage).
sub ci95_median {
    my @s = sort { $a <=> $b } @_;
    my $n = @s;
    my ($k, $below_k, $tail, $c) = (1, 2**-$n, 0, 1);   # c = C(n, j)
    for my $j (0 .. $n) {
        $tail += $c / 2**$n;            # P(B <= j)
        last if $tail > 0.025;
        ($k, $below_k) = ($j + 1, $tail);   # P(B < k) = P(B <= j)
        $c = $c * ($n - $j) / ($j + 1);
    }
    $k = int(($n + 1) / 2) if $k > ($n + 1) / 2;
    return ($s[$k - 1], $s[$n - $k], 1 - 2 * $below_k);
}

sub loadavg {
    open my $fh, '<', '/proc/loadavg' or return '?';
    my @l = split ' ', scalar <$fh>;
    return "@l[0..2]";
}

# One wrk run. Options: threads, conns, seconds, script, header (list).
# failed counts every request wrk saw go wrong: socket errors (connect,
# read, write, timeout; a read error is also a connection the server closed
# before the response was complete) and non-2xx/3xx responses.
sub wrk { wrk_finish(wrk_start(@_)) }

# The same in two steps, so that several run side by side: wrk_start
# returns { pid, fh } at once; wrk_finish waits for it and returns the
# counts.
sub wrk_start {
    my ($url, %o) = @_;
    my @cmd = ('wrk', '-t' . ($o{threads} || 1), '-c' . ($o{conns} || 8),
               '-d' . ($o{seconds} || 3) . 's', '--timeout', '10s');
    push @cmd, '-s', $o{script} if $o{script};
    push @cmd, map { ('-H', $_) } @{ $o{header} || [] };
    my $pid = open my $fh, '-|', @cmd, $url or die "wrk: $!";
    return { pid => $pid, fh => $fh };
}

sub wrk_finish {
    my ($h) = @_;
    my $out = do { local $/; readline $h->{fh} } // '';
    close $h->{fh};
    my ($n) = $out =~ /(\d+) requests in / or die "wrk: $out";
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/ or die "wrk: $out";
    my %err;
    if ($out =~ /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/) {
        @err{qw(connect read write timeout)} = ($1, $2, $3, $4);
    }
    ($err{'non-2xx'}) = $out =~ /Non-2xx or 3xx responses: (\d+)/;
    my $failed = 0;
    for (keys %err) {
        if ($err{$_}) { $failed += $err{$_} } else { delete $err{$_} }
    }
    return { requests => $n, rps => $rps, failed => $failed,
             errors => \%err };
}

# A process of its own that reads the RSS of every child of $ppid every
# `interval` seconds until sampler_stop. Result: { peak => {pid => bytes},
# first => {pid => bytes}, exited => [pids], samples => n }.
sub sampler_start {
    my ($ppid, $interval) = @_;
    $interval ||= 0.05;
    my $file = "/tmp/memwatch-bench-sampler.$$." . int(rand 1e9);
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $stop = 0;
        local $SIG{TERM} = sub { $stop = 1 };
        my (%peak, %first, %alive);
        my $samples = 0;
        my $tick = sub {
            my %now = map { $_ => 1 } children($ppid);
            for my $c (keys %now) {
                my $rss = rss($c) // next;
                $first{$c} //= $rss;
                $peak{$c} = $rss if !$peak{$c} || $rss > $peak{$c};
            }
            $alive{$_} = 1 for keys %now;
            delete $alive{$_} for grep { !$now{$_} } keys %alive;
            $samples++;
        };
        until ($stop) {
            $tick->();
            sleep $interval;
        }
        $tick->();
        my @exited = grep { !$alive{$_} } keys %peak;
        open my $fh, '>', $file or POSIX::_exit(1);
        print $fh JSON::PP::encode_json({ peak => \%peak, first => \%first,
                                          exited => \@exited,
                                          samples => $samples });
        close $fh;
        POSIX::_exit(0);
    }
    return { pid => $pid, file => $file, ppid => $ppid };
}

sub sampler_stop {
    my ($s) = @_;
    kill 'TERM', $s->{pid};
    waitpid $s->{pid}, 0;
    open my $fh, '<', $s->{file} or die "sampler left no result";
    local $/;
    my $r = JSON::PP::decode_json(<$fh>);
    close $fh;
    unlink $s->{file};
    return $r;
}

1;
