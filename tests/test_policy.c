/* Licensed under the Apache License, Version 2.0. */

/* mw_policy: limit checks and jitter. */

#include <math.h>
#include <string.h>

#include <apr_general.h>

#include "tap.h"
#include "mw_policy.h"

#define MIB (1024ULL * 1024)

static mw_figures_t figures(apr_uint64_t rss, apr_uint64_t baseline,
                            apr_uint64_t priv, apr_uint64_t shared)
{
    mw_figures_t f;

    f.rss = rss;
    f.baseline_rss = baseline;
    f.private_bytes = priv;
    f.shared_bytes = shared;
    return f;
}

static void test_check(void)
{
    mw_limits_t none = { 0, 0, 0, 0 };
    mw_limits_t l = { 100 * MIB, 500 * MIB, 300 * MIB, 20 * MIB };
    mw_limits_t only;
    mw_figures_t f;

    /* Comfortably inside every limit. */
    f = figures(200 * MIB, 150 * MIB, 100 * MIB, 50 * MIB);
    is_int(mw_policy_check(&l, &f), MW_REASON_NONE, "inside every limit");

    /* Each limit alone. */
    f = figures(251 * MIB, 150 * MIB, 100 * MIB, 50 * MIB);
    is_int(mw_policy_check(&l, &f), MW_REASON_GROWTH,
           "grew 101 MiB > 100 MiB: growth");
    f = figures(250 * MIB, 150 * MIB, 100 * MIB, 50 * MIB);
    is_int(mw_policy_check(&l, &f), MW_REASON_NONE,
           "grew exactly 100 MiB: not over");
    f = figures(150 * MIB, 200 * MIB, 100 * MIB, 50 * MIB);
    is_int(mw_policy_check(&l, &f), MW_REASON_NONE,
           "shrank below the baseline: no growth (no wrap-around)");
    f = figures(500 * MIB + 1, 450 * MIB, 100 * MIB, 50 * MIB);
    is_int(mw_policy_check(&l, &f), MW_REASON_RSS, "rss over 500 MiB: rss");
    f = figures(500 * MIB, 450 * MIB, 100 * MIB, 50 * MIB);
    is_int(mw_policy_check(&l, &f), MW_REASON_NONE, "rss exactly 500 MiB");
    f = figures(200 * MIB, 150 * MIB, 300 * MIB + 1, 50 * MIB);
    is_int(mw_policy_check(&l, &f), MW_REASON_PRIVATE,
           "private over 300 MiB: private");
    f = figures(200 * MIB, 150 * MIB, 100 * MIB, 20 * MIB - 1);
    is_int(mw_policy_check(&l, &f), MW_REASON_SHARED,
           "shared under 20 MiB: shared");
    f = figures(200 * MIB, 150 * MIB, 100 * MIB, 20 * MIB);
    is_int(mw_policy_check(&l, &f), MW_REASON_NONE,
           "shared exactly 20 MiB: not under");

    /* Order: growth, rss, private, shared. */
    f = figures(600 * MIB, 100 * MIB, 400 * MIB, 1);
    is_int(mw_policy_check(&l, &f), MW_REASON_GROWTH,
           "all crossed: growth first");
    f = figures(600 * MIB, 500 * MIB, 400 * MIB, 1);
    is_int(mw_policy_check(&l, &f), MW_REASON_RSS,
           "rss, private, shared crossed: rss first");
    f = figures(600 * MIB, 550 * MIB, 100 * MIB, 50 * MIB);
    is_int(mw_policy_check(&l, &f), MW_REASON_NONE,
           "over MaxRSS already at the baseline: not a reason");
    ok(mw_policy_born_over(&l, 500 * MIB + 1), "born over MaxRSS");
    ok(!mw_policy_born_over(&l, 500 * MIB), "exactly MaxRSS is not over");
    ok(!mw_policy_born_over(&none, 900 * MIB), "no MaxRSS: never");
    f = figures(200 * MIB, 150 * MIB, 400 * MIB, 1);
    is_int(mw_policy_check(&l, &f), MW_REASON_PRIVATE,
           "private and shared crossed: private first");

    /* Unknown private/shared never trigger. */
    f = figures(200 * MIB, 150 * MIB, MW_UNKNOWN, MW_UNKNOWN);
    is_int(mw_policy_check(&l, &f), MW_REASON_NONE,
           "unknown private and shared never trigger");
    f = figures(200 * MIB, 150 * MIB, MW_UNKNOWN, 1);
    is_int(mw_policy_check(&l, &f), MW_REASON_SHARED,
           "unknown private, known low shared: shared");

    /* Zero limits are unset. */
    f = figures(APR_UINT64_MAX - 1, 0, APR_UINT64_MAX - 1, 0);
    is_int(mw_policy_check(&none, &f), MW_REASON_NONE,
           "no limits set: nothing triggers, even at extremes");
    ok(!mw_policy_active(&none), "no limit: not active");
    only = none;
    only.max_rss = 1;
    ok(mw_policy_active(&only), "max_rss alone: active");
    is_int(mw_policy_check(&only, &f), MW_REASON_RSS,
           "max_rss alone triggers rss");
    only = none;
    only.min_shared = 1;
    ok(mw_policy_active(&only), "min_shared alone: active");
    is_int(mw_policy_check(&only, &f), MW_REASON_SHARED,
           "min_shared alone: shared 0 < 1 triggers");
    only = none;
    only.max_growth = 1;
    ok(mw_policy_active(&only), "max_growth alone: active");
    only = none;
    only.max_private = 1;
    ok(mw_policy_active(&only), "max_private alone: active");
    is_int(mw_policy_check(&only, &f), MW_REASON_PRIVATE,
           "max_private alone triggers private");
}

static apr_uint64_t absdiff(apr_uint64_t a, apr_uint64_t b)
{
    return a > b ? a - b : b - a;
}

static void test_jitter(void)
{
    mw_limits_t in = { 100 * MIB, 1000 * MIB, 400 * MIB, 50 * MIB };
    mw_limits_t zero = { 0, 0, 0, 0 };
    mw_limits_t out;

    mw_policy_jitter(&in, 10, 0.0, &out);
    ok(absdiff(out.max_growth, 90 * MIB) <= 1, "draw 0: growth -10%%");
    ok(absdiff(out.max_rss, 900 * MIB) <= 1, "draw 0: rss -10%%");
    ok(absdiff(out.max_private, 360 * MIB) <= 1, "draw 0: private -10%%");
    ok(absdiff(out.min_shared, 55 * MIB) <= 1,
       "draw 0: min_shared +10%% (a floor moves the other way)");

    mw_policy_jitter(&in, 10, 1.0, &out);
    ok(absdiff(out.max_growth, 110 * MIB) <= 1, "draw 1: growth +10%%");
    ok(absdiff(out.max_rss, 1100 * MIB) <= 1, "draw 1: rss +10%%");
    ok(absdiff(out.max_private, 440 * MIB) <= 1, "draw 1: private +10%%");
    ok(absdiff(out.min_shared, 45 * MIB) <= 1, "draw 1: min_shared -10%%");

    mw_policy_jitter(&in, 10, 0.5, &out);
    ok(out.max_growth == in.max_growth && out.max_rss == in.max_rss
       && out.max_private == in.max_private
       && out.min_shared == in.min_shared, "draw 0.5: unchanged");

    mw_policy_jitter(&in, 0, 0.0, &out);
    ok(out.max_growth == in.max_growth && out.max_rss == in.max_rss
       && out.max_private == in.max_private
       && out.min_shared == in.min_shared, "0%%: unchanged");

    mw_policy_jitter(&in, 50, 0.25, &out);
    ok(absdiff(out.max_growth, 75 * MIB) <= 1,
       "50%%, draw 0.25: growth -25%%");
    ok(absdiff(out.min_shared, 62.5 * MIB) <= 1,
       "50%%, draw 0.25: min_shared +25%%");

    mw_policy_jitter(&zero, 10, 0.0, &out);
    ok(out.max_growth == 0 && out.max_rss == 0 && out.max_private == 0
       && out.min_shared == 0, "unset limits stay unset");

    in.max_growth = 1;
    mw_policy_jitter(&in, 90, 0.0, &out);
    is_u64(out.max_growth, 1, "a set limit never jitters down to 0 (unset)");
}

static void test_ceiling(void)
{
    mw_limits_t l = { 16 * MIB, 100 * MIB, 0, 20 * MIB };
    mw_limits_t c;

    mw_policy_ceiling(&l, 25, &c);
    is_u64(c.max_growth, 20 * MIB, "growth ceiling 25%% over 16 MiB");
    is_u64(c.max_rss, 125 * MIB, "rss ceiling 25%% over");
    is_u64(c.max_private, 0, "an unset limit has no ceiling");
    is_u64(c.min_shared, 15 * MIB, "a floor's ceiling is 25%% below it");
    mw_policy_ceiling(&l, 0, &c);
    is_u64(c.max_growth, 16 * MIB, "0%%: the ceiling is the limit");
    mw_policy_ceiling(&l, 150, &c);
    is_u64(c.min_shared, 0, "150%%: a floor's ceiling cannot go below 0");
    is_u64(c.max_growth, 40 * MIB, "150%% over 16 MiB");
    mw_policy_ceiling(&l, MW_CEILING_OFF, &c);
    ok(!mw_policy_active(&c), "off: no ceiling at all");

    /* A slot's limits as a child may have forged them: the parent decides
     * for an idle prefork child from them. */
    l.max_growth = l.max_rss = APR_UINT64_MAX;
    l.max_private = APR_UINT64_MAX / 10 * 9;
    mw_policy_ceiling(&l, 25, &c);
    is_u64(c.max_growth, APR_UINT64_MAX, "2^64 - 1, 25%% over: saturated");
    is_u64(c.max_private, APR_UINT64_MAX, "0.9 x 2^64, 25%% over: saturated");
    mw_policy_ceiling(&l, 0, &c);
    is_u64(c.max_rss, APR_UINT64_MAX, "2^64 - 1 at 0%%: itself, saturated");
}

/* The decision table, one row at a time from a base case that retires. */
static void test_decide(void)
{
    mw_decision_in_t base, in;
    mw_hold_e hold;

    base.state = MW_STATE_OK;
    base.reason = MW_REASON_GROWTH;
    base.over_ceiling = 0;
    base.dry_run = 0;
    base.age = apr_time_from_sec(60);
    base.min_lifetime = 0;
    base.ticket_free = 1;

    in = base;
    is_int(mw_policy_decide(&in, &hold), MW_DECISION_RETIRE,
           "over a limit with a free ticket: retire");
    is_int(hold, MW_HOLD_NONE, "no hold");
    in.state = MW_STATE_WAITING;
    is_int(mw_policy_decide(&in, &hold), MW_DECISION_RETIRE,
           "a waiting child retires once it may");

    in = base;
    in.reason = MW_REASON_NONE;
    is_int(mw_policy_decide(&in, &hold), MW_DECISION_NONE,
           "under every limit: nothing");
    in.over_ceiling = 1;
    is_int(mw_policy_decide(&in, &hold), MW_DECISION_NONE,
           "no reason, whatever else says: nothing");

    in = base;
    in.state = MW_STATE_WARMING;
    is_int(mw_policy_decide(&in, &hold), MW_DECISION_NONE, "warming: nothing");
    in.state = MW_STATE_RETIRING;
    is_int(mw_policy_decide(&in, &hold), MW_DECISION_NONE,
           "already retiring: nothing");
    in.state = MW_STATE_EXITING;
    is_int(mw_policy_decide(&in, &hold), MW_DECISION_NONE, "exiting: nothing");
    in.state = MW_STATE_WOULD_RECYCLE;
    is_int(mw_policy_decide(&in, &hold), MW_DECISION_NONE,
           "dry run already recorded: nothing");

    in = base;
    in.dry_run = 1;
    in.over_ceiling = 1;
    is_int(mw_policy_decide(&in, &hold), MW_DECISION_DRY_RUN,
           "dry run: log only, even past the ceiling");

    in = base;
    in.ticket_free = 0;
    is_int(mw_policy_decide(&in, &hold), MW_DECISION_WAIT, "no ticket: wait");
    is_int(hold, MW_HOLD_MAX_RETIRING, "held by MemwatchMaxRetiring");
    in.over_ceiling = 1;
    is_int(mw_policy_decide(&in, &hold), MW_DECISION_RETIRE_NOW,
           "past the ceiling without a ticket: retire now");

    in = base;
    in.min_lifetime = apr_time_from_sec(120);
    is_int(mw_policy_decide(&in, &hold), MW_DECISION_WAIT, "too young: wait");
    is_int(hold, MW_HOLD_MIN_LIFETIME, "held by MemwatchMinLifetime");
    in.over_ceiling = 1;
    is_int(mw_policy_decide(&in, &hold), MW_DECISION_RETIRE_NOW,
           "past the ceiling while young: retire now");

    is_str(mw_decision_name(MW_DECISION_RETIRE_NOW), "retire now",
           "decision name");
    is_str(mw_hold_name(MW_HOLD_MAX_RETIRING), "MemwatchMaxRetiring",
           "hold name");
}

static void test_near(void)
{
    mw_limits_t growth = { 100 * MIB, 0, 0, 0 };
    mw_limits_t rss = { 0, 500 * MIB, 0, 0 };
    mw_limits_t smaps = { 0, 0, 300 * MIB, 20 * MIB };
    mw_figures_t f;

    f = figures(200 * MIB, 150 * MIB, 100 * MIB, 50 * MIB);
    ok(!mw_policy_near(&growth, &f), "grew 50 MiB of 100: not near");
    f = figures(200 * MIB + 1, 150 * MIB, 100 * MIB, 50 * MIB);
    ok(mw_policy_near(&growth, &f), "grew past half of MaxGrowth: near");
    f = figures(100 * MIB, 150 * MIB, 100 * MIB, 50 * MIB);
    ok(!mw_policy_near(&growth, &f), "shrank below the baseline: not near");
    f = figures(325 * MIB, 150 * MIB, 100 * MIB, 50 * MIB);
    ok(!mw_policy_near(&rss, &f),
       "half way from a 150 MiB baseline to MaxRSS 500 MiB: not near");
    f = figures(325 * MIB + 1, 150 * MIB, 100 * MIB, 50 * MIB);
    ok(mw_policy_near(&rss, &f), "past half way to MaxRSS: near");
    f = figures(600 * MIB, 550 * MIB, 100 * MIB, 50 * MIB);
    ok(!mw_policy_near(&rss, &f),
       "born over MaxRSS (not a reason to recycle): not near");
    f = figures(200 * MIB, 150 * MIB, 299 * MIB, 21 * MIB);
    ok(!mw_policy_near(&smaps, &f),
       "private and shared limits (read from smaps) do not count");
}

static void test_private_floor(void)
{
    ok(mw_policy_private_floor(10 * MIB, 40 * MIB, 45 * MIB) == 15 * MIB,
       "5 MiB of new anonymous memory: private at least 5 MiB more");
    ok(mw_policy_private_floor(10 * MIB, 40 * MIB, 30 * MIB) == 10 * MIB,
       "anonymous memory shrank: the last reading stands");
    ok(mw_policy_private_floor(MW_UNKNOWN, 40 * MIB, 45 * MIB) == MW_UNKNOWN,
       "never read: unknown");
    ok(mw_policy_private_floor(APR_UINT64_MAX - 2, 0, APR_UINT64_MAX - 1)
       == APR_UINT64_MAX - 1, "saturates below MW_UNKNOWN");
}

static void test_private_near(void)
{
    mw_limits_t priv = { 0, 0, 16 * MIB, 0 };
    mw_limits_t shared = { 0, 0, 0, 20 * MIB };
    mw_limits_t growth = { 100 * MIB, 0, 0, 0 };

    ok(!mw_policy_private_near(&priv, 8 * MIB, 50 * MIB),
       "8 MiB private of 16: not near");
    ok(mw_policy_private_near(&priv, 8 * MIB + 1, 50 * MIB),
       "past half of MaxPrivate: near");
    ok(mw_policy_private_near(&priv, MW_UNKNOWN, MW_UNKNOWN),
       "private never read: near (read it)");
    ok(!mw_policy_private_near(&shared, 1 * MIB, 40 * MIB),
       "40 MiB shared, floor 20: not near");
    ok(mw_policy_private_near(&shared, 1 * MIB, 40 * MIB - 1),
       "within twice MinShared: near");
    ok(!mw_policy_private_near(&growth, 90 * MIB, 1 * MIB),
       "no private or shared limit: never near");
}

/* A fitted trend: leaking unless told, at these rates. */
static mw_trend_result_t trend(mw_verdict_e verdict, double per_request,
                               double per_minute)
{
    mw_trend_result_t t;

    memset(&t, 0, sizeof(t));
    t.verdict = verdict;
    t.per_request = per_request;
    t.per_minute = per_minute;
    return t;
}

static void test_forecast(void)
{
    mw_limits_t none = { 0, 0, 0, 0 };
    mw_limits_t growth = { 100 * MIB, 0, 0, 0 };
    mw_limits_t all = { 100 * MIB, 300 * MIB, 250 * MIB, 20 * MIB };
    mw_limits_t rss = { 0, 300 * MIB, 0, 0 };
    mw_limits_t shared = { 0, 0, 0, 20 * MIB };
    mw_limits_t huge = { APR_UINT64_MAX, APR_UINT64_MAX, APR_UINT64_MAX, 0 };
    /* 1 MiB a minute, 1 KiB a request. */
    mw_trend_result_t leak = trend(MW_VERDICT_LEAKING, 1024, MIB);
    mw_trend_result_t t;
    mw_figures_t f;
    mw_forecast_t fc;

    /* 60 MiB left of MaxGrowth: an hour, 61440 requests. */
    f = figures(190 * MIB, 150 * MIB, 100 * MIB, 50 * MIB);
    mw_policy_forecast(&growth, &f, &leak, &fc);
    ok(fc.limit == MW_REASON_GROWTH && fc.seconds == 3600
       && fc.requests == 61440, "60 MiB to MaxGrowth at 1 MiB/min: 3600 s, "
       "61440 requests (%llu s, %llu)", (unsigned long long)fc.seconds,
       (unsigned long long)fc.requests);

    /* The nearest of several: MaxRSS is 50 MiB away, MaxGrowth 60 MiB,
     * MaxPrivate 150 MiB; MinShared is not forecast. */
    f = figures(250 * MIB, 210 * MIB, 100 * MIB, 21 * MIB);
    mw_policy_forecast(&all, &f, &leak, &fc);
    ok(fc.limit == MW_REASON_RSS && fc.seconds == 3000,
       "the nearest limit: MaxRSS, 50 MiB away (%s, %llu s)",
       mw_reason_name(fc.limit), (unsigned long long)fc.seconds);
    f = figures(250 * MIB, 210 * MIB, 245 * MIB, 21 * MIB);
    mw_policy_forecast(&all, &f, &leak, &fc);
    ok(fc.limit == MW_REASON_PRIVATE && fc.seconds == 300,
       "private 5 MiB under MaxPrivate: private, 300 s");
    f = figures(250 * MIB, 210 * MIB, MW_UNKNOWN, 21 * MIB);
    mw_policy_forecast(&all, &f, &leak, &fc);
    is_int(fc.limit, MW_REASON_RSS, "private not read yet: not forecast");
    f = figures(250 * MIB, 310 * MIB, 100 * MIB, 50 * MIB);
    mw_policy_forecast(&rss, &f, &leak, &fc);
    ok(fc.limit == MW_REASON_NONE && fc.seconds == MW_UNKNOWN,
       "born over MaxRSS (not enforced): not forecast either");

    /* Unknown: no limit, only a floor, not leaking, no positive rate. */
    f = figures(190 * MIB, 150 * MIB, 100 * MIB, 50 * MIB);
    mw_policy_forecast(&none, &f, &leak, &fc);
    ok(fc.limit == MW_REASON_NONE && fc.seconds == MW_UNKNOWN
       && fc.requests == MW_UNKNOWN, "no limit: unknown");
    mw_policy_forecast(&shared, &f, &leak, &fc);
    ok(fc.seconds == MW_UNKNOWN && fc.requests == MW_UNKNOWN,
       "MinShared alone: unknown");
    t = trend(MW_VERDICT_PLATEAU, 1024, MIB);
    mw_policy_forecast(&growth, &f, &t, &fc);
    ok(fc.seconds == MW_UNKNOWN && fc.requests == MW_UNKNOWN,
       "plateau, whatever its slope: unknown");
    t = trend(MW_VERDICT_FRAGMENTED, 1024, MIB);
    mw_policy_forecast(&growth, &f, &t, &fc);
    ok(fc.limit == MW_REASON_GROWTH && fc.seconds == 3600
       && fc.requests == 61440, "fragmented: RSS climbs all the same, "
       "3600 s, 61440 requests");
    t = trend(MW_VERDICT_WARMING, 1024, MIB);
    mw_policy_forecast(&growth, &f, &t, &fc);
    ok(fc.seconds == MW_UNKNOWN, "still measuring: unknown");
    t = trend(MW_VERDICT_LEAKING, 1024, 0);
    mw_policy_forecast(&growth, &f, &t, &fc);
    ok(fc.seconds == MW_UNKNOWN && fc.requests == 61440,
       "no growth by time: seconds unknown, requests known");
    t = trend(MW_VERDICT_LEAKING, -5, -(double)MIB);
    mw_policy_forecast(&growth, &f, &t, &fc);
    ok(fc.seconds == MW_UNKNOWN && fc.requests == MW_UNKNOWN,
       "negative rates: unknown");
    t = trend(MW_VERDICT_LEAKING, NAN, NAN);
    mw_policy_forecast(&growth, &f, &t, &fc);
    ok(fc.seconds == MW_UNKNOWN && fc.requests == MW_UNKNOWN,
       "NaN rates: unknown");

    /* Already over, or exactly at, the limit: 0. */
    f = figures(400 * MIB, 150 * MIB, 100 * MIB, 50 * MIB);
    mw_policy_forecast(&growth, &f, &leak, &fc);
    ok(fc.seconds == 0 && fc.requests == 0, "already over: 0 s, 0 requests");
    f = figures(250 * MIB, 150 * MIB, 100 * MIB, 50 * MIB);
    mw_policy_forecast(&growth, &f, &leak, &fc);
    ok(fc.seconds == 0 && fc.requests == 0, "exactly at it: 0");

    /* Rounding: seconds to the nearest, requests up. */
    f = figures(150 * MIB + 1200, 150 * MIB, 100 * MIB, 50 * MIB);
    t = trend(MW_VERDICT_LEAKING, 1000, 60.0 * 1000);
    mw_policy_forecast(&growth, &f, &t, &fc);
    ok(fc.seconds == 104856 && fc.requests == 104857,
       "104856.4 s rounds to 104856, 104856.4 requests up to 104857 "
       "(%llu, %llu)", (unsigned long long)fc.seconds,
       (unsigned long long)fc.requests);

    /* Hostile figures: the largest limits and figures, tiny and huge
     * rates. Nothing overflows; what a double cannot hold is unknown. */
    f = figures(0, 0, 0, 0);
    t = trend(MW_VERDICT_LEAKING, 1, 1);
    mw_policy_forecast(&huge, &f, &t, &fc);
    ok(fc.limit == MW_REASON_GROWTH && fc.seconds == MW_UNKNOWN
       && fc.requests == MW_UNKNOWN,
       "2^64 bytes to go at a byte a request and a minute: too far, "
       "unknown");
    t = trend(MW_VERDICT_LEAKING, 1e300, 1e300);
    mw_policy_forecast(&huge, &f, &t, &fc);
    ok(fc.seconds == 0 && fc.requests == 1,
       "at 1e300 bytes a request: 0 s, 1 request");
    t = trend(MW_VERDICT_LEAKING, 1e-300, 1e-300);
    f = figures(150 * MIB, 150 * MIB, 0, 0);
    mw_policy_forecast(&growth, &f, &t, &fc);
    ok(fc.seconds == MW_UNKNOWN && fc.requests == MW_UNKNOWN,
       "at 1e-300 bytes a request: unknown");
    t = trend(MW_VERDICT_LEAKING, INFINITY, INFINITY);
    mw_policy_forecast(&growth, &f, &t, &fc);
    ok(fc.seconds == 0 && fc.requests == 0, "infinite rates: 0");
    f = figures(APR_UINT64_MAX, APR_UINT64_MAX - 1, APR_UINT64_MAX,
                APR_UINT64_MAX);
    mw_policy_forecast(&huge, &f, &leak, &fc);
    ok(fc.seconds == 0 && fc.requests == 0,
       "figures at 2^64 - 1 with limits there: 0");
}

static void test_trim(void)
{
    const apr_time_t t0 = apr_time_from_sec(5000);
    mw_trim_last_t never = { 0, 0, 0 };
    mw_trim_last_t last = { 1, t0, 200 * MIB };
    int r, trimmable = 0;

    for (r = 0; r < MW_REASON_COUNT; r++) {
        trimmable += mw_policy_trimmable((mw_reason_e)r);
    }
    ok(mw_policy_trimmable(MW_REASON_GROWTH)
       && mw_policy_trimmable(MW_REASON_RSS) && trimmable == 2,
       "a trim is for the RSS limits only (growth, rss)");

    ok(mw_policy_trim_due(&never, 300 * MIB, t0), "the first trim: due");
    ok(!mw_policy_trim_due(&last, 400 * MIB,
                           t0 + MW_TRIM_MIN_INTERVAL - 1),
       "within the minimum interval: not due, however much it grew");
    ok(!mw_policy_trim_due(&last, 225 * MIB - 1,
                           t0 + MW_TRIM_MIN_INTERVAL),
       "past it, grown by less than an eighth: not due");
    ok(mw_policy_trim_due(&last, 225 * MIB, t0 + MW_TRIM_MIN_INTERVAL),
       "grown by an eighth over what the last trim left: due");
    ok(!mw_policy_trim_due(&last, 190 * MIB, t0 + MW_TRIM_RETRY - 1),
       "smaller than it left: not due before the retry");
    ok(mw_policy_trim_due(&last, 190 * MIB, t0 + MW_TRIM_RETRY),
       "due after MW_TRIM_RETRY whatever its size");
    ok(!mw_policy_trim_due(&last, 400 * MIB, t0 - apr_time_from_sec(1)),
       "a clock before the last trim: not due (no interval)");
    last.rss_after = APR_UINT64_MAX;
    ok(!mw_policy_trim_due(&last, APR_UINT64_MAX, t0 + MW_TRIM_MIN_INTERVAL),
       "figures at 2^64 - 1: no overflow, not due");
    last.rss_after = 0;
    ok(mw_policy_trim_due(&last, 1, t0 + MW_TRIM_MIN_INTERVAL),
       "from 0: any growth is an eighth");
    last.time = APR_INT64_MIN;
    ok(mw_policy_trim_due(&last, 0, t0), "a time at the far past: due");
}

int main(void)
{
    apr_initialize();
    test_check();
    test_near();
    test_private_floor();
    test_private_near();
    test_jitter();
    test_ceiling();
    test_decide();
    test_forecast();
    test_trim();
    apr_terminate();
    return done();
}
