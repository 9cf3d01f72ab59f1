/* Licensed under the Apache License, Version 2.0. */

/* mw_budget: a rate shared by processes, as a GCRA bucket (one due time
 * in shared memory): on average one event per `mean`, with bursts of up
 * to `burst`, and a random-looking gap between events so that periodic
 * traffic cannot alias with them. Used to pick the requests measured for
 * attribution (docs/design.md). */

#ifndef MW_BUDGET_H
#define MW_BUDGET_H

#include <apr_time.h>

#include "mw_hot.h"

typedef struct mw_budget_t {
    apr_interval_time_t mean;       /* between events, on average */
    apr_uint32_t burst;             /* events that may come at once */
} mw_budget_t;

/* Does an event at `now` fit the budget? When it does, this caller has
 * moved *due on (one of several processes wins each compare-and-swap).
 * A due time beyond any a burst can set is not trusted: the budget starts
 * again from now. */
MW_HOT int mw_budget_take(volatile apr_uint64_t *due, apr_time_t now,
                   const mw_budget_t *b);

/* The gap after an event due at `due`: from half to one and a half times
 * the mean, from a multiplicative hash of `due` (no state is kept). */
apr_interval_time_t mw_budget_gap(apr_time_t due, apr_interval_time_t mean);

#endif /* MW_BUDGET_H */
