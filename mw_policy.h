/* Licensed under the Apache License, Version 2.0. */

/* mw_policy: when is a child over its memory limits? Pure decisions on
 * plain figures; the glue decides what to do about them. */

#ifndef MW_POLICY_H
#define MW_POLICY_H

#include <apr.h>
#include <apr_time.h>

#include "mw_names.h"
#include "mw_trend.h"

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

/* The first limit crossed (growth, rss, private, shared), or NONE. RSS
 * does not count where the baseline itself is over MemwatchMaxRSS:
 * recycling could not help (mw_policy_born_over tells). */
mw_reason_e mw_policy_check(const mw_limits_t *limits,
                            const mw_figures_t *f);

/* Has a child used more than half of what an RSS limit allows it: half
 * of MemwatchMaxGrowth, or half the way from its baseline to
 * MemwatchMaxRSS? The request path then reads RSS more often. */
int mw_policy_near(const mw_limits_t *limits, const mw_figures_t *f);

/* Private memory has no cheap reading: smaps_rollup walks every page
 * table of the process. Between two reads it is bounded from below by
 * what the last read said plus the growth of anonymous resident memory
 * (statm: resident - shared) since then, since new anonymous pages are
 * private. Copy-on-write unsharing adds private memory that statm does not
 * show: hence the near test below, from which on every RSS reading reads
 * smaps_rollup as well. */
apr_uint64_t mw_policy_private_floor(apr_uint64_t private_then,
                                     apr_uint64_t anon_then,
                                     apr_uint64_t anon_now);

/* Has a child's private memory passed half of MemwatchMaxPrivate, or its
 * shared memory come within twice MemwatchMinShared (shared is MW_UNKNOWN
 * before the first read)? */
int mw_policy_private_near(const mw_limits_t *limits,
                           apr_uint64_t private_floor,
                           apr_uint64_t shared_bytes);

/* Is a fresh child, at its baseline, already over a limit it cannot
 * grow out of (MemwatchMaxRSS)? */
int mw_policy_born_over(const mw_limits_t *limits, apr_uint64_t baseline_rss);

/* Limits moved by up to +/- percent, by a random draw in [0, 1]. The same
 * draw scales every limit, so one child is uniformly "early" or "late". */
void mw_policy_jitter(const mw_limits_t *in, unsigned percent,
                      double draw, mw_limits_t *out);

/* Any limit set at all? */
int mw_policy_active(const mw_limits_t *limits);

/* The hard ceiling: each limit moved `percent` further out (a floor moves
 * down), past which a child leaves whatever holds it back. With
 * MW_CEILING_OFF every limit of `out` is 0 (not set): no ceiling. */
#define MW_CEILING_OFF APR_UINT32_MAX

void mw_policy_ceiling(const mw_limits_t *in, unsigned percent,
                       mw_limits_t *out);

/* A leaking (or fragmented) child's way to the limit it would reach
 * first, at the rates its trend fitted. Growth, RSS and private memory
 * all grow by what RSS grows (leaked pages, and those a fragmented heap
 * keeps, are private); MemwatchMinShared, a floor the trend says nothing
 * about, is not forecast. */
typedef struct mw_forecast_t {
    mw_reason_e limit;          /* the nearest limit; NONE: no forecast */
    apr_uint64_t seconds;       /* MW_UNKNOWN: not known */
    apr_uint64_t requests;      /* MW_UNKNOWN: not known */
} mw_forecast_t;

/* Seconds (rounded) and requests (rounded up) until the nearest limit of
 * `limits`, measured on the figures each is checked against: 0 once over
 * it. Unknown when the verdict is neither leaking nor fragmented, no
 * limit applies, a rate is
 * not positive, or the answer would not fit a double's exact integers
 * (figures from shared memory may be anything). */
void mw_policy_forecast(const mw_limits_t *limits, const mw_figures_t *f,
                        const mw_trend_result_t *trend, mw_forecast_t *out);

/* MemwatchTrim: before a child retires for a limit measured on RSS
 * (growth or RSS; not the private and shared ones, whose figures come
 * from smaps_rollup), it gives malloc's free memory back (mw_heap_trim)
 * and reads RSS again. A trim takes every arena's lock in turn and gives
 * back pages the heap may want again, so a child trims at most once per
 * MW_TRIM_MIN_INTERVAL; after that, only once its RSS grew by an eighth
 * over what its last trim left it (new memory a trim may give back), or
 * MW_TRIM_RETRY passed. A child a trim left over its limit, held back
 * (MemwatchMaxRetiring, MemwatchMinLifetime), so does not trim on each of
 * its checks. */
#define MW_TRIM_MIN_INTERVAL    apr_time_from_sec(1)
#define MW_TRIM_RETRY           apr_time_from_sec(60)

typedef struct mw_trim_last_t {
    int done;                   /* a trim was made */
    apr_time_t time;            /* when, on the monotonic clock */
    apr_uint64_t rss_after;     /* RSS read after it */
} mw_trim_last_t;

/* Can a trim help with the limit crossed? */
int mw_policy_trimmable(mw_reason_e reason);

/* May a child trim at `now` (monotonic), with `rss`? */
int mw_policy_trim_due(const mw_trim_last_t *last, apr_uint64_t rss,
                       apr_time_t now);

/* What a child over a limit does now. */
typedef enum {
    MW_DECISION_NONE = 0,       /* under every limit, or already decided */
    MW_DECISION_WAIT,           /* over a limit, held back (see the hold) */
    MW_DECISION_DRY_RUN,        /* over a limit, MemwatchDryRun: log only */
    MW_DECISION_RETIRE,         /* over a limit, a retire ticket is free */
    MW_DECISION_RETIRE_NOW      /* past the ceiling: leave regardless */
} mw_decision_e;

/* Why a child over its limit waits. */
typedef enum {
    MW_HOLD_NONE = 0,
    MW_HOLD_MIN_LIFETIME,       /* younger than MemwatchMinLifetime */
    MW_HOLD_MAX_RETIRING        /* MemwatchMaxRetiring children leaving */
} mw_hold_e;

typedef struct mw_decision_in_t {
    mw_state_e state;           /* only OK and WAITING are decided on */
    mw_reason_e reason;         /* the limit crossed, or NONE */
    int over_ceiling;
    int dry_run;
    apr_interval_time_t age;
    apr_interval_time_t min_lifetime;
    int ticket_free;            /* fewer than MemwatchMaxRetiring leaving */
} mw_decision_in_t;

/* The retirement decision, with the hold that applies when it is WAIT. */
mw_decision_e mw_policy_decide(const mw_decision_in_t *in, mw_hold_e *hold);

/* Names for logs and pages. */
const char *mw_decision_name(mw_decision_e decision);
const char *mw_hold_name(mw_hold_e hold);

#endif /* MW_POLICY_H */
