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

/* A measured request's own growth: the RSS its child gained while it ran
 * (delta) includes what the child's other requests allocated meanwhile.
 * With busy_before and busy_after workers of the child busy with a
 * request as it began and as it ended (itself included), each running
 * request is charged an equal part: delta over their mean. */
apr_uint64_t mw_attr_own_growth(apr_uint64_t delta, apr_uint32_t busy_before,
                                apr_uint32_t busy_after);

/* Copy attribution entry i if it holds a key: returns 1, else 0. */
int mw_attr_copy(const mw_table_t *t, apr_uint32_t i, mw_attr_copy_t *out);

/* What did not fit the attribution table. */
void mw_attr_other_copy(const mw_table_t *t, mw_attr_copy_t *out);

/* Entries in the attribution table (the validated count). */
apr_uint32_t mw_attr_len(const mw_table_t *t);

#endif /* MW_ATTR_H */
