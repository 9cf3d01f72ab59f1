/* Licensed under the Apache License, Version 2.0. */

/* The SVG line charts of the HTML page: children's RSS or private memory
 * over time, their total, and recycles as ticks. */

#include "mw_render_chart.h"

#ifdef MW_SHM_H
#error "renderers read mw_view only, never the shared-memory layout"
#endif

#define CHART_W 760
#define CHART_H 220
#define CHART_L 70      /* room for the value axis labels */
#define CHART_B 24      /* room for the time axis labels */

static const char *const colours[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22"
};
#define NCOLOURS (sizeof(colours) / sizeof(colours[0]))

/* From the palette and past it hues a golden angle apart (by pid, two
 * children could share one: slots 0 and 1 were once drawn in the same
 * grey). */
const char *mw_chart_colour(apr_pool_t *p, int i)
{
    if (i < (int)NCOLOURS) {
        return colours[i];
    }
    return apr_psprintf(p, "hsl(%d,70%%,40%%)", (i * 137 + 20) % 360);
}

const mw_sample_t *mw_chart_with_now(apr_pool_t *p, const mw_view_t *v,
                                          const mw_child_view_t *c, int *n)
{
    mw_sample_t *s = apr_palloc(p, sizeof(*s)
                                        * (apr_size_t)(c->nhistory + 1));

    if (c->nhistory) {
        memcpy(s, c->history, sizeof(*s) * (apr_size_t)c->nhistory);
    }
    memset(&s[c->nhistory], 0, sizeof(*s));
    s[c->nhistory].time = v->now;
    s[c->nhistory].rss = c->rss;
    s[c->nhistory].private_bytes = c->private_bytes;
    s[c->nhistory].shared_bytes = c->shared_bytes;
    s[c->nhistory].requests = c->requests;
    *n = c->nhistory + 1;
    return s;
}

static apr_uint64_t sample_value(const mw_sample_t *s, int field)
{
    return field ? s->private_bytes : s->rss;
}

/* Offset of t from t0 in microseconds, t >= t0: exact in unsigned
 * arithmetic whatever the two times are. */
static apr_uint64_t offset_from(apr_time_t t, apr_time_t t0)
{
    return (apr_uint64_t)t - (apr_uint64_t)t0;
}

/* The total of all series over time, in buckets of one sampling interval:
 * children sample at their own times (an idle one only every ten seconds,
 * by the parent), so each live child contributes its last value so far.
 * Bucket b spans offsets [b * step, (b + 1) * step) from t0 and is
 * plotted at its end (at most t1); at most 4096 buckets, however far
 * apart t0 and t1 are. Times in the result are offsets from t0. */
#define MAX_BUCKETS 4096

static int total_series(apr_pool_t *p, const mw_chart_series_t *series,
                        int nseries, apr_time_t t0, apr_time_t t1,
                        apr_uint64_t step, apr_uint64_t **offsets,
                        apr_uint64_t **totals)
{
    apr_uint64_t span = offset_from(t1, t0), nb = span / step + 1;
    apr_uint64_t *off, *tot;
    int b, i;

    if (nb > MAX_BUCKETS) {
        nb = MAX_BUCKETS;
        step = span / (MAX_BUCKETS - 1) + 1;
    }
    off = apr_palloc(p, sizeof(*off) * (apr_size_t)nb);
    tot = apr_pcalloc(p, sizeof(*tot) * (apr_size_t)nb);
    for (i = 0; i < nseries; i++) {
        const mw_sample_t *s = series[i].s;
        int k = 0;
        for (b = 0; b < (int)nb && series[i].n; b++) {
            /* "before the end of bucket b", without computing an end
             * that may not fit */
            apr_uint64_t start = (apr_uint64_t)b * step;
            while (k < series[i].n
                   && (offset_from(s[k].time, t0) < start
                       || offset_from(s[k].time, t0) - start < step)) {
                k++;
            }
            if (k > 0) {
                tot[b] += s[k - 1].rss;
            }
        }
    }
    for (b = 0; b < (int)nb; b++) {
        apr_uint64_t start = (apr_uint64_t)b * step;
        off[b] = span - start < step ? span : start + step;
    }
    *offsets = off;
    *totals = tot;
    return (int)nb;
}

/* x of a time and y of a value on the chart. */
static double chart_x(apr_time_t t, apr_time_t t0, double xs)
{
    return CHART_L + (double)offset_from(t, t0) * xs;
}

static double chart_y(apr_uint64_t val, double ys, int ph)
{
    return 10 + ph - (double)val * ys;
}

/* A dot on a series' newest point: a line of one point is not drawn. */
static void chart_now(mw_out_t *out, const mw_chart_series_t *sr,
                      apr_time_t t0, double xs, double ys, int ph)
{
    const mw_sample_t *s = sr->n ? &sr->s[sr->n - 1] : NULL;
    apr_uint64_t val = s ? sample_value(s, sr->field) : MW_UNKNOWN;

    if (val != MW_UNKNOWN) {
        mw_printf(out, "<circle class=\"now\" r=\"3\" fill=\"%s\" "
                  "cx=\"%.1f\" cy=\"%.1f\"/>", sr->colour,
                  chart_x(s->time, t0, xs), chart_y(val, ys, ph));
    }
}

/* A polyline's points, "x,y " each with one decimal, gathered into one
 * write per kilobyte: a page at 256 children draws some 30,000 of them,
 * and apr_vformatter's %f took half of the page's time. */
typedef struct points_t {
    mw_out_t *out;
    apr_size_t len;
    char buf[1024];
} points_t;

static void points_flush(points_t *pt)
{
    if (pt->len) {
        pt->out->write(pt->out->baton, pt->buf, pt->len);
        pt->len = 0;
    }
}

static void points_add(points_t *pt, double x, double y)
{
    if (sizeof(pt->buf) - pt->len < 2 * MW_TENTHS_LEN + 2) {
        points_flush(pt);
    }
    pt->len += mw_format_tenths(pt->buf + pt->len, x);
    pt->buf[pt->len++] = ',';
    pt->len += mw_format_tenths(pt->buf + pt->len, y);
    pt->buf[pt->len++] = ' ';
}

void mw_chart(mw_out_t *out, apr_pool_t *p, const mw_chart_series_t *series,
              int nseries, int total, const mw_view_t *v, const char *label)
{
    apr_time_t t0 = 0, t1 = 0;
    apr_uint64_t vmax = 0, *tot = NULL, *tot_off = NULL, span;
    int i, k, j, ntot = 0, first = 1;
    double xs, ys;
    points_t pt;
    const int pw = CHART_W - CHART_L - 10, ph = CHART_H - CHART_B - 10;

    for (i = 0; i < nseries; i++) {
        for (k = 0; k < series[i].n; k++) {
            const mw_sample_t *s = &series[i].s[k];
            apr_uint64_t val = sample_value(s, series[i].field);
            if (val == MW_UNKNOWN) {
                continue;
            }
            if (first || s->time < t0) t0 = s->time;
            if (first || s->time > t1) t1 = s->time;
            first = 0;
            vmax = val > vmax ? val : vmax;
        }
    }
    if (total && !first && nseries > 1) {
        ntot = total_series(p, series, nseries, t0, t1,
                            (apr_uint64_t)apr_time_from_sec(
                                v->history_interval ? v->history_interval
                                                    : 1),
                            &tot_off, &tot);
        for (j = 0; j < ntot; j++) {
            vmax = tot[j] > vmax ? tot[j] : vmax;
        }
    }
    mw_printf(out, "<svg class=\"chart\" role=\"img\" width=\"%d\" "
              "height=\"%d\" viewBox=\"0 0 %d %d\" "
              "xmlns=\"http://www.w3.org/2000/svg\"><title>", CHART_W,
              CHART_H, CHART_W, CHART_H);
    mw_put_html_text(out, label);
    mw_puts(out, "</title>");
    mw_printf(out, "<rect x=\"%d\" y=\"10\" width=\"%d\" height=\"%d\" "
              "fill=\"#fafafa\" stroke=\"#ccc\"/>", CHART_L, pw, ph);
    if (first) {
        mw_printf(out, "<text x=\"%d\" y=\"%d\">No samples yet: the first "
                  "comes within %u s.</text></svg>\n", CHART_L + 10,
                  CHART_H / 2, v->history_interval);
        return;
    }
    span = offset_from(t1, t0);
    if (!span) {
        span = (apr_uint64_t)apr_time_from_sec(1);
    }
    /* 10% headroom, saturated for values near the top of the range. */
    vmax = vmax > (APR_UINT64_MAX - 1) / 11 * 10 ? APR_UINT64_MAX
                                                 : vmax + vmax / 10 + 1;
    xs = (double)pw / (double)span;
    ys = (double)ph / (double)vmax;
    for (j = 0; j <= 4; j++) {
        apr_uint64_t val = vmax / 4 * (apr_uint64_t)j;
        double y = chart_y(val, ys, ph);
        mw_printf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
                  "stroke=\"#e4e4e4\"/><text x=\"%d\" y=\"%.1f\" "
                  "text-anchor=\"end\">%s</text>", CHART_L, CHART_L + pw, y,
                  y, CHART_L - 4, y + 4, mw_format_size(p, val));
    }
    mw_printf(out, "<text x=\"%d\" y=\"%d\">-%s</text>", CHART_L,
              CHART_H - 6, mw_format_duration(p, mw_view_seconds(v->now, t0)));
    mw_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>",
              CHART_L + pw, CHART_H - 6,
              mw_view_seconds(v->now, t1) < 2 ? "now"
              : apr_pstrcat(p, "-", mw_format_duration(
                    p, mw_view_seconds(v->now, t1)), NULL));
    /* Recycles in the time range, as red ticks. */
    for (j = 0; j < v->recycles->nelts; j++) {
        const mw_recycle_view_t *e =
            &APR_ARRAY_IDX(v->recycles, j, mw_recycle_view_t);
        if (e->time >= t0 && e->time <= t1) {
            double x = chart_x(e->time, t0, xs);
            mw_printf(out, "<line class=\"recycle\" x1=\"%.1f\" x2=\"%.1f\" "
                      "y1=\"10\" y2=\"%d\" stroke=\"#d62728\" "
                      "stroke-dasharray=\"3,3\"><title>recycled pid %u "
                      "(%s)</title></line>", x, x, 10 + ph, e->pid,
                      mw_reason_name(e->reason));
        }
    }
    pt.out = out;
    pt.len = 0;
    for (i = 0; i < nseries; i++) {
        mw_printf(out, "<polyline class=\"series\" fill=\"none\" "
                  "stroke-width=\"1.5\" stroke=\"%s\" points=\"",
                  series[i].colour);
        for (k = 0; k < series[i].n; k++) {
            const mw_sample_t *s = &series[i].s[k];
            apr_uint64_t val = sample_value(s, series[i].field);
            if (val != MW_UNKNOWN) {
                points_add(&pt, chart_x(s->time, t0, xs),
                           chart_y(val, ys, ph));
            }
        }
        points_flush(&pt);
        mw_puts(out, "\"/>");
        chart_now(out, &series[i], t0, xs, ys, ph);
    }
    if (ntot) {
        mw_puts(out, "<polyline class=\"series total\" fill=\"none\" "
                     "stroke-width=\"2.5\" stroke=\"#000\" points=\"");
        for (j = 0; j < ntot; j++) {
            points_add(&pt, CHART_L + (double)tot_off[j] * xs,
                       chart_y(tot[j], ys, ph));
        }
        points_flush(&pt);
        mw_puts(out, "\"/>");
        /* Seen from the first sample on, as the children's dots are. */
        mw_printf(out, "<circle class=\"now total\" r=\"3.5\" fill=\"#000\" "
                  "cx=\"%.1f\" cy=\"%.1f\"/>",
                  CHART_L + (double)tot_off[ntot - 1] * xs,
                  chart_y(tot[ntot - 1], ys, ph));
    }
    mw_puts(out, "</svg>\n");
}
