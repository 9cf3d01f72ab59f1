/* Licensed under the Apache License, Version 2.0. */

/* mw_smaps: the full smaps by class and name, on the recordings in
 * data/smaps/ (see its README), on text made to be odd or hostile, and
 * on this process's own. The figures the recordings must give were
 * summed apart, by a script of a few lines reading the same rules. */

#include <libgen.h>
#include <stdio.h>
#include <sys/mman.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "tap.h"
#include "mw_smaps.h"

#define KIB 1024ULL
#define MIB (1024ULL * 1024)

static char data_dir[512];
static apr_pool_t *pool;

/* The whole of a recording, NUL-terminated, in the pool. */
static const char *recording(const char *name, apr_size_t *len)
{
    const char *path = apr_pstrcat(pool, data_dir, "/", name, NULL);
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET)) {
        bail_out(apr_pstrcat(pool, "cannot read ", path, NULL));
    }
    buf = apr_palloc(pool, (apr_size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        bail_out(apr_pstrcat(pool, "short read of ", path, NULL));
    }
    fclose(f);
    buf[n] = '\0';
    *len = (apr_size_t)n;
    return buf;
}

/* text into m (with seed), fed in pieces of `piece` bytes. */
static apr_status_t parse(mw_mappings_t *m, const mw_mappings_t *seed,
                          const char *text, apr_size_t len, apr_size_t piece)
{
    apr_size_t off;

    mw_mappings_begin(m, seed);
    for (off = 0; off < len; off += piece) {
        mw_mappings_feed(m, text + off, len - off < piece ? len - off
                                                          : piece);
    }
    return mw_mappings_end(m);
}

static apr_status_t parse_str(mw_mappings_t *m, const char *text)
{
    return parse(m, NULL, text, strlen(text), strlen(text) + 1);
}

static apr_uint64_t class_rss(const mw_mappings_t *m, mw_mapping_class_e c)
{
    apr_uint64_t rss, priv;

    mw_mappings_class_sum(m, c, &rss, &priv);
    return rss;
}

static apr_uint64_t class_private(const mw_mappings_t *m,
                                  mw_mapping_class_e c)
{
    apr_uint64_t rss, priv;

    mw_mappings_class_sum(m, c, &rss, &priv);
    return priv;
}

typedef struct class_sums_t {
    apr_uint64_t rss[MW_MAPPING_CLASS_COUNT];
    apr_uint64_t private_bytes[MW_MAPPING_CLASS_COUNT];
} class_sums_t;

static void check_classes(const char *name, const mw_mappings_t *m,
                          const class_sums_t *want)
{
    int c;

    for (c = 0; c < MW_MAPPING_CLASS_COUNT; c++) {
        is_u64(class_rss(m, (mw_mapping_class_e)c), want->rss[c],
               "%s: %s resident", name, mw_mapping_class_name(c));
        is_u64(class_private(m, (mw_mapping_class_e)c),
               want->private_bytes[c], "%s: %s private", name,
               mw_mapping_class_name(c));
    }
}

/* Classes in the order of mw_mapping_class_e: heap, anonymous, file,
 * shared, stack. */
static const class_sums_t event_base = {
    { 45056, 851968, 4001792, 258048, 303104 },
    { 40960, 389120, 77824, 0, 262144 }
};
static const class_sums_t event_leaked = {
    { 368640, 8912896, 4001792, 258048, 397312 },
    { 368640, 8450048, 77824, 0, 356352 }
};
static const class_sums_t prefork_base = {
    { 45056, 688128, 3649536, 212992, 57344 },
    { 36864, 180224, 69632, 0, 20480 }
};
static const class_sums_t prefork_leaked = {
    { 8429568, 688128, 3649536, 212992, 57344 },
    { 8425472, 184320, 69632, 0, 20480 }
};
static const class_sums_t threads = {
    { 1642496, 6623232, 1515520, 0, 45056 },
    { 1642496, 6619136, 61440, 0, 45056 }
};

static void test_recordings(void)
{
    mw_mappings_t *m = mw_mappings_make(pool), *m2 = mw_mappings_make(pool);
    const char *text;
    apr_size_t len;
    apr_uint64_t rss, priv;
    int same = 1;
    apr_size_t piece;

    text = recording("httpd-event-base", &len);
    is_int(parse(m, NULL, text, len, len), APR_SUCCESS, "event base parses");
    check_classes("event base", m, &event_base);
    is_int(mw_mappings_count(m), 28, "28 names (a sum per library, one "
           "for [anon], one for the 28 thread stacks)");
    ok(mw_mappings_find(m, MW_MAPPING_STACK, "[thread stacks]", &rss, &priv)
       && rss == 245760 && priv == 245760,
       "the thread stacks: the stack class but the main thread's 56 KiB");
    ok(mw_mappings_find(m, MW_MAPPING_SHARED, "/dev/zero (deleted)", &rss,
                        &priv) && rss == 258048 && priv == 0,
       "the scoreboard and memwatch's table: shared, none of it private");
    ok(!mw_mappings_find(m, MW_MAPPING_ANONYMOUS, "[thread stacks]", &rss,
                         &priv), "a name belongs to one class");

    /* The same text in pieces of every size from 1 to 97 bytes. */
    for (piece = 1; piece < 98 && same; piece++) {
        apr_uint64_t r2, p2;
        int c;

        parse(m2, NULL, text, len, piece);
        for (c = 0; c < MW_MAPPING_CLASS_COUNT; c++) {
            mw_mappings_class_sum(m2, (mw_mapping_class_e)c, &r2, &p2);
            same &= r2 == event_base.rss[c]
                    && p2 == event_base.private_bytes[c];
        }
        same &= mw_mappings_count(m2) == 28;
    }
    ok(same, "fed in pieces of 1 to 97 bytes, the sums are the same "
       "(last tried: %lu)", (unsigned long)piece - 1);

    text = recording("httpd-event-leaked", &len);
    is_int(parse(m, NULL, text, len, 4096), APR_SUCCESS,
           "event leaked parses");
    check_classes("event leaked", m, &event_leaked);

    text = recording("httpd-prefork-base", &len);
    is_int(parse(m, NULL, text, len, 4096), APR_SUCCESS,
           "prefork base parses");
    check_classes("prefork base", m, &prefork_base);
    ok(!mw_mappings_find(m, MW_MAPPING_STACK, "[thread stacks]", &rss,
                         &priv), "a prefork child has no thread stacks");

    text = recording("httpd-prefork-leaked", &len);
    is_int(parse(m, NULL, text, len, 4096), APR_SUCCESS,
           "prefork leaked parses");
    check_classes("prefork leaked", m, &prefork_leaked);

    text = recording("threads", &len);
    is_int(parse(m, NULL, text, len, 4096), APR_SUCCESS, "threads parses");
    check_classes("threads", m, &threads);
    ok(mw_mappings_find(m, MW_MAPPING_ANONYMOUS, "[vdso]", &rss, &priv)
       && rss == 4096, "[vdso] is anonymous, under its own name");
    ok(mw_mappings_find(m, MW_MAPPING_STACK, "[stack]", &rss, &priv)
       && rss == 12288, "the main thread's [stack]");
}

/* The growth from a recording's base to its leak, seeded as the module
 * reads it. */
static void test_recorded_growth(void)
{
    mw_mappings_t *base = mw_mappings_make(pool);
    mw_mappings_t *now = mw_mappings_make(pool);
    mw_mapping_growth_t g[MW_MAPPING_TOP];
    const char *text;
    apr_size_t len;
    apr_uint32_t n;

    text = recording("httpd-prefork-base", &len);
    parse(base, NULL, text, len, len);
    text = recording("httpd-prefork-leaked", &len);
    parse(now, base, text, len, len);
    n = mw_mappings_growth(base, now, g, MW_MAPPING_TOP);
    is_int(n, 2, "prefork: two names grew");
    is_int(g[0].mclass, MW_MAPPING_HEAP, "prefork: the heap most");
    is_str(g[0].name, "[heap]", "named [heap]");
    is_int(g[0].rss, 8384512, "prefork: resident growth of the heap");
    is_int(g[0].private_bytes, 8388608, "prefork: 8 MiB private, the leak");
    ok(g[1].mclass == MW_MAPPING_ANONYMOUS && g[1].rss == 0
       && g[1].private_bytes == 4096,
       "then [anon], by a page of private memory only");

    text = recording("httpd-event-base", &len);
    parse(base, NULL, text, len, len);
    text = recording("httpd-event-leaked", &len);
    parse(now, base, text, len, len);
    n = mw_mappings_growth(base, now, g, MW_MAPPING_TOP);
    is_int(n, 3, "event: three names grew");
    ok(g[0].mclass == MW_MAPPING_ANONYMOUS && !strcmp(g[0].name, "[anon]")
       && g[0].rss == 8060928 && g[0].private_bytes == 8060928,
       "event: the thread arenas most, [anon] +7.7 MiB");
    ok(g[1].mclass == MW_MAPPING_HEAP && g[1].private_bytes == 327680,
       "then the heap (a second [heap] mapping summed with the first)");
    ok(g[2].mclass == MW_MAPPING_STACK && g[2].rss == 94208,
       "then the thread stacks");
    n = mw_mappings_growth(base, now, g, 1);
    ok(n == 1 && g[0].mclass == MW_MAPPING_ANONYMOUS,
       "with room for one, the one that grew most");
    is_int(mw_mappings_growth(base, now, g, 0), 0, "with room for none, none");
    is_int(mw_mappings_growth(now, base, g, MW_MAPPING_TOP), 0,
           "backwards nothing grew");
}

#define ANON(start, end, perms) start "-" end " " perms " 00000000 00:00 0 \n"
#define NAMED(start, end, perms, name) \
    start "-" end " " perms " 00000000 08:01 1234       " name "\n"
#define FIELDS(rss, pclean, pdirty, swap) \
    "Size:               1024 kB\n"                                   \
    "Rss:                " rss " kB\n"                                \
    "Pss:                " rss " kB\n"                                \
    "Shared_Clean:          0 kB\n"                                   \
    "Shared_Dirty:          0 kB\n"                                   \
    "Private_Clean:      " pclean " kB\n"                             \
    "Private_Dirty:      " pdirty " kB\n"                             \
    "Swap:               " swap " kB\n"                               \
    "VmFlags: rd wr mr mw me ac\n"

static void test_classes(void)
{
    mw_mappings_t *m = mw_mappings_make(pool);
    apr_uint64_t rss, priv;
    static const char text[] =
        NAMED("1000", "2000", "rw-p", "[heap]") FIELDS("1", "0", "1", "0")
        /* a guard page, then a thread's stack */
        ANON("7f0000001000", "7f0000002000", "---p") FIELDS("0", "0", "0", "0")
        ANON("7f0000002000", "7f0000802000", "rw-p") FIELDS("2", "0", "2", "0")
        /* glibc's arena: 32 MiB aligned, after another arena's tail */
        ANON("7f0002000000", "7f0004000000", "---p") FIELDS("0", "0", "0", "0")
        ANON("7f0004000000", "7f0004100000", "rw-p") FIELDS("4", "0", "4", "0")
        /* after a large region without access: not a guard */
        ANON("7f0010000000", "7f0010200000", "---p") FIELDS("0", "0", "0", "0")
        ANON("7f0010200000", "7f0010300000", "rw-p") FIELDS("8", "0", "8", "0")
        /* not adjacent to the guard before it */
        ANON("7f0020000000", "7f0020001000", "---p") FIELDS("0", "0", "0", "0")
        ANON("7f0020002000", "7f0020003000", "rw-p")
        FIELDS("16", "0", "16", "0")
        NAMED("7f0030000000", "7f0030001000", "rw-s", "/dev/zero (deleted)")
        FIELDS("32", "0", "0", "0")
        NAMED("7f0030001000", "7f0030002000", "rw-s",
              "/SYSV00000000 (deleted)")
        FIELDS("64", "0", "0", "0")
        NAMED("7f0030002000", "7f0030003000", "rw-p", "/memfd:jit (deleted)")
        FIELDS("128", "0", "128", "0")
        NAMED("7f0030003000", "7f0030004000", "rw-s", "/var/cache/x.db")
        FIELDS("256", "0", "0", "0")
        NAMED("7f0030004000", "7f0030005000", "r-xp", "/usr/lib/libx.so")
        FIELDS("512", "500", "12", "0")
        NAMED("7f0030005000", "7f0030006000", "rw-p", "[anon:my cache]")
        FIELDS("1024", "0", "1024", "0")
        NAMED("7f0030006000", "7f0030007000", "rw-p", "[stack:4242]")
        FIELDS("2048", "0", "2048", "0")
        NAMED("7ffd00000000", "7ffd00021000", "rw-p", "[stack]")
        FIELDS("4096", "0", "4096", "0")
        NAMED("7ffd00030000", "7ffd00032000", "r-xp", "[vdso]")
        FIELDS("8192", "0", "0", "0");

    is_int(parse_str(m, text), APR_SUCCESS, "synthetic text parses");
    ok(mw_mappings_find(m, MW_MAPPING_HEAP, "[heap]", &rss, &priv)
       && rss == KIB && priv == KIB, "[heap] is heap");
    ok(mw_mappings_find(m, MW_MAPPING_STACK, "[thread stacks]", &rss, &priv)
       && rss == (2 + 2048) * KIB,
       "a mapping right above a guard page is a thread's stack, and so is "
       "[stack:TID] (kernels before 4.5)");
    ok(mw_mappings_find(m, MW_MAPPING_ANONYMOUS, "[anon]", &rss, &priv)
       && rss == (4 + 8 + 16) * KIB,
       "not on a 32 MiB boundary, after a large region, nor apart: [anon]");
    ok(mw_mappings_find(m, MW_MAPPING_SHARED, "/dev/zero (deleted)", &rss,
                        &priv) && rss == 32 * KIB, "/dev/zero is shared");
    ok(mw_mappings_find(m, MW_MAPPING_SHARED, "/SYSV00000000 (deleted)",
                        &rss, &priv), "System V is shared");
    ok(mw_mappings_find(m, MW_MAPPING_SHARED, "/memfd:jit (deleted)", &rss,
                        &priv) && priv == 128 * KIB,
       "memfd is shared, even mapped privately");
    ok(mw_mappings_find(m, MW_MAPPING_SHARED, "/var/cache/x.db", &rss, &priv),
       "a file mapped shared is shared");
    ok(mw_mappings_find(m, MW_MAPPING_FILE, "/usr/lib/libx.so", &rss, &priv)
       && rss == 512 * KIB && priv == 512 * KIB,
       "a library is file, its private pages clean and dirty");
    ok(mw_mappings_find(m, MW_MAPPING_ANONYMOUS, "[anon:my cache]", &rss,
                        &priv) && rss == 1024 * KIB,
       "a named anonymous mapping keeps its name");
    ok(mw_mappings_find(m, MW_MAPPING_STACK, "[stack]", &rss, &priv)
       && rss == 4096 * KIB, "[stack] is stack");
    ok(mw_mappings_find(m, MW_MAPPING_ANONYMOUS, "[vdso]", &rss, &priv)
       && rss == 8192 * KIB && priv == 0, "[vdso] is anonymous");
    is_int(mw_mappings_count(m), 11, "11 names");
}

static void test_swap(void)
{
    mw_mappings_t *m = mw_mappings_make(pool);
    apr_uint64_t rss, priv;

    is_int(parse_str(m, ANON("1000", "2000", "rw-p")
                     FIELDS("10", "1", "2", "40")), APR_SUCCESS,
           "swap without SwapPss");
    mw_mappings_find(m, MW_MAPPING_ANONYMOUS, "[anon]", &rss, &priv);
    ok(rss == 10 * KIB && priv == (1 + 2 + 40) * KIB,
       "private is clean + dirty + Swap");
    is_int(parse_str(m, ANON("1000", "2000", "rw-p")
                     FIELDS("10", "1", "2", "40") "SwapPss:   8 kB\n"),
           APR_SUCCESS, "swap with SwapPss");
    mw_mappings_find(m, MW_MAPPING_ANONYMOUS, "[anon]", &rss, &priv);
    is_u64(priv, (1 + 2 + 8) * KIB,
           "SwapPss where there is one: the process's share, as mw_proc");
}

static void test_odd_text(void)
{
    mw_mappings_t *m = mw_mappings_make(pool);
    mw_mappings_t *empty = mw_mappings_make(pool);
    mw_mapping_growth_t g[1];
    apr_uint64_t rss, priv;
    char *long_name, *text;
    static const char nul_text[] = "1000-2000 rw-p 00000000 00:00 0 \n"
                                   "Rss:   4 kB\n"
                                   "Private_Dirty: 4\0 kB\n"
                                   "Private_Clean: 4 kB\n";

    is_int(parse_str(m, ""), APR_EINVAL, "empty text: no mapping");
    is_int(parse_str(m, "garbage\n\n\n:::\n"), APR_EINVAL, "garbage");
    is_int(parse_str(m, "Rss: 4 kB\nPrivate_Dirty: 4 kB\n"), APR_EINVAL,
           "fields before any header count for nothing");
    is_int(parse_str(m, ANON("1000", "2000", "rw-p") "Size: 4 kB\n"),
           APR_EINVAL, "a mapping without Rss is not a reading");
    is_int(parse_str(m, ANON("1000", "2000", "rw-p") "Rss: 4 kB"),
           APR_SUCCESS, "the last line needs no newline");
    is_int(parse_str(m, ANON("1000", "2000", "rw-p")
                     "Rss:\nRss: x kB\nRss: -4 kB\nPrivate_Dirty:\n"),
           APR_EINVAL, "fields without a number are not read");
    is_int(parse_str(m, "2000-1000 rw-p 00000000 00:00 0 \nRss: 4 kB\n"),
           APR_EINVAL, "an end before its start: the mapping is skipped");
    is_int(parse_str(m, "10000000000000000-10000000000000001 rw-p 0 0:0 0\n"
                     "Rss: 4 kB\n"), APR_EINVAL,
           "17 hexadecimal digits: skipped");
    is_int(parse_str(m, "1000-2000 rw-p\nRss: 4 kB\n"), APR_EINVAL,
           "a header cut after its permissions: skipped");
    is_int(parse_str(m, "1000-2000 rw\nRss: 4 kB\n"), APR_EINVAL,
           "a header cut in its permissions: skipped");
    is_int(parse_str(m, "1000-2000 rw-p 0 0:0 0\r\nRss: 4 kB\r\n"),
           APR_SUCCESS, "CRLF lines read");
    ok(mw_mappings_find(m, MW_MAPPING_ANONYMOUS, "[anon]", &rss, &priv)
       && rss == 4 * KIB, "(the CR taken as the inode's)");

    /* A NUL inside the text ends its line there. */
    is_int(parse(m, NULL, nul_text, sizeof(nul_text) - 1, 7), APR_SUCCESS,
           "a NUL in the text");
    mw_mappings_find(m, MW_MAPPING_ANONYMOUS, "[anon]", &rss, &priv);
    ok(rss == 4 * KIB && priv == 8 * KIB, "the line ends at the NUL");

    /* Huge numbers saturate, and so do their sums. */
    is_int(parse_str(m, ANON("1000", "2000", "rw-p")
                     "Rss: 99999999999999999999999999999999 kB\n"
                     "Private_Dirty: 18014398509481984 kB\n"
                     ANON("3000", "4000", "rw-p")
                     "Rss: 18446744073709551615 kB\n"
                     "Private_Clean: 4611686018427387904 kB\n"),
           APR_SUCCESS, "huge numbers parse");
    mw_mappings_find(m, MW_MAPPING_ANONYMOUS, "[anon]", &rss, &priv);
    ok(rss == MW_MAPPING_MAX && priv == MW_MAPPING_MAX,
       "and saturate at MW_MAPPING_MAX (2^62), sums too");

    /* A name of 10,000 bytes, then fields: the name is cut, the fields
     * read. */
    long_name = apr_palloc(pool, 10001);
    memset(long_name, 'x', 10000);
    long_name[0] = '/';
    long_name[10000] = '\0';
    text = apr_psprintf(pool, "1000-2000 r--p 00000000 08:01 1 %s\n"
                        "Rss: 4 kB\nPrivate_Clean: 4 kB\n"
                        "%s: 123 kB\nRss: 8 kB\n"
                        "2000-3000 r--p 00000000 08:01 1 %s\nRss: 16 kB\n"
                        "3000-4000 r--p 00000000 08:01 1 %.*sy\n"
                        "Rss: 32 kB\n", long_name, long_name + 1,
                        long_name, MW_MAPPING_NAME_LEN, long_name);
    is_int(parse_str(m, text), APR_SUCCESS, "a 10,000-byte name");
    mw_mappings_class_sum(m, MW_MAPPING_FILE, &rss, &priv);
    ok(rss == (8 + 16 + 32) * KIB && priv == 4 * KIB,
       "its fields read, a 10,000-byte field line skipped");
    ok(mw_mappings_count(m) == 1, "one name for its three mappings, the "
       "last differing only past the cut");
    mw_mappings_begin(empty, NULL);
    mw_mappings_end(empty);
    is_int(mw_mappings_growth(empty, m, g, 1), 1, "it grew from nothing");
    is_int(strlen(g[0].name), MW_MAPPING_NAME_LEN - 1,
           "its name cut to %d bytes", MW_MAPPING_NAME_LEN - 1);
    ok(g[0].name[0] == '/' && g[0].name[1] == 'x', "from its start");
}

/* More names than a sum keeps: the rest in "[other]" of their class. */
static void test_many_names(void)
{
    mw_mappings_t *base = mw_mappings_make(pool);
    mw_mappings_t *now = mw_mappings_make(pool);
    mw_mapping_growth_t g[MW_MAPPING_TOP];
    apr_uint64_t rss, priv;
    char *text = "";
    int i;

    for (i = 0; i < 300; i++) {
        text = apr_psprintf(pool, "%s%x000-%x000 r--p 0 08:01 1 /lib/l%d.so\n"
                            "Rss: 4 kB\n", text, i + 1, i + 2, i);
    }
    text = apr_pstrcat(pool, text, ANON("fff000", "fff100", "rw-p"),
                       "Rss: 4 kB\n", NULL);
    is_int(parse_str(base, text), APR_SUCCESS, "301 mappings");
    is_int(mw_mappings_count(base), MW_MAPPING_NAMES + 2,
           "%d names, the rest of the files and [anon] in [other]s",
           MW_MAPPING_NAMES);
    ok(mw_mappings_find(base, MW_MAPPING_FILE, MW_MAPPING_OTHER, &rss, &priv)
       && rss == (300 - MW_MAPPING_NAMES) * 4 * KIB,
       "files past the limit summed in file [other]");
    ok(mw_mappings_find(base, MW_MAPPING_ANONYMOUS, MW_MAPPING_OTHER, &rss,
                        &priv) && rss == 4 * KIB,
       "and [anon], the first of its class past the limit, in its own");
    is_u64(class_rss(base, MW_MAPPING_FILE), 300 * 4 * KIB,
           "the class sums are whole");

    /* Seeded with the baseline, a reading keeps its names apart. */
    text = apr_pstrcat(pool, "1-2 r--p 0 08:01 1 /lib/new.so\nRss: 400 kB\n",
                       text, NULL);
    is_int(parse(now, base, text, strlen(text), 100), APR_SUCCESS,
           "a reading with a new name first");
    ok(mw_mappings_find(now, MW_MAPPING_FILE, "/lib/l0.so", &rss, &priv)
       && rss == 4 * KIB, "the baseline's names kept their place");
    is_int(mw_mappings_growth(base, now, g, MW_MAPPING_TOP), 1,
           "only the new one grew");
    ok(g[0].mclass == MW_MAPPING_FILE && !strcmp(g[0].name, MW_MAPPING_OTHER)
       && g[0].rss == 400 * KIB, "in file [other]");

    /* Unseeded, the new name would have pushed l255 into [other]. */
    is_int(parse(now, NULL, text, strlen(text), 100), APR_SUCCESS,
           "the same unseeded");
    ok(mw_mappings_find(now, MW_MAPPING_FILE, "/lib/new.so", &rss, &priv)
       && !mw_mappings_find(now, MW_MAPPING_FILE, "/lib/l255.so", &rss,
                            &priv), "(unseeded, the names differ)");
}

/* This process's own smaps: 16 MiB mapped privately and 4 MiB shared,
 * touched after the baseline, are the growth. */
static void test_self(void)
{
    mw_mappings_t *base = mw_mappings_make(pool);
    mw_mappings_t *now = mw_mappings_make(pool);
    mw_mapping_growth_t g[MW_MAPPING_TOP];
    char *anon, *shared;
    apr_uint32_t n;

    is_int(mw_mappings_read(base, NULL, 0), APR_SUCCESS,
           "/proc/self/smaps read");
    ok(class_rss(base, MW_MAPPING_FILE) > 0, "this program's code is file");
    anon = mmap(NULL, 16 * MIB, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    shared = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (anon == MAP_FAILED || shared == MAP_FAILED) {
        bail_out("mmap failed");
    }
    memset(anon, 1, 16 * MIB);
    memset(shared, 1, 4 * MIB);
    is_int(mw_mappings_read(now, base, 0), APR_SUCCESS, "read again");
    n = mw_mappings_growth(base, now, g, MW_MAPPING_TOP);
    ok(n >= 2 && g[0].mclass == MW_MAPPING_ANONYMOUS
       && g[0].rss >= (apr_int64_t)(16 * MIB)
       && g[0].private_bytes >= (apr_int64_t)(16 * MIB),
       "16 MiB anonymous grew most (%s +%lld)",
       n ? mw_mapping_class_name(g[0].mclass) : "none",
       n ? (long long)g[0].rss : 0LL);
    /* Its pages count as private while no other process maps them. */
    ok(n >= 2 && g[1].mclass == MW_MAPPING_SHARED
       && g[1].rss == (apr_int64_t)(4 * MIB),
       "then the 4 MiB shared, as %s", n >= 2 ? g[1].name : "none");
    munmap(anon, 16 * MIB);
    munmap(shared, 4 * MIB);
    ok(mw_mappings_read(now, base, -1) != APR_SUCCESS,
       "a pid that cannot exist: an error, not a reading");
}

int main(int argc, char **argv)
{
    char self[512];

    snprintf(self, sizeof(self), "%s", argc ? argv[0] : ".");
    snprintf(data_dir, sizeof(data_dir), "%s/data/smaps", dirname(self));
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_recordings();
    test_recorded_growth();
    test_classes();
    test_swap();
    test_odd_text();
    test_many_names();
    test_self();
    apr_pool_destroy(pool);
    apr_terminate();
    return done();
}
