#!/bin/bash
# make demo: install what is missing, build, and start a private httpd on
# 127.0.0.1:${PORT:-8080} with mod_memwatch and conf/demo.conf, with a little
# bounded background traffic (one handler leaks) so the page has something
# to show. `make demo-stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
RUN=$TOP/demo-run
PORT=${PORT:-8080}

bash scripts/deps.sh
make -s all >/dev/null
make -s demo-stop >/dev/null 2>&1 || true
rm -rf "$RUN"
mkdir -p "$RUN"
bash scripts/build-test-module.sh "$RUN/testmod"

USER_LINES=
if [ "$(id -u)" -eq 0 ]; then
    USER_LINES="User nobody
Group nogroup"
fi
sed -e "s|@TOP@|$TOP|g" -e "s|@RUN@|$RUN|g" -e "s|@PORT@|$PORT|g" \
    conf/demo.conf | awk -v u="$USER_LINES" '{ if ($0 == "@USER@") print u; else print }' \
    > "$RUN/httpd.conf"
/usr/sbin/apache2 -f "$RUN/httpd.conf" -k start

URL=http://127.0.0.1:$PORT/memwatch
for _ in $(seq 100); do
    curl -fs -o /dev/null "$URL?auto" && break
    sleep 0.1
done
curl -fs -o /dev/null "$URL?auto" || { echo "demo httpd did not answer; see $RUN/error_log" >&2; exit 1; }

# Bounded traffic: about ten minutes, then it stops by itself.
(
    for i in $(seq 600); do
        for _ in $(seq 20); do curl -s -o /dev/null "http://127.0.0.1:$PORT/mw/hello"; done
        curl -s -o /dev/null "http://127.0.0.1:$PORT/mw/leak?kb=512"
        [ $((i % 30)) -eq 1 ] && curl -s -o /dev/null "http://127.0.0.1:$PORT/mw/cache?mb=16"
        sleep 1
    done
) >/dev/null 2>&1 &
echo $! > "$RUN/traffic.pid"

echo
echo "mod_memwatch demo is running: $URL"
echo "  (JSON: $URL?json  Prometheus: $URL?prometheus)"
echo "  one handler leaks 512 KiB a second; children recycle at 48 MiB of growth"
echo "Stop it with: make demo-stop"
