package MemwatchLeak;

# A mod_perl response handler that leaks: every request keeps 32 KiB in a
# package global. Used by t/runtime.t and t/private.t
# (never on a real server).

use strict;
use warnings;

use Apache2::RequestRec ();
use Apache2::RequestIO ();
use Apache2::Response ();
use Apache2::Const -compile => qw(OK);

our @leaked;

sub handler {
    my $r = shift;
    push @leaked, 'x' x (32 * 1024);
    my $body = "leaked 32 KiB pid=$$\n";
    $r->content_type('text/plain');
    $r->set_content_length(length $body);
    $r->print($body);
    return Apache2::Const::OK;
}

1;
