/* Licensed under the Apache License, Version 2.0. */

#include "mw_atomic.h"
#include "mw_budget.h"

/* Fibonacci hashing: the high half of a multiple of the golden ratio. */
static apr_uint64_t spread(apr_time_t t)
{
    return ((apr_uint64_t)t * APR_UINT64_C(0x9e3779b97f4a7c15)) >> 32;
}

apr_interval_time_t mw_budget_gap(apr_time_t due, apr_interval_time_t mean)
{
    return mean / 2 + (apr_interval_time_t)(spread(due) % (apr_uint64_t)mean);
}

apr_uint32_t mw_budget_skip(apr_time_t now, apr_uint32_t span)
{
    return (apr_uint32_t)(spread(now) % span);
}

int mw_budget_claim(volatile apr_uint64_t *due, volatile apr_uint64_t *seen,
                    apr_time_t now, const mw_budget_t *b)
{
    apr_uint64_t was = mw_atomic_read64(due);
    apr_time_t next;

    mw_atomic_set64(seen, was);
    if (mw_budget_spent(was, now, b)) {
        return 0;
    }
    /* On from the due time while it is at most a burst ahead; from now
     * when it is behind, or beyond any a burst can set (not trusted). */
    next = was - (apr_uint64_t)now <= (apr_uint64_t)mw_budget_window(b)
           ? (apr_time_t)was : now;
    return mw_atomic_cas64(due, (apr_uint64_t)(next + mw_budget_gap(next,
                                                                   b->mean)),
                           was) == was;
}
