# Each child keeps a ring of samples (MemwatchHistory 60 1: one a second,
# taken at the end of a request when due, or by the parent for an idle
# child): it fills, in time order, with real figures.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil;
use MemwatchClient qw(poll);
use MemwatchUtil qw(get_json);

plan tests => 6, need_module 'memwatch_test';

Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);

# Each ?json is a request: the child answering it samples when due.
my $j;
my $c = poll(15, sub {
    $j = get_json('history');
    my ($h) = sort { @{ $b->{history} } <=> @{ $a->{history} } }
              grep { @{ $_->{history} } >= 3 } @{ $j->{children} };
    return $h;
});
ok t_cmp($c ? 1 : 0, 1, 'a child has at least 3 history samples within 15 s');
$c ||= { history => [], pid => 0 };
my @h = @{ $c->{history} };
t_debug("child $c->{pid}: " . join(' ', map { "$_->{time}:$_->{rss_bytes}" } @h));
my @t = map { $_->{time} } @h;
my @back = grep { $t[$_] <= $t[$_ - 1] } 1 .. $#t;
ok t_cmp(@t >= 3 && !@back ? 1 : 0, 1,
         'sample times strictly increase: ' . join(',', @t));
ok t_cmp(@t && $t[-1] <= $j->{time} && $t[0] >= $c->{started} ? 1 : 0, 1,
         'and lie between the child\'s start and now');
ok t_cmp(scalar(grep { !defined $_->{rss_bytes} || $_->{rss_bytes} <= 0 } @h), 0,
         'every sample has rss_bytes > 0');
my @req = map { $_->{requests} } @h;
ok t_cmp(scalar(grep { $req[$_] < $req[$_ - 1] } 1 .. $#req), 0,
         'request counts in the samples never go down: ' . join(',', @req));
ok t_cmp(@req && $req[-1] <= $c->{requests} ? 1 : 0, 1,
         'and are at most the child\'s count now');
