/* Licensed under the Apache License, Version 2.0. */

/* mw_budget: a rate shared by processes, as a GCRA bucket (one due time
 * in shared memory): on average one event per `mean`, with bursts of up
 * to `burst`, and a random-looking gap between events so that periodic
 * traffic cannot alias with them. Used to pick the requests measured for
 * attribution (docs/design.md). */

#ifndef MW_BUDGET_H
#define MW_BUDGET_H

#include <apr_time.h>

#include "mw_atomic.h"

typedef struct mw_budget_t {
    apr_interval_time_t mean;       /* between events, on average */
    apr_uint32_t burst;             /* events that may come at once */
} mw_budget_t;

/* mw_budget_take() once the caller's copy no longer says the budget is
 * spent: reads the shared due time into the copy, and moves it on if the
 * event fits. */
int mw_budget_claim(volatile apr_uint64_t *due, volatile apr_uint64_t *seen,
                    apr_time_t now, const mw_budget_t *b);

/* How far ahead of now a burst can move the due time. */
static APR_INLINE apr_interval_time_t mw_budget_window(const mw_budget_t *b)
{
    return (apr_interval_time_t)b->burst * b->mean;
}

/* Does a due time say that the budget is spent at `now`? That is, is it
 * more than a burst ahead, but not so far that no burst could have set it?
 * Unsigned: a due time behind now wraps to "far ahead", and one read from
 * shared memory cannot overflow the subtraction. */
static APR_INLINE int mw_budget_spent(apr_uint64_t due, apr_time_t now,
                                      const mw_budget_t *b)
{
    apr_uint64_t ahead = due - (apr_uint64_t)now;
    apr_uint64_t window = (apr_uint64_t)mw_budget_window(b);

    return ahead > window && ahead <= 2 * window;
}

/* Does an event at `now` fit the budget? When it does, this caller has
 * moved *due on (one of several processes wins each compare-and-swap).
 * A due time beyond any a burst can set is not trusted: the budget starts
 * again from now.
 * *seen is the caller's copy of the due time it last read (0 at first):
 * due times only move on (but for such a restart), so while the copy says
 * the budget is spent, it is, and the shared one is not read. On a busy
 * server that is most calls: one read of the caller's own memory, inline. */
static APR_INLINE int mw_budget_take(volatile apr_uint64_t *due,
                                     volatile apr_uint64_t *seen,
                                     apr_time_t now, const mw_budget_t *b)
{
    if (mw_budget_spent(mw_atomic_read64(seen), now, b)) {
        return 0;
    }
    return mw_budget_claim(due, seen, now, b);
}

/* The gap after an event due at `due`: from half to one and a half times
 * the mean, from a multiplicative hash of `due` (no state is kept). */
apr_interval_time_t mw_budget_gap(apr_time_t due, apr_interval_time_t mean);

/* How many events to let pass after one that fits, at `now`: from 0 to
 * span - 1, from the same hash. Taking the first event after a due time
 * favours those that follow a lull; a random count after it does not. */
apr_uint32_t mw_budget_skip(apr_time_t now, apr_uint32_t span);

#endif /* MW_BUDGET_H */
