/* Licensed under the Apache License, Version 2.0. */

/* mw_attr: the attribution table in shared memory, growth by handler and
 * URL-path prefix (its layout is mw_shm.h's). Any child adds to it
 * lock-free; readers copy entries out. */

#ifndef MW_ATTR_H
#define MW_ATTR_H

#include "mw_shm.h"

/* A plain copy of an attribution entry (mw_attr_copy). */
typedef struct mw_attr_copy_t {
    char handler[MW_HANDLER_LEN];
    char prefix[MW_PREFIX_LEN];
    apr_uint64_t requests;
    apr_uint64_t growth;
    apr_uint64_t pool_bytes;
} mw_attr_copy_t;

/* Add the figures of `requests` requests to the entry for (handler,
 * prefix), at time now. A new key takes a free entry only when it grew
 * (so traffic that causes no growth cannot fill the table). When the
 * table is full, a new key with growth replaces the entry that has grown
 * least recently, if that was over MW_ATTR_IDLE ago (its figures move to
 * "other"); else it goes to "other". */
void mw_attr_add(const mw_table_t *t, const char *handler,
                 const char *prefix, apr_uint64_t requests,
                 apr_uint64_t growth, apr_uint64_t pool_bytes,
                 apr_time_t now);

/* A measured request's own growth. The RSS its child gained while it ran
 * (delta) includes what the child's other requests allocated meanwhile:
 * in a steady load, as many requests allocate while it runs as end while
 * it runs. So it is charged delta over the mean count of requests that
 * end while a measured request of the child runs (itself included). The
 * mean, not this request's own count: a count drawn with the growth but
 * not in step with it (event finishes a request's writing, and ends it,
 * later) would bias the quotient upwards.
 *
 * mw_attr_ended_mean: the mean (fixed point, MW_ATTR_ONE is one request)
 * after a measured request during which `ended` requests ended; mean 0 is
 * none yet. mw_attr_own_growth: delta over that mean. */
#define MW_ATTR_ONE 1024
apr_uint64_t mw_attr_ended_mean(apr_uint64_t mean, apr_uint64_t ended);
apr_uint64_t mw_attr_own_growth(apr_uint64_t delta, apr_uint64_t mean);

/* Copy attribution entry i if it holds a key: returns 1, else 0. */
int mw_attr_copy(const mw_table_t *t, apr_uint32_t i, mw_attr_copy_t *out);

/* What did not fit the attribution table. */
void mw_attr_other_copy(const mw_table_t *t, mw_attr_copy_t *out);

/* Entries in the attribution table (the validated count). */
apr_uint32_t mw_attr_len(const mw_table_t *t);

#endif /* MW_ATTR_H */
