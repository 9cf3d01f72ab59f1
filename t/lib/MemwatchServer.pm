package MemwatchServer;

# A private httpd for tests that need a configuration of their own (the
# recycling tests): same MPM, same modules as the Apache::Test run, its own
# ServerRoot, port and Memwatch* directives. Loopback only.
#
#   my $srv = MemwatchServer->new(conf => "MemwatchMaxGrowth 8M\n");
#   $srv->start; ... $srv->json; ... $srv->stop;
#
# The httpd binary and its modules are where apxs says (httpd(),
# modules_dir(); APXS picks another apxs). HTTP goes through
# MemwatchClient: $srv->conn for a keep-alive connection of a test's own,
# $srv->get for one request on a fresh one.
#
# h2 => 1 loads mod_http2 with `Protocols h2 h2c http/1.1` (h2c by prior
# knowledge on the plain port); tls => 1 adds a second port,
# $srv->tls_port, served over TLS by mod_ssl with a certificate for
# 127.0.0.1 made by openssl at start ($srv->cafile verifies it).

use strict;
use warnings FATAL => 'all';

use Cwd qw(abs_path);
use File::Path qw(make_path remove_tree);
use File::Basename qw(dirname);
use File::Copy ();
use IO::Socket::INET;
use JSON::PP;
use MemwatchClient qw(request poll);
use MemwatchProc ();
use POSIX ();
use Time::HiRes qw(time);

my $top = abs_path(dirname(__FILE__) . '/../..');
my $count = 0;

# What `apxs -q NAME` says, asked once.
my %apxs;
sub apxs_q {
    my $name = shift;
    return $apxs{$name} //= do {
        my $apxs = $ENV{APXS} || 'apxs';
        my $v = `$apxs -q $name 2>/dev/null`;
        die "'$apxs -q $name' failed: is apxs (apache2-dev) installed?\n"
            if $? || !defined $v || $v !~ /\S/;
        chomp $v;
        $v;
    };
}

# The httpd binary apxs was built for: SBINDIR/TARGET (/usr/sbin/apache2
# on Debian).
sub httpd {
    my $h = apxs_q('SBINDIR') . '/' . apxs_q('TARGET');
    die "no httpd at $h\n" unless -x $h;
    return $h;
}

# Where its modules are (/usr/lib/apache2/modules on Debian).
sub modules_dir { apxs_q('LIBEXECDIR') }

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub new {
    my ($class, %args) = @_;
    my $mpm = $ENV{MEMWATCH_MPM} or die "MEMWATCH_MPM not set";
    my $self = bless {
        mpm  => $mpm,
        port => free_port(),
        root => "$top/t/servers/" . ($args{name} || "srv") . "-$$-" . $count++,
        conf => $args{conf} || '',
        mpm_conf => $args{mpm_conf},
        without_memwatch => $args{without_memwatch},
        h2   => $args{h2},
        tls  => $args{tls},
        cgroup => $args{cgroup},
    }, $class;
    $self->{tls_port} = free_port() if $self->{tls};
    return $self;
}

sub url { my ($self, $path) = @_; "http://127.0.0.1:$self->{port}$path" }
sub port { $_[0]{port} }
sub tls_port { $_[0]{tls_port} }
sub cafile { "$_[0]{root}/cert.pem" }
sub error_log { "$_[0]{root}/logs/error_log" }

# A few children, so recycling one leaves others serving. Threaded
# children keep httpd's default of 25 threads: with all of a child's
# workers busy, event itself closes that child's idle keep-alive
# connections ("All workers are busy", mpm_event trace1), which a strict
# client sees as a dropped request whether or not anything is recycled.
my %mpm_conf = (
    prefork => "StartServers 4\nMinSpareServers 4\nMaxSpareServers 10\n"
             . "MaxRequestWorkers 16\nServerLimit 16\n",
    worker  => "StartServers 3\nThreadsPerChild 25\nMinSpareThreads 25\n"
             . "MaxSpareThreads 150\nMaxRequestWorkers 150\nServerLimit 6\n",
    event   => "StartServers 3\nThreadsPerChild 25\nMinSpareThreads 25\n"
             . "MaxSpareThreads 150\nMaxRequestWorkers 150\nServerLimit 6\n",
);

sub write_conf {
    my $self = shift;
    my $root = $self->{root};
    my $m = $self->{mpm};
    my $mods = modules_dir();
    make_path("$root/logs", "$root/htdocs");
    open my $ix, '>', "$root/htdocs/index.html" or die $!;
    print $ix "<p>hello</p>\n";
    close $ix;
    open my $fh, '>', "$root/httpd.conf" or die $!;
    my $mpm = $self->{mpm_conf} // $mpm_conf{$m};
    my $testmod = $ENV{MEMWATCH_TESTMOD}
        || "$top/c-modules/memwatch_test/.libs/mod_memwatch_test.so";
    # Without the module the configuration differs by the LoadModule line
    # only: the <Location> costs every request a walk either way, so that
    # `make bench` compares the module alone.
    my $memwatch = ($self->{without_memwatch} ? ''
        : "LoadModule memwatch_module $top/.libs/mod_memwatch.so\n")
        . "<Location /memwatch>\n    SetHandler memwatch\n</Location>";
    die "test module not built: $testmod" unless -e $testmod;
    my $proto = '';
    $proto .= "LoadModule http2_module $mods/mod_http2.so\n"
            . "Protocols h2 h2c http/1.1\n" if $self->{h2};
    if ($self->{tls}) {
        $self->make_cert;
        my $cert = $self->cafile;
        $proto .= <<"TLS";
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
LoadModule ssl_module $mods/mod_ssl.so
SSLSessionCache shmcb:$root/logs/ssl_scache(512000)
Listen 127.0.0.1:$self->{tls_port}
<VirtualHost 127.0.0.1:$self->{tls_port}>
    SSLEngine on
    SSLCertificateFile $cert
    SSLCertificateKeyFile $root/key.pem
</VirtualHost>
TLS
    }
    print $fh <<"EOF";
ServerRoot $root
ServerName 127.0.0.1
Listen 127.0.0.1:$self->{port}
PidFile $root/logs/httpd.pid
ErrorLog $root/logs/error_log
LogLevel notice
DocumentRoot $root/htdocs
DirectoryIndex index.html
TypesConfig /etc/mime.types
LoadModule mpm_${m}_module $mods/mod_mpm_${m}.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule mime_module $mods/mod_mime.so
LoadModule dir_module $mods/mod_dir.so
LoadModule memwatch_test_module $testmod
$memwatch
Mutex file:$root/logs
DefaultRuntimeDir $root/logs
KeepAlive On
KeepAliveTimeout 2
MaxKeepAliveRequests 0
$mpm
$proto
<Location /mw>
    SetHandler memwatch_test
</Location>
$self->{conf}
EOF
    close $fh;
}

# A self-signed certificate for 127.0.0.1, made once per server root.
sub make_cert {
    my $self = shift;
    my $root = $self->{root};
    return if -e "$root/key.pem";
    my $cmd = join ' ', qw(openssl req -x509 -newkey ec -pkeyopt
        ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1
        -addext subjectAltName=IP:127.0.0.1),
        '-keyout', "$root/key.pem", '-out', $self->cafile;
    my $out = `$cmd 2>&1`;
    die "openssl could not make a certificate: $out" if $?;
}

sub start {
    my $self = shift;
    $self->write_conf;
    my $cmd = httpd() . " -f $self->{root}/httpd.conf -k start";
    # In a cgroup (a directory of a v1 or v2 hierarchy): the shell joins
    # it and becomes httpd, whose processes all stay in it.
    $cmd = "sh -c 'echo \$\$ > $self->{cgroup}/cgroup.procs && exec $cmd'"
        if $self->{cgroup};
    my $out = `$cmd 2>&1`;
    die "httpd did not start: $out" if $?;
    my $up = poll(20, sub {
        return ($self->get('/mw/hello'))[0] == 200 if $self->{without_memwatch};
        return scalar @{ $self->json->{children} };
    });
    die "httpd on port $self->{port} did not answer" unless $up;
    return $self;
}

sub configtest {
    my ($self) = @_;
    $self->write_conf;
    my $out = `${\httpd()} -f $self->{root}/httpd.conf -t 2>&1`;
    return ($? >> 8, $out);
}

sub pid {
    my $self = shift;
    open my $fh, '<', "$self->{root}/logs/httpd.pid" or return;
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

sub stop { stop_all(shift) }

# A graceful restart: SIGUSR1 to the parent, as `apachectl graceful` sends.
sub graceful {
    my $self = shift;
    my $pid = $self->pid or die "no pid file: is the server running?\n";
    kill 'USR1', $pid or die "kill USR1 $pid: $!\n";
}

# Stop several servers at once: each takes about two seconds to go, and
# they go side by side.
sub stop_all {
    my @pids;
    for my $srv (@_) {
        my $pid = $srv->pid or next;
        system(httpd() . " -f $srv->{root}/httpd.conf -k stop >/dev/null 2>&1");
        push @pids, $pid;
    }
    poll(20, sub { !grep { kill(0, $_) } @pids });
}

# A keep-alive connection of a test's own (MemwatchClient::req on it).
sub conn { MemwatchClient::conn('127.0.0.1', $_[0]{port}) }

# A keep-alive connection and the pid of the child that answers on it
# (/mw/info), a child other than those in @not: (socket, pid).
sub conn_to_child {
    my ($self, @not) = @_;
    my %not = map { $_ => 1 } @not;
    for (1 .. 100) {
        my $s = $self->conn;
        my ($pid) = MemwatchClient::req($s, '/mw/info')->{body} =~ /pid=(\d+)/;
        return ($s, $pid) unless $not{$pid};
        close $s;
    }
    die "no child other than @not to talk to\n";
}

# One GET on a fresh connection: (status, body); (0, '') if no complete
# response came. Dies if it cannot connect.
sub get {
    my ($self, $path) = @_;
    my $s = $self->conn;
    my ($r) = request($s, $path, close => 1);
    close $s;
    return $r ? ($r->{status}, $r->{body}) : (0, '');
}

# The pids of the parent's children, from /proc.
sub children {
    my $self = shift;
    my $pid = $self->pid or return;
    return MemwatchProc::children($pid);
}

# While $code runs, a process of its own calls $sweep->(\%state) about
# every $a{interval} s (0.02) and hands %state back at the end, so what it
# sees is independent of the module's own figures: (\%state, what $code
# returned). %state starts as $a{state} (default empty).
sub sample_during {
    my ($self, $code, $sweep, %a) = @_;
    my $interval = $a{interval} // 0.02;
    pipe(my $rd, my $wr) or die "pipe: $!";
    pipe(my $stop_rd, my $stop_wr) or die "pipe: $!";
    my $kid = fork // die "fork: $!";
    if (!$kid) {
        close $rd;
        close $stop_wr;
        my %state = %{ $a{state} // {} };
        my $deadline = time + 600;
        my $rin = '';
        vec($rin, fileno($stop_rd), 1) = 1;
        while (time < $deadline) {
            my $t0 = time;
            $sweep->(\%state);
            my $wait = $interval - (time - $t0);
            last if select(my $r = $rin, undef, undef, $wait > 0 ? $wait : 0);
        }
        print $wr encode_json(\%state);
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    close $stop_rd;
    my @ret = $code->();
    close $stop_wr;
    my $json = do { local $/; <$rd> };
    waitpid $kid, 0;
    return (decode_json($json || '{}'), @ret);
}

# The largest RSS of every child seen while $code runs, from /proc every
# 20 ms: ({ pid => bytes }, what $code returned).
sub peak_rss_during {
    my ($self, $code) = @_;
    return $self->sample_during($code, sub {
        my $peak = shift;
        for my $c ($self->children) {
            my $rss = MemwatchProc::rss($c) // next;
            $peak->{$c} = $rss if $rss > ($peak->{$c} // 0);
        }
    });
}

# How many lines of the server's error log match $re.
sub log_count {
    my ($self, $re) = @_;
    open my $fh, '<', $self->error_log or die $self->error_log . ": $!\n";
    return scalar grep { /$re/ } <$fh>;
}

# Children that died on a signal, as the parent logged them (AH00051/52).
sub crashes { $_[0]->log_count(qr/exit signal/) }

sub json {
    my $self = shift;
    my ($status, $body) = $self->get('/memwatch?json');
    die "status $status" unless $status == 200;
    return decode_json($body);
}

sub DESTROY {
    my $self = shift;
    $self->stop;
    # A test of this file failed: keep the server's log for the post-mortem
    # (Apache::Test's Test.pm, or Test::More in the files prove runs as
    # root: t/forge.t, t/cgroup.t).
    my $failed = @Test::FAILDETAIL
        || (Test::Builder->can('new') && !Test::Builder->new->is_passing);
    if ($ENV{MEMWATCH_OUT} && $failed && -e $self->error_log) {
        (my $name = $self->{root}) =~ s{.*/}{};
        File::Copy::copy($self->error_log,
                         "$ENV{MEMWATCH_OUT}/server-$name-error_log");
    }
    remove_tree($self->{root}) unless $ENV{MEMWATCH_KEEP};
}

1;
