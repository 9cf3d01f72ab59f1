# Hostile input: query strings the parser must refuse with a plain-text
# 400 or ignore (unknown keys are ignored, as mod_status does, and every
# option takes key, key= or key=value), never a server error; a path or an
# attributed URL prefix holding markup must come out escaped in HTML.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil;
use MemwatchClient qw(conn req poll);
use MemwatchUtil qw(get_json server_addr);

# Query strings sent through LWP (which %-escapes what a URI may not hold)
# and the status each must get. 400s are the module's own, in text/plain:
# the server allows 16 KiB request lines (t/conf/extra.conf.in) so the
# 10 KB query reaches the handler and its 256-byte limit.
my @hostile = (
    ['bogus'                           => 200, 'unknown option (ignored)'],
    ['json=1'                          => 200, 'json with a value (ignored)'],
    ['prometheus='                     => 200, 'prometheus= (Prometheus params)'],
    ['refresh=-1'                      => 400, 'negative refresh'],
    ['refresh=abc'                     => 400, 'refresh not a number'],
    ['refresh=86401'                   => 400, 'refresh over a day'],
    ['child=99999999999999'            => 400, 'child slot overflowing'],
    ['child='                          => 200, 'empty child (the overview)'],
    ['refresh='                        => 200, 'empty refresh (10 s)'],
    ['refresh=1x'                      => 400, 'refresh with trailing junk'],
    ['x' x 10240                       => 400, '10 KB query'],
    ['%00'                             => 200, '%00 (unknown, ignored)'],
    ['json%00'                         => 200, 'json%00 (unknown, ignored)'],
    ['&&&&'                            => 200, 'only separators'],
    [';;&;'                            => 200, 'only separators, both kinds'],
    ['<script>'                        => 200, '<script> (sent escaped, ignored)'],
    ['json&auto&prometheus&refresh=1&child=0' => 200, 'many valid options'],
    [join('&', ('refresh=1') x 60)     => 400, '60 options (too long)'],
    [join('&', map { "o$_" } 1 .. 20)  => 200, '20 unknown options (ignored)'],
    ['json&bogus'                      => 200, 'a valid then an unknown option'],
    ['child=1&refresh=x'               => 400, 'a valid then a bad number'],
);
# The same sent raw, bytes as they are in the request line.
my @raw = (
    ['/memwatch?<script>alert(1)</script>' => 200, 'raw <script> in the query (ignored)'],
    ['/memwatch?json&json&json'            => 200, 'repeated option'],
    ["/memwatch?\x01"                      => 400, 'control byte'],
);

plan tests => 2 * @hostile + @raw + 16, need_module 'memwatch_test';

Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);

my $log = Apache::Test::vars('t_logs') . '/error_log';
my $log_start = -s $log // 0;

for my $h (@hostile) {
    my ($q, $want, $name) = @$h;
    my $res = GET("/memwatch?$q");
    my $type = $res->header('Content-Type') // '';
    ok t_cmp($res->code, $want, "?$name: $want");
    # A 400 is plain text and does not echo the query; a 200 is one of the
    # formats, and an HTML one holds no raw markup (the machine formats may
    # carry a URL prefix as it was, in a JSON string or Prometheus label).
    my $clean = $res->code == 400
        ? $type =~ m{^text/plain} && $res->content !~ /<script/i
        : $res->code == 200 && ($type !~ m{html} || $res->content !~ /<script/i);
    ok t_cmp($clean ? 1 : 0, 1,
             "?$name: " . ($res->code == 400 ? 'text/plain, query not echoed'
                                             : 'a page, no raw markup in HTML')
             . " ($type)");
}

for my $r (@raw) {
    my ($target, $want, $name) = @$r;
    my $res = eval { req(conn(server_addr()), $target, close => 1) };
    my $got = $res ? $res->{status} : "error: $@";
    my $type = $res ? $res->{headers}{'content-type'} // '' : '';
    # A request line core itself refuses gets core's 400 page; anything
    # that reaches the handler and is refused gets its text/plain 400.
    ok t_cmp("$got" . ($got eq '400' && $type !~ m{^text/plain} ? ' (core)' : ''),
             qr/^\Q$want\E\b/, "$name: $want ($type)");
}

# Still answering, figures intact.
ok t_cmp(GET('/memwatch?json')->code, 200, 'the server still answers ?json');
ok t_cmp(GET('/mw/hello')->content, "hello\n", 'and other requests');

# ---- markup in the path of /memwatch itself -------------------------------
# With an encoded slash core answers 404 (AllowEncodedSlashes Off): it must
# not echo the path raw either.
my $res = GET('/memwatch/%3Cscript%3Ealert(1)%3C%2Fscript%3E');
ok t_cmp($res->code < 500 ? 1 : 0, 1,
         'GET /memwatch/%3Cscript%3E...%3C%2Fscript%3E: no server error ('
         . $res->code . ')');
ok t_cmp(index($res->content, '<script>'), -1, 'and no raw <script> in the answer');
# Without one the Location matches the sub-path and the page echoes its own
# URL (r->uri, decoded) in its links.
$res = GET('/memwatch/%3Cscript%3Ealert(1)');
ok t_cmp($res->code, 200, '/memwatch/%3Cscript%3Ealert(1) is the status page');
ok t_cmp(index($res->content, '<script>'), -1, 'which has no raw <script>');
ok t_cmp(index($res->content, '/memwatch/&lt;script&gt;alert(1)'), qr/^\d+$/,
         'but the escaped path in its links');
# A quote must not end the href attribute the path is echoed in.
$res = GET('/memwatch/%22%20onmouseover=%22alert(1)');
ok t_cmp($res->code, 200, '/memwatch/%22%20onmouseover=... is the status page');
ok t_cmp(index($res->content, '" onmouseover="'), -1,
         'which does not let a quote out of its href attribute');

# ---- markup in an attributed URL prefix ------------------------------------
# Attribution keeps the first MemwatchAttributeDepth (2) path segments of a
# request that made RSS grow, past the child's warm-up (5 requests). A raw
# request line carries a literal <script> in the path; the test handler
# keys on the last segment, so /mw/<script>x/leak is /mw/leak.
{
    my $sock = conn(server_addr());
    my $ok = grep { req($sock, '/mw/hello')->{status} == 200 } 1 .. 6;
    ok t_cmp($ok, 6, 'six requests on one connection: past the warm-up');
    my $prefix = '/mw/<script>x';
    my ($leaks, $attr) = (0, undef);
    # A leak may first reuse heap the child had freed (still resident):
    # then RSS does not grow and nothing is attributed. Leak again, at most
    # four times (16 MiB), until the prefix shows.
    while ($leaks < 4 && !$attr) {
        my $r = req($sock, "$prefix/leak?kb=4096");
        $leaks++;
        die "leak under $prefix: $r->{status} $r->{body}"
            unless $r->{status} == 200 && $r->{body} =~ /leaked 4096 KiB/;
        $attr = poll(3, sub {
            my ($a) = grep { $_->{prefix} eq $prefix } @{ get_json()->{attribution} };
            return $a;
        });
    }
    close $sock;
    t_debug("attributed after $leaks leak(s) of 4 MiB: "
            . ($attr ? "$attr->{handler} $attr->{prefix} $attr->{growth_bytes}" : 'none'));
    ok t_cmp($attr ? "$attr->{handler} $attr->{prefix}" : 'none',
             "memwatch_test $prefix",
             'the leak is attributed to its raw prefix (JSON string)');
    my $html = GET('/memwatch')->content;
    ok t_cmp(index($html, '<script>'), -1, 'the HTML page has no raw <script>');
    ok t_cmp(index($html, '/mw/&lt;script&gt;x'), qr/^\d+$/,
             'but the prefix escaped: /mw/&lt;script&gt;x');
    ok t_cmp(index(GET('/memwatch?json')->content, '<script>'), -1,
             'nor does the JSON (its strings escape <)');
    my $auto = GET('/memwatch?auto')->content;
    my @bad = grep { !/^[A-Za-z0-9_]+: \S/ } split /\n/, $auto;
    ok t_cmp(scalar(@bad), 0, '?auto keeps its line format');
}

# ---- no child died on any of this ------------------------------------------
open my $fh, '<', $log or die "$log: $!";
seek $fh, $log_start, 0;
my @crash = grep { /exit signal|Segmentation|AH00052|AH00051/ } <$fh>;
ok t_cmp(scalar(@crash), 0, 'no child exited on a signal' . (@crash ? ": $crash[0]" : ''));
