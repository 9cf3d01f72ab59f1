package MemwatchLoad;

# A strict HTTP/1.1 keep-alive load client for the recycling tests.
# Unlike ab, which silently retries a keep-alive connection the server
# closed without answering, every request here must get a complete 200
# response: a reset, an EOF before or inside a response, a short body (all
# as MemwatchClient's reader sees them) or a non-2xx status is counted as a
# failure. "Connection: close" from the server is honoured by reconnecting
# for the next request. Loopback only, bounded in requests and time.
#
#   my $r = MemwatchLoad::run(port => $p, path => '/mw/leak?kb=64',
#                             requests => 20000, clients => 8);
#   $r->{ok}, $r->{failed}, $r->{errors} (hash of kind => count),
#   $r->{over_1s}, $r->{over_2s} (requests, connect included, that took
#   longer), $r->{max_seconds} (the slowest)
#
# interval => seconds paces each client: its requests begin that far apart
# (one that falls behind catches up), for a steady rate rather than flat
# out. To do something while the load runs:
#
#   my $load = MemwatchLoad::start(%same_arguments);
#   ...;
#   MemwatchLoad::stop($load);      # paced clients stop at once
#   my $r = MemwatchLoad::finish($load);

use strict;
use warnings FATAL => 'all';

use IO::Select;
use JSON::PP;
use Time::HiRes qw(time);
use MemwatchClient ();

sub client {
    my (%a) = @_;
    my %res = (ok => 0, failed => 0, errors => {}, connections => 0,
               closes => 0, over_1s => 0, over_2s => 0, max_seconds => 0);
    my ($sock, $used, $lastpid);
    my $t0 = time;
    my $deadline = $t0 + $a{seconds};
    for (my $i = 0; $i < $a{requests} && time < $deadline; $i++) {
        if ($a{interval}) {
            # Wait for this request's turn; the stop pipe ends the wait,
            # and the run, once the parent closes it.
            my $wait = $t0 + $i * $a{interval} - time;
            last if IO::Select->new($a{stop})->can_read($wait > 0 ? $wait : 0);
        }
        my $began = time;
        unless ($sock) {
            $sock = eval { MemwatchClient::conn('127.0.0.1', $a{port}) };
            unless ($sock) {
                $res{failed}++;
                $res{errors}{$@ =~ s/\n\z//r}++;
                next;
            }
            $res{connections}++;
            $used = 0;
        }
        # A request on a loaded machine may take a while, but not 30 s.
        my ($r, $err) = MemwatchClient::request($sock, $a{path}, timeout => 30);
        my $took = time - $began;
        $res{over_1s}++ if $took > 1;
        $res{over_2s}++ if $took > 2;
        $res{max_seconds} = $took if $took > $res{max_seconds};
        $used++;
        if (!$r) {
            $res{failed}++;
            $res{errors}{$err . ($used > 1 ? " (reused connection, last pid $lastpid)"
                                           : ' (new connection)')}++;
            undef $sock;
            next;
        }
        if ($r->{status} !~ /^2/) {
            $res{failed}++;
            $res{errors}{"status $r->{status}"}++;
        }
        else {
            $res{ok}++;
        }
        ($lastpid) = $r->{body} =~ /pid=(\d+)/;
        $lastpid //= '?';
        if ($r->{close}) {
            $res{closes}++;
            close $sock;
            undef $sock;
        }
    }
    return \%res;
}

# Run `clients` processes, each sending requests/clients requests.
sub run { finish(start(@_)) }

# Start them and return at once.
sub start {
    my (%a) = @_;
    $a{clients} ||= 8;
    $a{seconds} ||= 120;
    my $per = int($a{requests} / $a{clients});
    my @kids;
    pipe($a{stop}, my $stop) or die $!;
    for my $c (1 .. $a{clients}) {
        pipe(my $r, my $w) or die $!;
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            close $r;
            close $stop;
            my $res = client(%a, requests => $per);
            print $w encode_json($res);
            close $w;
            require POSIX;
            POSIX::_exit(0);
        }
        close $w;
        push @kids, [$pid, $r];
    }
    close $a{stop};
    return { kids => \@kids, per => $per, stop => $stop };
}

# Paced clients stop before their next request.
sub stop {
    my $stop = delete $_[0]{stop};
    close $stop if $stop;
}

# Wait for the clients: their results together.
sub finish {
    my ($load) = @_;
    my $per = $load->{per};
    my %total = (ok => 0, failed => 0, errors => {}, connections => 0,
                 closes => 0, over_1s => 0, over_2s => 0, max_seconds => 0);
    for my $k (@{ $load->{kids} }) {
        my $fh = $k->[1];
        local $/;
        my $json = <$fh>;
        waitpid $k->[0], 0;
        my $res = eval { decode_json($json) } || { failed => $per,
                                                   errors => { 'client died' => 1 } };
        $total{$_} += $res->{$_} // 0
            for qw(ok failed connections closes over_1s over_2s);
        $total{max_seconds} = $res->{max_seconds}
            if ($res->{max_seconds} // 0) > $total{max_seconds};
        $total{errors}{$_} += $res->{errors}{$_} for keys %{ $res->{errors} };
    }
    stop($load);
    return \%total;
}

1;
