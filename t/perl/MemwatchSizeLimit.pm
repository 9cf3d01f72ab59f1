package MemwatchSizeLimit;

# Apache2::SizeLimit at the same limit as "MemwatchMaxPrivate 16M", for
# t/private.t (never on a real server).
#
# What each measures. memwatch's private memory is Private_Clean +
# Private_Dirty of /proc/self/smaps_rollup. Apache2::SizeLimit 0.97
# (Apache/SizeLimit/Core.pm) uses smaps only through Linux::Smaps, which
# Debian does not package; without it, on Linux, it reads /proc/self/statm
# and counts in KB (pages x 4): size = the virtual size (field 1), share =
# resident file-backed and shmem pages (field 3), unshared = size - share.
# That "unshared" also counts mapped but never touched address space, about
# 8 MB of a fresh mod_perl child here, so set_max_unshared_size(16384) as
# such would stop a child at about 8 MiB of private memory. A leak grows
# both figures alike (new heap pages are virtual, resident and private), so
# the difference between them is measured on each child's first requests
# and added to the limit: the child leaves once its private memory would
# be past 16 MiB, as Apache2::SizeLimit can see it. The check stays
# Apache2::SizeLimit's own, at every request (check interval 1), from a
# PerlCleanupHandler listed after this one:
#
#   PerlSetVar MemwatchSizeLimitKB 16384
#   PerlCleanupHandler MemwatchSizeLimit::calibrate Apache2::SizeLimit

use strict;
use warnings;

use Apache2::SizeLimit ();
use Apache2::RequestRec ();
use Apache2::RequestUtil ();
use Apache2::Const -compile => qw(OK);

our $requests = 0;

# Private_Clean + Private_Dirty of this process, in KB.
sub private_kb {
    open my $fh, '<', '/proc/self/smaps_rollup' or return;
    my $kb = 0;
    while (my $line = <$fh>) {
        $kb += $1 if $line =~ /^Private_(?:Clean|Dirty):\s+(\d+) kB/;
    }
    return $kb;
}

sub calibrate {
    my $r = shift;
    # A child's first requests unshare some of the interpreter it shares
    # with the parent; after a few the difference holds still.
    return Apache2::Const::OK if ++$requests > 5;
    my $limit_kb = $r->dir_config('MemwatchSizeLimitKB') || 16384;
    my (undef, undef, $unshared_kb) = Apache2::SizeLimit->_check_size();
    my $private_kb = private_kb() // return Apache2::Const::OK;
    Apache2::SizeLimit->set_max_unshared_size(
        $limit_kb + $unshared_kb - $private_kb);
    Apache2::SizeLimit->set_check_interval(1);
    return Apache2::Const::OK;
}

1;
