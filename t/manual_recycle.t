# Recycling by hand (MemwatchAllowRecycle): a POST of a page's recycle
# button retires that child the graceful way a limit does, with reason
# "manual"; nothing else changes anything. On each MPM:
# - without the directive (the Apache::Test server) a POST is a 405 that
#   names GET, HEAD and OPTIONS, and the page has no button;
# - with it, OPTIONS names POST, and the page, which has a button per
#   child, may not be framed;
# - while a strict load runs (MemwatchLoad: every request must get a whole
#   2xx answer), on child G: a form with no token, a wrong token, a wrong
#   pid or a slot out of range is a 403, a malformed one a 400, another
#   type a 415, a body over 1 KiB a 413; a GET with a button's fields
#   changes nothing: G is never recycled;
# - then the form of child A, the one serving most of the load, is POSTed,
#   and child B's button is clicked in headless Chromium (the mouse, over
#   the DevTools protocol): both are recycled with reason manual and leave
#   while the load runs, each POST is logged with the client's address
#   (MW0019), and no request of the load fails; A's form, sent again, is a
#   403 (its child has left the slot);
# - after a graceful restart, a button from a page of before is a 403;
# - with MemwatchDryRun the child is only marked "would recycle", also an
#   idle prefork child (the parent's pass), and its button then is a 409.
use strict;
use warnings FATAL => 'all';
use lib 't/lib';

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil;
use HTML::Entities qw(decode_entities);
use JSON::PP;
use Time::HiRes qw(time);
use URI::Escape qw(uri_escape);
use MemwatchCDP;
use MemwatchClient qw(conn req request poll);
use MemwatchLoad;
use MemwatchServer;
use MemwatchUtil qw(server_addr);

plan tests => 42, need_module 'memwatch_test';

my $FORM = 'application/x-www-form-urlencoded';
my @methods = qw(GET HEAD OPTIONS POST PUT DELETE PATCH);

# ---- helpers ----------------------------------------------------------------

sub attr {
    my ($attrs, $name) = @_;
    return $attrs =~ /\b\Q$name\E="([^"]*)"/ ? decode_entities($1) : undef;
}

# The page's forms: { method, action, fields => { name => value } }.
sub forms {
    my $html = shift;
    my @forms;
    while ($html =~ m{<form\b([^>]*)>(.*?)</form>}sg) {
        my ($attrs, $inner) = ($1, $2);
        my %f = (method => attr($attrs, 'method') // '',
                 action => attr($attrs, 'action') // '');
        while ($inner =~ m{<input\b([^>]*)>}g) {
            $f{fields}{ attr($1, 'name') // '' } = attr($1, 'value');
        }
        push @forms, \%f;
    }
    return @forms;
}

sub encode_form {
    my %f = @_;
    return join '&', map { uri_escape($_) . '=' . uri_escape($f{$_}) }
                     grep { defined $f{$_} } sort keys %f;
}

# One request on a fresh connection to $port: the response, or
# { status => 0, error } when none came whole.
sub send_to {
    my ($port, $method, $path, %o) = @_;
    my $s = conn('127.0.0.1', $port);
    my ($r, $err) = request($s, $path, method => $method, close => 1, %o);
    close $s;
    return $r || { status => 0, error => $err, headers => {}, body => '' };
}

sub post_form {
    my ($port, $path, $body, $type) = @_;
    return send_to($port, 'POST', $path, body => $body,
                   headers => { 'Content-Type' => $type // $FORM });
}

sub allowed {
    my %a = map { $_ => 1 } split /\s*,\s*/, $_[0]{headers}{allow} // '';
    return join ',', grep { $a{$_} } @methods;
}

sub page { my ($srv, $q) = @_; ($srv->get('/memwatch' . ($q // '')))[1] }

sub child { my ($j, $pid) = @_; (grep { $_->{pid} == $pid } @{ $j->{children} })[0] }

sub manual_recycles {
    my ($j, $pid) = @_;
    return grep { $_->{pid} == $pid && $_->{reason} eq 'manual' } @{ $j->{recycles} };
}

# ---- without the directive: the Apache::Test server ------------------------

{
    my (undef, $port) = server_addr();
    my $r = post_form($port, '/memwatch', 'recycle=0&pid=1&token=00');
    ok t_cmp("$r->{status} Allow: " . allowed($r), '405 Allow: GET,HEAD,OPTIONS',
             'MemwatchAllowRecycle Off: a recycle POST is a 405 naming GET, '
             . 'HEAD and OPTIONS');
    ok t_cmp(index(GET('/memwatch')->content, '<form'), -1,
             'and the page has no recycle button');
}

# ---- with it ----------------------------------------------------------------

my $srv = MemwatchServer->new(name => 'manual',
    conf => "MemwatchWarmup 0\nMemwatchAllowRecycle On\n")->start;
my $port = $srv->port;

{
    my $r = send_to($port, 'OPTIONS', '/memwatch');
    ok t_cmp("$r->{status} Allow: " . allowed($r), '200 Allow: GET,HEAD,OPTIONS,POST',
             'MemwatchAllowRecycle On: OPTIONS names POST too');
}

# A button per child that serves (all of them: MemwatchWarmup 0), once
# the children stay the same from before the page to after it (prefork
# starts its last ones a moment later).
sub pids { join ' ', sort { $a <=> $b } @_ }
my (@forms, $j, $listed);
poll(15, sub {
    my $before = pids(map { $_->{pid} } @{ $srv->json->{children} });
    @forms = forms(page($srv));
    $j = $srv->json;
    $listed = pids(map { $_->{pid} } @{ $j->{children} });
    return @forms >= 3 && $before eq $listed;
});
t_debug('buttons: ' . join(', ', map { encode_form(%{ $_->{fields} }) } @forms));
ok t_cmp(pids(map { $_->{fields}{pid} // 0 } @forms), $listed,
         'the overview has a recycle button per child (3 or more)');
ok t_cmp(scalar(grep { $_->{method} eq 'post' && $_->{action} eq '/memwatch'
                       && ($_->{fields}{token} // '') =~ /^[0-9a-f]{64}\z/
                       && child($j, $_->{fields}{pid} // 0)
                       && child($j, $_->{fields}{pid})->{slot}
                          == ($_->{fields}{recycle} // -1) } @forms),
         scalar(@forms),
         'each posts to the page the slot and pid of a listed child, and a '
         . '64-hex-digit token');
{
    my $r = send_to($port, 'GET', '/memwatch');
    ok t_cmp(($r->{headers}{'content-security-policy'} // 'none') . ', '
             . ($r->{headers}{'x-frame-options'} // 'none'),
             "frame-ancestors 'none', DENY",
             'the page with buttons may not be framed by another site');
    my ($f) = @forms;
    my @on_child = forms(page($srv, "?child=$f->{fields}{recycle}"));
    ok t_cmp(@on_child == 1
             && $on_child[0]{action} eq "/memwatch?child=$f->{fields}{recycle}"
             && $on_child[0]{fields}{token} eq $f->{fields}{token} ? 1 : 0, 1,
             "the child's own page has its button, posting back to that page");
}

# ---- a load, and the children it runs on ----------------------------------------

# The load runs through everything below until both children have left,
# paced (1000 requests a second a client) so that it stops at once then.
# A, recycled by a POST, is the child that serves the most of it.
my $LOAD_SECONDS = 45;      # a bound, not a wait: it stops once both left
my $load_t0 = time;
my $load = MemwatchLoad::start(port => $port, path => '/mw/hello',
                               requests => 10_000_000, clients => 3,
                               seconds => $LOAD_SECONDS, interval => 0.001);
my %before = map { $_->{pid} => $_->{requests} } @{ $j->{children} };
my $busiest = poll(10, sub {
    my ($top) = sort { $b->[1] <=> $a->[1] }
                map { [$_->{pid}, $_->{requests} - ($before{$_->{pid}} // 0)] }
                @{ $srv->json->{children} };
    return $top && $top->[1] > 100 && $top->[0];
});
my ($fa) = grep { $_->{fields}{pid} == ($busiest // 0) } @forms;
my ($fg, $fb) = grep { $_ != ($fa // 0) } @forms;
ok t_cmp($fa ? 1 : 0, 1, 'the load runs, on a child with a button ('
                         . ($busiest // 'none') . ')');
$fa //= (grep { $_ != $fg && $_ != $fb } @forms)[0];
my %A = %{ $fa->{fields} };
my %B = %{ $fb->{fields} };
my %G = %{ $fg->{fields} };
t_debug("A (POST): $A{pid}, B (Chromium): $B{pid}, G (refused): $G{pid}");

# ---- refused, and changing nothing: on child G --------------------------------

my $log_before = $srv->log_count(qr/MW0019/);
my @refused = (
    [ 'no token',       encode_form(%G, token => undef), 403 ],
    [ 'an empty token', encode_form(%G, token => ''), 403 ],
    [ 'a wrong token',  encode_form(%G, token => ($G{token} =~ s/.\z/$& eq '0' ? '1' : '0'/er)), 403 ],
    [ 'a wrong pid (another child\'s)', encode_form(%G, pid => $A{pid}), 403 ],
    [ 'a slot out of range', encode_form(%G, recycle => 9999), 403 ],
    [ 'a slot that is not a number', encode_form(%G, recycle => 'x'), 400 ],
);
for my $case (@refused) {
    my ($what, $body, $want) = @$case;
    my $r = post_form($port, '/memwatch', $body);
    ok t_cmp($r->{status}, $want, "$what: $want ($r->{body})");
}
{
    my $r = post_form($port, '/memwatch', encode_form(%G), 'text/plain');
    ok t_cmp($r->{status}, 415, 'a body of another type: 415');
    $r = post_form($port, '/memwatch', encode_form(%G, pad => 'x' x 2048));
    ok t_cmp($r->{status}, 413, 'a body over 1 KiB: 413');
    $r = send_to($port, 'GET', '/memwatch?' . encode_form(%G));
    ok t_cmp("$r->{status} $r->{headers}{'content-type'}",
             '200 text/html; charset=utf-8',
             'a GET with the button\'s fields: the page, nothing more');
}
# A request to retire reaches a worker or event child within 100 ms (its
# watcher); a prefork child at its next request, or the parent's pass.
$srv->get('/mw/hello') for 1 .. 20;
my $unchanged = !poll(2, sub {
    my $c = child($srv->json, $G{pid});
    return !$c || $c->{state} ne 'ok';
});
ok t_cmp($unchanged ? 1 : 0, 1,
         "child $G{pid} (slot $G{recycle}) is still there and ok");
ok t_cmp($srv->log_count(qr/MW0019/) - $log_before, 0,
         'no recycle by hand was logged');

# ---- recycled by hand while the load runs ----------------------------------------

my $posted = post_form($port, '/memwatch', encode_form(%A));
ok t_cmp("$posted->{status} " . ($posted->{headers}{location} // 'no Location'),
         '303 /memwatch', "the form of child $A{pid} POSTed: 303 back to the page");

# Child B: its button clicked in Chromium, on a page loaded now.
my ($browser, $clicked, @posts, @redirects);
my $ran = eval {
    $browser = MemwatchCDP->new;
    $browser->load($srv->url('/memwatch'));
    $browser->click("[...document.querySelectorAll('form.recycle')]"
                    . ".filter(f => f.elements.pid.value === '$B{pid}')"
                    . ".map(f => f.querySelector('button'))[0]");
    $clicked = $browser->js('location.href');
    @posts = grep { $_->{request}{method} eq 'POST'
                    && ($_->{request}{postData} // '') =~ /\bpid=$B{pid}\b/ }
             $browser->events('Network.requestWillBeSent');
    @redirects = grep { ($_->{redirectResponse}{status} // 0) == 303 }
                 $browser->events('Network.requestWillBeSent');
    1;
};
t_debug("Chromium: $@" . ($browser ? $browser->stderr : '')) unless $ran;
$browser->quit if $browser;
ok t_cmp($ran && @posts == 1 && @redirects == 1 ? 1 : 0, 1,
         "Chromium: clicking child $B{pid}'s button POSTs its form and "
         . 'follows the 303 (' . ($@ || scalar(@posts) . ' POST, '
                                 . scalar(@redirects) . ' redirect') . ')');
ok t_cmp($clicked // 'none', $srv->url('/memwatch'), 'and shows the page again');

my $both = poll($LOAD_SECONDS - (time - $load_t0), sub {
    my $jj = $srv->json;
    return !child($jj, $A{pid}) && !child($jj, $B{pid})
        && manual_recycles($jj, $A{pid}) && manual_recycles($jj, $B{pid}) && $jj;
});
my $left_at = time - $load_t0;
MemwatchLoad::stop($load);
my $r = MemwatchLoad::finish($load);
t_debug('load: ' . join(', ', map { "$_=" . ($r->{$_} // '?') }
                              qw(ok failed connections closes max_seconds)));
t_debug("errors: $_ x $r->{errors}{$_}") for keys %{ $r->{errors} || {} };
ok t_cmp($both ? 1 : 0, 1,
         "children $A{pid} and $B{pid} are recycled, reason manual, and have left");
ok t_cmp($both && $left_at < $LOAD_SECONDS ? 1 : 0, 1,
         sprintf('while the load ran (%.1f s of %d)', $left_at, $LOAD_SECONDS));
ok t_cmp(join(' ', map { $_->{dry_run} ? 'dry' : 'real' }
                   $both ? (manual_recycles($both, $A{pid}),
                            manual_recycles($both, $B{pid})) : ()),
         'real real', 'one event each, not a dry run');
ok t_cmp($r->{failed}, 0, 'no request of the load failed');
ok t_cmp($r->{ok} > 0 && $r->{closes} > 0 ? 1 : 0, 1,
         "the load was served ($r->{ok} requests), and closed gracefully "
         . "by the child that left under it ($r->{closes} closes)");
for my $c ([A => \%A], [B => \%B]) {
    my ($name, $f) = @$c;
    ok t_cmp($srv->log_count(qr/MW0019: 127\.0\.0\.1 asked to recycle child pid $f->{pid} \(slot $f->{recycle}\)/),
             1, "the POST for child $f->{pid} is logged once, with the client's address");
    ok t_cmp($srv->log_count(qr/MW0010: recycling child pid $f->{pid} \(slot \d+\), reason manual: /),
             1, "and its recycling (MW0010, reason manual)");
}
ok t_cmp(scalar(grep { $_->{pid} == $G{pid} } @{ $srv->json->{recycles} }), 0,
         "child $G{pid}, refused and only GETted, was never recycled");
{
    my $again = post_form($port, '/memwatch', encode_form(%A));
    ok t_cmp("$again->{status} $again->{body}",
             qr/^403 Not recycled: child pid $A{pid} has left slot $A{recycle}/,
             "child $A{pid}'s form sent again: 403, it has left its slot");
}
ok t_cmp($srv->crashes, 0, 'no child crashed');

# ---- a page from before a graceful restart ------------------------------------------

{
    my @old = forms(page($srv));
    my $gen = $srv->json->{generation};
    $srv->graceful;
    my $new = poll(30, sub {
        my $jj = $srv->json;
        return $jj->{generation} > $gen && @{ $jj->{children} }
            && !grep { $_->{generation} != $jj->{generation} } @{ $jj->{children} };
    });
    ok t_cmp($new ? 1 : 0, 1, 'a graceful restart: every child of the new generation');
    my $r = @old ? post_form($port, '/memwatch', encode_form(%{ $old[0]{fields} }))
                 : { status => 0, body => 'no form before the restart' };
    ok t_cmp("$r->{status} $r->{body}", qr/^403 Not recycled: wrong token/,
             'a button from a page of before the restart: 403');
    my @now = forms(page($srv));
    ok t_cmp(scalar(@now) >= 1 && !grep({ my $t = $_->{fields}{token};
                                          grep { $_->{fields}{token} eq $t } @old } @now)
             ? 1 : 0, 1, 'the new page has buttons, with new tokens');
}
$srv->stop;

# ---- MemwatchDryRun, on a child that serves nothing -----------------------------------

{
    my $dry = MemwatchServer->new(name => 'manual-dry',
        conf => "MemwatchWarmup 0\nMemwatchAllowRecycle On\nMemwatchDryRun On\n")->start;
    # Every request on one connection, to one child: the others serve
    # nothing, so an idle prefork child is judged by the parent's pass
    # (every 10 s), a worker or event one by its watcher.
    my ($hold, $held) = $dry->conn_to_child;
    my $json = sub { decode_json(req($hold, '/memwatch?json')->{body}) };
    my ($f) = grep { $_->{pid} != $held } map { $_->{fields} }
              forms(req($hold, '/memwatch')->{body});
    die "no button for a child other than $held\n" unless $f;
    my $served = child($json->(), $f->{pid})->{requests};
    my $r = req($hold, '/memwatch', method => 'POST', body => encode_form(%$f),
                headers => { 'Content-Type' => $FORM });
    ok t_cmp($r->{status}, 303, 'MemwatchDryRun: the POST is taken (303)');
    my $jj = poll(25, sub {
        my $x = $json->();
        return manual_recycles($x, $f->{pid}) && $x;
    });
    my ($ev) = $jj ? manual_recycles($jj, $f->{pid}) : ();
    ok t_cmp($ev && $ev->{dry_run} ? 1 : 0, 1,
             "a \"would recycle\" event for child $f->{pid}, reason manual");
    my $c = $jj ? child($jj, $f->{pid}) : undef;
    ok t_cmp($c ? "$c->{state}, $c->{requests} requests" : 'gone',
             "would recycle, $served requests",
             'the child is marked and still there; it served nothing meanwhile '
             . '(judged idle)');
    ok t_cmp($dry->log_count(qr/MW0010: would recycle \(MemwatchDryRun\) child pid $f->{pid} \(slot \d+\), reason manual: /),
             1, 'MW0010 says it would recycle it');
    $r = req($hold, '/memwatch', method => 'POST', body => encode_form(%$f),
             headers => { 'Content-Type' => $FORM });
    ok t_cmp("$r->{status} $r->{body}",
             qr/^409 Not recycled: child pid $f->{pid} is would recycle$/m,
             'its button pressed again: 409, it is marked already');
    close $hold;
    $dry->stop;
}
