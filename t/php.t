# mod_php, the runtime most Apache admins recycle for (Debian's
# libapache2-mod-php8.2, prefork). PHP frees request memory at the end of
# each request, so a real mod_php leak lives in memory that outlives the
# request; PCRE's per-process cache of compiled patterns is one:
# - t/php/plateau.php builds an 8 MB string (freed by Zend) and uses one
#   of 200 fixed patterns: the child grows while the cache fills, then
#   stays flat. Verdict plateau, and no recycle below the limit;
# - t/php/leak.php compiles a new pattern every request (about 10 KiB
#   kept each): recycled under load at MemwatchMaxGrowth 8M, with 0
#   failed requests (strict client).
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestUtil;
use Cwd qw(abs_path);
use File::Copy qw(copy);
use File::Path qw(make_path);
use MemwatchClient qw(req child_of);
use MemwatchLoad;
use MemwatchServer;

my $php = '/usr/lib/apache2/modules/libphp8.2.so';
plan tests => 6, need need_module('memwatch_test'),
    { 'mod_php runs on prefork only' => sub { $ENV{MEMWATCH_MPM} eq 'prefork' } },
    { "mod_php is not installed ($php)" => sub { -e $php } };

my $one = "StartServers 1\nMinSpareServers 1\nMaxSpareServers 1\n"
        . "ServerLimit 1\nMaxRequestWorkers 1\n";
my $conf = <<"EOF";
LoadModule php_module $php
<FilesMatch "\\.php\$">
    SetHandler application/x-httpd-php
</FilesMatch>
MemwatchMaxGrowth 8M
EOF

sub server {
    my (%a) = @_;
    my $srv = MemwatchServer->new(name => $a{name}, conf => $conf,
                                  mpm_conf => $a{mpm_conf});
    make_path("$srv->{root}/htdocs/php");
    copy(abs_path("t/php/$_"), "$srv->{root}/htdocs/php/$_") or die $!
        for qw(plateau.php leak.php);
    return $srv->start;
}

# ---- grows once, then flat -------------------------------------------------
{
    my $srv = server(name => 'php-plateau', mpm_conf => $one);
    my ($s, $pid) = $srv->conn_to_child;
    my $ok = 0;
    for (1 .. 2500) {
        my $r = req($s, '/php/plateau.php');
        $ok++ if $r->{status} == 200 && $r->{body} =~ /^built 8388608 bytes/;
    }
    close $s;
    my $j = $srv->json;
    my $c = child_of($j, $pid);
    t_debug(sprintf 'plateau.php: %d ok; child %s: verdict %s, growth %s, '
            . '%s B/request', $ok, $pid, $c ? $c->{verdict} : 'gone',
            $c ? $c->{growth_bytes} : '-',
            $c ? $c->{growth_per_request_bytes} // 'null' : '-');
    ok t_cmp($ok, 2500, 'mod_php answered every request');
    ok t_cmp($c ? $c->{verdict} : 'gone', 'plateau',
             'a child that grew once, then stayed flat, is a plateau');
    ok t_cmp($j->{recycles_total}{growth}, 0, 'and is not recycled');
    $srv->stop;
}

# ---- a leak that outlives the request, under load --------------------------
{
    my $srv = server(name => 'php-leak');
    my $r = MemwatchLoad::run(port => $srv->port, path => '/php/leak.php',
                              requests => 10_000_000, clients => 8,
                              seconds => 12);
    my $j = $srv->json;
    t_debug("leak.php: $r->{ok} ok, $r->{failed} failed, "
            . "$j->{recycles_total}{growth} recycles");
    t_debug("  failed: $_ x $r->{errors}{$_}") for sort keys %{ $r->{errors} };
    ok t_cmp($r->{ok} > 0 ? 1 : 0, 1, "requests were served ($r->{ok})");
    ok t_cmp($j->{recycles_total}{growth} > 0 ? 1 : 0, 1,
             "children were recycled ($j->{recycles_total}{growth})");
    ok t_cmp($r->{failed}, 0, 'no request failed');
    $srv->stop;
}
