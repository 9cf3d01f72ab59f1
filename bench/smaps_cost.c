/* Licensed under the Apache License, Version 2.0. */

/* smaps_cost: what one reading of growth by mapping costs a child of a
 * given size, without a server. The process grows to each size with
 * malloc in 64 KiB pieces, touched (a leak's way: the heap on the main
 * thread, or glibc's arenas from a second thread with -t), then reads
 * /proc/self/smaps against a baseline taken at start, as the module does
 * when a child decides to retire, repeated; one line per size, as
 * tab-separated key=value fields: the resident set, the names summed,
 * the wall-clock time of one reading (median, fastest, slowest ms), and
 * for comparison the median of one smaps_rollup read (what the module
 * reads every MemwatchSmapsInterval).
 *
 *   smaps_cost [-t] [MiB ...]            (16 256 1024) */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>

#include "mw_proc.h"
#include "mw_smaps.h"

#define PIECE (64 * 1024)
#define READINGS 21

typedef struct grow_t {
    size_t bytes;
} grow_t;

static void *grow(void *arg)
{
    grow_t *g = arg;
    size_t done;

    for (done = 0; done < g->bytes; done += PIECE) {
        char *p = malloc(PIECE);

        if (!p) {
            perror("malloc");
            exit(1);
        }
        memset(p, 0x5a, PIECE);
    }
    return NULL;
}

/* Grow by bytes, on this thread or a new one (whose arena it stays). */
static void grow_by(size_t bytes, int threaded)
{
    grow_t g = { bytes };
    pthread_t t;

    if (!threaded) {
        grow(&g);
        return;
    }
    if (pthread_create(&t, NULL, grow, &g) || pthread_join(t, NULL)) {
        perror("pthread");
        exit(1);
    }
}

static double ms_since(const struct timespec *a)
{
    struct timespec b;

    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) * 1e3
           + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    static const long defaults[] = { 16, 256, 1024 };
    apr_pool_t *p;
    mw_mappings_t *base, *now;
    mw_mapping_growth_t top[MW_MAPPING_TOP];
    mw_smaps_t rollup;
    int threaded = 0, i, k, n = 0;
    long sizes[16];

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t")) {
            threaded = 1;
        }
        else if (n < 16) {
            sizes[n++] = atol(argv[i]);
        }
    }
    if (!n) {
        memcpy(sizes, defaults, sizeof(defaults));
        n = 3;
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    base = mw_mappings_make(p);
    now = mw_mappings_make(p);
    if (mw_mappings_read(base, NULL, 0) != APR_SUCCESS) {
        fprintf(stderr, "cannot read /proc/self/smaps\n");
        return 1;
    }
    for (i = 0; i < n; i++) {
        size_t want = (size_t)sizes[i] * 1024 * 1024;
        double ms[READINGS], rollup_ms[READINGS];
        apr_uint32_t g = 0;

        if (mw_smaps_read_pid(0, &rollup) != APR_SUCCESS) {
            fprintf(stderr, "cannot read /proc/self/smaps_rollup\n");
            return 1;
        }
        /* Grow until the process holds the size asked. */
        if (rollup.rss_bytes < want) {
            grow_by(want - rollup.rss_bytes, threaded);
        }
        for (k = 0; k < READINGS; k++) {
            struct timespec t0;

            clock_gettime(CLOCK_MONOTONIC, &t0);
            if (mw_mappings_read(now, base, 0) != APR_SUCCESS) {
                fprintf(stderr, "cannot read /proc/self/smaps\n");
                return 1;
            }
            g = mw_mappings_growth(base, now, top, MW_MAPPING_TOP);
            ms[k] = ms_since(&t0);
            clock_gettime(CLOCK_MONOTONIC, &t0);
            mw_smaps_read_pid(0, &rollup);
            rollup_ms[k] = ms_since(&t0);
        }
        qsort(ms, READINGS, sizeof(ms[0]), by_value);
        qsort(rollup_ms, READINGS, sizeof(rollup_ms[0]), by_value);
        printf("size_mib=%ld\trss_mib=%.0f\tnames=%u\tthreaded=%d"
               "\tmedian_ms=%.2f\tfastest_ms=%.2f\tslowest_ms=%.2f"
               "\trollup_median_ms=%.2f\ttop=%s\n", sizes[i],
               (double)rollup.rss_bytes / 1048576, mw_mappings_count(now),
               threaded, ms[READINGS / 2], ms[0], ms[READINGS - 1],
               rollup_ms[READINGS / 2],
               g ? mw_mapping_class_name(top[0].mclass) : "none");
    }
    apr_terminate();
    return 0;
}
