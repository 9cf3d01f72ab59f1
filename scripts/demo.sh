#!/bin/bash
# make demo: install what is missing, build, and start a private httpd on
# 127.0.0.1:${PORT:-8080} with mod_memwatch and conf/demo.conf, plus a
# little bounded background traffic (one handler leaks) so the page has
# something to show and a child recycles now and then.
#
#   scripts/demo.sh            start (stops an earlier demo first)
#   scripts/demo.sh stop       stop it (make demo-stop)
#
# Everything lives in demo-run/ (gitignored): the generated httpd.conf, the
# error log, the pid files and the test module with the leaking handlers,
# built from c-modules/memwatch_test by scripts/build-test-module.sh.
# As root the children run as nobody:nogroup; otherwise as you.
#
#   PORT=8081 make demo            another port
#   DEMO_SECONDS=60 make demo      a shorter burst of traffic (default 600)
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
RUN=$TOP/demo-run
PORT=${PORT:-8080}
SECONDS_OF_TRAFFIC=${DEMO_SECONDS:-600}
source scripts/httpd.sh

# The pid in FILE if that process is alive and its command line has WORD
# (so a stale pid file never makes us signal someone else's process).
live_pid() {
    local file=$1 word=$2 pid
    [ -f "$file" ] || return 1
    pid=$(cat "$file" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$word" || return 1
    echo "$pid"
}

stop_demo() {
    local pid
    # The traffic loop runs in a process group of its own: end all of it.
    if pid=$(live_pid "$RUN/traffic.pid" demo.sh); then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN/traffic.pid"
    if pid=$(live_pid "$RUN/httpd.pid" "$RUN/httpd.conf"); then
        "$(httpd_binary)" -f "$RUN/httpd.conf" -k stop 2>/dev/null || kill -TERM "$pid" || true
        # -k stop only signals: wait for the parent (it ends its children
        # first), so the port is free when this returns.
        for _ in $(seq 200); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "demo httpd (pid $pid) did not stop within 20 s" >&2
            return 1
        fi
        echo "demo httpd (pid $pid) stopped"
    elif [ "${1:-}" = verbose ]; then
        echo "no demo httpd is running"
    fi
}

# Is something listening on 127.0.0.1:PORT?
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Bounded traffic on loopback, for $SECONDS_OF_TRAFFIC seconds at most:
# every second ten small requests on one connection and one request that
# leaks 1 MiB, every 30 s a request that fills a 16 MiB cache once per
# child (a plateau, not a leak). Ends early once the server is gone.
traffic() {
    local base=http://127.0.0.1:$PORT i rc
    for ((i = 0; i < SECONDS_OF_TRAFFIC; i++)); do
        rc=0
        curl -s --max-time 20 -o /dev/null "$base/mw/hello?n=[1-10]" || rc=$?
        [ $rc -eq 7 ] && break      # could not connect: the demo stopped
        curl -s --max-time 20 -o /dev/null "$base/mw/leak?kb=1024" || true
        if [ $((i % 30)) -eq 0 ]; then
            curl -s --max-time 20 -o /dev/null "$base/mw/cache?mb=16" || true
        fi
        sleep 1
    done
}

case "${1:-start}" in
stop)
    stop_demo verbose
    exit
    ;;
traffic)
    traffic
    exit
    ;;
start)
    ;;
*)
    echo "usage: $0 [start|stop]" >&2
    exit 2
    ;;
esac

bash scripts/deps.sh
make -s all >/dev/null
HTTPD=$(httpd_binary)
stop_demo
if port_busy "$PORT"; then
    echo "127.0.0.1:$PORT is taken by another program; try PORT=8081 make demo" >&2
    exit 1
fi
rm -rf "$RUN"
mkdir -p "$RUN"
bash scripts/build-test-module.sh "$RUN/testmod"

USER_LINES="# Not root: httpd and its children run as $(id -un)."
if [ "$(id -u)" -eq 0 ]; then
    # Started as root, httpd opens its port and logs, then its children
    # drop to this user; they need to write nothing in $RUN.
    USER_LINES="User nobody
Group nogroup"
fi
# Placeholders are filled in outside comments only.
sed -e "/^[[:space:]]*#/!{s|@TOP@|$TOP|g;s|@RUN@|$RUN|g;s|@PORT@|$PORT|g}" \
    conf/demo.conf | awk -v u="$USER_LINES" '{ if ($0 == "@USER@") print u; else print }' \
    > "$RUN/httpd.conf"
"$HTTPD" -f "$RUN/httpd.conf" -t >"$RUN/configtest.log" 2>&1 \
    || { cat "$RUN/configtest.log" >&2; exit 1; }
"$HTTPD" -f "$RUN/httpd.conf" -k start \
    || { echo "demo httpd did not start; see $RUN/error_log" >&2; exit 1; }

URL=http://127.0.0.1:$PORT/memwatch
ready=
for _ in $(seq 100); do
    if curl -fs --max-time 5 "$URL?auto" 2>/dev/null | grep -q '^ServerMPM: event'; then
        ready=1
        break
    fi
    sleep 0.1
done
if [ -z "$ready" ]; then
    echo "demo httpd did not answer on $URL within 10 s; see $RUN/error_log" >&2
    stop_demo || true
    exit 1
fi

# In a session of its own (so stop can end it, curl included), detached
# from this terminal and from make's output.
PORT=$PORT DEMO_SECONDS=$SECONDS_OF_TRAFFIC \
    setsid bash scripts/demo.sh traffic </dev/null >/dev/null 2>&1 &
echo $! > "$RUN/traffic.pid"

cat <<EOF

mod_memwatch demo is running (event MPM, pid $(cat "$RUN/httpd.pid")):

    $URL

  also $URL?json  $URL?auto  $URL?prometheus
  and  http://127.0.0.1:$PORT/server-status (mod_status with a memory section)

Background traffic for $SECONDS_OF_TRAFFIC s: one handler leaks 1 MiB a second;
a child is recycled once it grew 48 MiB (+/- 10%), so the first recycle comes
after a minute or two. Config and error log: $RUN/

Stop it with:  make demo-stop
         or:   $HTTPD -f $RUN/httpd.conf -k stop
EOF
