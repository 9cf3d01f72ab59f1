/* Licensed under the Apache License, Version 2.0. */

/* mw_heap: this process's own heap, fragmented on purpose, seen through
 * mallinfo2 and given back by malloc_trim. */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>

#include "tap.h"
#include "mw_heap.h"
#include "mw_proc.h"

#define KIB 1024ULL
#define MIB (1024ULL * 1024)
#define BLOCKS 8192             /* of 1 KiB: 8 MiB */
#define KEEP_EVERY 64

static apr_uint64_t rss_now(void)
{
    mw_statm_t st;

    if (mw_statm_read_pid(0, (apr_size_t)sysconf(_SC_PAGESIZE), &st)
        != APR_SUCCESS) {
        return 0;
    }
    return st.rss_bytes;
}

int main(void)
{
    static void *blocks[BLOCKS];
    mw_heap_t before, full, holed, trimmed;
    apr_uint64_t rss_holed, rss_trimmed;
    int i;

    apr_initialize();
    if (mw_heap_unavailable()) {
        is_int(mw_heap_read(&before), APR_ENOTIMPL, "no figures: %s",
               mw_heap_unavailable());
        apr_terminate();
        return done();
    }
    is_int(mw_heap_read(&before), APR_SUCCESS, "mallinfo2 read");

    /* 8 MiB of 1 KiB blocks, touched; then all but one in 64 freed, the
     * last block kept, so the heap cannot shrink at its top. */
    for (i = 0; i < BLOCKS; i++) {
        blocks[i] = malloc(KIB);
        memset(blocks[i], 0x5a, KIB);
    }
    mw_heap_read(&full);
    if (full.in_use < before.in_use + 7 * MIB) {
        /* AddressSanitizer or valgrind: malloc is not glibc's here. */
        skip("malloc is not glibc's (a sanitizer or valgrind)");
        for (i = 0; i < BLOCKS; i++) {
            free(blocks[i]);
        }
        apr_terminate();
        return done();
    }
    ok(1, "in use rose by the 8 MiB allocated (%llu KiB)",
       (unsigned long long)((full.in_use - before.in_use) / KIB));
    for (i = 0; i < BLOCKS; i++) {
        if ((BLOCKS - 1 - i) % KEEP_EVERY) {
            free(blocks[i]);
            blocks[i] = NULL;
        }
    }
    mw_heap_read(&holed);
    rss_holed = rss_now();
    ok(holed.in_use < before.in_use + MIB,
       "freed: in use back within 1 MiB of the start (+%llu KiB)",
       (unsigned long long)((holed.in_use - before.in_use) / KIB));
    ok(holed.free_bytes >= 7 * MIB, "and 7 MiB or more free but kept "
       "(%llu KiB)", (unsigned long long)(holed.free_bytes / KIB));

    is_int(mw_heap_trim(), APR_SUCCESS, "trimmed");
    ok(mw_heap_trim_unavailable() == NULL, "a trim is available");
    rss_trimmed = rss_now();
    ok(rss_trimmed + 6 * MIB <= rss_holed, "the trim gave back 6 MiB or "
       "more of RSS (%llu KiB to %llu KiB)",
       (unsigned long long)(rss_holed / KIB),
       (unsigned long long)(rss_trimmed / KIB));
    mw_heap_read(&trimmed);
    is_u64(trimmed.in_use, holed.in_use, "in use unchanged by the trim");
    for (i = 0; i < BLOCKS; i++) {
        free(blocks[i]);
    }
    apr_terminate();
    return done();
}
