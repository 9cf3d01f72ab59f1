# The module is loaded, the run has the MPM it asked for, and /memwatch
# answers in every format.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil;
use JSON::PP;

plan tests => 6, need_module 'memwatch_test';

my $want = $ENV{MEMWATCH_MPM} || die "MEMWATCH_MPM not set";
my $info = GET('/mw/info')->content;
ok t_cmp($info, qr/mpm=\Q$want\E\b/, "the server runs the $want MPM");

my $res = GET('/memwatch?json');
ok t_cmp($res->code, 200, '?json answers 200');
ok t_cmp($res->header('Content-Type'), qr{^application/json}, 'JSON type');
my $j = decode_json($res->content);
ok t_cmp($j->{mpm}, $want, 'JSON names the MPM');

ok t_cmp(GET('/memwatch?auto')->content, qr/^ServerMPM: \Q$want\E$/m,
         '?auto names the MPM');
ok t_cmp(GET('/memwatch')->content, qr{<h1>Memory of Apache children</h1>},
         'HTML page');
