/* Licensed under the Apache License, Version 2.0. */

/* mw_view: one consistent, plain copy of everything the status page shows,
 * collected once through mw_shm's copy accessors and handed to one
 * renderer per format (mw_render.h). The records here are the view's own:
 * renderers never see the shared-memory layout. */

#ifndef MW_VIEW_H
#define MW_VIEW_H

#include <apr_tables.h>
#include <apr_time.h>

#include "mw_cgroup.h"
#include "mw_names.h"
#include "mw_policy.h"
#include "mw_sample.h"
#include "mw_smaps.h"
#include "mw_trend.h"

/* Samples copied per view at most, over all children: a huge
 * ServerLimit x MemwatchHistory is cut to the newest samples of each. */
#define MW_VIEW_MAX_SAMPLES 262144

/* What grew in one class and name of mappings since warm-up. */
typedef struct mw_mapping_view_t {
    mw_mapping_class_e mclass;
    const char *name;
    apr_int64_t rss_growth;
    apr_int64_t private_growth;
} mw_mapping_view_t;

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
    apr_int64_t growth;                 /* rss - baseline, saturated */
    apr_uint64_t private_bytes;         /* MW_UNKNOWN: not known */
    apr_uint64_t shared_bytes;
    apr_uint64_t request_pool_peak;     /* MW_UNKNOWN: not measured */
    apr_uint64_t request_pool_mean;
    apr_uint64_t connection_pool_peak;
    apr_uint64_t connection_pool_growth_peak;
    apr_uint64_t stream_pool_growth_peak;
    apr_uint64_t heap_in_use;           /* malloc's; MW_UNKNOWN: not read */
    apr_uint64_t heap_free;
    apr_time_t heap_time;               /* of that reading; 0 never */
    apr_uint64_t trims;                 /* MemwatchTrim */
    apr_uint64_t trim_reclaimed;        /* RSS they gave back */
    mw_state_e state;
    mw_reason_e reason;
    mw_limits_t limits;                 /* as enforced: 0 is not set, or off */
    int max_rss_off;                    /* MemwatchMaxRSS is off for it: its
                                         * baseline is over the limit */
    apr_time_t retire_time;
    apr_time_t exiting_since;           /* state exiting: stopped serving */
    mw_trend_result_t trend;
    mw_forecast_t forecast;             /* to the nearest limit, if leaking */
    int nhistory;
    mw_sample_t *history;          /* oldest first */
    apr_uint64_t pss_bytes;             /* MW_UNKNOWN: not known */
    apr_uint64_t swap_bytes;            /* in private_bytes; MW_UNKNOWN */
    apr_time_t private_time;            /* private/shared/pss read; 0 never */
    int exiting;                        /* stopped serving, still alive */
    /* Its growth by mapping as it last read it (0: never), most first. */
    apr_time_t mapping_time;
    int nmapping;
    mw_mapping_view_t mapping[MW_MAPPING_TOP];
} mw_child_view_t;

typedef struct mw_exit_view_t {
    apr_uint32_t pid;
    apr_uint32_t slot;
    apr_uint32_t generation;
    mw_exit_e exit;
    mw_reason_e reason;                 /* when recycled */
    apr_time_t started;
    apr_time_t exited;
    apr_uint64_t requests;
    apr_uint64_t connections;
    apr_uint64_t rss;
    apr_uint64_t rss_peak;
    apr_int64_t growth;                 /* rss - baseline, saturated */
} mw_exit_view_t;

typedef struct mw_recycle_view_t {
    apr_uint32_t pid;
    apr_uint32_t slot;
    mw_reason_e reason;
    int dry_run;
    apr_time_t time;
    apr_time_t started;
    apr_uint64_t rss;
    apr_uint64_t growth;
    apr_uint64_t private_bytes;
    apr_uint64_t shared_bytes;
    apr_uint64_t requests;
    /* What grew most since warm-up, by mapping, as the child read it
     * when it decided; mapping_read 0: no reading (the parent decided
     * for an idle prefork child, or smaps could not be read). */
    int mapping_read;
    int nmapping;
    mw_mapping_view_t mapping[MW_MAPPING_TOP];
} mw_recycle_view_t;

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
    const char *heap_unavailable;       /* NULL when malloc's are known */
    int dry_run;
    int trim;                           /* MemwatchTrim On, and can */
    mw_limits_t limits;                 /* as configured */
    apr_uint64_t max_total_private;     /* MemwatchMaxTotalPrivate; 0 none */
    apr_uint32_t max_total_private_percent;     /* as given; 0: bytes */
    const char *pressure;               /* MemwatchPressure's line; NULL */
    apr_uint32_t pressure_threshold;    /* hundredths of a percent */
    /* The memory cgroup (NULL or version MW_CGROUP_NONE: none), its
     * figures and the pressure, read for this view; MemTotal (0: not
     * known). */
    const mw_cgroup_t *cgroup;
    mw_cgroup_figures_t cgroup_figures;
    apr_uint64_t mem_total;
    apr_uint32_t jitter;                /* percent */
    apr_uint32_t max_retiring;
    apr_uint32_t history_interval;      /* seconds */
    apr_uint32_t attribute_depth;
    /* A child's resident set now, or 0 where it cannot be read (NULL:
     * shown as the table has it, read at the child's last request). */
    apr_uint64_t (*rss_now)(apr_uint32_t pid);
    /* MemwatchAllowRecycle: the token of the recycle button of the child
     * in slot with pid, made in p (NULL: the page has no buttons). */
    const char *(*recycle_token)(apr_pool_t *p, apr_uint32_t slot,
                                 apr_uint32_t pid);

    /* Collected from shared memory. */
    const char *damaged;                /* NULL, or why the table is not
                                         * to be trusted (nothing else is
                                         * collected then) */
    apr_time_t now;
    apr_array_header_t *children;       /* mw_child_view_t, by slot */
    apr_array_header_t *exited;         /* mw_exit_view_t, newest first */
    apr_array_header_t *recycles;       /* mw_recycle_view_t, newest first */
    apr_array_header_t *attribution;    /* mw_attr_view_t, most growth first */
    mw_attr_view_t attr_other;
    apr_uint64_t recycles_total[MW_REASON_COUNT];
    apr_uint64_t would_recycle_total;
    apr_uint64_t exited_total;
    apr_uint64_t exited_by[MW_REASON_COUNT];    /* NONE: not recycled */
    apr_uint64_t exited_restart;
    apr_uint64_t trims_total;
    apr_uint64_t trim_reclaimed_total;
    apr_uint64_t trim_kept_total;       /* trims that left a child under
                                         * its limits */
    apr_uint32_t retiring;
    apr_uint64_t rss_total;
    apr_uint64_t rss_max;
    apr_uint64_t private_total;         /* MW_UNKNOWN if any unknown */
    apr_uint64_t pss_total;             /* MW_UNKNOWN if any unknown */
    apr_uint64_t swap_total;            /* MW_UNKNOWN if any unknown */
    apr_uint64_t requests_total;
    apr_uint64_t connections_total;
    /* MemwatchMaxRSS is not enforced on some child of this generation:
     * it is below what a fresh child holds (MW0015). */
    int max_rss_off;
} mw_view_t;

struct mw_table_t;

/* Copy the table into v (v's caller-filled fields are left alone). A
 * table that fails mw_table_check is not read: v->damaged says why and
 * the lists are empty. */
void mw_view_collect(mw_view_t *v, apr_pool_t *p, const struct mw_table_t *t,
                     apr_time_t now, int with_history);

/* Is any limit set, the server-wide budget included? */
int mw_view_limits_set(const mw_view_t *v);

/* Why MemwatchMaxRSS is not enforced, for every format; NULL when it is
 * (or is not set). */
const char *mw_view_max_rss_off(const mw_view_t *v);

/* The child in slot `slot`, or NULL. */
const mw_child_view_t *mw_view_child(const mw_view_t *v, apr_uint32_t slot);

/* Whole seconds from `earlier` to `later`, saturated rather than
 * overflowing whatever times a damaged table holds. */
apr_int64_t mw_view_seconds(apr_time_t later, apr_time_t earlier);

/* a - b for sizes, saturated to the range of apr_int64_t. */
apr_int64_t mw_view_diff(apr_uint64_t a, apr_uint64_t b);

/* A double as an apr_int64_t, clamped; NaN is 0. */
apr_int64_t mw_view_double_i64(double d);

#endif /* MW_VIEW_H */
