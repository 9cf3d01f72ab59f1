/* Licensed under the Apache License, Version 2.0. */

/* What every glue file of mod_memwatch shares, and nothing more: the
 * module, its configuration, and this process's place in shared memory
 * (owned by mod_memwatch.c). Each concern (sampling, retiring, status)
 * registers its own hooks and keeps its own state as file statics; the
 * APR-only logic lives in mw_*.c. */

#ifndef MOD_MEMWATCH_PRIVATE_H
#define MOD_MEMWATCH_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "mw_atomic.h"
#include "mw_hot.h"
#include "mw_policy.h"
#include "mw_proc.h"
#include "mw_shm.h"

#define MEMWATCH_VERSION "0.2.0"

/* The one symbol httpd looks up in the module; the Makefile hides the rest
 * (-fvisibility=hidden), so calls between the module's files are direct.
 * Protected, not default: the module's own references to its record
 * (every ap_get_module_config) then bind locally, not through the GOT,
 * a page less for each request to touch. httpd finds it with dlsym. */
#if defined(__GNUC__)
#define MW_EXPORTED __attribute__((visibility("protected")))
#else
#define MW_EXPORTED
#endif

extern module AP_MODULE_DECLARE_DATA memwatch_module MW_EXPORTED;
APLOG_USE_MODULE(memwatch);

/* Server-wide settings (main server only), set by the directives in
 * mod_memwatch_config.c and read-only after that. */
typedef struct mw_config_t {
    mw_limits_t limits;
    apr_uint64_t max_total_private;
    apr_uint32_t warmup;            /* requests before the baseline */
    apr_uint32_t check_every;       /* requests between limit checks */
    apr_uint32_t jitter;            /* percent */
    apr_uint32_t ceiling;           /* percent over each limit */
    apr_uint32_t max_retiring;
    apr_uint32_t min_lifetime;      /* seconds */
    apr_uint32_t exit_timeout;      /* seconds; 0: never kill */
    int dry_run;
    apr_uint32_t history_len;       /* samples per child */
    apr_uint32_t history_interval;  /* seconds between samples */
    apr_uint32_t attribute_depth;   /* URL path segments */
    apr_uint32_t attribute_slots;   /* attribution table entries */
    int attribute_group_ids;        /* path segments like ids as ":id" */
    apr_uint32_t smaps_interval;    /* seconds between smaps_rollup reads */
    int sample_streams;             /* pools during long responses */
} mw_config_t;

/* The configuration of the main server. */
const mw_config_t *mw_config(server_rec *s);

/* The layout of the shared table this configuration needs (mod_memwatch.c;
 * ServerLimit is known once the MPM's check_config has run). */
void mw_layout_of(const mw_config_t *conf, mw_layout_t *layout);

/* The shared table, or NULL where there is none (configtest, or it could
 * not be created). */
const mw_table_t *mw_table(void);

/* In a child: its slot in the table, or NULL when it is not watched. */
mw_slot_t *mw_my_slot(void);
int mw_my_slot_index(void);

/* In a child: its resident set size now (one pread of /proc/self/statm),
 * or 0 when it cannot be read. */
apr_uint64_t mw_own_rss(void);

/* In a child: its resident set and the file-backed part of it now (one
 * pread of /proc/self/statm). */
apr_status_t mw_own_statm(mw_statm_t *st);

/* In the parent: a child's resident set size now, or 0. */
apr_uint64_t mw_rss_of(pid_t pid);

/* What this system cannot measure, and why (NULL: it can). */
const char *mw_smaps_unavailable(void);
const char *mw_pools_unavailable(void);

/* Per-connection state in c->conn_config, made by mod_memwatch.c for
 * each primary connection of a watched child (mod_http2's secondary
 * connections get none: other threads use their pools). Each concern
 * owns its member. */
typedef struct mw_conn_t {
    struct mw_sample_conn_t *sample;    /* mod_memwatch_sample.c */
    struct mw_leave_conn_t *leave;      /* mod_memwatch_leave.c */
} mw_conn_t;

static APR_INLINE mw_conn_t *mw_conn(conn_rec *c)
{
    return c->master ? NULL
           : ap_get_module_config(c->conn_config, &memwatch_module);
}

/* The figures of one finished request, for the limit check
 * (mod_memwatch_retire.c) called at the end of the request path. */
typedef struct mw_request_figures_t {
    apr_uint64_t requests;          /* this child's, including this one */
    apr_uint64_t rss;               /* read as the request ended */
    apr_time_t now;
    /* The children's private memory is over MemwatchMaxTotalPrivate
     * (1), or past its ceiling (2), and this child has the most of it. */
    int largest_over_total;
} mw_request_figures_t;

/* Returns nonzero while the child has used more than half of what an RSS
 * limit allows it (mw_policy_near): the request path reads RSS more often
 * then. */
int mw_retire_check_request(request_rec *r, const mw_request_figures_t *f);

/* At the end of warm-up: a limit below what a fresh child holds is a
 * configuration problem, reported once per generation. */
void mw_retire_baseline(request_rec *r, apr_uint64_t baseline_rss);

#endif /* MOD_MEMWATCH_PRIVATE_H */
