/* Licensed under the Apache License, Version 2.0. */

/* The cgroup and PSI parsers: memory.pressure, flat-keyed files
 * (memory.events, memory.oom_control) and single numbers (memory.max,
 * memory.limit_in_bytes). Whatever the text, they return a status, and
 * what they accept is in range; the budget of what they read is never
 * more than the lowest of it. An input with a NUL also goes, split
 * there, to mw_cgroup_find as /proc/self/cgroup and /proc/self/mountinfo
 * of a scratch root. */

#include <ftw.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "mw_cgroup.h"
#include "mw_names.h"

static char scratch[] = "/tmp/fuzz-cgroup-XXXXXX";

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    return remove(path);
}

static void remove_scratch(void)
{
    nftw(scratch, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *name, const char *data, size_t size)
{
    char path[256];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", scratch, name);
    if (!(fp = fopen(path, "w")) || fwrite(data, 1, size, fp) != size
        || fclose(fp) != 0) {
        abort();
    }
}

/* The input as the two files mw_cgroup_find reads. */
static void find(const uint8_t *data, size_t size)
{
    static const char *const dirs[] = {
        "proc", "proc/self", "sys", "sys/fs", "sys/fs/cgroup"
    };
    static int made;
    size_t i;
    const uint8_t *nul = memchr(data, '\0', size);
    size_t first = nul ? (size_t)(nul - data) : size;
    mw_cgroup_t cg;
    mw_cgroup_figures_t f;
    char path[256];
    apr_status_t rv;

    if (!made) {
        if (!mkdtemp(scratch)) {
            abort();
        }
        atexit(remove_scratch);
        for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
            snprintf(path, sizeof(path), "%s/%s", scratch, dirs[i]);
            mkdir(path, 0700);
        }
        /* the root group of a cgroup2 mount at /sys/fs/cgroup */
        put("sys/fs/cgroup/cgroup.controllers", "memory\n", 7);
        made = 1;
    }
    put("proc/self/cgroup", (const char *)data, first);
    put("proc/self/mountinfo", nul ? (const char *)nul + 1 : "",
        nul ? size - first - 1 : 0);
    rv = mw_cgroup_find(scratch, 0, &cg);
    if (rv == APR_SUCCESS) {
        if (cg.version == MW_CGROUP_NONE || cg.path[0] != '/'
            || cg.dir[0] != '/' || strstr(cg.dir, "/../")
            || memchr(cg.dir, '\0', sizeof(cg.dir)) == NULL) {
            abort();
        }
        mw_cgroup_read(scratch, &cg, &f);
    }
    else if (cg.version != MW_CGROUP_NONE) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    apr_uint32_t some, full;
    apr_uint64_t v, lowest = MW_UNKNOWN, budget;
    mw_cgroup_figures_t f;
    mw_cgroup_t cg = { MW_CGROUP_V2, "/", "/" };
    const char *basis = NULL;

    if (mw_psi_parse(s, &some, &full) == APR_SUCCESS) {
        if ((some > 10000 && some != MW_PSI_UNKNOWN)
            || (full > 10000 && full != MW_PSI_UNKNOWN)
            || (some == MW_PSI_UNKNOWN && full == MW_PSI_UNKNOWN)) {
            abort();
        }
    }
    else if (some != MW_PSI_UNKNOWN || full != MW_PSI_UNKNOWN) {
        abort();
    }

    memset(&f, 0xff, sizeof(f));
    if (mw_cgroup_number(s, &v) == APR_SUCCESS) {
        /* a limit is below 2^62, or none */
        if (v >= (APR_UINT64_C(1) << 62) && v != MW_UNKNOWN) {
            abort();
        }
        f.limit_bytes = v;
    }
    if (mw_cgroup_keyed(s, "oom_kill", &v) == APR_SUCCESS
        && !strstr(s, "oom_kill")) {
        abort();
    }
    mw_cgroup_keyed(s, "high", &f.high_bytes);
    if (mw_cgroup_keyed(s, "total", &v) != APR_SUCCESS) {
        v = MW_UNKNOWN;
    }
    lowest = f.limit_bytes < lowest ? f.limit_bytes : lowest;
    lowest = f.high_bytes < lowest ? f.high_bytes : lowest;
    lowest = v < lowest ? v : lowest;
    budget = mw_cgroup_budget(&cg, &f, v, size % 128, &basis);
    if (!basis || (lowest == MW_UNKNOWN ? budget != 0 : budget > lowest)) {
        abort();
    }

    /* only inputs with a NUL: the file system is slower than parsing */
    if (memchr(data, '\0', size)) {
        find(data, size);
    }
    free(s);
    return 0;
}
