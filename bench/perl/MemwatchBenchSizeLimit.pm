package MemwatchBenchSizeLimit;

# Apache2::SizeLimit at "the same limit" as MemwatchMaxGrowth: a child may
# grow by PerlSetVar MemwatchBenchGrowthKB over what it had when it started.
#
# On Linux without Linux::Smaps (Debian has no package of it),
# Apache2::SizeLimit measures a process from /proc/self/statm: size is the
# virtual size and "unshared" is that minus the resident shared pages. A
# mod_perl child starts well above any growth limit by that measure, so a
# fixed set_max_unshared_size would end every child after its first
# request. This PerlChildInitHandler reads the child's own starting
# figure the way Apache2::SizeLimit does and sets the limit to it plus the
# growth allowed; the check itself stays Apache2::SizeLimit's, every
# request (PerlCleanupHandler Apache2::SizeLimit, check interval 1).

use strict;
use warnings;

use Apache2::SizeLimit ();
use Apache2::ServerRec ();
use Apache2::ServerUtil ();
use Apache2::Const -compile => qw(OK);

our $start_unshared_kb;

sub child_init {
    my ($pool, $s) = @_;
    my $growth_kb = $s->dir_config('MemwatchBenchGrowthKB') || 16384;
    my (undef, undef, $unshared) = Apache2::SizeLimit->_check_size();
    $start_unshared_kb = $unshared;
    Apache2::SizeLimit->set_max_unshared_size($unshared + $growth_kb);
    Apache2::SizeLimit->set_check_interval(1);
    return Apache2::Const::OK;
}

1;
