package MemwatchCDP;

# Headless Chromium driven over the DevTools protocol on a pipe
# (--remote-debugging-pipe: Chromium reads commands on its fd 3 and writes
# answers and events on its fd 4, each a JSON message ended by a NUL), so
# that a test can click a button as a person would: a mouse press and
# release where the button is drawn. No WebSocket and no module beyond
# core Perl. Every wait is bounded; Chromium runs in a process group of
# its own, killed at close.
#
#   my $b = MemwatchCDP->new;         # dies if Chromium does not answer
#   $b->load($url);                   # in the tab, loaded
#   $b->js('document.title');         # a JavaScript expression's value
#   $b->click('document.querySelector("button")');  # then the next load
#   $b->events('Network.requestWillBeSent');        # what was seen
#   $b->quit;

use strict;
use warnings FATAL => 'all';

use Fcntl qw(F_DUPFD);
use File::Temp qw(tempdir);
use IO::Select;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

my $CHROMIUM = $ENV{MEMWATCH_CHROMIUM} || '/usr/bin/chromium';

sub chromium { $CHROMIUM }

sub new {
    my ($class, %a) = @_;
    my $self = bless { id => 0, buf => '', events => [],
                       timeout => $a{timeout} || 30 }, $class;
    my $dir = tempdir('memwatch-cdp-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    pipe(my $cmd_r, my $cmd_w) or die "pipe: $!";
    pipe(my $ev_r, my $ev_w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        setpgrp(0, 0);
        # Out of the way of 3 and 4 first, then onto them (dup2 leaves
        # them open across exec).
        my $in = fcntl($cmd_r, F_DUPFD, 10);
        my $out = fcntl($ev_w, F_DUPFD, 10);
        POSIX::_exit(126) unless $in && $out;
        POSIX::dup2($in, 3) // POSIX::_exit(126);
        POSIX::dup2($out, 4) // POSIX::_exit(126);
        $ENV{XDG_CONFIG_HOME} = "$dir/config";
        $ENV{XDG_CACHE_HOME}  = "$dir/cache";
        open STDIN,  '<', '/dev/null'   or POSIX::_exit(126);
        open STDOUT, '>', "$dir/stdout" or POSIX::_exit(126);
        open STDERR, '>', "$dir/stderr" or POSIX::_exit(126);
        exec $CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu',
            '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--no-first-run', '--disable-quic',
            '--no-default-browser-check', '--remote-debugging-pipe',
            "--user-data-dir=$dir/profile", '--window-size=1400,1000',
            'about:blank'
            or POSIX::_exit(127);
    }
    setpgrp($pid, $pid);
    close $cmd_r;
    close $ev_w;
    binmode $cmd_w;
    binmode $ev_r;
    @$self{qw(pid in out dir)} = ($pid, $cmd_w, $ev_r, $dir);
    my $t = $self->call('Target.createTarget', { url => 'about:blank' });
    my $s = $self->call('Target.attachToTarget',
                        { targetId => $t->{targetId}, flatten => JSON::PP::true });
    $self->{session} = $s->{sessionId};
    $self->call($_, {}, 1) for qw(Page.enable Network.enable Runtime.enable);
    return $self;
}

# Chromium's stderr so far, for a test's diagnostics.
sub stderr {
    my $self = shift;
    open my $fh, '<', "$self->{dir}/stderr" or return '';
    local $/;
    return <$fh> // '';
}

# The next message, or undef past $deadline (then $self->{error}).
sub read_message {
    my ($self, $deadline) = @_;
    while ((my $i = index($self->{buf}, "\0")) < 0) {
        my $left = $deadline - time;
        unless ($left > 0 && IO::Select->new($self->{out})->can_read($left)) {
            $self->{error} = 'timeout';
            return;
        }
        my $n = sysread($self->{out}, $self->{buf}, 65536, length $self->{buf});
        unless ($n) {
            $self->{error} = defined $n ? 'Chromium closed its pipe'
                                        : "read: $!";
            return;
        }
    }
    my $i = index($self->{buf}, "\0");
    my $msg = substr($self->{buf}, 0, $i);
    substr($self->{buf}, 0, $i + 1, '');
    return decode_json($msg);
}

# Send a command (to the tab when $in_tab) and wait for its answer: its
# result; dies on an error or past the timeout. Events met meanwhile are
# kept.
sub call {
    my ($self, $method, $params, $in_tab) = @_;
    my $id = ++$self->{id};
    my $msg = encode_json({ id => $id, method => $method,
                            params => $params || {},
                            ($in_tab ? (sessionId => $self->{session}) : ()) })
              . "\0";
    while (length $msg) {
        my $n = syswrite($self->{in}, $msg);
        die "$method: write: $!\n" unless defined $n;
        substr($msg, 0, $n, '');
    }
    my $deadline = time + $self->{timeout};
    while (1) {
        my $m = $self->read_message($deadline)
            or die "$method: $self->{error}\n";
        if (defined $m->{id} && $m->{id} == $id) {
            die "$method: " . encode_json($m->{error}) . "\n" if $m->{error};
            return $m->{result};
        }
        push @{ $self->{events} }, $m if $m->{method};
    }
}

# Wait for the tab's next event $name (counting those already kept past
# $after, an index into events): true if it came.
sub wait_event {
    my ($self, $name, $after) = @_;
    my $deadline = time + $self->{timeout};
    while (1) {
        my @ev = @{ $self->{events} };
        return 1 if grep { $_->{method} eq $name } @ev[$after .. $#ev];
        my $m = $self->read_message($deadline) or return 0;
        push @{ $self->{events} }, $m if $m->{method};
    }
}

# The events of that name seen so far: their params.
sub events {
    my ($self, $name) = @_;
    return map { $_->{params} } grep { $_->{method} eq $name } @{ $self->{events} };
}

# Load $url in the tab and wait for its load event.
sub load {
    my ($self, $url) = @_;
    my $mark = @{ $self->{events} };
    $self->call('Page.navigate', { url => $url }, 1);
    $self->wait_event('Page.loadEventFired', $mark)
        or die "loading $url: no load event within $self->{timeout} s\n";
}

# The value of a JavaScript expression in the tab.
sub js {
    my ($self, $expr) = @_;
    my $r = $self->call('Runtime.evaluate',
                        { expression => $expr, returnByValue => JSON::PP::true }, 1);
    die "evaluating $expr: $r->{exceptionDetails}{text}\n"
        if $r->{exceptionDetails};
    return $r->{result}{value};
}

# Click the element $expr evaluates to, with the mouse at its centre, and
# wait for the page it leads to to load. Dies if there is no such element.
sub click {
    my ($self, $expr) = @_;
    my $at = $self->js("(() => { const e = $expr; if (!e) return null;"
        . " e.scrollIntoView({block: 'center'});"
        . " const r = e.getBoundingClientRect();"
        . " return [r.left + r.width / 2, r.top + r.height / 2]; })()")
        or die "nothing to click: $expr\n";
    my %at = (x => $at->[0], y => $at->[1]);
    my $mark = @{ $self->{events} };
    $self->call('Input.dispatchMouseEvent', { type => 'mouseMoved', %at }, 1);
    for my $type (qw(mousePressed mouseReleased)) {
        $self->call('Input.dispatchMouseEvent',
                    { type => $type, %at, button => 'left', clickCount => 1 }, 1);
    }
    $self->wait_event('Page.loadEventFired', $mark)
        or die "no page loaded within $self->{timeout} s of the click\n";
}

sub quit {
    my $self = shift;
    my $pid = delete $self->{pid} or return;
    eval { local $self->{timeout} = 5; $self->call('Browser.close') };
    my $deadline = time + 10;
    while (waitpid($pid, POSIX::WNOHANG()) != $pid && time < $deadline) {
        sleep 0.1;
    }
    kill 'KILL', -$pid;     # helpers left behind, or a browser that hung
    waitpid($pid, 0);
}

sub DESTROY { $_[0]->quit }

1;
