/* Licensed under the Apache License, Version 2.0. */

/* Directives, their defaults, and the checks that stop configtest. */

#ifndef MOD_MEMWATCH_CONFIG_H
#define MOD_MEMWATCH_CONFIG_H

#include "httpd.h"
#include "http_config.h"

#include "mw_policy.h"
#include "mw_shm.h"

/* Server-wide settings (main server only), set by the directives and
 * read-only after that. */
typedef struct mw_config_t {
    mw_limits_t limits;
    /* MemwatchMaxTotalPrivate in bytes; given as a percentage, it is
     * settled at post_config (mw_cgroup_post_config) from the memory
     * cgroup's limit or the machine's memory. */
    apr_uint64_t max_total_private;
    apr_uint32_t max_total_private_percent;     /* 0: given in bytes */
    int pressure;                   /* MemwatchPressure: MW_PRESSURE_* */
    apr_uint32_t pressure_threshold;    /* hundredths of a percent */
    apr_uint32_t warmup;            /* requests before the baseline */
    apr_uint32_t check_every;       /* requests between limit checks */
    apr_uint32_t jitter;            /* percent */
    apr_uint32_t ceiling;           /* percent over each limit */
    apr_uint32_t max_retiring;
    apr_uint32_t min_lifetime;      /* seconds */
    apr_uint32_t exit_timeout;      /* seconds; 0: never kill */
    int dry_run;
    int trim;                       /* MemwatchTrim: malloc_trim first */
    apr_uint32_t history_len;       /* samples per child */
    apr_uint32_t history_interval;  /* seconds between samples */
    apr_uint32_t attribute_depth;   /* URL path segments */
    apr_uint32_t attribute_slots;   /* attribution table entries */
    int attribute_group_ids;        /* path segments like ids as ":id" */
    apr_uint32_t smaps_interval;    /* seconds between smaps_rollup reads */
    int sample_streams;             /* pools during long responses */
    int allow_recycle;              /* a POST to the handler may recycle */
} mw_config_t;

/* MemwatchPressure: which PSI line it watches. */
#define MW_PRESSURE_OFF  0
#define MW_PRESSURE_SOME 1
#define MW_PRESSURE_FULL 2

extern const command_rec mw_cmds[];

void *mw_create_server_config(apr_pool_t *p, server_rec *s);

/* The configuration of the main server. */
const mw_config_t *mw_config(server_rec *s);

/* The layout of the shared table this configuration needs (ServerLimit
 * is known once the MPM's check_config has run). */
void mw_layout_of(const mw_config_t *conf, mw_layout_t *layout);

/* Can a child be made to retire: is some limit set (MemwatchPressure
 * among them), or recycling by hand allowed (MemwatchAllowRecycle)? */
int mw_config_may_retire(const mw_config_t *conf);

/* In httpd -X (or -D DEBUG) the child is the server: recycling it would
 * stop it. */
int mw_config_one_process(void);

/* check_config: limits that cannot all hold stop the server. */
void mw_config_register_hooks(void);

/* Settle MemwatchMaxTotalPrivate given as a percentage: `budget` bytes
 * of `basis` (the memory cgroup's memory.high or limit, or MemTotal; 0:
 * none known, the budget is off). Logs what it came to (MW0020). Returns
 * OK, or !OK when the result is below MemwatchMaxPrivate (MW0008). */
int mw_config_settle_total(server_rec *s, apr_pool_t *ptemp,
                           apr_uint64_t budget, const char *basis);

#endif /* MOD_MEMWATCH_CONFIG_H */
