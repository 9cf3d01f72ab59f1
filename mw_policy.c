/* Licensed under the Apache License, Version 2.0. */

#include <string.h>

#include "mw_clock.h"
#include "mw_policy.h"

mw_reason_e mw_policy_check(const mw_limits_t *l, const mw_figures_t *f)
{
    if (l->max_growth && f->rss > f->baseline_rss
        && f->rss - f->baseline_rss > l->max_growth) {
        return MW_REASON_GROWTH;
    }
    /* A child over MemwatchMaxRSS already at its baseline would be
     * replaced by one just as large, in a loop: a configuration problem
     * (logged at warm-up), not a reason to recycle. */
    if (l->max_rss && f->rss > l->max_rss && f->baseline_rss <= l->max_rss) {
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

int mw_policy_near(const mw_limits_t *l, const mw_figures_t *f)
{
    apr_uint64_t growth = f->rss > f->baseline_rss
                          ? f->rss - f->baseline_rss : 0;

    return (l->max_growth && growth > l->max_growth / 2)
           || (l->max_rss && l->max_rss > f->baseline_rss
               && growth > (l->max_rss - f->baseline_rss) / 2);
}

apr_uint64_t mw_policy_private_floor(apr_uint64_t private_then,
                                     apr_uint64_t anon_then,
                                     apr_uint64_t anon_now)
{
    apr_uint64_t grown = anon_now > anon_then ? anon_now - anon_then : 0;

    if (private_then == MW_UNKNOWN) {
        return MW_UNKNOWN;
    }
    return mw_add_known(private_then, grown);
}

int mw_policy_private_near(const mw_limits_t *l, apr_uint64_t private_floor,
                           apr_uint64_t shared_bytes)
{
    return (l->max_private
            && (private_floor == MW_UNKNOWN
                || private_floor > l->max_private / 2))
           || (l->min_shared
               && (shared_bytes == MW_UNKNOWN
                   || shared_bytes / 2 < l->min_shared));
}

int mw_policy_born_over(const mw_limits_t *l, apr_uint64_t baseline_rss)
{
    return l->max_rss && baseline_rss > l->max_rss;
}

/* v * factor, at least 1 if v is, and saturated: the limits come from a
 * slot, and a double of 2^64 or more has no apr_uint64_t. */
static apr_uint64_t scale(apr_uint64_t v, double factor)
{
    double r = (double)v * factor;

    if (v == 0) {
        return 0;
    }
    if (r >= 18446744073709551616.0) {
        return APR_UINT64_MAX;
    }
    return r < 1.0 ? 1 : (apr_uint64_t)r;
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

void mw_policy_ceiling(const mw_limits_t *in, unsigned percent,
                       mw_limits_t *out)
{
    double up = 1.0 + (double)percent / 100.0;

    if (percent == MW_CEILING_OFF) {
        memset(out, 0, sizeof(*out));
        return;
    }
    out->max_growth = scale(in->max_growth, up);
    out->max_rss = scale(in->max_rss, up);
    out->max_private = scale(in->max_private, up);
    out->min_shared = percent >= 100 ? 0 : scale(in->min_shared, 2.0 - up);
}

/* Past this a forecast is no figure a double holds exactly (2^53). */
#define MW_FORECAST_MAX 9007199254740992.0

/* Bytes from `figure` up to `limit`; 0 once there. */
static apr_uint64_t headroom(apr_uint64_t figure, apr_uint64_t limit)
{
    return figure < limit ? limit - figure : 0;
}

/* How many of `rate` make `bytes`, rounded to the nearest or up. */
static apr_uint64_t units_until(apr_uint64_t bytes, double rate, int round_up)
{
    double q;
    apr_uint64_t u;

    if (!(rate > 0)) {              /* NaN too */
        return MW_UNKNOWN;
    }
    q = (double)bytes / rate;
    if (!(q < MW_FORECAST_MAX)) {
        return MW_UNKNOWN;
    }
    u = (apr_uint64_t)q;
    if (round_up ? (double)u < q : q - (double)u >= 0.5) {
        u++;
    }
    return u;
}

/* Take `limit`, `h` bytes away, if it is the first or the nearest yet. */
static void nearer(mw_forecast_t *out, apr_uint64_t *left, mw_reason_e limit,
                   apr_uint64_t h)
{
    if (out->limit == MW_REASON_NONE || h < *left) {
        out->limit = limit;
        *left = h;
    }
}

void mw_policy_forecast(const mw_limits_t *l, const mw_figures_t *f,
                        const mw_trend_result_t *trend, mw_forecast_t *out)
{
    apr_uint64_t left = 0;

    out->limit = MW_REASON_NONE;
    out->seconds = out->requests = MW_UNKNOWN;
    if (trend->verdict != MW_VERDICT_LEAKING
        && trend->verdict != MW_VERDICT_FRAGMENTED) {
        return;
    }
    /* As mw_policy_check: growth over the baseline, RSS unless the
     * baseline is over it already, private once read. */
    if (l->max_growth) {
        nearer(out, &left, MW_REASON_GROWTH,
               headroom(f->rss > f->baseline_rss
                        ? f->rss - f->baseline_rss : 0, l->max_growth));
    }
    if (l->max_rss && f->baseline_rss <= l->max_rss) {
        nearer(out, &left, MW_REASON_RSS, headroom(f->rss, l->max_rss));
    }
    if (l->max_private && f->private_bytes != MW_UNKNOWN) {
        nearer(out, &left, MW_REASON_PRIVATE,
               headroom(f->private_bytes, l->max_private));
    }
    if (out->limit == MW_REASON_NONE) {
        return;
    }
    out->seconds = units_until(left, trend->per_minute / 60.0, 0);
    out->requests = units_until(left, trend->per_request, 1);
}

int mw_policy_trimmable(mw_reason_e reason)
{
    return reason == MW_REASON_GROWTH || reason == MW_REASON_RSS;
}

int mw_policy_trim_due(const mw_trim_last_t *last, apr_uint64_t rss,
                       apr_time_t now)
{
    apr_interval_time_t since = mw_clock_since(now, last->time);

    if (!last->done) {
        return 1;
    }
    if (since < MW_TRIM_MIN_INTERVAL) {
        return 0;
    }
    return since >= MW_TRIM_RETRY
           || (rss > last->rss_after
               && rss - last->rss_after >= last->rss_after / 8);
}

mw_decision_e mw_policy_decide(const mw_decision_in_t *in, mw_hold_e *hold)
{
    *hold = MW_HOLD_NONE;
    if ((in->state != MW_STATE_OK && in->state != MW_STATE_WAITING)
        || in->reason == MW_REASON_NONE) {
        return MW_DECISION_NONE;
    }
    if (in->dry_run) {
        return MW_DECISION_DRY_RUN;
    }
    if (in->over_ceiling) {
        return MW_DECISION_RETIRE_NOW;
    }
    if (in->age < in->min_lifetime) {
        *hold = MW_HOLD_MIN_LIFETIME;
        return MW_DECISION_WAIT;
    }
    if (!in->ticket_free) {
        *hold = MW_HOLD_MAX_RETIRING;
        return MW_DECISION_WAIT;
    }
    return MW_DECISION_RETIRE;
}

const char *mw_decision_name(mw_decision_e decision)
{
    switch (decision) {
    case MW_DECISION_WAIT: return "wait";
    case MW_DECISION_DRY_RUN: return "dry run";
    case MW_DECISION_RETIRE: return "retire";
    case MW_DECISION_RETIRE_NOW: return "retire now";
    default: return "none";
    }
}

const char *mw_hold_name(mw_hold_e hold)
{
    switch (hold) {
    case MW_HOLD_MIN_LIFETIME: return "MemwatchMinLifetime";
    case MW_HOLD_MAX_RETIRING: return "MemwatchMaxRetiring";
    default: return "none";
    }
}
