/* Licensed under the Apache License, Version 2.0. */

#include <math.h>

#include "mw_trend.h"

void mw_trend_start(mw_trend_t *t, apr_uint64_t requests)
{
    t->n = 0;
    t->step = MW_TREND_FIRST_STEP;
    t->next_at = requests;
}

int mw_trend_due(const mw_trend_t *t, apr_uint64_t requests)
{
    return t->step && requests >= t->next_at;
}

void mw_trend_add(mw_trend_t *t, apr_uint64_t requests, apr_uint64_t rss,
                  apr_time_t now, const mw_trend_heap_t *heap)
{
    apr_uint32_t i;

    /* n lives in shared memory: never index with a value beyond the
     * array, whoever wrote it. */
    if (t->n > MW_TREND_POINTS) {
        t->n = 0;
    }
    if (t->n == MW_TREND_POINTS) {
        /* Keep every other point so the window still reaches back to the
         * end of warm-up; points now come half as often. */
        for (i = 0; i < MW_TREND_POINTS / 2; i++) {
            t->pts[i] = t->pts[2 * i + 1];
        }
        t->n = MW_TREND_POINTS / 2;
        t->step = t->step > APR_UINT32_MAX / 2 ? t->step : t->step * 2;
    }
    t->pts[t->n].requests = requests;
    t->pts[t->n].rss = rss;
    t->pts[t->n].time = now;
    t->pts[t->n].heap_in_use = heap ? heap->in_use : MW_UNKNOWN;
    t->pts[t->n].heap_free = heap ? heap->free_bytes : MW_UNKNOWN;
    t->pts[t->n].heap_time = heap ? heap->time : 0;
    t->n++;
    t->next_at = requests + t->step;
}

/* Least-squares slope of rss against x (requests or time). */
static double slope(const mw_trend_point_t *p, apr_uint32_t n, int by_time)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0, x0, y0;
    apr_uint32_t i;

    /* Centre on the first point to keep the sums well conditioned. */
    x0 = by_time ? (double)p[0].time : (double)p[0].requests;
    y0 = (double)p[0].rss;
    for (i = 0; i < n; i++) {
        double x = (by_time ? (double)p[i].time : (double)p[i].requests) - x0;
        double y = (double)p[i].rss - y0;
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    if (n * sxx - sx * sx <= 0) {
        return 0;
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

/* The known reading with the least in use carried by the points p[0..n),
 * among those made at `since` or later (a double: times from shared
 * memory may be anything); NULL when there is none. */
static const mw_trend_point_t *lowest_reading(const mw_trend_point_t *p,
                                              apr_uint32_t n, double since)
{
    const mw_trend_point_t *low = NULL;
    apr_uint32_t i;

    for (i = 0; i < n; i++) {
        if (p[i].heap_in_use != MW_UNKNOWN && p[i].heap_free != MW_UNKNOWN
            && p[i].heap_time
            && (double)p[i].heap_time >= since
            && (!low || p[i].heap_in_use < low->heap_in_use)) {
            low = &p[i];
        }
    }
    return low;
}

/* The heap's part of the verdict, over the window's n points: what
 * malloc's bytes in use and free did from the window's older half to its
 * newer half, and what RSS did over the same time at the fitted rate. On
 * worker and event the readings are made while requests run, and what
 * those hold for a moment only adds to in use: the reading with the least
 * is the floor a leak would raise. Of the older half's, and of those made
 * in the newer half a quarter of the window later at least: two readings
 * close together would miss most of a leak's rise, and call it
 * fragmentation. Left NAN when there are no such two. */
static void heap_part(const mw_trend_point_t *p, apr_uint32_t n,
                      double per_minute, mw_trend_result_t *out)
{
    apr_uint32_t half = n / 2;
    const mw_trend_point_t *old, *young;
    double window = (double)p[n - 1].time - (double)p[0].time, since;

    out->heap_rise = out->heap_free_rise = out->rss_rise_then = NAN;
    if (!half || !(window > 0)
        || !(old = lowest_reading(p, half, -HUGE_VAL))) {
        return;
    }
    since = (double)old->heap_time + window / 4;
    if ((double)p[half].time > since) {
        since = (double)p[half].time;
    }
    if (!(young = lowest_reading(p + half, n - half, since))) {
        return;
    }
    out->heap_rise = (double)young->heap_in_use - (double)old->heap_in_use;
    out->heap_free_rise = (double)young->heap_free - (double)old->heap_free;
    out->rss_rise_then = per_minute * ((double)young->heap_time
                                       - (double)old->heap_time)
                         / (double)apr_time_from_sec(60);
}

void mw_trend_analyse(const mw_trend_t *t, mw_trend_result_t *out)
{
    apr_uint32_t n = t->n > MW_TREND_POINTS ? MW_TREND_POINTS : t->n;
    apr_uint32_t half;
    const mw_trend_point_t *recent;

    out->verdict = MW_VERDICT_WARMING;
    out->per_request = out->per_minute = out->recent_rise = 0;
    out->heap_rise = out->heap_free_rise = out->rss_rise_then = NAN;
    out->window_requests = 0;
    out->points = n;
    if (n < MW_TREND_MIN_POINTS) {
        return;
    }
    /* The newer half, but never fewer than the minimum points. */
    half = n / 2 < MW_TREND_MIN_POINTS ? MW_TREND_MIN_POINTS : n / 2;
    recent = t->pts + (n - half);
    out->window_requests = recent[half - 1].requests - recent[0].requests;
    out->per_request = slope(recent, half, 0);
    out->per_minute = slope(recent, half, 1) * (double)apr_time_from_sec(60);
    out->recent_rise = out->per_request * (double)out->window_requests;
    /* Points from a damaged table can make any of these infinite or NaN,
     * which no output format can carry. */
    if (!isfinite(out->per_request) || !isfinite(out->per_minute)
        || !isfinite(out->recent_rise)) {
        out->per_request = out->per_minute = out->recent_rise = 0;
    }
    out->verdict = out->recent_rise >= MW_LEAK_MIN_RISE
                   ? MW_VERDICT_LEAKING : MW_VERDICT_PLATEAU;
    heap_part(recent, half, out->per_minute, out);
    if (!isfinite(out->heap_rise) || !isfinite(out->heap_free_rise)
        || !isfinite(out->rss_rise_then)) {
        out->heap_rise = out->heap_free_rise = out->rss_rise_then = NAN;
    }
    else if (out->verdict == MW_VERDICT_LEAKING && out->rss_rise_then > 0
             && out->heap_rise < MW_FRAG_MAX_SHARE * out->rss_rise_then
             && out->heap_free_rise
                >= MW_FRAG_MIN_FREE_SHARE * out->rss_rise_then) {
        out->verdict = MW_VERDICT_FRAGMENTED;
    }
}
