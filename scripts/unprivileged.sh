# Sourced by scripts that start httpd: as root, run the calling script again
# as an unprivileged user in a copy of the tree (Apache::Test refuses root
# and then exits 0 having run nothing; test servers need a tree they may
# write). Copies DIR (test-output or bench-output) back afterwards.
#
#   source scripts/unprivileged.sh
#   rerun_unprivileged OUTDIR "$0" "$@"     # returns only when not root

rerun_unprivileged() {
    local out=$1 script=$2
    shift 2
    [ "$(id -u)" -eq 0 ] || return 0
    local user=${TEST_USER:-nobody} work rc=0
    work=$(mktemp -d /tmp/memwatch.XXXXXX)
    tar --exclude=.git --exclude=test-output --exclude=bench-output \
        --exclude=demo-run -cf - . | tar -xf - -C "$work"
    chown -R "$user" "$work"
    runuser -u "$user" -- env HOME="$work" PATH="$PATH" \
        MPMS="${MPMS:-}" TEST_FILES="${TEST_FILES:-}" \
        TEST_VERBOSE="${TEST_VERBOSE:-}" CI="${CI:-}" \
        MEMWATCH_KEEP="${MEMWATCH_KEEP:-}" ${APXS:+"APXS=$APXS"} \
        BENCH_MPM="${BENCH_MPM:-}" BENCH_SECONDS="${BENCH_SECONDS:-}" \
        bash "$work/$script" "$@" || rc=$?
    rm -rf "$out"
    if [ -d "$work/$out" ]; then
        cp -r "$work/$out" "$out"
    fi
    rm -rf "$work"
    exit $rc
}
