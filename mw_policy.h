/* Licensed under the Apache License, Version 2.0. */

/* mw_policy: when is a child over its memory limits? Pure decisions on
 * plain figures; the glue decides what to do about them. */

#ifndef MW_POLICY_H
#define MW_POLICY_H

#include <apr.h>

#include "mw_shm.h"

/* A limit of 0 is not set. */
typedef struct mw_limits_t {
    apr_uint64_t max_growth;
    apr_uint64_t max_rss;
    apr_uint64_t max_private;
    apr_uint64_t min_shared;
} mw_limits_t;

typedef struct mw_figures_t {
    apr_uint64_t rss;
    apr_uint64_t baseline_rss;
    apr_uint64_t private_bytes;     /* MW_UNKNOWN if not known */
    apr_uint64_t shared_bytes;      /* MW_UNKNOWN if not known */
} mw_figures_t;

/* The first limit crossed (growth, rss, private, shared), or NONE. */
mw_reason_e mw_policy_check(const mw_limits_t *limits,
                            const mw_figures_t *f);

/* Limits moved by up to +/- percent, by a random draw in [0, 1]. The same
 * draw scales every limit, so one child is uniformly "early" or "late". */
void mw_policy_jitter(const mw_limits_t *in, unsigned percent,
                      double draw, mw_limits_t *out);

/* Any limit set at all? */
int mw_policy_active(const mw_limits_t *limits);

#endif /* MW_POLICY_H */
