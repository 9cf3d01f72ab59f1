#!/bin/bash
# The Debian package, installed for real: `make deb` builds it, dpkg
# installs it, `a2enmod memwatch` enables it, `apache2ctl -M` must list
# memwatch_module, and an httpd started from a private configuration that
# includes the packaged memwatch.load and memwatch.conf must answer
# /memwatch on loopback. Then everything is undone (a2dismod -p, dpkg
# --purge) and the machine must be as it was: same mods-enabled, same
# a2enmod state, no package, no file of it left.
#
# Needs root (scripts/test.sh runs it before re-running itself as nobody).
# Refuses to touch a machine where the package is already installed or the
# system Apache is running: it then says so and exits 0 (skipped).
set -euo pipefail

cd "$(dirname "$0")/.."
TOP=$PWD
PKG=libapache2-mod-memwatch
fail=0
pass=0
check() {           # check "what" command...
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then
        echo "ok - $what"
        pass=$((pass + 1))
    else
        echo "not ok - $what"
        fail=$((fail + 1))
    fi
}

if [ "$(id -u)" -ne 0 ]; then
    echo "deb-test: skipped: installing a package needs root"
    exit 0
fi
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q installed; then
    echo "deb-test: skipped: $PKG is already installed here; not touching it"
    exit 0
fi
if [ -s /var/run/apache2/apache2.pid ] \
   && kill -0 "$(cat /var/run/apache2/apache2.pid)" 2>/dev/null; then
    echo "deb-test: skipped: the system Apache is running; not touching it"
    exit 0
fi

WORK=$(mktemp -d /tmp/memwatch-deb.XXXXXX)
chmod 755 "$WORK"
state() {           # what installing and removing must leave as it was
    find /etc/apache2/mods-enabled /etc/apache2/mods-available \
        /etc/apache2/conf-enabled /etc/apache2/conf-available -mindepth 1 \
        -printf '%p %l %s\n' | sort
    find /var/lib/apache2 -path '*memwatch*' 2>/dev/null | sort
    find /usr/lib/apache2/modules -name 'mod_memwatch*' | sort
    if dpkg-query -W -f='${Status}\n' "$PKG" 2>/dev/null \
       | grep -q ' installed$'; then
        echo "$PKG installed"
    else
        echo "$PKG not installed"
    fi
}
state > "$WORK/before"

HTTPD_CONF=$WORK/srv/httpd.conf
# Stop the private httpd of configuration $1 and wait (bounded) for it.
stop_httpd() {
    /usr/sbin/apache2 -f "$1" -k stop
    for _ in $(seq 100); do
        [ -s "$WORK/srv/httpd.pid" ] || break
        sleep 0.1
    done
}
# The machine's own policy-rc.d back, or none if it had none.
restore_policy() {
    if [ -e "$WORK/policy-rc.d.orig" ]; then
        mv -f "$WORK/policy-rc.d.orig" /usr/sbin/policy-rc.d
    else
        rm -f /usr/sbin/policy-rc.d
    fi
}
cleanup() {
    set +e
    # The recording policy-rc.d of the upgrade check, if it is still there.
    grep -qs "$WORK/rc-requests" /usr/sbin/policy-rc.d && restore_policy
    if [ -s "$WORK/srv/httpd.pid" ]; then
        /usr/sbin/apache2 -f "$HTTPD_CONF" -k stop >/dev/null 2>&1
        for _ in $(seq 100); do
            kill -0 "$(cat "$WORK/srv/httpd.pid" 2>/dev/null)" 2>/dev/null || break
            sleep 0.1
        done
    fi
    if [ -e /etc/apache2/mods-available/memwatch.load ]; then
        a2dismod -q -p memwatch >/dev/null 2>&1
    fi
    dpkg --purge "$PKG" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== make deb"
make -s deb DEB_OUT="$WORK/out" >"$WORK/build.log" 2>&1 \
    || { tail -30 "$WORK/build.log"; echo "not ok - make deb"; exit 1; }
DEB=$(ls "$WORK"/out/${PKG}_*.deb)
VERSION=$(head -n1 debian/changelog | cut -d'(' -f2 | cut -d')' -f1)
check "make deb builds $(basename "$DEB")" test -s "$DEB"
check "the package version is debian/changelog's ($VERSION)" \
    test "$(dpkg-deb -f "$DEB" Version)" = "$VERSION"
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
echo "# Depends: $DEPENDS"
check "it depends on the Apache module API (apache2-api-*)" \
    grep -q 'apache2-api-[0-9]' <<<"$DEPENDS"
check "it declares libapr1 1.4 to 1.8" \
    grep -q 'libapr1 (>= 1.4), libapr1 (<< 1.9~)' <<<"$DEPENDS"
CONFFILES=$(dpkg-deb -I "$DEB" conffiles)
check "memwatch.load is a conffile" \
    grep -qx /etc/apache2/mods-available/memwatch.load <<<"$CONFFILES"
check "memwatch.conf is a conffile" \
    grep -qx /etc/apache2/mods-available/memwatch.conf <<<"$CONFFILES"
check "memwatch-log.conf is a conffile" \
    grep -qx /etc/apache2/conf-available/memwatch-log.conf <<<"$CONFFILES"
CONTENTS=$(dpkg-deb -c "$DEB")
check "it ships README.Debian" grep -q 'README.Debian' <<<"$CONTENTS"
check "it ships the Prometheus examples" \
    grep -q 'examples/prometheus/memwatch-rules.yml' <<<"$CONTENTS"
check "no build directory in the source tree" test ! -e "$TOP/build/deb/src"

echo "== install, a2enmod, apache2ctl -M"
# Installing must not start or reload any service (as scripts/deps.sh).
POLICY_SET=
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    POLICY_SET=1
fi
rc=0
DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" >"$WORK/dpkg.log" 2>&1 || rc=$?
[ -n "$POLICY_SET" ] && rm -f /usr/sbin/policy-rc.d
[ $rc -eq 0 ] || cat "$WORK/dpkg.log"
check "dpkg -i installs it" test $rc -eq 0
check "the module is in /usr/lib/apache2/modules" \
    test -s /usr/lib/apache2/modules/mod_memwatch.so
check "not enabled by the installation" \
    test ! -e /etc/apache2/mods-enabled/memwatch.load
check "a2enmod memwatch enables it" a2enmod -q memwatch
check "mods-enabled/memwatch.load and .conf" \
    test -e /etc/apache2/mods-enabled/memwatch.load -a \
         -e /etc/apache2/mods-enabled/memwatch.conf
MODS=$(apache2ctl -M 2>&1 || true)
check "apache2ctl -M lists memwatch_module" \
    grep -q 'memwatch_module (shared)' <<<"$MODS"

echo "== an upgrade reloads the server gracefully"
# Installing the package again over itself is an upgrade to its own
# version (postinst configure with the old version). A policy-rc.d that
# records what it is asked and forbids it shows the postinst's reload
# without touching this machine's server.
if [ -e /usr/sbin/policy-rc.d ]; then
    cp -p /usr/sbin/policy-rc.d "$WORK/policy-rc.d.orig"
fi
printf '#!/bin/sh\necho "$*" >> %s\nexit 101\n' "$WORK/rc-requests" \
    > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
rc=0
DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" >"$WORK/dpkg-upgrade.log" 2>&1 \
    || rc=$?
restore_policy
[ $rc -eq 0 ] || cat "$WORK/dpkg-upgrade.log"
check "dpkg -i over the installed package (an upgrade)" test $rc -eq 0
echo "# policy-rc.d was asked: $(cat "$WORK/rc-requests" 2>/dev/null)"
check "the postinst asked for a graceful reload of apache2" \
    grep -q 'apache2 reload' "$WORK/rc-requests"

echo "== a private httpd with the packaged configuration answers /memwatch"
PORT=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(
    LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1)->sockport')
mkdir -p "$WORK/srv"
chown nobody "$WORK/srv"
cat > "$HTTPD_CONF" <<EOF
ServerRoot $WORK/srv
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
PidFile $WORK/srv/httpd.pid
ErrorLog $WORK/srv/error_log
LogLevel notice
User nobody
Group nogroup
Mutex file:$WORK/srv
DefaultRuntimeDir $WORK/srv
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule authz_host_module /usr/lib/apache2/modules/mod_authz_host.so
Include /etc/apache2/mods-enabled/memwatch.load
Include /etc/apache2/mods-enabled/memwatch.conf
EOF
check "configtest of the packaged files" /usr/sbin/apache2 -f "$HTTPD_CONF" -t
/usr/sbin/apache2 -f "$HTTPD_CONF" -k start
body=
for _ in $(seq 100); do
    body=$(curl -s --max-time 2 "http://127.0.0.1:$PORT/memwatch?auto" || true)
    grep -q '^MemwatchVersion:' <<<"$body" && break
    sleep 0.1
done
check "/memwatch?auto answers with MemwatchVersion: $VERSION" \
    grep -qx "MemwatchVersion: $VERSION" <<<"$body"
check "/memwatch?prometheus= answers 200" test "$(curl -s -o /dev/null \
    -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/memwatch?prometheus=")" = 200
stop_httpd "$HTTPD_CONF"
check "the private httpd stopped" test ! -s "$WORK/srv/httpd.pid"

echo "== Debian's own site layout: the access-log recipe (a2enconf memwatch-log)"
# apache2.conf's order: mods-enabled, its LogFormat lines, conf-enabled,
# then the sites, each with its own CustomLog: a private httpd in that
# order, with Debian's 000-default.conf on the private port.
check "memwatch-log.conf is installed in conf-available" \
    test -s /etc/apache2/conf-available/memwatch-log.conf
check "a2enconf memwatch-log enables it" a2enconf -q memwatch-log
SITE_CONF=$WORK/debian-site.conf
{
    sed -n '1,/^Include \/etc\/apache2\/mods-enabled\/memwatch.conf$/p' \
        "$HTTPD_CONF"
    grep '^LogFormat' /etc/apache2/apache2.conf
    echo "IncludeOptional /etc/apache2/conf-enabled/memwatch-log.conf"
    echo "Define APACHE_LOG_DIR $WORK/srv"
    sed "s/<VirtualHost \*:80>/<VirtualHost 127.0.0.1:$PORT>/" \
        /etc/apache2/sites-available/000-default.conf
} > "$SITE_CONF"
: > "$WORK/srv/error_log"
check "configtest of Debian's site with the recipe" \
    /usr/sbin/apache2 -f "$SITE_CONF" -t
/usr/sbin/apache2 -f "$SITE_CONF" -k start
line=
for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/memwatch?auto" \
        || true
    line=$(tail -n1 "$WORK/srv/access.log" 2>/dev/null || true)
    grep -q 'memwatch?auto' <<<"$line" && break
    sleep 0.1
done
echo "# access.log: $line"
check "the site's own access.log carries the child's RSS and growth" \
    grep -Eq '"[^"]*" [1-9][0-9]* -?[0-9]+$' <<<"$line"
stop_httpd "$SITE_CONF"
check "the site's httpd stopped" test ! -s "$WORK/srv/httpd.pid"
check "a2disconf -p memwatch-log" a2disconf -q -p memwatch-log

echo "== without /proc/self/statm (not Linux): a start-up warning"
# The same httpd in a mount namespace with an empty /proc.
: > "$WORK/srv/error_log"
unshare -m sh -c "mount -t tmpfs none /proc && exec /usr/sbin/apache2 \
    -f '$HTTPD_CONF' -k start"
for _ in $(seq 100); do
    grep -q MW0013 "$WORK/srv/error_log" && break
    sleep 0.1
done
grep MW0013 "$WORK/srv/error_log" || true
check "MW0013 names the inactive limits" grep -q \
    'MW0013.*MemwatchMaxGrowth, MemwatchMaxRSS, MemwatchMaxPrivate' \
    "$WORK/srv/error_log"
stop_httpd "$HTTPD_CONF"
check "and it stopped" test ! -s "$WORK/srv/httpd.pid"

echo "== a2dismod -p, dpkg --purge: as it was"
check "a2dismod -p memwatch" a2dismod -q -p memwatch
check "dpkg --purge" dpkg --purge "$PKG"
check "no conffile left" test ! -e /etc/apache2/mods-available/memwatch.conf \
    -a ! -e /etc/apache2/conf-available/memwatch-log.conf
state > "$WORK/after"
if diff -u "$WORK/before" "$WORK/after" >"$WORK/diff"; then
    check "the machine is as it was (mods, confs, a2enmod state, modules, dpkg)" true
else
    cat "$WORK/diff"
    check "the machine is as it was (mods, confs, a2enmod state, modules, dpkg)" false
fi

echo "deb-test: $pass passed, $fail failed"
[ $fail -eq 0 ]
