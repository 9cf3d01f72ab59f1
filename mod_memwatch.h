/* Licensed under the Apache License, Version 2.0. */

/* The httpd glue of mod_memwatch: what mod_memwatch*.c share. The APR-only
 * logic lives in mw_*.c. */

#ifndef MOD_MEMWATCH_H
#define MOD_MEMWATCH_H

#include "httpd.h"
#include "http_config.h"

#include "mw_policy.h"
#include "mw_shm.h"

#define MEMWATCH_VERSION "0.1.0"

extern module AP_MODULE_DECLARE_DATA memwatch_module;

/* Server-wide settings (main server only). */
typedef struct mw_config_t {
    mw_limits_t limits;
    apr_uint64_t max_total_private;
    apr_uint32_t warmup;            /* requests before the baseline */
    apr_uint32_t check_every;       /* requests between limit checks */
    apr_uint32_t jitter;            /* percent */
    apr_uint32_t max_retiring;
    apr_uint32_t min_lifetime;      /* seconds */
    int dry_run;
    apr_uint32_t history_len;       /* samples per child */
    apr_uint32_t history_interval;  /* seconds between samples */
    apr_uint32_t attribute_depth;   /* URL path segments */
    apr_uint32_t attribute_slots;   /* attribution table entries */
    apr_uint32_t smaps_interval;    /* seconds between smaps_rollup reads */
} mw_config_t;

/* State of this process, set in post_config and child_init. */
typedef struct mw_globals_t {
    const mw_config_t *conf;
    mw_table_t table;
    int have_table;
    const char *pools_unavailable;
    const char *smaps_unavailable;
    const char *mpm;
    int threaded;
    apr_uint32_t server_limit;
    apr_size_t page_size;
    /* Child only. */
    int slot;                       /* -1: untracked */
    int checking;                   /* some limit can trigger a recycle */
    mw_slot_t *me;
    int statm_fd;
    volatile apr_uint32_t retiring; /* this process is retiring */
    /* Connections of this process waiting for their next keep-alive
     * request, and requests in flight that began before it retired: the
     * process may leave once both are zero (mod_memwatch_retire.c). */
    volatile apr_uint32_t idle_keepalive;
    volatile apr_uint32_t active_before_retiring;
} mw_globals_t;

extern mw_globals_t mw_g;

/* mod_memwatch_config.c */
extern const command_rec mw_cmds[];
void *mw_create_server_config(apr_pool_t *p, server_rec *s);
const mw_config_t *mw_config(server_rec *s);
int mw_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                    server_rec *s);

/* mod_memwatch_status.c */
int mw_status_handler(request_rec *r);
void mw_register_status_hook(void);

/* mod_memwatch_retire.c */
void mw_retire_init(apr_pool_t *pchild, server_rec *s);
void mw_retire_check(request_rec *r, apr_uint64_t requests, apr_time_t now);
int mw_retire_post_read(request_rec *r);
void mw_retire_request_done(request_rec *r);
void mw_retire_monitor(server_rec *s, apr_time_t now);

#endif /* MOD_MEMWATCH_H */
