/* Licensed under the Apache License, Version 2.0. */

/* mw_smaps: a process's memory by mapping, from the full /proc/PID/smaps
 * (mw_proc.c reads smaps_rollup, its total). Each mapping's resident and
 * private memory is summed by class (mw_mapping_class_e) and name, and
 * two such sums give what grew between them.
 *
 * The parser takes the text in pieces of any size and keeps a bounded
 * amount of it: a line is cut at MW_SMAPS_LINE_LEN bytes, a name at
 * MW_MAPPING_NAME_LEN - 1, and past MW_MAPPING_NAMES names the mappings
 * of a new name are summed as MW_MAPPING_OTHER of their class. Figures
 * saturate at MW_MAPPING_MAX, so growth always fits an apr_int64_t.
 * Whatever the text, it returns a status and reads nothing outside what
 * it was given.
 *
 * How a mapping is classed:
 *   heap       [heap]
 *   stack      [stack], and a thread's stack: an anonymous private
 *              mapping right above a small anonymous one without access
 *              (glibc's guard page), not on a 32 MiB boundary (where
 *              glibc's thread arenas begin, whose unused part lies above
 *              them)
 *   shared     a shared mapping ('s' in its permissions), and System V
 *              (/SYSV...), /dev/zero, /dev/shm/, memfd and shmem by name
 *   file       any other path: code, data, private file mappings
 *   anonymous  the rest: no name (glibc's thread arenas, large mallocs;
 *              summed as "[anon]"), and the kernel's own ([vdso]) or
 *              named ([anon:NAME]) ones under their names
 *
 * A full read walks the page tables of every mapping, milliseconds on a
 * large process (docs/design.md): never on every request. */

#ifndef MW_SMAPS_H
#define MW_SMAPS_H

#include <apr_pools.h>

#include "mw_names.h"
#include "mw_proc.h"

#define MW_SMAPS_LINE_LEN   256     /* of a line, the bytes kept */
#define MW_MAPPING_NAME_LEN 64      /* a name and its NUL */
#define MW_MAPPING_NAMES    256     /* names one sum keeps apart */
#define MW_MAPPING_TOP      4       /* growers a recycle event carries */
#define MW_MAPPING_OTHER    "[other]"
#define MW_MAPPING_MAX      MW_PROC_KB_MAX

/* What grew in one class and name between two sums. */
typedef struct mw_mapping_growth_t {
    apr_uint32_t mclass;            /* mw_mapping_class_e */
    char name[MW_MAPPING_NAME_LEN];
    apr_int64_t rss;                /* resident set, bytes */
    apr_int64_t private_bytes;      /* Private_Clean + Private_Dirty +
                                     * swap, as in mw_proc.h */
} mw_mapping_growth_t;

/* A process's mappings summed by class and name (about 25 KiB). */
typedef struct mw_mappings_t mw_mappings_t;

/* An empty sum, allocated (and touched) in p. */
mw_mappings_t *mw_mappings_make(apr_pool_t *p);

/* Empty m for a new reading. With a seed (an earlier reading), m starts
 * with the seed's names, so each keeps a sum of its own in both however
 * many new names come before it. */
void mw_mappings_begin(mw_mappings_t *m, const mw_mappings_t *seed);

/* The next len bytes of smaps text. */
void mw_mappings_feed(mw_mappings_t *m, const char *text, apr_size_t len);

/* The end of the text: APR_SUCCESS, or APR_EINVAL when it held no
 * mapping with an Rss line. */
apr_status_t mw_mappings_end(mw_mappings_t *m);

/* Begin (with seed), feed /proc/PID/smaps (pid 0: this process) and end. */
apr_status_t mw_mappings_read(mw_mappings_t *m, const mw_mappings_t *seed,
                              long pid);

/* The sum of a class: every name of it. */
void mw_mappings_class_sum(const mw_mappings_t *m, mw_mapping_class_e mclass,
                           apr_uint64_t *rss, apr_uint64_t *private_bytes);

/* The sum of one class and name: 1, or 0 when m has none. */
int mw_mappings_find(const mw_mappings_t *m, mw_mapping_class_e mclass,
                     const char *name, apr_uint64_t *rss,
                     apr_uint64_t *private_bytes);

/* The names m keeps apart, MW_MAPPING_OTHER included. */
apr_uint32_t mw_mappings_count(const mw_mappings_t *m);

/* How much a grower grew, as it is ranked: the larger of its resident
 * and private growth. */
apr_int64_t mw_mapping_growth_size(const mw_mapping_growth_t *g);

/* The classes and names that grew most from base to now, at most max of
 * them, most first: by mw_mapping_growth_size, and only those that grew.
 * Returns how many. */
apr_uint32_t mw_mappings_growth(const mw_mappings_t *base,
                                const mw_mappings_t *now,
                                mw_mapping_growth_t *out, apr_uint32_t max);

#endif /* MW_SMAPS_H */
