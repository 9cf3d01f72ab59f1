# A wrong directive value stops configtest with a message that names the
# directive and the accepted form.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestUtil;
use MemwatchServer;

my @bad = (
    [ 'MemwatchMaxGrowth 12Q',   qr/MemwatchMaxGrowth: '12Q' is not a size.*K, M or G/ ],
    [ 'MemwatchMaxGrowth -5M',   qr/MemwatchMaxGrowth: '-5M' is not a size/ ],
    [ 'MemwatchMaxGrowth 0',     qr/MemwatchMaxGrowth: '0' is not a size above zero/ ],
    [ 'MemwatchMaxRSS',          qr/MemwatchMaxRSS takes one argument/ ],
    [ 'MemwatchMaxPrivate 1.5',  qr/MemwatchMaxPrivate: '1.5'.*fractions need a unit/ ],
    [ 'MemwatchJitter 80',       qr/MemwatchJitter: '80' is not valid; expected a percentage from 0 to 50/ ],
    [ 'MemwatchWarmup lots',     qr/MemwatchWarmup: 'lots' is not valid; expected a number of requests/ ],
    [ 'MemwatchCheckEvery 0',    qr/MemwatchCheckEvery: '0' is not valid/ ],
    [ 'MemwatchMaxRetiring -1',  qr/MemwatchMaxRetiring: '-1' is not valid/ ],
    [ 'MemwatchMinLifetime -1',  qr/MemwatchMinLifetime: '-1' is not valid; expected a number of seconds from 0/ ],
    [ 'MemwatchCeiling 2000%',   qr/MemwatchCeiling: '2000%' is not valid; expected a percentage over each limit from 0 to 1000/ ],
    [ 'MemwatchCeiling lots',    qr/MemwatchCeiling: 'lots' is not valid/ ],
    [ 'MemwatchExitTimeout 5s',  qr/MemwatchExitTimeout: '5s' is not valid; expected a number of seconds from 0 \(never\)/ ],
    [ 'MemwatchExitTimeout 99999', qr/MemwatchExitTimeout: '99999' is not valid/ ],
    [ 'MemwatchDryRun maybe',    qr/MemwatchDryRun must be On or Off/ ],
    [ 'MemwatchTrim sometimes',  qr/MemwatchTrim must be On or Off/ ],
    [ "<VirtualHost 127.0.0.1:1>\nMemwatchTrim Off\n</VirtualHost>",
      qr/MemwatchTrim cannot occur within <VirtualHost> section/ ],
    [ 'MemwatchMaxTotalPrivate 0%',
      qr/MemwatchMaxTotalPrivate: '0%' is not valid; expected a size \(e\.g\. 2G\) or a percentage from 1% to 100%/ ],
    [ 'MemwatchMaxTotalPrivate 101%',
      qr/MemwatchMaxTotalPrivate: '101%' is not valid/ ],
    [ 'MemwatchPressure some 101',
      qr/MemwatchPressure: '101' is not a percentage from 0 to 100/ ],
    [ 'MemwatchPressure some -1',
      qr/MemwatchPressure: '-1' is not a percentage from 0 to 100/ ],
    [ 'MemwatchPressure some 1.234',
      qr/MemwatchPressure: '1\.234' is not a percentage/ ],
    [ 'MemwatchPressure most 10',
      qr/MemwatchPressure: 'most' is not some or full/ ],
    [ 'MemwatchPressure some',   qr/MemwatchPressure takes two arguments/ ],
    [ 'MemwatchAttributeGroupIds sometimes',
      qr/MemwatchAttributeGroupIds must be On or Off/ ],
    [ 'MemwatchSampleStreams 1', qr/MemwatchSampleStreams must be On or Off/ ],
    [ 'MemwatchAllowRecycle yes', qr/MemwatchAllowRecycle must be On or Off/ ],
    [ "<VirtualHost 127.0.0.1:1>\nMemwatchAllowRecycle On\n</VirtualHost>",
      qr/MemwatchAllowRecycle cannot occur within <VirtualHost> section/ ],
    [ 'MemwatchHistory 1',       qr/MemwatchHistory: '1' is not valid/ ],
    [ "ServerLimit 200\nMemwatchHistory 10000",
      qr/MW0017: MemwatchHistory 10000 samples x (200|400) children \(ServerLimit 200.*needs more than the 64 MiB/ ],
    [ "MemwatchMaxRSS 512M\nMemwatchMinShared 1G",
      qr/MemwatchMinShared \(1\.0 GiB\) must be below MemwatchMaxRSS \(512 MiB\)/ ],
    [ "MemwatchMaxRSS 512M\nMemwatchMaxPrivate 600M",
      qr/MemwatchMaxPrivate \(600 MiB\) must not exceed MemwatchMaxRSS/ ],
    [ "<VirtualHost 127.0.0.1:1>\nMemwatchMaxGrowth 8M\n</VirtualHost>",
      qr/MemwatchMaxGrowth cannot occur within <VirtualHost> section/ ],
);

plan tests => 2 * @bad + 1, need_module 'memwatch_test';

for my $case (@bad) {
    my ($conf, $want) = @$case;
    my $srv = MemwatchServer->new(name => 'conftest', conf => $conf);
    my ($rc, $out) = $srv->configtest;
    (my $label = $conf) =~ s/\n/; /g;
    t_debug("$label => $out");
    ok t_cmp($rc != 0 ? 1 : 0, 1, "configtest fails for: $label");
    ok t_cmp($out, $want, "and says why: $label");
}

my $good = MemwatchServer->new(name => 'conftest', conf => join "\n",
    'MemwatchMaxGrowth 64m', 'MemwatchMaxRSS 1.5G', 'MemwatchMaxPrivate 512MB',
    'MemwatchMinShared 8M', 'MemwatchMaxTotalPrivate 4G', 'MemwatchJitter 10%',
    'MemwatchWarmup 0', 'MemwatchHistory 60 10', 'MemwatchDryRun On',
    'MemwatchCeiling off', 'MemwatchExitTimeout 0', 'MemwatchMinLifetime 0',
    'MemwatchSampleStreams On', 'MemwatchPressure full 2.5%',
    'MemwatchAllowRecycle On', 'MemwatchTrim Off');
my ($rc, $out) = $good->configtest;
ok t_cmp($out, qr/Syntax OK/, 'a valid configuration passes configtest');
