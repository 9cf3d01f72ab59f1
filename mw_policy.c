/* Licensed under the Apache License, Version 2.0. */

#include "mw_policy.h"

mw_reason_e mw_policy_check(const mw_limits_t *l, const mw_figures_t *f)
{
    if (l->max_growth && f->rss > f->baseline_rss
        && f->rss - f->baseline_rss > l->max_growth) {
        return MW_REASON_GROWTH;
    }
    if (l->max_rss && f->rss > l->max_rss) {
        return MW_REASON_RSS;
    }
    if (l->max_private && f->private_bytes != MW_UNKNOWN
        && f->private_bytes > l->max_private) {
        return MW_REASON_PRIVATE;
    }
    if (l->min_shared && f->shared_bytes != MW_UNKNOWN
        && f->shared_bytes < l->min_shared) {
        return MW_REASON_SHARED;
    }
    return MW_REASON_NONE;
}

static apr_uint64_t scale(apr_uint64_t v, double factor)
{
    double r = (double)v * factor;

    return v == 0 ? 0 : (r < 1.0 ? 1 : (apr_uint64_t)r);
}

void mw_policy_jitter(const mw_limits_t *in, unsigned percent, double draw,
                      mw_limits_t *out)
{
    double factor = 1.0 + (2.0 * draw - 1.0) * (double)percent / 100.0;

    out->max_growth = scale(in->max_growth, factor);
    out->max_rss = scale(in->max_rss, factor);
    out->max_private = scale(in->max_private, factor);
    /* A floor moves the other way: an "early" child has a higher floor. */
    out->min_shared = scale(in->min_shared, 2.0 - factor);
}

int mw_policy_active(const mw_limits_t *l)
{
    return l->max_growth || l->max_rss || l->max_private || l->min_shared;
}
