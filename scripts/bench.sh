#!/bin/bash
# make bench: the module's CPU per request with and without it (event and
# prefork), instructions per request (callgrind), the cost of one status
# page scrape at 256 children, recycling of a leak side by side with
# Apache2::SizeLimit and a fixed MaxConnectionsPerChild, and the rate of
# recycling against MaxConnectionsPerChild at equal child lifetime on
# prefork, worker and event; loopback only.
# Results in bench-output/bench.txt. Knobs, all optional:
#   BENCH_MPM="event prefork"   the MPMs measured
#   BENCH_SECONDS=2             one path's comparison in a CPU round (a
#                               MaxConnectionsPerChild run lasts 3 times that)
#   BENCH_MIN_ROUNDS=10 BENCH_ROUNDS=80  rounds of the CPU comparison
#   BENCH_TURN_MS=50            a server's turn in the CPU comparison
#   BENCH_AA=1                  the CPU comparison with neither server
#                               loading the module (the bench against itself)
#   BENCH_LEAK_SECONDS=12 BENCH_LEAK_ROUNDS=2   recycling runs
#   BENCH_SKIP="callgrind maxconn"      sections left out (cpu callgrind
#                               status sizelimit maxconn rate)
#   BENCH_SECTIONS=rate         only these sections
#   BENCH_RATE_MPM="prefork worker event" BENCH_RATE_SECONDS=18
#   BENCH_RATE_TURN_MS=3000 BENCH_RATE_CONNS=38   the rate section: MPMs,
#                               load per server, a server's turn, httpd's
#                               MaxConnectionsPerChild
set -euo pipefail
cd "$(dirname "$0")/.."

# As root this runs again as an unprivileged user (scripts/unprivileged.sh),
# which passes on only some variables: carry every BENCH_* as an argument.
for a in "$@"; do
    case $a in BENCH_*=*) export "${a?}" ;; esac
done
bench_vars=()
while IFS='=' read -r name _; do
    bench_vars+=("$name=${!name}")
done < <(env | grep '^BENCH_' || true)

bash scripts/deps.sh
source scripts/unprivileged.sh
rerun_unprivileged bench-output scripts/bench.sh "${bench_vars[@]}"

rm -rf bench-output
mkdir -p bench-output
# Build quietly; show the log only if it fails.
{ make -s all && make -s -C bench status_cost turns rate; } \
    >bench-output/build.log 2>&1 || { cat bench-output/build.log; exit 1; }
bash scripts/build-test-module.sh bench-output/testmod
MEMWATCH_TESTMOD=$PWD/bench-output/testmod/mod_memwatch_test.so \
    perl -It/lib -Ibench/lib scripts/bench.pl 2>&1 \
    | tee bench-output/bench.txt
exit "${PIPESTATUS[0]}"
