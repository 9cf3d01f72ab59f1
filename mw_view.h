/* Licensed under the Apache License, Version 2.0. */

/* mw_view: one consistent, plain copy of everything the status page shows,
 * collected once from shared memory and handed to one renderer per format
 * (mw_render.h). */

#ifndef MW_VIEW_H
#define MW_VIEW_H

#include <apr_tables.h>

#include "mw_policy.h"
#include "mw_shm.h"
#include "mw_trend.h"

typedef struct mw_child_view_t {
    apr_uint32_t slot;
    apr_uint32_t pid;
    apr_uint32_t generation;
    apr_time_t started;
    apr_uint64_t requests;
    apr_uint64_t connections;
    apr_uint64_t rss;
    apr_uint64_t rss_peak;
    apr_uint64_t baseline_rss;
    apr_int64_t growth;
    apr_uint64_t private_bytes;         /* MW_UNKNOWN: not known */
    apr_uint64_t shared_bytes;
    apr_uint64_t request_pool_peak;     /* MW_UNKNOWN: not measured */
    apr_uint64_t request_pool_mean;
    apr_uint64_t connection_pool_peak;
    apr_uint64_t connection_pool_growth_peak;
    apr_uint64_t stream_pool_growth_peak;
    mw_state_e state;
    mw_reason_e reason;
    mw_limits_t limits;
    apr_time_t retire_time;
    apr_time_t exiting_since;           /* state exiting: stopped serving */
    mw_trend_result_t trend;
    int nhistory;
    mw_sample_t *history;               /* oldest first */
    apr_uint64_t pss_bytes;             /* MW_UNKNOWN: not known */
    apr_time_t private_time;            /* private/shared/pss read; 0 never */
    int exiting;                        /* stopped serving, still alive */
} mw_child_view_t;

typedef struct mw_attr_view_t {
    const char *handler;
    const char *prefix;
    apr_uint64_t requests;
    apr_uint64_t growth;
    apr_uint64_t pool_bytes;
} mw_attr_view_t;

typedef struct mw_view_t {
    /* Filled by the caller: what shared memory does not know. */
    const char *version;
    const char *mpm;
    const char *server_name;
    apr_uint32_t generation;
    apr_uint32_t server_limit;
    const char *pools_unavailable;      /* NULL when pools are measured */
    const char *smaps_unavailable;      /* NULL when private/shared known */
    int dry_run;
    mw_limits_t limits;
    apr_uint32_t jitter;                /* percent */
    apr_uint32_t max_retiring;
    apr_uint32_t history_interval;      /* seconds */
    apr_uint32_t attribute_depth;

    /* Collected from shared memory. */
    apr_time_t now;
    apr_array_header_t *children;       /* mw_child_view_t, by slot */
    apr_array_header_t *exited;         /* mw_exited_t, newest first */
    apr_array_header_t *recycles;       /* mw_recycle_t, newest first */
    apr_array_header_t *attribution;    /* mw_attr_view_t, most growth first */
    mw_attr_view_t attr_other;
    apr_uint64_t recycles_total[MW_REASON_COUNT];
    apr_uint64_t would_recycle_total;
    apr_uint64_t exited_total;
    apr_uint32_t retiring;
    apr_uint64_t rss_total;
    apr_uint64_t rss_max;
    apr_uint64_t private_total;         /* MW_UNKNOWN if any unknown */
    apr_uint64_t pss_total;             /* MW_UNKNOWN if any unknown */
    apr_uint64_t requests_total;
    apr_uint64_t connections_total;
} mw_view_t;

/* Copy the table into v (v's caller-filled fields are left alone). */
void mw_view_collect(mw_view_t *v, apr_pool_t *p, const mw_table_t *t,
                     apr_time_t now, int with_history);

/* The child in slot `slot`, or NULL. */
const mw_child_view_t *mw_view_child(const mw_view_t *v, apr_uint32_t slot);

#endif /* MW_VIEW_H */
