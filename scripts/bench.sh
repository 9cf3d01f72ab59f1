#!/bin/bash
# make bench: throughput with and without mod_memwatch, and growth-triggered
# recycling against a fixed MaxConnectionsPerChild, measured side by side
# in one run on this machine (wrk on loopback). Results in
# bench-output/bench.txt. BENCH_MPM=worker picks the MPM (default event);
# BENCH_SECONDS sets the length of one wrk round (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
source scripts/unprivileged.sh
rerun_unprivileged bench-output scripts/bench.sh "$@"

rm -rf bench-output
mkdir -p bench-output
make -s all >/dev/null
bash scripts/build-test-module.sh bench-output/testmod
MEMWATCH_TESTMOD=$PWD/bench-output/testmod/mod_memwatch_test.so \
MEMWATCH_MPM=${BENCH_MPM:-event} \
    perl -Ilib -It/lib scripts/bench.pl | tee bench-output/bench.txt
