# Real runtimes from Debian's packages, leaking as applications do: a
# mod_perl handler keeping 32 KiB a request in a package global (prefork),
# and an embedded mod_wsgi application keeping 32 KiB a request in a
# module-level list (event). Both recycle under load with no failed
# request. With embedded mod_wsgi 4.9.4 on Python 3.11 every exit of an
# event child hangs in Py_EndInterpreter (mod_wsgi issue 730): recycling
# goes on regardless, and MemwatchExitTimeout ends the hung processes.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestUtil;
use Cwd qw(abs_path);
use MemwatchClient qw(poll);
use MemwatchLoad;
use MemwatchServer;

my $mpm = $ENV{MEMWATCH_MPM};
my $t = abs_path('t');
my %runtime = (
    prefork => {
        name => 'mod_perl',
        module => '/usr/lib/apache2/modules/mod_perl.so',
        path => '/perl/leak',
        conf => "LoadModule perl_module /usr/lib/apache2/modules/mod_perl.so\n"
              . "PerlSwitches -I$t/perl\n"
              . "<Location /perl/leak>\n    SetHandler modperl\n"
              . "    PerlResponseHandler MemwatchLeak\n</Location>\n",
    },
    event => {
        name => 'embedded mod_wsgi',
        module => '/usr/lib/apache2/modules/mod_wsgi.so',
        path => '/wsgi/leak',
        conf => "LoadModule wsgi_module /usr/lib/apache2/modules/mod_wsgi.so\n"
              . "WSGIScriptAlias /wsgi/leak $t/wsgi/leak.py\n",
        # Hung processes keep their scoreboard slot until they are ended.
        mpm_conf => "StartServers 3\nThreadsPerChild 25\nMinSpareThreads 25\n"
                  . "MaxSpareThreads 150\nMaxRequestWorkers 800\n"
                  . "ServerLimit 32\n",
    },
);
my $rt = $runtime{$mpm};

plan tests => 6, need need_module('memwatch_test'),
    { "no runtime to test on the $mpm MPM (mod_perl runs on prefork, "
      . "embedded mod_wsgi on event)" => sub { $rt } },
    { ($rt ? $rt->{name} : 'the runtime') . ' is not installed'
      => sub { $rt && -e $rt->{module} } };

my $timeout = 5;
my $srv = MemwatchServer->new(name => "runtime-$mpm",
    mpm_conf => $rt->{mpm_conf},
    conf => $rt->{conf} . "MemwatchMaxGrowth 16M\n"
          . "MemwatchExitTimeout $timeout\n");
$srv->start;

my $r = MemwatchLoad::run(port => $srv->port, path => $rt->{path},
                          requests => 10_000_000, clients => 8,
                          seconds => 15);
t_debug("$rt->{name}: " . join(', ', map { "$_=$r->{$_}" }
                                     qw(ok failed connections closes)));
t_debug("errors: $_ x $r->{errors}{$_}") for keys %{ $r->{errors} };
ok t_cmp($r->{failed}, 0, "no request to $rt->{name} failed");

my $j = $srv->json;
my $recycled = $j->{recycles_total}{growth};
t_debug("recycles: $recycled");
ok t_cmp($recycled >= 3 ? 1 : 0, 1, "its children were recycled ($recycled)");

my ($leak) = sort { $b->{growth_bytes} <=> $a->{growth_bytes} }
             @{ $j->{attribution} };
t_debug("top of attribution: $leak->{handler} $leak->{prefix}") if $leak;
ok t_cmp($leak && $leak->{prefix}, $rt->{path},
         'attribution puts the leaking URL first');

# No process the parent started is left hung: every child of the parent
# is one memwatch lists, and none of them is exiting for good.
my $hung_seen = 0;
my $clean = poll($timeout + 30, sub {
    my %listed = map { $_->{pid} => $_ } @{ $srv->json->{children} };
    my @left = grep { !$listed{$_} || $listed{$_}{state} eq 'exiting' }
               $srv->children;
    $hung_seen ||= grep { $listed{$_} && $listed{$_}{state} eq 'exiting' } @left;
    return !@left;
});
ok t_cmp($clean ? 1 : 0, 1,
         "no hung process is left after MemwatchExitTimeout ($timeout s)");

my $killed = $srv->log_count(qr/killing it \(MemwatchExitTimeout/);
t_debug("hung exits ended by the parent: $killed");
if ($mpm eq 'event') {
    # What makes this a test of stuck exits: mod_wsgi's really hung.
    ok t_cmp($killed >= 1 ? 1 : 0, 1,
             "exits hung and the parent ended them ($killed)");
}
else {
    ok t_cmp($killed, 0, "no $rt->{name} exit hung");
}
ok t_cmp($srv->crashes, 0, 'no child died on a signal other than the kill');
