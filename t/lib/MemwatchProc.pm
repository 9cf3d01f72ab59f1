package MemwatchProc;

# What /proc says about a process, read independently of the module, for
# the tests and `make bench` (scripts/bench.pl, bench/lib):
#
#   children($ppid)   the pids of a process's children
#   rss($pid)         its resident set size in bytes, from /proc/PID/statm
#                     (the figure VmRSS shows and the module reads); undef
#                     if the process is gone

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use POSIX ();

our @EXPORT_OK = qw(children rss);

my $page = POSIX::sysconf(POSIX::_SC_PAGESIZE());

# httpd forks its children from its main thread, whose children file lists
# them. Without that file (a kernel built without CONFIG_PROC_CHILDREN),
# every process whose parent is $ppid.
sub children {
    my ($ppid) = @_;
    if (open my $fh, '<', "/proc/$ppid/task/$ppid/children") {
        return split ' ', scalar(<$fh>) // '';
    }
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($pid, $rest) = $line =~ /^(\d+) \(.*\) (.*)$/s or next;
        push @kids, $pid if (split ' ', $rest)[1] == $ppid;
    }
    return @kids;
}

# undef, not an empty list, for a process that is gone: callers build
# hashes with map.
sub rss {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/statm" or return undef;
    my (undef, $pages) = split ' ', (<$fh> // '');
    return defined $pages ? $pages * $page : undef;
}

1;
