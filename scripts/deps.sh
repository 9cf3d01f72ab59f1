#!/bin/bash
# Install the Debian packages mod_memwatch needs to build, test, bench and
# demo, if any are missing. Safe to run again: does nothing when all are in.
set -euo pipefail

PACKAGES=(
    make gcc perl curl procps
    clang libclang-rt-14-dev     # libFuzzer harnesses (tests/fuzz)
    apache2 apache2-dev          # httpd, apxs, headers
    libapache2-mod-perl2         # Apache::Test; mod_perl (t/runtime.t), Apache2::SizeLimit (bench)
    libapache2-mod-wsgi-py3      # embedded mod_wsgi (t/runtime.t)
    libapache2-mod-php8.2        # mod_php, for tests with a configuration of their own
    libwww-perl                  # Apache::TestRequest
    apache2-utils wrk            # ab, wrk: load tests and benchmarks
    nghttp2-client openssl       # h2load for by-hand HTTP/2 runs; test certificates (t/protocols.t)
    python3 python3-hpack python3-hyperframe  # the HTTP/2 and TLS load client (t/lib/mw_h2load.py)
    valgrind strace              # instructions and system calls per request (bench)
    prometheus                   # promtool, to check ?prometheus
    chromium                     # the browser test of /memwatch
    dpkg-dev debhelper           # make deb (dh_apache2 is in apache2-dev)
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# Debian's apache2 package starts the system httpd; this project needs
# only its binaries, so keep the install from starting services.
POLICY=$(mktemp)
printf '#!/bin/sh\nexit 101\n' > "$POLICY"
chmod +x "$POLICY"
if [ ! -e /usr/sbin/policy-rc.d ]; then
    $SUDO cp "$POLICY" /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
rm -f "$POLICY"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
