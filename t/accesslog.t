# The access-log figures: with
#   LogFormat "... %{memwatch-rss}n %{memwatch-growth}n"
# each line carries the child's RSS after the request and how much it
# changed since the child's previous request, in bytes. The notes are set
# before mod_log_config writes (mw_log_transaction), so a real access log
# of a private httpd must have them on every request:
#   - every line has a positive RSS and an integer growth;
#   - on one connection (one child, no other traffic) each growth is the
#     difference between two consecutive RSS figures;
#   - leaking 4 MiB shows as a growth of megabytes on that request;
#   - the last RSS logged for the child is about the RSS /memwatch shows;
#   - a child's first line logs its growth since it started, not its whole
#     RSS (issue 26), in a server of its own.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestUtil;
use MemwatchClient qw(conn req poll child_of);
use MemwatchServer;

plan tests => 7, need_module 'memwatch_test';

my $MiB = 1024 * 1024;
my $srv = MemwatchServer->new(name => 'accesslog', conf => <<'EOF')->start;
MemwatchWarmup 5
LogFormat "%P %>s %U %{memwatch-rss}n %{memwatch-growth}n" memwatch
CustomLog logs/access_log memwatch
EOF
my $log = "$srv->{root}/logs/access_log";

my $sock = conn('127.0.0.1', $srv->port);
my ($pid) = req($sock, '/mw/info')->{body} =~ /pid=(\d+)/;
req($sock, '/mw/hello') for 1 .. 8;
my $leaks = 0;
for (1 .. 4) {
    my $r = req($sock, '/mw/leak?kb=4096');
    $leaks++ if $r->{status} == 200;
}
req($sock, '/mw/hello') for 1 .. 3;
close $sock;
my $n = 1 + 8 + 4 + 3;

# Written as each request ends: poll for all of them. @all has every line
# of the child: the ?json polls of the server's start may have landed on
# it and ended (on another thread) after its first requests here.
my (@mine, @all);
poll(10, sub {
    open my $fh, '<', $log or return;
    @all = map { [split / /] } grep { /^$pid / } <$fh>;
    chomp $_->[-1] for @all;
    @mine = grep { $_->[1] eq '200' && $_->[2] =~ m{^/mw/} } @all;
    return @mine >= $n;
});
ok t_cmp(scalar(@mine), $n, "$n lines of child $pid in the access log");
my @bad = grep { $_->[3] !~ /^[1-9]\d*$/ || $_->[4] !~ /^-?\d+$/ } @mine;
ok t_cmp(scalar(@bad), 0, 'each has an RSS > 0 and an integer growth'
         . (@bad ? ": @{$bad[0]}" : ''));
# The growth is from the child's previous request, whatever it was, in the
# order the module saw them end. prefork: the previous line. worker and
# event: two threads may write their lines the other way round, so a line
# at most two away.
my @near = $ENV{MEMWATCH_MPM} eq 'prefork' ? (-1) : (-2, -1, 1, 2);
my @off = grep {
    my $i = $_;
    !grep { $i + $_ >= 0 && $i + $_ <= $#all
            && $all[$i][4] == $all[$i][3] - $all[$i + $_][3] } @near;
} 1 .. $#all;
t_debug("access log: @$_") for @off ? @all : ();
ok t_cmp(scalar(@off), 0, 'each growth is the change from the previous RSS'
         . (@off ? ": line $off[0]: @{$all[$off[0]]}" : ''));
my @leak = map { $_->[4] } grep { $_->[2] eq '/mw/leak' } @mine;
my ($max) = sort { $b <=> $a } @leak;
ok t_cmp(scalar(@leak) . ' leaks', "$leaks leaks", 'the four leaks are logged');
ok t_cmp(($max // 0) >= 3 * $MiB ? 1 : 0, 1,
         'a leak of 4 MiB shows as a growth of at least 3 MiB (logged: @leak)');
# The page reads the child's RSS as it is made (t/rss.t): the child is
# idle since its last request, so within 512 KiB of what that logged.
my $c = child_of($srv->json, $pid);
my $page = $c ? $c->{rss_bytes} : 0;
ok t_cmp(abs($page - $mine[-1][3]) <= 512 * 1024 ? 1 : 0, 1,
         "the last RSS logged ($mine[-1][3]) is what /memwatch shows for "
         . "the child ($page), within 512 KiB");
$srv->stop;

# A fresh server: the first line each child logs. Growth since the child
# started is less than its RSS by what it held at its start (megabytes of
# the httpd image); before, the first line logged the whole RSS as growth.
{
    my $fresh = MemwatchServer->new(name => 'accesslog-first',
                                    conf => <<'EOF')->start;
LogFormat "%P %>s %U %{memwatch-rss}n %{memwatch-growth}n" memwatch
CustomLog logs/access_log memwatch
EOF
    my $flog = "$fresh->{root}/logs/access_log";
    my %first;
    poll(10, sub {
        my $s = conn('127.0.0.1', $fresh->port);
        req($s, '/mw/hello');
        close $s;
        open my $fh, '<', $flog or return;
        for (<$fh>) {
            my @f = split ' ';
            $first{$f[0]} //= \@f if @f == 5;
        }
        return %first;
    });
    my @whole = grep { $_->[4] >= $_->[3] - 1024 * 1024 } values %first;
    t_debug("first line of child $_: @{ $first{$_} }") for sort keys %first;
    ok t_cmp(scalar(keys %first) && !@whole ? 1 : 0, 1,
             'a child\'s first line logs its growth since it started, '
             . 'not its RSS' . (@whole ? ": @{ $whole[0] }" : ''));
    $fresh->stop;
}
