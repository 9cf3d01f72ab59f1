# The shared table survives graceful restarts and is created once: after
# 100 of them the parent maps no more memory than after the first, and the
# children of the old generations are listed as exited for "restart".
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestUtil;
use Time::HiRes qw(time);
use MemwatchServer;

plan tests => 5, need_module 'memwatch_test';

sub status_of {
    my $pid = shift;
    my %st;
    open my $fh, '<', "/proc/$pid/status" or die "$pid: $!";
    while (<$fh>) { $st{$1} = $2 if /^(Vm\w+):\s+(\d+) kB/ }
    open $fh, '<', "/proc/$pid/maps" or die $!;
    my @maps = <$fh>;
    $st{maps} = @maps;
    $st{shm} = grep { m{/dev/zero|SYSV|\(deleted\)} } @maps;
    return \%st;
}

my $srv = MemwatchServer->new(name => 'restart', conf => "MemwatchHistory 30 1");
$srv->start;
my $parent = $srv->pid;

sub restart_to {
    my $gen = shift;
    kill 'USR1', $parent or die "kill: $!";
    return $srv->poll(30, sub {
        my $j = $srv->json;
        return $j->{generation} == $gen
            && grep { $_->{generation} == $gen } @{ $j->{children} };
    });
}

# The first restart settles what a generation allocates once.
restart_to(1) or die "first graceful restart did not complete";
my $before = status_of($parent);
my $t0 = time;
my $done = 1;
for my $gen (2 .. 100) {
    last unless restart_to($gen);
    $done = $gen;
}
my $took = time - $t0;
my $after = status_of($parent);
t_debug(sprintf "%d graceful restarts in %.1f s", $done - 1, $took);
t_debug("parent VmSize $before->{VmSize} -> $after->{VmSize} kB, "
        . "mappings $before->{maps} -> $after->{maps}, "
        . "shared segments $before->{shm} -> $after->{shm}");

ok t_cmp($done, 100, '100 graceful restarts completed');
ok t_cmp($after->{shm}, $before->{shm},
         'no new shared memory segment across 99 restarts');
ok t_cmp($after->{VmSize} - $before->{VmSize} <= 1024 ? 1 : 0, 1,
         'the parent grew by at most 1 MiB of address space');

my $j = $srv->json;
ok t_cmp((grep { $_->{generation} == 100 } @{ $j->{children} }) ? 1 : 0, 1,
         'children of generation 100 are in the table');
ok t_cmp((grep { $_->{reason} eq 'restart' } @{ $j->{exited} }) ? 1 : 0, 1,
         'children of older generations are listed as exited for restart');
