package MemwatchBenchLeak;

# A mod_perl response handler that leaks on purpose, for `make bench`:
# every request keeps 32 KiB (PerlSetVar MemwatchBenchLeakKB) in a global,
# as a real application's cache without a bound would.

use strict;
use warnings;

use Apache2::RequestRec ();
use Apache2::RequestIO ();
use Apache2::RequestUtil ();
use Apache2::Const -compile => qw(OK);

our @kept;

sub handler {
    my $r = shift;
    my $kb = $r->dir_config('MemwatchBenchLeakKB') || 32;
    push @kept, 'x' x ($kb * 1024);
    $r->content_type('text/plain');
    $r->print('kept ', scalar(@kept), " pid=$$\n");
    return Apache2::Const::OK;
}

1;
