/* Licensed under the Apache License, Version 2.0. */

/* mw_pool: the size of one APR pool, measured from outside on a stock
 * (non-debug) APR by walking its ring of memory nodes, or with
 * apr_pool_num_bytes() where APR was built with pool debugging.
 * docs/design.md says how, and what is checked at start-up. */

#ifndef MW_POOL_H
#define MW_POOL_H

#include <apr_pools.h>

typedef struct mw_pool_size_t {
    apr_size_t held;    /* bytes of the nodes the pool holds */
    apr_size_t used;    /* bytes handed out from those nodes */
    apr_size_t nodes;
} mw_pool_size_t;

/* How pools are measured in this process: decided once by mw_pool_init. */
typedef enum {
    MW_POOL_UNAVAILABLE = 0,
    MW_POOL_WALK,           /* node ring walk on a stock APR */
    MW_POOL_NUM_BYTES       /* apr_pool_num_bytes() (pool debugging) */
} mw_pool_method_e;

/* Choose the method and prove it on a scratch pool made from p.
 * Returns the method; on MW_POOL_UNAVAILABLE *why says why. */
mw_pool_method_e mw_pool_init(apr_pool_t *p, const char **why);

/* The method chosen by mw_pool_init (process-wide, set before fork). */
mw_pool_method_e mw_pool_method(void);

/* Measure one pool, not its subpools. Only call from the thread that owns
 * the pool. Returns APR_ENOTIMPL if pools cannot be measured here. */
apr_status_t mw_pool_measure(apr_pool_t *pool, mw_pool_size_t *out);

/* The node walk itself, exposed for the unit tests. */
apr_status_t mw_pool_walk(apr_pool_t *pool, mw_pool_size_t *out);

#endif /* MW_POOL_H */
