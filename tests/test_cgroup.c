/* Licensed under the Apache License, Version 2.0. */

/* mw_cgroup: the parsers, the recorded file trees in data/cgroup/ (see
 * its README), a mountinfo longer than the buffer, and the live system. */

#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_general.h>

#include "tap.h"
#include "mw_cgroup.h"
#include "mw_names.h"

#define MIB (1024ULL * 1024)

static char data_dir[512];

/* The recorded tree `name`, found next to the test program. */
static const char *tree(const char *name)
{
    static char path[1024];

    snprintf(path, sizeof(path), "%s/%s", data_dir, name);
    return path;
}

static void test_psi_parse(void)
{
    apr_uint32_t some, full;
    static const char *const bad[] = {
        "", "\n", "some\n", "some avg10=\n", "some avg10=abc total=1\n",
        "some avg10=1.2x avg60=0.00\n", "some avg10=1. avg60=0.00\n",
        "some avg10=100.01 avg60=0.00\n", "full avg10=101 avg60=0.00\n",
        "some avg10=99999999999999999999999.00\n",
        "something avg10=1.00\n", " some avg10=1.00\n",
        "some avg60=1.00\navg10=5.00\n",    /* avg10 on another line */
        "some xavg10=1.00\n",
    };
    apr_size_t i;

    is_int(mw_psi_parse("some avg10=12.34 avg60=5.00 avg300=1.25 "
                        "total=4567890\nfull avg10=3.21 avg60=1.00 "
                        "avg300=0.25 total=1234567\n", &some, &full),
           APR_SUCCESS, "PSI: both lines parse");
    is_int(some, 1234, "some avg10=12.34 is 1234 hundredths");
    is_int(full, 321, "full avg10=3.21 is 321");

    is_int(mw_psi_parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=0",
                        &some, &full), APR_SUCCESS,
           "PSI: a some line alone, no newline");
    is_int(some, 0, "0.00 is 0");
    ok(full == MW_PSI_UNKNOWN, "the missing full line is unknown");

    mw_psi_parse("full avg10=100.00 avg60=0.00\n", &some, &full);
    ok(some == MW_PSI_UNKNOWN && full == 10000,
       "100.00 is 10000; the missing some line is unknown");
    mw_psi_parse("some avg10=1.5\nfull avg10=7 avg60=1.00\n", &some, &full);
    ok(some == 150 && full == 700, "1.5 is 150, 7 is 700");
    mw_psi_parse("some avg10=1.239 avg60=0\n", &some, &full);
    is_int(some, 123, "digits past the hundredths are dropped");
    mw_psi_parse("some avg60=9.00 avg10=2.00 total=1\n", &some, &full);
    is_int(some, 200, "avg10 is found among the other words");
    mw_psi_parse("some avg10=abc\nsome avg10=4.00\n", &some, &full);
    is_int(some, 400, "a malformed line is passed over for a good one");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        some = full = 7;
        ok(mw_psi_parse(bad[i], &some, &full) == APR_EINVAL
           && some == MW_PSI_UNKNOWN && full == MW_PSI_UNKNOWN,
           "PSI: malformed input %u is refused, both unknown", (unsigned)i);
    }
}

static void test_number(void)
{
    static const struct {
        const char *text;
        apr_status_t rv;
        apr_uint64_t value;
    } cases[] = {
        { "201326592\n", APR_SUCCESS, 201326592 },
        { "0", APR_SUCCESS, 0 },
        { " 42 \n", APR_SUCCESS, 42 },
        { "max\n", APR_SUCCESS, MW_UNKNOWN },
        { "9223372036854771712\n", APR_SUCCESS, MW_UNKNOWN },
        { "4611686018427387903\n", APR_SUCCESS, 4611686018427387903ULL },
        { "4611686018427387904\n", APR_SUCCESS, MW_UNKNOWN },
        { "18446744073709551616\n", APR_SUCCESS, MW_UNKNOWN },
        { "99999999999999999999999999999999999999\n", APR_SUCCESS,
          MW_UNKNOWN },
        { "", APR_EINVAL, 0 },
        { "\n", APR_EINVAL, 0 },
        { "-1\n", APR_EINVAL, 0 },
        { "12abc\n", APR_EINVAL, 0 },
        { "1 2\n", APR_EINVAL, 0 },
        { "maximum\n", APR_EINVAL, 0 },
        { "0x10\n", APR_EINVAL, 0 },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        apr_uint64_t v = 12345;
        apr_status_t rv = mw_cgroup_number(cases[i].text, &v);

        if (cases[i].rv == APR_SUCCESS) {
            ok(rv == APR_SUCCESS && v == cases[i].value,
               "number %u: %llu", (unsigned)i,
               (unsigned long long)cases[i].value);
        }
        else {
            ok(rv == cases[i].rv && v == 12345,
               "number %u: refused, value untouched", (unsigned)i);
        }
    }
}

static void test_keyed(void)
{
    static const char events[] =
        "low 0\nhigh 17\nmax 3\noom 5\noom_kill 2\noom_group_kill 0\n";
    apr_uint64_t v = 0;

    is_int(mw_cgroup_keyed(events, "oom_kill", &v), APR_SUCCESS,
           "memory.events has oom_kill");
    is_u64(v, 2, "oom_kill 2, not oom's 5");
    mw_cgroup_keyed(events, "oom", &v);
    is_u64(v, 5, "oom 5, not oom_kill's or oom_group_kill's");
    mw_cgroup_keyed(events, "max", &v);
    is_u64(v, 3, "max 3");
    mw_cgroup_keyed(events, "low", &v);
    is_u64(v, 0, "the first line");
    mw_cgroup_keyed(events, "oom_group_kill", &v);
    is_u64(v, 0, "the last line");

    v = 9;
    is_int(mw_cgroup_keyed(events, "oom_kil", &v), APR_ENOENT,
           "a key's prefix is not the key");
    is_int(mw_cgroup_keyed("xoom_kill 4\n", "oom_kill", &v), APR_ENOENT,
           "a key ends a longer word: no match");
    is_int(mw_cgroup_keyed("oom_kill x\n", "oom_kill", &v), APR_EINVAL,
           "a value that is no number");
    is_int(mw_cgroup_keyed("oom_kill 7 8\n", "oom_kill", &v), APR_EINVAL,
           "two values");
    is_int(mw_cgroup_keyed("oom_kill\n7\n", "oom_kill", &v), APR_ENOENT,
           "a value on the next line is not its value");
    is_int(mw_cgroup_keyed(events, "", &v), APR_EINVAL, "an empty key");
    is_u64(v, 9, "refusals leave the value alone");
    ok(mw_cgroup_keyed("a 1\noom_kill\t7\r", "oom_kill", &v) == APR_EINVAL,
       "a carriage return is not a blank");
    ok(mw_cgroup_keyed("a 1\noom_kill\t7", "oom_kill", &v) == APR_SUCCESS
       && v == 7, "a tab separates; the last line needs no newline");
    ok(mw_cgroup_keyed("oom_kill 99999999999999999999999\n", "oom_kill", &v)
       == APR_SUCCESS && v == MW_UNKNOWN, "a value past 2^64 is unknown");
}

static void test_v2_high(void)
{
    mw_cgroup_t cg;
    mw_cgroup_figures_t f;
    apr_uint64_t total = 0;
    const char *basis = NULL;
    char root[1100];

    is_int(mw_cgroup_find(tree("v2-high"), 0, &cg), APR_SUCCESS,
           "v2-high: found");
    is_int(cg.version, MW_CGROUP_V2, "v2-high: version 2");
    is_str(cg.path, "/system.slice/apache2.service", "v2-high: path");
    is_str(cg.dir, "/sys/fs/cgroup/system.slice/apache2.service",
           "v2-high: dir");

    snprintf(root, sizeof(root), "%s//", tree("v2-high"));
    ok(mw_cgroup_find(root, 0, &cg) == APR_SUCCESS
       && strcmp(cg.dir, "/sys/fs/cgroup/system.slice/apache2.service") == 0,
       "v2-high: a root with trailing slashes finds the same");

    is_int(mw_cgroup_read(tree("v2-high"), &cg, &f), APR_SUCCESS,
           "v2-high: read");
    is_u64(f.limit_bytes, 768 * MIB, "memory.max");
    is_u64(f.high_bytes, 512 * MIB, "memory.high");
    is_u64(f.usage_bytes, 123736064, "memory.current");
    is_u64(f.oom_kills, 2, "memory.events oom_kill");
    is_u64(f.fail_count, 3, "memory.events max");
    is_int(f.pressure_of_group, 1, "the group's own pressure...");
    ok(f.pressure_some_avg10 == 1234 && f.pressure_full_avg10 == 321,
       "...is preferred to the machine's (some 1234, full 321)");

    is_int(mw_meminfo_total(tree("v2-high"), &total), APR_SUCCESS,
           "v2-high: meminfo");
    is_u64(total, 4028536ULL * 1024, "MemTotal in bytes");
    is_u64(mw_cgroup_budget(&cg, &f, total, 75, &basis), 384 * MIB,
           "budget: 75%% of memory.high");
    is_str(basis, "memory.high", "basis memory.high");
}

static void test_v2_nohigh(void)
{
    mw_cgroup_t cg;
    mw_cgroup_figures_t f;
    apr_uint64_t total = 0;
    const char *basis = NULL;

    ok(mw_cgroup_find(tree("v2-nohigh"), 0, &cg) == APR_SUCCESS
       && cg.version == MW_CGROUP_V2, "v2-nohigh: found, version 2");
    is_int(mw_cgroup_read(tree("v2-nohigh"), &cg, &f), APR_SUCCESS,
           "v2-nohigh: read");
    is_u64(f.limit_bytes, 1024 * MIB, "memory.max");
    ok(f.high_bytes == MW_UNKNOWN, "memory.high max is unknown");
    is_u64(f.usage_bytes, 50 * MIB, "memory.current");
    ok(f.oom_kills == 0 && f.fail_count == 0, "no OOM kills, no max hits");
    ok(f.pressure_of_group == 0 && f.pressure_some_avg10 == 50
       && f.pressure_full_avg10 == 10,
       "no memory.pressure: the machine's (some 50, full 10)");
    mw_meminfo_total(tree("v2-nohigh"), &total);
    is_u64(mw_cgroup_budget(&cg, &f, total, 75, &basis), 768 * MIB,
           "budget: 75%% of memory.max");
    is_str(basis, "memory.max", "basis memory.max");
}

static void test_v1(void)
{
    mw_cgroup_t cg;
    mw_cgroup_figures_t f;
    apr_uint64_t total = 0;
    const char *basis = NULL;

    is_int(mw_cgroup_find(tree("v1"), 0, &cg), APR_SUCCESS, "v1: found");
    is_int(cg.version, MW_CGROUP_V1,
           "v1: version 1, though a cgroup2 mount and a 0:: line exist");
    is_str(cg.path, "/process_api/abc", "v1: path");
    is_str(cg.dir, "/sys/fs/cgroup/memory/process_api/abc", "v1: dir");
    is_int(mw_cgroup_read(tree("v1"), &cg, &f), APR_SUCCESS, "v1: read");
    is_u64(f.limit_bytes, 192 * MIB, "memory.limit_in_bytes");
    ok(f.high_bytes == MW_UNKNOWN, "no high mark on v1");
    is_u64(f.usage_bytes, 190 * MIB, "memory.usage_in_bytes");
    is_u64(f.fail_count, 8421, "memory.failcnt");
    is_u64(f.oom_kills, 60, "memory.oom_control oom_kill");
    ok(f.pressure_of_group == 0 && f.pressure_some_avg10 == 150
       && f.pressure_full_avg10 == 75, "the machine's pressure");
    mw_meminfo_total(tree("v1"), &total);
    is_u64(mw_cgroup_budget(&cg, &f, total, 75, &basis), 144 * MIB,
           "budget: 75%% of the limit");
    is_str(basis, "memory.limit_in_bytes", "basis memory.limit_in_bytes");

    /* In a container without a cgroup namespace, the mount shows the
     * group itself: its root is the group's path. */
    is_int(mw_cgroup_find(tree("v1-mount-root"), 0, &cg), APR_SUCCESS,
           "v1-mount-root: found");
    is_str(cg.path, "/docker/0123abcd", "v1-mount-root: path");
    is_str(cg.dir, "/sys/fs/cgroup/memory",
           "v1-mount-root: dir is the mount point");
    is_int(mw_cgroup_read(tree("v1-mount-root"), &cg, &f), APR_SUCCESS,
           "v1-mount-root: read");
    ok(f.limit_bytes == MW_UNKNOWN, "the no-limit figure is unknown");
    ok(f.oom_kills == MW_UNKNOWN,
       "oom_control without oom_kill (before Linux 4.13): unknown");
    ok(f.pressure_some_avg10 == MW_PSI_UNKNOWN, "no pressure file anywhere");
    mw_meminfo_total(tree("v1-mount-root"), &total);
    is_u64(mw_cgroup_budget(&cg, &f, total, 50, &basis),
           24683784ULL * 1024 / 2, "budget: 50%% of MemTotal");
    is_str(basis, "MemTotal", "basis MemTotal");
}

static void test_none(void)
{
    mw_cgroup_t cg;
    mw_cgroup_figures_t f;
    apr_uint64_t total = 0;
    const char *basis = NULL;

    is_int(mw_cgroup_find(tree("none"), 0, &cg), APR_ENOENT,
           "none: cgroup2 without the memory controller is no memory cgroup");
    ok(cg.version == MW_CGROUP_NONE && cg.dir[0] == '\0', "none: NONE");
    is_int(mw_cgroup_read(tree("none"), &cg, &f), APR_SUCCESS,
           "none: read has the machine's pressure");
    ok(f.limit_bytes == MW_UNKNOWN && f.usage_bytes == MW_UNKNOWN
       && f.oom_kills == MW_UNKNOWN && f.pressure_some_avg10 == 0
       && f.pressure_of_group == 0, "none: only the pressure is known");
    mw_meminfo_total(tree("none"), &total);
    is_u64(mw_cgroup_budget(&cg, &f, total, 10, &basis),
           24683784ULL * 1024 / 10, "none: budget of MemTotal");
    is_str(basis, "MemTotal", "none: basis MemTotal");

    is_int(mw_cgroup_find(tree("none-no-lines"), 0, &cg), APR_ENOENT,
           "none-no-lines: no memory line, no 0:: line");
    is_int(cg.version, MW_CGROUP_NONE, "none-no-lines: NONE");
    is_int(mw_cgroup_read(tree("none-no-lines"), &cg, &f), APR_ENOENT,
           "none-no-lines: nothing to read");

    is_int(mw_cgroup_find(tree("no-such-tree"), 0, &cg), APR_ENOENT,
           "no /proc/self/cgroup: APR_ENOENT");
    is_int(mw_cgroup_find(tree("v1"), -1, &cg), APR_EINVAL,
           "a negative pid is refused");
    is_int(mw_cgroup_find(tree("v1"), 4242, &cg), APR_ENOENT,
           "another pid reads proc/PID/, which the tree lacks");
}

static void test_missing(void)
{
    mw_cgroup_t cg, gone;
    mw_cgroup_figures_t f;
    apr_uint64_t total = 77;
    const char *basis = NULL;

    is_int(mw_cgroup_find(tree("missing"), 0, &cg), APR_SUCCESS,
           "missing: found");
    is_int(mw_cgroup_read(tree("missing"), &cg, &f), APR_SUCCESS,
           "missing: read succeeds with what there is");
    is_u64(f.limit_bytes, 256 * MIB, "memory.max read");
    ok(f.high_bytes == MW_UNKNOWN, "a malformed memory.high is unknown");
    ok(f.usage_bytes == MW_UNKNOWN,
       "a memory.current that cannot be read is unknown");
    ok(f.oom_kills == MW_UNKNOWN && f.fail_count == MW_UNKNOWN,
       "no memory.events: OOM kills and max hits unknown");
    ok(f.pressure_some_avg10 == MW_PSI_UNKNOWN
       && f.pressure_full_avg10 == MW_PSI_UNKNOWN && !f.pressure_of_group,
       "no pressure file, the group's or the machine's: unknown");
    is_int(mw_meminfo_total(tree("missing"), &total), APR_ENOENT,
           "no meminfo");
    is_u64(total, 77, "total untouched");
    is_u64(mw_cgroup_budget(&cg, &f, MW_UNKNOWN, 75, &basis), 192 * MIB,
           "budget of memory.max, MemTotal unknown");
    is_str(basis, "memory.max", "basis memory.max");

    gone = cg;
    strcpy(gone.dir, "/sys/fs/cgroup/gone");
    is_int(mw_cgroup_read(tree("missing"), &gone, &f), APR_ENOENT,
           "a group removed since: APR_ENOENT");
    ok(f.limit_bytes == MW_UNKNOWN && f.usage_bytes == MW_UNKNOWN,
       "and its figures unknown");
}

static void test_dotdot(void)
{
    mw_cgroup_t cg;

    is_int(mw_cgroup_find(tree("dotdot"), 0, &cg), APR_EINVAL,
           "a group path with .. is refused");
    ok(cg.version == MW_CGROUP_NONE && cg.dir[0] == '\0',
       "and nothing is found");
    is_int(mw_cgroup_find(tree("dotdot-mount"), 0, &cg), APR_EINVAL,
           "a mount point with .. is refused");
    is_int(mw_cgroup_find(tree("dot"), 0, &cg), APR_EINVAL,
           "a group path with . is refused");
}

static void test_budget(void)
{
    mw_cgroup_t v1 = { MW_CGROUP_V1, "/a", "/sys/fs/cgroup/memory/a" };
    mw_cgroup_t v2 = { MW_CGROUP_V2, "/a", "/sys/fs/cgroup/a" };
    mw_cgroup_figures_t f;
    const char *basis = NULL;
    apr_uint64_t total = 4096 * MIB;

    memset(&f, 0xff, sizeof(f));
    f.limit_bytes = 1024 * MIB;
    f.high_bytes = 2048 * MIB;
    is_u64(mw_cgroup_budget(&v2, &f, total, 50, &basis), 512 * MIB,
           "memory.high above memory.max: of memory.max");
    is_str(basis, "memory.max", "basis memory.max");
    is_u64(mw_cgroup_budget(&v1, &f, total, 50, &basis), 512 * MIB,
           "v1 has no high mark, whatever the figures say");
    is_str(basis, "memory.limit_in_bytes", "basis memory.limit_in_bytes");

    f.limit_bytes = 8192 * MIB;
    f.high_bytes = MW_UNKNOWN;
    is_u64(mw_cgroup_budget(&v2, &f, total, 50, &basis), 2048 * MIB,
           "a limit above MemTotal: of MemTotal");
    is_str(basis, "MemTotal", "basis MemTotal");

    f.limit_bytes = 4611686018427387903ULL;
    is_u64(mw_cgroup_budget(&v2, &f, MW_UNKNOWN, 100, &basis),
           4611686018427387903ULL, "100%% of the largest limit, exactly");
    is_u64(mw_cgroup_budget(&v2, &f, MW_UNKNOWN, 1000, &basis),
           4611686018427387903ULL, "a percentage above 100 is 100");
    is_u64(mw_cgroup_budget(&v2, &f, MW_UNKNOWN, 33, &basis),
           4611686018427387903ULL / 100 * 33 + 3ULL * 33 / 100,
           "33%% of it without overflow");

    is_u64(mw_cgroup_budget(&v2, NULL, total, 25, &basis), 1024 * MIB,
           "no figures: of MemTotal");
    is_str(basis, "MemTotal", "basis MemTotal");
    is_u64(mw_cgroup_budget(NULL, NULL, MW_UNKNOWN, 25, &basis), 0,
           "nothing known: 0");
    is_u64(mw_cgroup_budget(&v2, &f, 999, 1, &basis), 9,
           "1%% of 999 bytes rounds down");
    f.limit_bytes = 0;
    f.high_bytes = 5;
    ok(mw_cgroup_budget(&v2, &f, MW_UNKNOWN, 50, &basis) == 0
       && strcmp(basis, "memory.max") == 0,
       "a limit of 0 is known, and the lowest");
}

/* A file of a scratch tree, its directories made. */
static int put(const char *root, const char *rel, const char *text,
               apr_size_t len)
{
    char path[1024], *slash;
    FILE *fp;
    int wrote;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (slash = strchr(path + strlen(root) + 1, '/'); slash;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    if (!(fp = fopen(path, "w"))) {
        return 0;
    }
    wrote = fwrite(text, 1, len, fp) == len;
    return fclose(fp) == 0 && wrote;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    return remove(path);
}

/* A mountinfo of overlay lines with the cgroup2 line starting at byte
 * `at`, the whole longer than mw_cgroup.c's buffer. */
static const char cgroup2_line[] =
    "26 22 0:24 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n";

static int put_mountinfo(const char *root, apr_size_t at)
{
    static const char filler[] =
        "100 28 0:50 / /var/lib/docker/overlay2/0123456789abcdef/merged "
        "rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u\n";
    static char text[96 * 1024];
    apr_size_t len = 0, line = sizeof(cgroup2_line) - 1;

    while (len + sizeof(filler) - 1 + 2 <= at) {
        memcpy(text + len, filler, sizeof(filler) - 1);
        len += sizeof(filler) - 1;
    }
    /* a line of padding up to `at` */
    memset(text + len, 'x', at - len - 1);
    text[at - 1] = '\n';
    memcpy(text + at, cgroup2_line, line);
    for (len = at + line; len + sizeof(filler) < sizeof(text) / 2; ) {
        memcpy(text + len, filler, sizeof(filler) - 1);
        len += sizeof(filler) - 1;
    }
    return put(root, "proc/self/mountinfo", text, len);
}

/* mountinfo longer than the buffer (32 KiB, less its NUL): what fits is
 * read, the rest is not, and the line cut at the end is dropped. Cut
 * after "cgroup2 cgroup2", it would look whole to the parser. */
static void test_long_mountinfo(void)
{
    const apr_size_t fits = 32 * 1024 - 1, line = sizeof(cgroup2_line) - 1;
    char root[] = "/tmp/mw-cgroup-XXXXXX";
    mw_cgroup_t cg;

    if (!mkdtemp(root)) {
        bail_out("mkdtemp failed");
    }
    ok(put(root, "proc/self/cgroup", "0::/web\n", 8)
       && put(root, "sys/fs/cgroup/web/cgroup.controllers", "memory\n", 7)
       && put_mountinfo(root, fits - line),
       "scratch tree made in %s", root);
    ok(mw_cgroup_find(root, 0, &cg) == APR_SUCCESS
       && strcmp(cg.dir, "/sys/fs/cgroup/web") == 0,
       "a cgroup2 line ending at the buffer's last byte is found");

    put_mountinfo(root, fits - line + strlen(" rw"));
    is_int(mw_cgroup_find(root, 0, &cg), APR_ENOENT,
           "cut before its \" rw\\n\", it is dropped, not read as a mount");

    put_mountinfo(root, 40 * 1024);
    is_int(mw_cgroup_find(root, 0, &cg), APR_ENOENT,
           "a cgroup2 line past the buffer is not found");

    nftw(root, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* This machine: the live /proc and /sys. */
static void test_live(void)
{
    char buf[8192];
    mw_cgroup_t cg;
    mw_cgroup_figures_t f;
    apr_uint64_t total = 0, budget;
    struct stat st;
    const char *basis = NULL;
    apr_status_t rv;
    int fd, v1_memory = 0;
    ssize_t n;

    if ((fd = open("/proc/self/cgroup", O_RDONLY)) >= 0) {
        n = read(fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = '\0';
        close(fd);
        v1_memory = strstr(buf, "memory:") != NULL;
    }

    is_int(mw_meminfo_total("/", &total), APR_SUCCESS, "live: MemTotal");
    is_u64(total, (apr_uint64_t)sysconf(_SC_PHYS_PAGES)
                  * (apr_uint64_t)sysconf(_SC_PAGESIZE),
           "live: MemTotal is the physical pages (%llu MiB)",
           (unsigned long long)(total / MIB));

    rv = mw_cgroup_find("/", 0, &cg);
    if (rv == APR_ENOENT && !v1_memory) {
        skip("live: no memory cgroup on this machine");
        return;
    }
    is_int(rv, APR_SUCCESS, "live: found %s, version %d", cg.dir,
           cg.version);
    ok(stat(cg.dir, &st) == 0 && S_ISDIR(st.st_mode),
       "live: its directory exists");
    if (v1_memory) {
        is_int(cg.version, MW_CGROUP_V1, "live: a v1 memory line is v1");
    }
    else {
        ok(cg.version == MW_CGROUP_V2, "live: else v2");
    }
    rv = mw_cgroup_read("/", &cg, &f);
    diag("live: path %s limit %llu high %llu usage %llu oom_kills %llu "
         "fail_count %llu some %u full %u (%s)", cg.path,
         (unsigned long long)f.limit_bytes, (unsigned long long)f.high_bytes,
         (unsigned long long)f.usage_bytes, (unsigned long long)f.oom_kills,
         (unsigned long long)f.fail_count, f.pressure_some_avg10,
         f.pressure_full_avg10, f.pressure_of_group ? "group" : "machine");
    budget = mw_cgroup_budget(&cg, &f, total, 75, &basis);
    diag("live: 75%% budget %llu bytes of %s", (unsigned long long)budget,
         basis);
    is_int(rv, APR_SUCCESS, "live: read");
    if (strcmp(cg.path, "/") != 0) {
        ok(f.usage_bytes != MW_UNKNOWN && f.usage_bytes > 0,
           "live: a group's usage is known");
    }
}

int main(int argc, char **argv)
{
    char self[512];

    snprintf(self, sizeof(self), "%s", argv[0]);
    snprintf(data_dir, sizeof(data_dir), "%s/data/cgroup", dirname(self));
    apr_initialize();
    test_psi_parse();
    test_number();
    test_keyed();
    test_v2_high();
    test_v2_nohigh();
    test_v1();
    test_none();
    test_missing();
    test_dotdot();
    test_budget();
    test_long_mountinfo();
    test_live();
    apr_terminate();
    return done();
}
