/* Licensed under the Apache License, Version 2.0. */

/* mw_proc: statm and smaps_rollup parsers, and the real /proc/self. */

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <apr_general.h>

#include "tap.h"
#include "mw_proc.h"

#define KIB 1024ULL
#define MIB (1024ULL * 1024)

static const char smaps_sample[] =
    "55d4c4a4b000-7ffc5c7f4000 ---p 00000000 00:00 0"
    "                          [rollup]\n"
    "Rss:               12345 kB\n"
    "Pss:                6789 kB\n"
    "Pss_Dirty:          6100 kB\n"
    "Pss_Anon:           4000 kB\n"
    "Pss_File:           2700 kB\n"
    "Pss_Shmem:            89 kB\n"
    "Shared_Clean:       5000 kB\n"
    "Shared_Dirty:        300 kB\n"
    "Private_Clean:      1045 kB\n"
    "Private_Dirty:      6000 kB\n"
    "Referenced:        12000 kB\n"
    "Anonymous:          6100 kB\n"
    "LazyFree:              0 kB\n"
    "AnonHugePages:         0 kB\n"
    "ShmemPmdMapped:        0 kB\n"
    "FilePmdMapped:         0 kB\n"
    "Shared_Hugetlb:      777 kB\n"
    "Private_Hugetlb:     888 kB\n"
    "Swap:                  0 kB\n"
    "SwapPss:               0 kB\n"
    "Locked:                0 kB\n";

/* For test names: newlines shown as \n so a TAP line stays one line. */
static const char *printable(const char *s)
{
    static char buf[128];
    apr_size_t i = 0;

    for (; *s && i + 3 < sizeof(buf); s++) {
        if (*s == '\n') {
            buf[i++] = '\\';
            buf[i++] = 'n';
        }
        else {
            buf[i++] = *s;
        }
    }
    buf[i] = '\0';
    return buf;
}

static void test_statm_parse(void)
{
    mw_statm_t st;
    static const char *const bad[] = {
        "", "   \n", "abc", "100", "100 50", "100 50 x",
        "100 200 10 0 0 0 0",       /* resident > size */
        "100 50 60 0 0 0 0",        /* shared > resident */
        "100 -5 3 0 0 0 0",
    };
    apr_size_t i;

    st.rss_bytes = st.shared_bytes = 1;
    is_int(mw_statm_parse("12345 2345 678 100 0 3000 0\n", 4096, &st),
           APR_SUCCESS, "statm sample parses");
    is_u64(st.rss_bytes, 2345ULL * 4096, "rss = resident pages * 4096");
    is_u64(st.shared_bytes, 678ULL * 4096, "shared = shared pages * 4096");

    is_int(mw_statm_parse("9 9 9", 65536, &st), APR_SUCCESS,
           "statm without newline, 64 KiB pages");
    is_u64(st.rss_bytes, 9ULL * 65536, "page size is honoured");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st.rss_bytes = 4242;
        is_int(mw_statm_parse(bad[i], 4096, &st), APR_EINVAL,
               "statm \"%s\" is rejected", printable(bad[i]));
        is_u64(st.rss_bytes, 4242, "and leaves the output alone");
    }
}

/* The per-request fast path agrees with the full parser, and rejects
 * what it rejects. */
static void test_statm_rss(void)
{
    static const char *const bad[] = { "", "abc", "12", "5 9 1", "-1 2 3" };
    apr_size_t i;

    is_u64(mw_statm_rss("12345 2345 678 100 0 3000 0\n", 4096),
           2345ULL * 4096, "mw_statm_rss: resident pages * page size");
    is_u64(mw_statm_rss("9 9", 65536), 9ULL * 65536,
           "mw_statm_rss needs only size and resident");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        is_u64(mw_statm_rss(bad[i], 4096), 0,
               "mw_statm_rss(\"%s\") is 0", printable(bad[i]));
    }
}

/* A child partly swapped out (recorded on a machine with swap): what it
 * costs includes its share of swap. */
static const char smaps_swapped[] =
    "55d4c4a4b000-7ffc5c7f4000 ---p 00000000 00:00 0 [rollup]\n"
    "Rss:                8000 kB\n"
    "Pss:                5000 kB\n"
    "Shared_Clean:       3000 kB\n"
    "Shared_Dirty:          0 kB\n"
    "Private_Clean:      1000 kB\n"
    "Private_Dirty:      4000 kB\n"
    "Swap:              20480 kB\n"
    "SwapPss:           20000 kB\n"
    "Locked:                0 kB\n";

static void test_smaps_swap(void)
{
    mw_smaps_t sm;
    char old[sizeof(smaps_swapped)], *cut;

    is_int(mw_smaps_parse(smaps_swapped, &sm), APR_SUCCESS,
           "a swapped child's smaps_rollup parses");
    is_u64(sm.swap_bytes, 20000 * KIB, "swap: its share, SwapPss");
    is_u64(sm.private_bytes, (1000 + 4000 + 20000) * KIB,
           "private counts what it has in swap");
    /* A kernel without SwapPss (before 4.15): Swap. */
    memcpy(old, smaps_swapped, sizeof(old));
    cut = strstr(old, "SwapPss:");
    memcpy(cut, "Locked:                0 kB\n", strlen("Locked:  "
           "              0 kB\n") + 1);
    is_int(mw_smaps_parse(old, &sm), APR_SUCCESS, "without SwapPss");
    is_u64(sm.swap_bytes, 20480 * KIB, "swap: Swap where there is no SwapPss");
}

static void test_smaps_parse(void)
{
    mw_smaps_t sm;
    char trunc[sizeof(smaps_sample)];
    const char *cut;

    is_int(mw_smaps_parse(smaps_sample, &sm), APR_SUCCESS,
           "smaps_rollup sample parses");
    is_u64(sm.rss_bytes, 12345 * KIB, "Rss in bytes");
    is_u64(sm.pss_bytes, 6789 * KIB, "Pss in bytes, not Pss_Dirty/Anon");
    is_u64(sm.private_bytes, (1045 + 6000) * KIB,
           "private = Private_Clean + Private_Dirty (not Private_Hugetlb)");
    is_u64(sm.shared_bytes, (5000 + 300) * KIB,
           "shared = Shared_Clean + Shared_Dirty (not Shared_Hugetlb)");
    is_u64(sm.private_bytes + sm.shared_bytes, sm.rss_bytes,
           "private + shared = Rss");
    is_u64(sm.swap_bytes, 0, "no swap");
    test_smaps_swap();

    /* Truncated after Shared_Dirty: the Private_ lines are missing. */
    cut = strstr(smaps_sample, "Private_Clean");
    memcpy(trunc, smaps_sample, (size_t)(cut - smaps_sample));
    trunc[cut - smaps_sample] = '\0';
    sm.rss_bytes = 4242;
    is_int(mw_smaps_parse(trunc, &sm), APR_EINVAL,
           "truncated smaps_rollup is rejected");
    is_u64(sm.rss_bytes, 4242, "and leaves the output alone");

    /* Truncated in the middle of the Private_Dirty line. */
    cut = strstr(smaps_sample, "Private_Dirty:") + strlen("Private_Dirty:");
    memcpy(trunc, smaps_sample, (size_t)(cut - smaps_sample));
    trunc[cut - smaps_sample] = '\0';
    is_int(mw_smaps_parse(trunc, &sm), APR_EINVAL,
           "smaps_rollup cut after \"Private_Dirty:\" is rejected");

    is_int(mw_smaps_parse("", &sm), APR_EINVAL, "empty text is rejected");
    is_int(mw_smaps_parse("Rss: 4 kB\nShared_Clean: 1 kB\nShared_Dirty: 1 kB\n"
                          "Private_Clean: 1 kB\nPrivate_Dirty: 1 kB",
                          &sm), APR_SUCCESS,
           "Pss is optional, last line without newline");
    is_u64(sm.pss_bytes, 0, "missing Pss is 0");
    is_u64(sm.private_bytes, 2 * KIB, "private of the minimal text");
    is_int(mw_smaps_parse("Shared_Clean: 1 kB\nShared_Dirty: 1 kB\n"
                          "Private_Clean: 1 kB\nPrivate_Dirty: 1 kB\n",
                          &sm), APR_EINVAL, "Rss is required");
    /* The kernel's figures, but bounded all the same (mw_proc_kb_field,
     * shared with mw_smaps.c). */
    is_int(mw_smaps_parse("Rss: 99999999999999999999999 kB\n"
                          "Shared_Clean: 1 kB\nShared_Dirty: 1 kB\n"
                          "Private_Clean: 1 kB\nPrivate_Dirty: 1 kB\n",
                          &sm), APR_SUCCESS, "a huge Rss parses");
    is_u64(sm.rss_bytes, MW_PROC_KB_MAX, "saturated at MW_PROC_KB_MAX");
    is_int(mw_smaps_parse("Rss: -4 kB\n"
                          "Shared_Clean: 1 kB\nShared_Dirty: 1 kB\n"
                          "Private_Clean: 1 kB\nPrivate_Dirty: 1 kB\n",
                          &sm), APR_EINVAL, "a signed Rss is no figure");
}

/* VmRSS from /proc/self/status, in bytes, or 0. */
static apr_uint64_t status_vmrss(void)
{
    char buf[8192], *p;
    int fd = open("/proc/self/status", O_RDONLY);
    apr_status_t rv;

    if (fd < 0) {
        return 0;
    }
    rv = mw_proc_pread(fd, buf, sizeof(buf));
    close(fd);
    if (rv != APR_SUCCESS || !(p = strstr(buf, "\nVmRSS:"))) {
        return 0;
    }
    return strtoull(p + 7, NULL, 10) * KIB;
}

static apr_uint64_t absdiff(apr_uint64_t a, apr_uint64_t b)
{
    return a > b ? a - b : b - a;
}

static void test_stat_parse(void)
{
    mw_stat_t st = { 0, 0 };
    char line[512];
    int i;

    ok(mw_stat_parse("42 (httpd) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 "
                     "0 1 0 12345 1000 100", &st) == APR_SUCCESS
       && st.ppid == 7 && st.start == 12345, "ppid (4) and start (22)");
    ok(mw_stat_parse("42 (a) b (c) S 9 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 "
                     "77 1 1", &st) == APR_SUCCESS && st.ppid == 9
       && st.start == 77, "a comm with spaces and parentheses: fields "
       "follow the last ')'");
    ok(mw_stat_parse("42 (httpd) S 7 42 42", &st) == APR_EINVAL,
       "cut short: EINVAL");
    ok(mw_stat_parse("42 httpd S 7", &st) == APR_EINVAL, "no ')': EINVAL");
    ok(mw_stat_parse("42 (x) S -7 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1",
                     &st) == APR_EINVAL, "a negative ppid: EINVAL");
    ok(mw_stat_parse("42 (x) S 99999999999999999999 1 1 0 -1 0 0 0 0 0 0 0 "
                     "0 0 20 0 1 0 5 1 1", &st) == APR_EINVAL,
       "a ppid out of range: EINVAL");
    for (i = 0; i < 100; i++) {
        line[i] = ')';
    }
    line[i] = '\0';
    ok(mw_stat_parse(line, &st) == APR_EINVAL, "only parentheses: EINVAL");
    ok(mw_stat_read_pid(0, &st) == APR_SUCCESS
       && st.ppid == (long)getppid(), "this process's own stat: its ppid");
}

static void test_real_proc(void)
{
    apr_size_t page = (apr_size_t)sysconf(_SC_PAGESIZE);
    const apr_uint64_t tolerance = 512 * KIB;
    mw_statm_t st, st2;
    mw_smaps_t sm, sm2;
    apr_uint64_t vmrss;
    char small[8], buf[256];
    char *mem;
    int fd;
    apr_status_t rv;

    is_int(mw_statm_read_pid(0, page, &st), APR_SUCCESS,
           "read /proc/self/statm");
    vmrss = status_vmrss();
    ok(vmrss > 0, "VmRSS from /proc/self/status: %llu",
       (unsigned long long)vmrss);
    ok(absdiff(st.rss_bytes, vmrss) <= tolerance,
       "statm rss %llu agrees with VmRSS %llu within 512 KiB",
       (unsigned long long)st.rss_bytes, (unsigned long long)vmrss);
    ok(st.rss_bytes >= 64 * KIB, "statm rss is plausible");
    ok(st.shared_bytes <= st.rss_bytes, "statm shared <= rss");

    rv = mw_smaps_read_pid(0, &sm);
    is_int(rv, APR_SUCCESS, "read /proc/self/smaps_rollup");
    ok(absdiff(sm.rss_bytes, vmrss) <= tolerance,
       "smaps Rss %llu agrees with VmRSS %llu within 512 KiB",
       (unsigned long long)sm.rss_bytes, (unsigned long long)vmrss);
    ok(absdiff(sm.private_bytes + sm.shared_bytes, sm.rss_bytes) <= 4 * KIB,
       "smaps private + shared = Rss");
    ok(sm.private_bytes > 0, "some private memory: %llu",
       (unsigned long long)sm.private_bytes);

    is_int(mw_statm_read_pid((long)getpid(), page, &st2), APR_SUCCESS,
           "read /proc/<own pid>/statm");
    ok(absdiff(st2.rss_bytes, st.rss_bytes) <= tolerance,
       "same figures as /proc/self");
    rv = mw_statm_read_pid(999999999L, page, &st2);
    ok(rv != APR_SUCCESS, "a pid that does not exist is an error (%d)", rv);
    rv = mw_smaps_read_pid(999999999L, &sm2);
    ok(rv != APR_SUCCESS, "and for smaps_rollup too (%d)", rv);

    /* pread helper: whole file, a small buffer, a bad descriptor. */
    fd = open("/proc/self/statm", O_RDONLY);
    ok(fd >= 0, "open /proc/self/statm");
    is_int(mw_proc_pread(fd, buf, sizeof(buf)), APR_SUCCESS,
           "pread statm");
    ok(strchr(buf, '\n') != NULL, "whole line read: \"%.*s\"",
       (int)strcspn(buf, "\n"), buf);
    is_int(mw_proc_pread(fd, buf, sizeof(buf)), APR_SUCCESS,
           "pread again from offset 0 on the same descriptor");
    is_int(mw_statm_parse(buf, page, &st2), APR_SUCCESS,
           "and it parses");
    memset(small, 'x', sizeof(small));
    is_int(mw_proc_pread(fd, small, sizeof(small)), APR_SUCCESS,
           "pread into 8 bytes");
    is_int(strlen(small), 7, "truncated to 7 and NUL-terminated");
    close(fd);
    is_int(mw_proc_pread(fd, buf, sizeof(buf)), EBADF,
           "pread on a closed descriptor is EBADF");

    /* Touch 16 MiB: RSS and private grow by about that much. */
    mw_statm_read_pid(0, page, &st);
    mw_smaps_read_pid(0, &sm);
    mem = malloc(16 * MIB);
    ok(mem != NULL, "malloc 16 MiB");
    if (mem) {
        memset(mem, 0x5a, 16 * MIB);
    }
    is_int(mw_statm_read_pid(0, page, &st2), APR_SUCCESS, "statm after");
    is_int(mw_smaps_read_pid(0, &sm2), APR_SUCCESS, "smaps after");
    ok(st2.rss_bytes >= st.rss_bytes + 15 * MIB,
       "statm rss grew by >= 15 MiB (%llu -> %llu)",
       (unsigned long long)st.rss_bytes, (unsigned long long)st2.rss_bytes);
    ok(sm2.private_bytes >= sm.private_bytes + 15 * MIB,
       "smaps private grew by >= 15 MiB (%llu -> %llu)",
       (unsigned long long)sm.private_bytes,
       (unsigned long long)sm2.private_bytes);
    ok(mem && mem[16 * MIB - 1] == 0x5a, "memory really written");
    free(mem);
}

int main(void)
{
    apr_initialize();
    test_statm_parse();
    test_statm_rss();
    test_smaps_parse();
    test_stat_parse();
    test_real_proc();
    apr_terminate();
    return done();
}
