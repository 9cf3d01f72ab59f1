#!/bin/bash
# The whole test suite: C unit tests, then the Apache::Test suite once per
# MPM (prefork, worker, event). Fails loudly if any test fails or none ran.
#
# Apache::Test refuses to run as root and then exits 0 having run nothing,
# so as root the suite runs as an unprivileged user in a copy of the tree.
#
#   MPMS="event" make test        only some MPMs
#   TEST_FILES="t/basic.t" make test   only some Apache::Test files (no C tests;
#                                      t/forge.t and t/cgroup.t run as root)
#   TEST_VERBOSE=1 make test           show every assertion
#   TEST_DEB=1 TEST_FILES=... make test   the Debian package test too
#   MEMWATCH_KEEP=1 make test          keep the private servers' roots
#                                      (t/servers/, in test-output/servers)
set -euo pipefail

cd "$(dirname "$0")/.."
TOP=$PWD
MPMS=${MPMS:-"prefork worker event"}
OUT=$TOP/test-output

bash scripts/deps.sh

# As root, first the Debian package test (it installs and purges a
# package), then the rest as an unprivileged user; either failing fails.
# Skipped for a run of some test files only, unless TEST_DEB=1.
source scripts/unprivileged.sh
if [ "$(id -u)" -eq 0 ]; then
    deb_rc=0
    if [ -z "${TEST_FILES:-}" ] || [ -n "${TEST_DEB:-}" ]; then
        echo "== Debian package: build, install, enable, serve, purge"
        bash scripts/deb-test.sh || deb_rc=1
    fi
    rc=0
    # t/forge.t and t/cgroup.t run below, as root only: a run of some files
    # hands the unprivileged suite the others, or skips it if none is left.
    others=
    for f in ${TEST_FILES:-}; do
        case $f in t/forge.t|t/cgroup.t) ;; *) others+=" $f" ;; esac
    done
    if [ -z "${TEST_FILES:-}" ] || [ -n "$others" ]; then
        (TEST_FILES=$others rerun_unprivileged test-output scripts/test.sh "$@") \
            || rc=$?
    fi
    # As root: a slot a child forged must not make the root parent signal
    # or read anything but its own children (Apache::Test refuses root, so
    # t/forge.t runs with prove, on event: the record is the same on
    # every MPM).
    if [ -z "${TEST_FILES:-}" ] || [[ " $TEST_FILES " == *" t/forge.t "* ]]; then
        echo "== As root: slots forged by a child (t/forge.t, event MPM)"
        make -s all >/dev/null 2>&1
        bash scripts/build-test-module.sh build/root-testmod >/dev/null 2>&1
        MEMWATCH_MPM=event MEMWATCH_OUT=$PWD/test-output \
            MEMWATCH_TESTMOD=$PWD/build/root-testmod/mod_memwatch_test.so \
            prove ${TEST_VERBOSE:+-v} t/forge.t || rc=1
    fi
    # As root: a private httpd in a memory cgroup of its own, with and
    # without a budget, on a threaded MPM and on prefork (t/cgroup.t).
    if [ -z "${TEST_FILES:-}" ] || [[ " $TEST_FILES " == *" t/cgroup.t "* ]]; then
        make -s all >/dev/null 2>&1
        bash scripts/build-test-module.sh build/root-testmod >/dev/null 2>&1
        for mpm in worker prefork; do
            [[ " $MPMS " == *" $mpm "* ]] || continue
            echo "== As root: a memory cgroup's limit (t/cgroup.t, $mpm MPM)"
            MEMWATCH_MPM=$mpm MEMWATCH_OUT=$PWD/test-output \
                MEMWATCH_TESTMOD=$PWD/build/root-testmod/mod_memwatch_test.so \
                prove ${TEST_VERBOSE:+-v} t/cgroup.t || rc=1
        done
    fi
    if [ $deb_rc -ne 0 ]; then
        echo "FAILED: the Debian package test (scripts/deb-test.sh)" >&2
        exit 1
    fi
    exit $rc
fi

source scripts/httpd.sh
HTTPD=$(httpd_binary)
APXS_PATH=$(command -v "${APXS:-apxs}")

rm -rf "$OUT" t/servers
mkdir -p "$OUT"
make -s clean >/dev/null 2>&1 || true
make -s all >/dev/null
if [ -z "${TEST_FILES:-}" ]; then
    echo "== The glue's layers (scripts/layers.pl)"
    perl scripts/layers.pl
    echo "== C unit tests"
    make -s unit
    echo "== Fuzz smoke pass (committed corpus, a few seconds a harness)"
    make -s fuzz-smoke
fi

declare -A ran
failed=0
for mpm in $MPMS; do
    echo "== Apache::Test suite, $mpm MPM"
    perl t/TEST.PL -clean >/dev/null 2>&1 || true
    log=$OUT/apache-test-$mpm.log
    set +e
    MEMWATCH_MPM=$mpm MEMWATCH_OUT=$OUT perl t/TEST.PL -apxs "$APXS_PATH" \
        -httpd "$HTTPD" -httpd_conf "$TOP/t/mpm/$mpm.conf" -port select \
        ${TEST_VERBOSE:+-verbose} ${TEST_FILES:-} 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    cp t/logs/error_log "$OUT/error_log-$mpm" 2>/dev/null || true
    if [ $rc -ne 0 ] || ! grep -q '^Result: PASS' "$log"; then
        echo "FAILED: Apache::Test suite on $mpm (exit $rc)" >&2
        failed=1
    fi
    # A run that executed no test is a failure, not a pass.
    tests=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$log")
    if [ -z "$tests" ] || [ "$tests" -eq 0 ]; then
        echo "FAILED: no test ran on $mpm" >&2
        failed=1
    fi
    ran[$mpm]=${tests:-0}
done
# The module built with UBSan: what a child writes into the shared table
# (times, sizes) must never make the module's arithmetic undefined. Every
# report is written to $OUT/ubsan.PID; any such file fails the suite.
# (t/times.t forges the times the parent's stuck-exit arithmetic reads;
# t/stuck_exit.t itself waits out real timeouts, a minute for no more.)
ubsan_files=(t/times.t t/recycle.t t/hostile.t t/private.t)
if [ -z "${TEST_FILES:-}" ] && [[ " $MPMS " == *" event "* ]]; then
    echo "== UBSan build of the module, event MPM: ${ubsan_files[*]}"
    make -s clean >/dev/null 2>&1 || true
    make -s all CFLAGS_X="-fsanitize=undefined -fno-omit-frame-pointer" \
        LIBS_X=-lubsan >/dev/null 2>&1
    perl t/TEST.PL -clean >/dev/null 2>&1 || true
    log=$OUT/apache-test-ubsan.log
    rm -f "$OUT"/ubsan.*
    set +e
    UBSAN_OPTIONS="print_stacktrace=1:log_path=$OUT/ubsan" \
        MEMWATCH_MPM=event MEMWATCH_OUT=$OUT perl t/TEST.PL \
        -apxs "$APXS_PATH" -httpd "$HTTPD" -httpd_conf "$TOP/t/mpm/event.conf" \
        -port select ${TEST_VERBOSE:+-verbose} "${ubsan_files[@]}" 2>&1 \
        | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    if [ $rc -ne 0 ] || ! grep -q '^Result: PASS' "$log"; then
        echo "FAILED: Apache::Test suite under UBSan (exit $rc)" >&2
        failed=1
    fi
    if compgen -G "$OUT/ubsan.*" >/dev/null; then
        echo "FAILED: UBSan reports:" >&2
        cat "$OUT"/ubsan.* >&2
        failed=1
    fi
    make -s clean >/dev/null 2>&1 || true
    make -s all >/dev/null 2>&1
fi
perl t/TEST.PL -clean >/dev/null 2>&1 || true
# MemwatchServer left the roots of its servers (MEMWATCH_KEEP): copy them
# where they outlive the unprivileged run's copy of the tree.
if [ -n "${MEMWATCH_KEEP:-}" ] && [ -d t/servers ]; then
    cp -r t/servers "$OUT/servers"
fi

for mpm in $MPMS; do
    echo "$mpm: ${ran[$mpm]} Apache::Test tests"
done
if [ $failed -ne 0 ]; then
    echo "TEST SUITE FAILED" >&2
    exit 1
fi
echo "All test suites passed."
