# Hostile input: query strings the parser must refuse with a plain-text
# 400 or ignore (unknown keys are ignored, as mod_status does, and every
# option takes key, key= or key=value), never a server error; a path or an
# attributed URL prefix holding markup must come out escaped in HTML;
# methods other than GET and HEAD get httpd's 405 with a true Allow; and a
# path holding '?', '#', '%' or bytes that are not UTF-8 gives working
# links on a page that stays valid UTF-8.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil;
use Encode ();
use HTML::Entities qw(decode_entities);
use JSON::PP ();
use URI;
use URI::Escape qw(uri_unescape);
use MemwatchClient qw(conn req read_response poll);
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

# Methods the handler refuses with a 405 (TRACE is core's own).
my @refused = qw(POST PUT DELETE PATCH);
# Paths of /memwatch whose page links back to itself: as sent, and as
# r->uri holds it (what each href must percent-decode to).
my @self = (
    ['/memwatch/x%3Fchild=0%23%25' => '/memwatch/x?child=0#%',
     '/memwatch/x%3Fchild=0%23%25?json'],
    ['/memwatch/%ff%fe%80' => "/memwatch/\xff\xfe\x80",
     '/memwatch/%FF%FE%80?json'],
);

plan tests => 2 * @hostile + @raw + 16 + @refused + 4 + 5 * @self,
    need_module 'memwatch_test';

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
ok t_cmp(index($res->content, 'href="/memwatch/%3Cscript%3Ealert(1)?json"'),
         qr/^\d+$/, 'but the percent-encoded path in its links');
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

# ---- methods ---------------------------------------------------------------
# httpd writes Allow from r->allowed_methods: GET (which brings HEAD) and
# OPTIONS, which the handler answers as core's default handler does. TRACE
# is answered by core itself and listed as TraceEnable says.
my @methods = qw(GET HEAD OPTIONS POST PUT DELETE PATCH);
sub allowed {
    my %a = map { $_ => 1 } split /\s*,\s*/, $_[0]{headers}{allow} // '';
    return join ',', grep { $a{$_} } @methods;
}
for my $m (@refused) {
    my $r = req(conn(server_addr()), '/memwatch', method => $m, close => 1);
    ok t_cmp("$r->{status} Allow: " . allowed($r), '405 Allow: GET,HEAD,OPTIONS',
             "$m /memwatch: 405, Allow names GET, HEAD and OPTIONS only"
             . ' (' . ($r->{headers}{allow} // 'no Allow') . ')');
}
{
    my $r = req(conn(server_addr()), '/memwatch', method => 'OPTIONS',
                close => 1);
    ok t_cmp("$r->{status} Allow: " . allowed($r) . ' body: ' . length($r->{body}),
             '200 Allow: GET,HEAD,OPTIONS body: 0',
             'OPTIONS /memwatch: 200, the same Allow, no body');
    $r = req(conn(server_addr()), '/memwatch?json', method => 'HEAD', close => 1);
    ok t_cmp("$r->{status} $r->{headers}{'content-type'}", '200 application/json',
             'HEAD /memwatch?json: 200, the JSON type');
    # A refused POST's body is read off: the next request on the connection
    # is answered as itself.
    my $sock = conn(server_addr());
    my $body = 'json&child=0';
    syswrite $sock, "POST /memwatch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        . "Content-Type: application/x-www-form-urlencoded\r\n"
        . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
    my ($p, $err) = read_response($sock, method => 'POST');
    ok t_cmp($p ? "$p->{status} Allow: " . allowed($p) : "error: $err",
             '405 Allow: GET,HEAD,OPTIONS', 'POST /memwatch with a body: 405');
    my ($g, $gerr) = $p && !$p->{close}
        ? MemwatchClient::request($sock, '/memwatch?json', close => 1)
        : (undef, 'connection closed');
    ok t_cmp($g ? "$g->{status} $g->{headers}{'content-type'}" : "error: $gerr",
             '200 application/json',
             'and the next request on that connection is answered');
    close $sock;
}

# ---- the page's links to itself --------------------------------------------
# Every href, entity-decoded and resolved against the page, must keep the
# page's path (percent-decoding to r->uri: '?', '#' and '%' stay in it) and
# carry its format as a query; requested, it must give that format, and an
# HTML page links to the same path again. The body must be strict UTF-8.
sub html_hrefs {
    return map { decode_entities($_) } $_[0] =~ /\bhref="([^"]*)"/g;
}
for my $case (@self) {
    my ($target, $decoded, $want_href) = @$case;
    my $r = req(conn(server_addr()), $target, close => 1);
    ok t_cmp("$r->{status} " . ($r->{headers}{'content-type'} // ''),
             qr{^200 text/html}, "GET $target: the HTML page");
    # LEAVE_SRC: with a CHECK, decode would eat the string it read.
    my $ok = eval {
        Encode::decode('UTF-8', $r->{body},
                       Encode::FB_CROAK | Encode::LEAVE_SRC);
        1;
    };
    ok t_cmp($ok ? 'valid' : "invalid: $@", 'valid',
             "GET $target: the body is strict UTF-8");
    ok t_cmp(index($r->{body}, qq{href="$want_href"}), qr/^\d+$/,
             "GET $target: its JSON link is $want_href");
    my @hrefs = html_hrefs($r->{body});
    ok t_cmp(scalar(@hrefs) >= 4 ? 'at least 4' : scalar(@hrefs), 'at least 4',
             "GET $target: three formats and a child linked");
    my @bad;
    for my $h (@hrefs) {
        my $u = URI->new_abs($h, "http://127.0.0.1$target");
        my ($path, $q) = (uri_unescape($u->path), $u->query // '');
        if ($path ne $decoded || defined $u->fragment) {
            push @bad, "$h: path $path";
            next;
        }
        my $res = req(conn(server_addr()), $u->path_query, close => 1);
        my $type = $res->{headers}{'content-type'} // '';
        my $body = $res->{body};
        my ($slot) = $q =~ /^child=(\d+)$/;
        my $good = $res->{status} == 200 && (
            $q eq '' ? $type =~ m{^text/html}
                       && $body =~ m{<h1>Memory of Apache children</h1>}
          : $q eq 'json' ? $type eq 'application/json'
                       && eval { JSON::PP::decode_json($body) }
          : $q eq 'auto' ? $body =~ /^MemwatchVersion: /m
          : $q eq 'prometheus' ? $type =~ /version=0\.0\.4/
          : defined $slot ? $type =~ m{^text/html}
                       && ($body =~ /<h1>Child in slot $slot,/
                           # the child may have left since
                           || !grep { $_->{slot} == $slot }
                                   @{ get_json()->{children} })
          : 0);
        # An HTML page links to the same path again.
        $good &&= !grep { uri_unescape(URI->new_abs($_, 'http://127.0.0.1/')
                                           ->path) ne $decoded }
                        html_hrefs($body)
            if $type =~ m{^text/html};
        push @bad, "$h: $res->{status} $type" unless $good;
    }
    ok t_cmp(join('; ', @bad), '',
             "GET $target: each of its " . scalar(@hrefs)
             . ' links gives its format on the same path');
}

# ---- no child died on any of this ------------------------------------------
open my $fh, '<', $log or die "$log: $!";
seek $fh, $log_start, 0;
my @crash = grep { /exit signal|Segmentation|AH00052|AH00051/ } <$fh>;
ok t_cmp(scalar(@crash), 0, 'no child exited on a signal' . (@crash ? ": $crash[0]" : ''));
