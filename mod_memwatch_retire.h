/* Licensed under the Apache License, Version 2.0. */

/* Deciding that a child retires: on the request path, from the watcher
 * thread of an idle worker or event child, and for the parent, of an
 * idle prefork child. */

#ifndef MOD_MEMWATCH_RETIRE_H
#define MOD_MEMWATCH_RETIRE_H

#include "httpd.h"

#include "mw_shm.h"

/* The figures of one finished request, for the limit check. */
typedef struct mw_request_figures_t {
    apr_uint64_t requests;          /* this child's, including this one */
    mw_figures_t memory;            /* RSS read as the request ended, the
                                     * rest from the slot after it */
    apr_time_t now;
    /* The children's private memory is over MemwatchMaxTotalPrivate
     * (1), or past its ceiling (2), and this child has the most of it. */
    int largest_over_total;
} mw_request_figures_t;

/* At the end of a request that read RSS: check this child's limits, and
 * start leaving when it must. */
void mw_retire_check_request(request_rec *r, const mw_request_figures_t *f);

/* At the end of warm-up: a limit below what a fresh child holds is a
 * configuration problem, reported once per generation. */
void mw_retire_baseline(request_rec *r, apr_uint64_t baseline_rss);

/* Parent: the prefork child `pid` in slot `index` (copied as copy) is
 * idle, with rss now: decide for it, and signal it gracefully when it
 * must leave. */
void mw_retire_idle(server_rec *s, apr_pool_t *p, int index, pid_t pid,
                    const mw_slot_copy_t *copy, apr_uint64_t rss,
                    apr_time_t now);

/* Lifecycle, called in order from mod_memwatch.c. */
void mw_retire_post_config(server_rec *s);
void mw_retire_child_init(apr_pool_t *pchild, server_rec *s);

/* The child's exit: its pre-cleanup runs before every other module's. */
void mw_retire_register_hooks(void);

#endif /* MOD_MEMWATCH_RETIRE_H */
