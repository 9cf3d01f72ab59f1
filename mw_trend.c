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
                  apr_time_t now)
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

void mw_trend_analyse(const mw_trend_t *t, mw_trend_result_t *out)
{
    apr_uint32_t n = t->n > MW_TREND_POINTS ? MW_TREND_POINTS : t->n;
    apr_uint32_t half;
    const mw_trend_point_t *recent;

    out->verdict = MW_VERDICT_WARMING;
    out->per_request = out->per_minute = out->recent_rise = 0;
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
}
