# mod_memwatch adds its section to mod_status's /server-status: lines in
# ?auto, a "Memory (mod_memwatch)" part in the HTML page.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil;
use MemwatchClient qw(poll);
use MemwatchUtil qw(get_json MiB);

plan tests => 7, need_module 'memwatch_test';

Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);

# Each child's figure changes only at the end of its own requests: between
# a ?json read just before and one just after, only the children answering
# them move, a little. Retried while a child comes or goes in between.
my ($res, %auto, $j, $diff);
my $agree = poll(10, sub {
    my $j1 = get_json();
    $res = GET('/server-status?auto');
    $j = get_json();
    %auto = map { /^([^:]+): (.*)$/ } split /\n/, $res->content;
    my $pa = join ',', sort map { $_->{pid} } @{ $j1->{children} };
    my $pb = join ',', sort map { $_->{pid} } @{ $j->{children} };
    my $total = $auto{MemwatchTotalRSS} // 0;
    ($diff) = sort { $a <=> $b } map { abs($total - $_->{totals}{rss_bytes}) } $j1, $j;
    return $pa eq $pb && $diff <= 2 * MiB;
});
ok t_cmp($res->code, 200, '/server-status?auto answers');
ok t_cmp(($auto{MemwatchTotalRSS} // '') =~ /^[1-9]\d*$/ ? 1 : 0, 1,
         'MemwatchTotalRSS: ' . ($auto{MemwatchTotalRSS} // 'missing'));
ok t_cmp($agree ? 1 : 0, 1,
         "and agrees with totals.rss_bytes of ?json ($j->{totals}{rss_bytes}, "
         . "off by $diff)");
my $recycles = 0;
$recycles += $_ for values %{ $j->{recycles_total} };
ok t_cmp($auto{MemwatchRecycles}, $recycles,
         'MemwatchRecycles is the sum of recycles_total');
ok t_cmp(exists $auto{MemwatchLeaking} && exists $auto{MemwatchRetiring} ? 1 : 0, 1,
         'MemwatchLeaking and MemwatchRetiring lines');

$res = GET('/server-status');
ok t_cmp($res->code, 200, '/server-status answers');
my ($section) = $res->content =~ m{(<h2>Memory \(mod_memwatch\)</h2>.*?</dl>)}s;
ok t_cmp($section // 'missing', qr{<dl><dt>Children use [\d.]+ \w+ in total},
         'the HTML page has "Memory (mod_memwatch)" with the total');
