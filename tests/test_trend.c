/* Licensed under the Apache License, Version 2.0. */

/* mw_trend: leak, plateau and fragmentation verdicts from a least-squares
 * slope and malloc's bytes in use. */

#include <math.h>

#include <apr_general.h>

#include "tap.h"
#include "mw_trend.h"

#define KIB 1024.0
#define MIB (1024.0 * 1024.0)

static apr_uint64_t rng_state = 0x853c49e6748fea9bULL;

/* Uniform in [-range, +range]. */
static double noise(double range)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((double)(rng_state >> 11) / (double)(1ULL << 53) * 2.0 - 1.0)
           * range;
}

typedef double (*rss_fn)(apr_uint64_t n);     /* n requests since start */

static double leak_4k(apr_uint64_t n)
{
    return 4096.0 * (double)n + noise(8 * KIB);
}

static double plateau_32m(apr_uint64_t n)
{
    return (n >= 300 ? 32 * MIB : 0) + noise(8 * KIB);
}

/* Feed `requests` requests after warm-up ending at `start`, one every
 * 10 ms, through start/due/add as the module does. */
static int feed(mw_trend_t *t, apr_uint64_t start, apr_uint64_t requests,
                rss_fn f, apr_uint32_t *max_n)
{
    const double base = 40 * MIB;
    const apr_time_t t0 = apr_time_from_sec(1700000000);
    apr_uint64_t r;
    int ordered = 1;

    *max_n = 0;
    mw_trend_start(t, start);
    for (r = start; r <= start + requests; r++) {
        if (mw_trend_due(t, r)) {
            apr_uint32_t n = t->n;
            mw_trend_add(t, r, (apr_uint64_t)(base + f(r - start)),
                         t0 + (apr_time_t)r * 10000, NULL);
            if (t->n > *max_n) {
                *max_n = t->n;
            }
            if (n && t->n > 1) {
                ordered &= t->pts[t->n - 1].requests
                           > t->pts[t->n - 2].requests;
            }
        }
    }
    return ordered;
}

static void test_warming(void)
{
    mw_trend_t t;
    mw_trend_result_t res;
    apr_uint32_t k;

    memset(&t, 0, sizeof(t));
    ok(!mw_trend_due(&t, 12345), "a zeroed (not started) trend is not due");

    mw_trend_start(&t, 500);
    ok(!mw_trend_due(&t, 499), "not due before the start");
    ok(mw_trend_due(&t, 500), "due at the start");
    for (k = 0; k < MW_TREND_MIN_POINTS - 1; k++) {
        mw_trend_add(&t, 500 + k * MW_TREND_FIRST_STEP,
                     (apr_uint64_t)(10 * MIB) + k * 1000000,
                     apr_time_from_sec(k), NULL);
    }
    ok(!mw_trend_due(&t, 500 + (k - 1) * MW_TREND_FIRST_STEP + 1),
       "not due one request after a point");
    ok(mw_trend_due(&t, 500 + k * MW_TREND_FIRST_STEP),
       "due MW_TREND_FIRST_STEP requests after it");
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_WARMING, "%d points: warming",
           MW_TREND_MIN_POINTS - 1);
    is_int(res.points, MW_TREND_MIN_POINTS - 1, "points reported");
    ok(res.per_request == 0 && res.per_minute == 0 && res.recent_rise == 0,
       "no slope while warming");
    is_str(mw_verdict_name(res.verdict), "measuring", "verdict name");

    mw_trend_add(&t, 500 + k * MW_TREND_FIRST_STEP,
                 (apr_uint64_t)(10 * MIB) + k * 1000000, apr_time_from_sec(k), NULL);
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_LEAKING,
           "%d points rising 1 MB each: leaking", MW_TREND_MIN_POINTS);
    ok(fabs(res.per_request - 1000000.0 / MW_TREND_FIRST_STEP) < 0.01,
       "per_request = 1e6 / step (%.2f)", res.per_request);
    is_u64(res.window_requests, (MW_TREND_MIN_POINTS - 1) * MW_TREND_FIRST_STEP,
           "window spans all %d points", MW_TREND_MIN_POINTS);
}

static void test_exact_slopes(void)
{
    mw_trend_t t;
    mw_trend_result_t res;
    apr_uint32_t k;

    /* 8 points, 100 requests and 30 s apart, +1 MiB each: 2 MiB/min. */
    mw_trend_start(&t, 0);
    for (k = 0; k < 8; k++) {
        mw_trend_add(&t, k * 100, (apr_uint64_t)(50 * MIB + k * MIB),
                     apr_time_from_sec(1000 + 30 * k), NULL);
    }
    mw_trend_analyse(&t, &res);
    ok(fabs(res.per_request - MIB / 100) < 1e-6,
       "per_request = 1 MiB / 100 (%.3f)", res.per_request);
    ok(fabs(res.per_minute - 2 * MIB) < 1e-3,
       "per_minute from time = 2 MiB (%.1f)", res.per_minute);
    ok(fabs(res.recent_rise - 7 * MIB) < 1e-3,
       "recent_rise = slope x window = 7 MiB (%.1f)", res.recent_rise);

    /* Falling memory: negative slope, plateau. */
    mw_trend_start(&t, 0);
    for (k = 0; k < 8; k++) {
        mw_trend_add(&t, k * 100, (apr_uint64_t)(50 * MIB - k * MIB),
                     apr_time_from_sec(1000 + 30 * k), NULL);
    }
    mw_trend_analyse(&t, &res);
    ok(res.per_request < 0 && fabs(res.per_minute + 2 * MIB) < 1e-3,
       "shrinking: negative slopes (%.1f/min)", res.per_minute);
    is_int(res.verdict, MW_VERDICT_PLATEAU, "shrinking is not leaking");

    /* All points at the same time: no division by zero. */
    mw_trend_start(&t, 0);
    for (k = 0; k < 8; k++) {
        mw_trend_add(&t, k * 100, (apr_uint64_t)(50 * MIB + k * MIB),
                     apr_time_from_sec(1000), NULL);
    }
    mw_trend_analyse(&t, &res);
    ok(res.per_minute == 0 && isfinite(res.per_request),
       "points at one instant: per_minute 0, per_request finite");
}

static void test_decimation(void)
{
    mw_trend_t t;
    mw_trend_point_t before[MW_TREND_POINTS];
    apr_uint32_t k;
    int kept = 1;

    mw_trend_start(&t, 1000);
    for (k = 0; k < MW_TREND_POINTS; k++) {
        mw_trend_add(&t, 1000 + k * MW_TREND_FIRST_STEP, k, k, NULL);
    }
    is_int(t.n, MW_TREND_POINTS, "full at %d points", MW_TREND_POINTS);
    is_int(t.step, MW_TREND_FIRST_STEP, "step unchanged until full");
    memcpy(before, t.pts, sizeof(before));
    mw_trend_add(&t, 1000 + MW_TREND_POINTS * MW_TREND_FIRST_STEP, 999, 999, NULL);
    is_int(t.n, MW_TREND_POINTS / 2 + 1, "one more: halved, then added");
    is_int(t.step, 2 * MW_TREND_FIRST_STEP, "step doubled");
    for (k = 0; k < MW_TREND_POINTS / 2; k++) {
        kept &= t.pts[k].requests == before[2 * k + 1].requests;
    }
    ok(kept, "every other point kept, evenly spaced");
    is_u64(t.pts[t.n - 1].rss, 999, "the new point is last");
    is_u64(t.next_at, 1000 + MW_TREND_POINTS * MW_TREND_FIRST_STEP
                      + 2 * MW_TREND_FIRST_STEP, "next point one new step on");
}

static void test_leak(void)
{
    mw_trend_t t;
    mw_trend_result_t res;
    apr_uint32_t max_n;
    const apr_uint64_t start = 1000, requests = 20000;
    double span;

    ok(feed(&t, start, requests, leak_4k, &max_n),
       "leak: points in request order");
    ok(max_n <= MW_TREND_POINTS, "never more than %d points (max %u)",
       MW_TREND_POINTS, max_n);
    ok(t.n >= MW_TREND_POINTS / 2, "at least half full (%u)", t.n);
    span = (double)(t.pts[t.n - 1].requests - start);
    ok(t.pts[0].requests - start < t.step,
       "first point within one step of the start (at +%llu, step %u)",
       (unsigned long long)(t.pts[0].requests - start), t.step);
    ok((double)(t.pts[0].requests - start) <= 0.05 * span,
       "first point within 5%% of the span from the start");
    ok(span >= requests - t.step, "last point within a step of the end");

    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_LEAKING, "4 KiB a request: leaking");
    is_str(mw_verdict_name(res.verdict), "leaking", "verdict name");
    ok(fabs(res.per_request - 4096) <= 0.05 * 4096,
       "per_request %.1f within 5%% of 4096", res.per_request);
    /* one request every 10 ms: 6000 a minute */
    ok(fabs(res.per_minute - 4096.0 * 6000) <= 0.05 * 4096 * 6000,
       "per_minute %.0f within 5%% of 4096 x 6000", res.per_minute);
    ok(res.window_requests >= requests / 2 - 2 * t.step
       && res.window_requests <= requests / 2 + 2 * t.step,
       "window is the newer half (%llu requests)",
       (unsigned long long)res.window_requests);
    ok(res.recent_rise >= MW_LEAK_MIN_RISE, "recent rise %.0f >= %d",
       res.recent_rise, MW_LEAK_MIN_RISE);
    is_int(res.points, t.n, "points reported");
}

static void test_plateau(void)
{
    mw_trend_t t;
    mw_trend_result_t res;
    apr_uint32_t max_n;

    feed(&t, 1000, 20000, plateau_32m, &max_n);
    ok(max_n <= MW_TREND_POINTS, "plateau: never more than %d points",
       MW_TREND_POINTS);
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_PLATEAU,
           "32 MiB jump early, then flat: plateau");
    is_str(mw_verdict_name(res.verdict), "plateau", "verdict name");
    ok(fabs(res.per_request) < 16, "per_request near 0 (%.2f)",
       res.per_request);
    ok(res.recent_rise < MW_LEAK_MIN_RISE, "recent rise %.0f < %d",
       res.recent_rise, MW_LEAK_MIN_RISE);

    /* A small steady leak below the threshold over the window. */
    mw_trend_start(&t, 0);
    {
        apr_uint32_t k;
        for (k = 0; k < 16; k++) {
            mw_trend_add(&t, k * 100, (apr_uint64_t)(50 * MIB) + k * 1000,
                         apr_time_from_sec(k), NULL);
        }
    }
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_PLATEAU,
           "10 B a request over 700 requests (7 KB) is below the threshold");
}

/* Bytes malloc holds in use after n requests since warm-up. */
typedef double (*in_use_fn)(apr_uint64_t n);

static double in_use_flat(apr_uint64_t n)
{
    return 2 * MIB + noise(16 * KIB);
}

static double in_use_leak_4k(apr_uint64_t n)
{
    return 2 * MIB + 4096.0 * (double)n;
}

static double in_use_20pc(apr_uint64_t n)       /* a fifth of 4 KiB */
{
    return 2 * MIB + 819.2 * (double)n;
}

static double in_use_30pc(apr_uint64_t n)
{
    return 2 * MIB + 1228.8 * (double)n;
}

static double in_use_spiky(apr_uint64_t n)
{
    return in_use_flat(n) + (n / 100 % 3 == 1 ? 8 * MIB : 0);
}

static double in_use_leak_spiky(apr_uint64_t n)
{
    return in_use_leak_4k(n) + (n / 100 % 3 == 1 ? 8 * MIB : 0);
}

/* Does malloc hold RSS's growth (free what is not in use), or is it
 * memory malloc never sees (another allocator's own mappings)? */
enum { HELD, NOT_MALLOCS };

/* As feed(), one request every 10 ms, with malloc's figures read every
 * `heap_every` requests (0: never) and each point carrying the last
 * reading, as mw_slot_trend_note does. */
static void feed_heap(mw_trend_t *t, apr_uint64_t requests, rss_fn f,
                      in_use_fn h, apr_uint64_t heap_every, int held)
{
    const double base = 40 * MIB;
    const apr_time_t t0 = apr_time_from_sec(1700000000);
    mw_trend_heap_t last = { MW_UNKNOWN, MW_UNKNOWN, 0 };
    apr_uint64_t r;

    mw_trend_start(t, 0);
    for (r = 0; r <= requests; r++) {
        apr_time_t now = t0 + (apr_time_t)r * 10000;

        if (heap_every && r % heap_every == 0) {
            double free_bytes = f(r) - (h(r) - h(0));

            last.in_use = (apr_uint64_t)h(r);
            last.free_bytes = held == HELD && free_bytes > 0
                              ? (apr_uint64_t)free_bytes : 0;
            last.time = now;
        }
        if (mw_trend_due(t, r)) {
            mw_trend_add(t, r, (apr_uint64_t)(base + f(r)), now,
                         heap_every ? &last : NULL);
        }
    }
}

static void test_fragmented(void)
{
    mw_trend_t t;
    mw_trend_result_t res;
    apr_uint32_t k;

    /* RSS 4 KiB a request, in use flat, read every second (100
     * requests): fragmentation. */
    feed_heap(&t, 20000, leak_4k, in_use_flat, 100, HELD);
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_FRAGMENTED,
           "RSS climbs 4 KiB a request, in use flat: fragmented");
    is_str(mw_verdict_name(res.verdict), "fragmented", "verdict name");
    ok(fabs(res.heap_rise) < 64 * KIB, "in use rose by %.0f B only",
       res.heap_rise);
    ok(res.rss_rise_then >= res.recent_rise / 4
       && res.rss_rise_then <= res.recent_rise,
       "RSS's rise between the readings (%.0f) is a quarter to all of the "
       "window's (%.0f)", res.rss_rise_then, res.recent_rise);
    ok(fabs(res.per_request - 4096) <= 0.05 * 4096,
       "the slope is still RSS's (%.1f B a request)", res.per_request);

    ok(res.heap_free_rise >= 0.9 * res.rss_rise_then,
       "malloc holds it free (%.0f of %.0f)", res.heap_free_rise,
       res.rss_rise_then);

    /* RSS climbs, malloc's figures do not: memory malloc never saw, a
     * leak of another allocator (Python's object arenas). */
    feed_heap(&t, 20000, leak_4k, in_use_flat, 100, NOT_MALLOCS);
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_LEAKING,
           "RSS climbs, malloc holds none of it: leaking");
    ok(fabs(res.heap_free_rise) < 64 * KIB, "free did not rise (%.0f)",
       res.heap_free_rise);

    /* The same climb with in use keeping pace: a leak. */
    feed_heap(&t, 20000, leak_4k, in_use_leak_4k, 100, HELD);
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_LEAKING, "in use climbs with RSS: leaking");
    ok(fabs(res.heap_rise - res.rss_rise_then) <= 0.05 * res.rss_rise_then,
       "in use rose as RSS did (%.0f, %.0f)", res.heap_rise,
       res.rss_rise_then);

    /* Either side of the share. */
    feed_heap(&t, 20000, leak_4k, in_use_20pc, 100, HELD);
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_FRAGMENTED,
           "in use rises a fifth as fast as RSS: fragmented");
    feed_heap(&t, 20000, leak_4k, in_use_30pc, 100, HELD);
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_LEAKING,
           "in use rises 30 %% as fast as RSS: leaking (a leak as well)");

    /* Readings far apart are measured over their own span: one every
     * 20 s (the newer half spans 100 s) still tells a leak from
     * fragmentation. */
    feed_heap(&t, 20000, leak_4k, in_use_leak_4k, 2000, HELD);
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_LEAKING,
           "a leak read every 20 s: leaking");
    feed_heap(&t, 20000, leak_4k, in_use_flat, 2000, HELD);
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_FRAGMENTED,
           "flat in use read every 20 s: fragmented");

    /* None made within the window's newer half (one every 120 s): a
     * reading carried over from before could miss a leak's rise in use,
     * so no verdict of fragmentation. */
    feed_heap(&t, 20000, leak_4k, in_use_flat, 12000, HELD);
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_LEAKING,
           "no reading in the window's newer half: leaking");
    ok(isnan(res.heap_rise) && isnan(res.heap_free_rise)
       && isnan(res.rss_rise_then), "and the heap's part unknown");

    /* Readings made while requests run hold what those have for a
     * moment: spikes of 8 MiB in one reading in three. The lowest of each
     * third is the floor. */
    feed_heap(&t, 20000, leak_4k, in_use_spiky, 100, HELD);
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_FRAGMENTED,
           "flat in use with spikes: fragmented");
    feed_heap(&t, 20000, leak_4k, in_use_leak_spiky, 100, HELD);
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_LEAKING,
           "a leak with spikes: leaking");

    /* No readings at all (not glibc). */
    feed_heap(&t, 20000, leak_4k, in_use_flat, 0, HELD);
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_LEAKING, "no heap figures: leaking");
    ok(isnan(res.heap_rise), "heap rise unknown");

    /* Flat RSS and flat in use: a plateau stays one. */
    feed_heap(&t, 20000, plateau_32m, in_use_flat, 100, HELD);
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_PLATEAU, "flat RSS: plateau, whatever "
           "the heap");
    ok(isfinite(res.heap_rise), "with the heap's part known (%.0f B)",
       res.heap_rise);

    /* Figures a damaged slot may hold: an unknown reading at one end, a
     * reading time in the future, extremes. Never fragmented on them,
     * never a figure no format can carry. */
    feed_heap(&t, 20000, leak_4k, in_use_flat, 100, HELD);
    for (k = t.n - t.n / 2 / 2; k < t.n; k++) {
        t.pts[k].heap_free = MW_UNKNOWN;
    }
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_LEAKING,
           "no reading known whole in the newer half: leaking");
    feed_heap(&t, 20000, leak_4k, in_use_flat, 100, HELD);
    t.pts[t.n - 1].heap_time = APR_INT64_MAX;
    t.pts[t.n / 2].heap_time = APR_INT64_MIN;
    mw_trend_analyse(&t, &res);
    ok(isnan(res.heap_rise) || isfinite(res.heap_rise),
       "extreme reading times: a figure or unknown");
    ok(isnan(res.rss_rise_then) || isfinite(res.rss_rise_then),
       "and RSS's rise then likewise");
    ok(isnan(res.heap_free_rise) || isfinite(res.heap_free_rise),
       "and the free bytes' rise");
    feed_heap(&t, 20000, leak_4k, in_use_flat, 100, HELD);
    for (k = t.n - t.n / 2 / 2; k < t.n; k++) {
        t.pts[k].heap_time = t.pts[t.n / 2].heap_time;
    }
    mw_trend_analyse(&t, &res);
    is_int(res.verdict, MW_VERDICT_LEAKING,
           "the newer half carrying a reading from before it: leaking");
}

int main(void)
{
    apr_initialize();
    test_warming();
    test_exact_slopes();
    test_decimation();
    test_leak();
    test_plateau();
    test_fragmented();
    apr_terminate();
    return done();
}
