/* Licensed under the Apache License, Version 2.0. */

/* The page a person reads: summary, an SVG chart of RSS over time, one row
 * per child, growth attribution, recycles and exited children; and a
 * detail view per child. Inline CSS and SVG only: no scripts, no fonts. */

#include "mw_render.h"

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

static const char *size_or_dash(apr_pool_t *p, apr_uint64_t v)
{
    return v == MW_UNKNOWN ? "&ndash;" : mw_format_size(p, v);
}

/* Write the bytes from *run to s, if any, and move *run past them. */
static void flush_run(mw_out_t *out, const unsigned char **run,
                      const unsigned char *s)
{
    if (s > *run) {
        out->write(out->baton, (const char *)*run, (apr_size_t)(s - *run));
    }
    *run = s;
}

void mw_put_html_text(mw_out_t *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    const unsigned char *run = s;

    while (*s) {
        const char *r = NULL;
        int n = mw_utf8_len(s);

        if (!n || (*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r')
            || *s == 0x7f) {
            r = "\xef\xbf\xbd";         /* U+FFFD */
            n = 1;
        }
        else {
            switch (*s) {
            case '<': r = "&lt;"; break;
            case '>': r = "&gt;"; break;
            case '&': r = "&amp;"; break;
            case '"': r = "&quot;"; break;
            case '\'': r = "&#39;"; break;
            default: break;
            }
        }
        if (r) {
            flush_run(out, &run, s);
            mw_puts(out, r);
            run = s + n;
        }
        s += n;
    }
    flush_run(out, &run, s);
}

/* May a URL path hold c as it is (RFC 3986 pchar or '/', not '%')? */
static int path_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || (c && strchr("-._~!$&'()*+,;=:@/", c));
}

void mw_put_html_path(mw_out_t *out, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)(path ? path : "");
    const unsigned char *run = s;

    /* Stay a path on this host: "//x" would name another host and "a:b"
     * a scheme; "/." and "./" are dot segments the browser drops. */
    if (s[0] == '/' && s[1] == '/') {
        mw_puts(out, "/.");
    }
    else if (s[0] != '/') {
        mw_puts(out, "./");
    }
    for (; *s; s++) {
        char pct[4];
        const char *r = pct;

        if (*s == '&') {
            r = "&amp;";
        }
        else if (*s == '\'') {
            r = "&#39;";
        }
        else if (path_char(*s)) {
            continue;
        }
        else {
            pct[0] = '%';
            pct[1] = hex[*s >> 4];
            pct[2] = hex[*s & 0xf];
            pct[3] = '\0';
        }
        flush_run(out, &run, s);
        mw_puts(out, r);
        run = s + 1;
    }
    flush_run(out, &run, s);
}

static void head(mw_out_t *out, const mw_view_t *v,
                 const mw_html_opts_t *o, const char *title)
{
    mw_puts(out, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
                 "<meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width\">");
    if (o->refresh > 0) {
        mw_printf(out, "<meta http-equiv=\"refresh\" content=\"%d\">",
                  o->refresh);
    }
    mw_puts(out, "<title>");
    mw_put_html_text(out, title);
    mw_puts(out, " &ndash; ");
    mw_put_html_text(out, v->server_name);
    mw_puts(out, "</title><style>"
        "body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}"
        "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}"
        "table{border-collapse:collapse}"
        "th,td{padding:2px 8px;border-bottom:1px solid #ddd;"
        "text-align:right;white-space:nowrap}"
        "th{background:#f3f3f3}td.l,th.l{text-align:left}"
        ".leaking,.retiring,.waiting,.exiting{color:#b00;font-weight:bold}"
        ".plateau{color:#070}.note{color:#555}"
        "dl.sum{display:grid;grid-template-columns:max-content auto;"
        "gap:2px 16px}dl.sum dt{font-weight:bold}dl.sum dd{margin:0}"
        "svg text{font:11px sans-serif;fill:#444}"
        ".age{color:#777;font-size:.85em}"
        ".sw{display:inline-block;width:.8em;height:.8em;"
        "vertical-align:middle}"
        "</style></head><body>\n");
}

static void foot(mw_out_t *out, const mw_html_opts_t *o)
{
    mw_puts(out, "<p class=\"note\">Other formats: <a href=\"");
    mw_put_html_path(out, o->self);
    mw_puts(out, "?json\">JSON</a> &middot; <a href=\"");
    mw_put_html_path(out, o->self);
    mw_puts(out, "?auto\">auto</a> &middot; <a href=\"");
    mw_put_html_path(out, o->self);
    mw_puts(out, "?prometheus\">Prometheus</a></p>\n</body></html>\n");
}

typedef struct {
    const mw_view_sample_t *s;
    int n;
    int field;          /* 0 rss, 1 private */
    const char *colour;
} series_t;

/* The i-th child on the page: a colour of its own, from the palette and
 * past it hues a golden angle apart (by pid, two children could share one:
 * slots 0 and 1 were once drawn in the same grey). */
static const char *child_colour(apr_pool_t *p, int i)
{
    if (i < (int)NCOLOURS) {
        return colours[i];
    }
    return apr_psprintf(p, "hsl(%d,70%%,40%%)", (i * 137 + 20) % 360);
}

/* A child's history with its current figures appended as the newest
 * point, so a chart is never empty and always reaches "now". */
static const mw_view_sample_t *with_now(apr_pool_t *p, const mw_view_t *v,
                                   const mw_child_view_t *c, int *n)
{
    mw_view_sample_t *s = apr_palloc(p, sizeof(*s) * (apr_size_t)(c->nhistory + 1));

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

/* "696 KiB (12 s old)": private/shared come from smaps_rollup every
 * MemwatchSmapsInterval, RSS from every request. */
static const char *size_with_age(apr_pool_t *p, const mw_view_t *v,
                                 apr_uint64_t val, apr_time_t when)
{
    if (val == MW_UNKNOWN || !when) {
        return size_or_dash(p, val);
    }
    return apr_psprintf(p, "%s <span class=\"age\">(%s old)</span>",
                        mw_format_size(p, val), mw_format_duration(
                            p, mw_view_seconds(v->now, when)));
}

static apr_uint64_t sample_value(const mw_view_sample_t *s, int field)
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

static int total_series(apr_pool_t *p, const series_t *series, int nseries,
                        apr_time_t t0, apr_time_t t1, apr_uint64_t step,
                        apr_uint64_t **offsets, apr_uint64_t **totals)
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
        const mw_view_sample_t *s = series[i].s;
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
static void chart_now(mw_out_t *out, const series_t *sr, apr_time_t t0,
                      double xs, double ys, int ph)
{
    const mw_view_sample_t *s = sr->n ? &sr->s[sr->n - 1] : NULL;
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

/* One SVG line chart; `total` adds a summed line over the series. */
static void chart(mw_out_t *out, apr_pool_t *p, const series_t *series,
                  int nseries, int total, const mw_view_t *v,
                  const char *label)
{
    apr_time_t t0 = 0, t1 = 0;
    apr_uint64_t vmax = 0, *tot = NULL, *tot_off = NULL, span;
    int i, k, j, ntot = 0, first = 1;
    double xs, ys;
    points_t pt;
    const int pw = CHART_W - CHART_L - 10, ph = CHART_H - CHART_B - 10;

    for (i = 0; i < nseries; i++) {
        for (k = 0; k < series[i].n; k++) {
            const mw_view_sample_t *s = &series[i].s[k];
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
            const mw_view_sample_t *s = &series[i].s[k];
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
    }
    mw_puts(out, "</svg>\n");
}

static void summary(mw_out_t *out, const mw_view_t *v, apr_pool_t *p)
{
    apr_uint64_t recycles = 0;
    int i;

    for (i = MW_REASON_GROWTH; i < MW_REASON_COUNT; i++) {
        recycles += v->recycles_total[i];
    }
    mw_puts(out, "<dl class=\"sum\"><dt>MPM</dt><dd>");
    mw_put_html_text(out, v->mpm);
    mw_printf(out, "</dd><dt>Generation</dt><dd>%u</dd>"
              "<dt>Children</dt><dd>%d of ServerLimit %u</dd>"
              "<dt>Total RSS</dt><dd>%s</dd><dt>Largest child</dt><dd>%s</dd>"
              "<dt>Total private</dt><dd>%s</dd>"
              "<dt title=\"proportional set size: shared pages divided "
              "among the processes sharing them\">Total PSS</dt><dd>%s</dd>"
              "<dt>Recycled</dt><dd>%" APR_UINT64_T_FMT
              " (%u retiring now, at most %u at once)</dd>",
              v->generation, v->children->nelts, v->server_limit,
              mw_format_size(p, v->rss_total), mw_format_size(p, v->rss_max),
              size_or_dash(p, v->private_total),
              size_or_dash(p, v->pss_total), recycles, v->retiring,
              v->max_retiring);
    mw_puts(out, "<dt>Limits</dt><dd>");
    if (!mw_view_limits_active(&v->limits)) {
        mw_puts(out, "none set: watching only");
    }
    else {
        const char *sep = "";
        if (v->limits.max_growth) {
            mw_printf(out, "%sgrowth &gt; %s", sep,
                      mw_format_size(p, v->limits.max_growth));
            sep = "; ";
        }
        if (v->limits.max_rss) {
            mw_printf(out, "%sRSS &gt; %s", sep,
                      mw_format_size(p, v->limits.max_rss));
            sep = "; ";
        }
        if (v->limits.max_private) {
            mw_printf(out, "%sprivate &gt; %s", sep,
                      mw_format_size(p, v->limits.max_private));
            sep = "; ";
        }
        if (v->limits.min_shared) {
            mw_printf(out, "%sshared &lt; %s", sep,
                      mw_format_size(p, v->limits.min_shared));
        }
        if (v->jitter) {
            mw_printf(out, " (&plusmn;%u%% per child)", v->jitter);
        }
        if (v->dry_run) {
            mw_puts(out, "; <strong>dry run: nothing is recycled</strong>");
        }
    }
    mw_puts(out, "</dd></dl>\n");
    if (v->damaged) {
        mw_puts(out, "<p class=\"damaged\"><strong>The shared memory table "
                     "is damaged (");
        mw_put_html_text(out, v->damaged);
        mw_puts(out, "): nothing in it is shown. It is rebuilt at the next "
                     "restart.</strong></p>\n");
    }
    if (v->pools_unavailable) {
        mw_puts(out, "<p class=\"note\">Pool sizes are not available: ");
        mw_put_html_text(out, v->pools_unavailable);
        mw_puts(out, "</p>\n");
    }
    if (v->smaps_unavailable) {
        mw_puts(out, "<p class=\"note\">Private/shared split not available: ");
        mw_put_html_text(out, v->smaps_unavailable);
        mw_puts(out, "</p>\n");
    }
}

static const char *state_class(mw_state_e s)
{
    switch (s) {
    case MW_STATE_WAITING:
    case MW_STATE_WOULD_RECYCLE: return "waiting";
    case MW_STATE_RETIRING: return "retiring";
    case MW_STATE_EXITING: return "exiting";
    default: return "";
    }
}

static void children_table(mw_out_t *out, const mw_view_t *v, apr_pool_t *p,
                           const mw_html_opts_t *o)
{
    int i;

    mw_puts(out, "<h2>Children</h2><table class=\"children\"><tr>"
        "<th>Slot</th><th>PID</th><th>Age</th><th>Requests</th>"
        "<th>Conns</th><th>RSS</th><th>Peak</th><th>Baseline</th>"
        "<th>Growth</th><th>Private</th><th>Shared</th>"
        "<th title=\"request pool peak / mean\">Req pool</th>"
        "<th title=\"connection pool peak / largest growth within one "
        "connection\">Conn pool</th><th>Growth/req</th>"
        "<th class=\"l\">Verdict</th><th class=\"l\">State</th></tr>\n");
    for (i = 0; i < v->children->nelts; i++) {
        const mw_child_view_t *c =
            &APR_ARRAY_IDX(v->children, i, mw_child_view_t);
        const char *verdict = mw_verdict_name(c->trend.verdict);

        mw_printf(out, "<tr><td><span class=\"sw\" style=\"background:%s\">"
                  "</span> <a href=\"", child_colour(p, i));
        mw_put_html_path(out, o->self);
        mw_printf(out, "?child=%u\">%u</a></td><td>%u</td><td>%s</td>"
                  "<td>%" APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT
                  "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                  "<td>%s</td><td>%s</td><td>%s / %s</td><td>%s / %s</td>",
                  c->slot, c->slot, c->pid,
                  mw_format_duration(p, mw_view_seconds(v->now, c->started)),
                  c->requests, c->connections, mw_format_size(p, c->rss),
                  mw_format_size(p, c->rss_peak),
                  mw_format_size(p, c->baseline_rss),
                  mw_format_ssize(p, c->growth),
                  size_with_age(p, v, c->private_bytes, c->private_time),
                  size_or_dash(p, c->shared_bytes),
                  size_or_dash(p, c->request_pool_peak),
                  size_or_dash(p, c->request_pool_mean),
                  size_or_dash(p, c->connection_pool_peak),
                  size_or_dash(p, c->connection_pool_growth_peak));
        if (c->trend.verdict == MW_VERDICT_WARMING) {
            mw_puts(out, "<td>&ndash;</td>");
        }
        else {
            mw_printf(out, "<td>%s</td>", mw_format_ssize(
                          p, mw_view_double_i64(c->trend.per_request)));
        }
        mw_printf(out, "<td class=\"l %s\">%s</td><td class=\"l %s\">%s",
                  verdict, verdict, state_class(c->state),
                  mw_state_name(c->state));
        if (c->state == MW_STATE_EXITING) {
            mw_printf(out, " for %s", mw_format_duration(
                          p, mw_view_seconds(v->now, c->exiting_since)));
        }
        else if (c->reason != MW_REASON_NONE) {
            mw_printf(out, " (%s)", mw_reason_name(c->reason));
        }
        mw_puts(out, "</td></tr>\n");
    }
    mw_puts(out, "</table>\n");
}

static void attribution_table(mw_out_t *out, const mw_view_t *v,
                              apr_pool_t *p)
{
    int i;

    mw_printf(out, "<h2>Top growth by handler / URL prefix</h2>"
              "<p class=\"note\">Resident set growth that followed each "
              "request, summed over all children; URL paths cut to %u "
              "segments. On threaded MPMs concurrent requests share the "
              "blame.</p>", v->attribute_depth);
    if (!v->attribution->nelts && !v->attr_other.requests) {
        mw_puts(out, "<p>No growth seen yet.</p>\n");
        return;
    }
    mw_puts(out, "<table class=\"attribution\"><tr><th class=\"l\">Handler"
                 "</th><th class=\"l\">URL prefix</th><th>Requests</th>"
                 "<th>Growth</th><th>Growth/req</th><th>Req pool mean</th>"
                 "</tr>\n");
    for (i = 0; i <= v->attribution->nelts; i++) {
        const mw_attr_view_t *a = i < v->attribution->nelts
            ? &APR_ARRAY_IDX(v->attribution, i, mw_attr_view_t)
            : &v->attr_other;
        if (i == v->attribution->nelts && !a->requests) {
            break;
        }
        mw_puts(out, "<tr><td class=\"l\">");
        if (a == &v->attr_other) {
            mw_puts(out, "(not attributed)</td><td class=\"l\">no growth "
                         "seen for it yet, or table full");
        }
        else {
            mw_put_html_text(out, a->handler);
            mw_puts(out, "</td><td class=\"l\">");
            mw_put_html_text(out, a->prefix);
        }
        mw_printf(out, "</td><td>%" APR_UINT64_T_FMT "</td><td>%s</td>"
                  "<td>%s</td><td>%s</td></tr>\n", a->requests,
                  mw_format_size(p, a->growth),
                  a->requests ? mw_format_size(p, a->growth / a->requests)
                              : "&ndash;",
                  a->requests ? mw_format_size(p, a->pool_bytes / a->requests)
                              : "&ndash;");
    }
    mw_puts(out, "</table>\n");
}

static void recycles_table(mw_out_t *out, const mw_view_t *v, apr_pool_t *p)
{
    int i;

    mw_puts(out, "<h2>Recent recycles</h2>");
    if (!v->recycles->nelts) {
        mw_puts(out, "<p>None.</p>\n");
        return;
    }
    mw_puts(out, "<table class=\"recycles\"><tr><th>When</th><th>PID</th>"
                 "<th>Slot</th><th class=\"l\">Reason</th><th>RSS</th>"
                 "<th>Growth</th><th>Private</th><th>Requests</th>"
                 "<th>Lifetime</th></tr>\n");
    for (i = 0; i < v->recycles->nelts; i++) {
        const mw_recycle_view_t *e =
            &APR_ARRAY_IDX(v->recycles, i, mw_recycle_view_t);
        mw_printf(out, "<tr><td>%s ago</td><td>%u</td><td>%u</td>"
                  "<td class=\"l\">%s%s</td><td>%s</td><td>%s</td><td>%s</td>"
                  "<td>%" APR_UINT64_T_FMT "</td><td>%s</td></tr>\n",
                  mw_format_duration(p, mw_view_seconds(v->now, e->time)),
                  e->pid, e->slot, mw_reason_name(e->reason),
                  e->dry_run ? " (would recycle)" : "",
                  mw_format_size(p, e->rss), mw_format_size(p, e->growth),
                  size_or_dash(p, e->private_bytes), e->requests,
                  mw_format_duration(p, mw_view_seconds(e->time,
                                                        e->started)));
    }
    mw_puts(out, "</table>\n");
}

static void exited_table(mw_out_t *out, const mw_view_t *v, apr_pool_t *p)
{
    int i;

    mw_puts(out, "<h2>Recently exited children</h2>");
    if (!v->exited->nelts) {
        mw_puts(out, "<p>None.</p>\n");
        return;
    }
    mw_puts(out, "<table class=\"exited\"><tr><th>PID</th><th>Slot</th>"
                 "<th>Exited</th><th>Lifetime</th><th>Requests</th>"
                 "<th>Last RSS</th><th>Peak</th><th class=\"l\">Why</th>"
                 "</tr>\n");
    for (i = 0; i < v->exited->nelts; i++) {
        const mw_exit_view_t *e =
            &APR_ARRAY_IDX(v->exited, i, mw_exit_view_t);
        mw_printf(out, "<tr><td>%u</td><td>%u</td><td>%s ago</td><td>%s</td>"
                  "<td>%" APR_UINT64_T_FMT "</td><td>%s</td><td>%s</td>"
                  "<td class=\"l\">%s</td></tr>\n", e->pid, e->slot,
                  mw_format_duration(p, mw_view_seconds(v->now, e->exited)),
                  mw_format_duration(p, mw_view_seconds(e->exited,
                                                        e->started)),
                  e->requests, mw_format_size(p, e->rss),
                  mw_format_size(p, e->rss_peak),
                  mw_exit_name(e->exit, e->reason));
    }
    mw_puts(out, "</table>\n");
}

static void overview(mw_out_t *out, const mw_view_t *v, apr_pool_t *p,
                     const mw_html_opts_t *o, int missing_child)
{
    series_t *series = apr_pcalloc(p, sizeof(series_t)
                                      * (apr_size_t)(v->children->nelts + 1));
    int i;

    head(out, v, o, "Memory of Apache children");
    mw_puts(out, "<h1>Memory of Apache children</h1>\n");
    if (missing_child >= 0) {
        mw_printf(out, "<p class=\"note\"><strong>No live child in slot %d"
                  "</strong> (it may have been recycled): showing all "
                  "children.</p>\n", missing_child);
    }
    summary(out, v, p);
    for (i = 0; i < v->children->nelts; i++) {
        const mw_child_view_t *c =
            &APR_ARRAY_IDX(v->children, i, mw_child_view_t);
        series[i].s = with_now(p, v, c, &series[i].n);
        series[i].colour = child_colour(p, i);
    }
    mw_printf(out, "<h2>RSS over time</h2><p class=\"note\">One line per "
              "child, in the colour by its slot below%s; dashed red for "
              "recycles; a sample every %u s.</p>",
              v->children->nelts > 1 ? ", black for their total" : "",
              v->history_interval);
    chart(out, p, series, v->children->nelts, 1, v, "RSS over time");
    children_table(out, v, p, o);
    attribution_table(out, v, p);
    recycles_table(out, v, p);
    exited_table(out, v, p);
    foot(out, o);
}

static void detail(mw_out_t *out, const mw_view_t *v, apr_pool_t *p,
                   const mw_html_opts_t *o, const mw_child_view_t *c)
{
    series_t series[2];
    int k, warming;

    head(out, v, o, apr_psprintf(p, "Child in slot %u", c->slot));
    mw_printf(out, "<h1>Child in slot %u, pid %u</h1><p><a href=\"",
              c->slot, c->pid);
    mw_put_html_path(out, o->self);
    mw_puts(out, "\">&larr; all children</a></p>\n");
    warming = c->trend.verdict == MW_VERDICT_WARMING;
    mw_printf(out, "<dl class=\"sum\"><dt>Verdict</dt><dd class=\"%s\">%s"
              "</dd><dt>Growth per request</dt><dd>%s</dd>"
              "<dt>Growth per minute</dt><dd>%s</dd>"
              "<dt>Trend window</dt><dd>%u points over %" APR_UINT64_T_FMT
              " requests; fitted rise %s</dd>"
              "<dt>Age</dt><dd>%s, %" APR_UINT64_T_FMT " requests</dd>"
              "<dt>RSS</dt><dd>%s now, %s peak, %s baseline (%s growth)</dd>"
              "<dt>Private / shared</dt><dd>%s / %s</dd>"
              "<dt>PSS</dt><dd>%s</dd>"
              "<dt>State</dt><dd class=\"%s\">%s</dd></dl>\n",
              mw_verdict_name(c->trend.verdict),
              mw_verdict_name(c->trend.verdict),
              warming ? "&ndash; (not enough requests since warm-up yet)"
                      : apr_psprintf(p, "%.1f B", c->trend.per_request),
              warming ? "&ndash;"
                      : mw_format_ssize(p, mw_view_double_i64(
                                               c->trend.per_minute)),
              c->trend.points, c->trend.window_requests,
              mw_format_ssize(p, mw_view_double_i64(c->trend.recent_rise)),
              mw_format_duration(p, mw_view_seconds(v->now, c->started)),
              c->requests, mw_format_size(p, c->rss),
              mw_format_size(p, c->rss_peak),
              mw_format_size(p, c->baseline_rss),
              mw_format_ssize(p, c->growth),
              size_with_age(p, v, c->private_bytes, c->private_time),
              size_or_dash(p, c->shared_bytes),
              size_or_dash(p, c->pss_bytes), state_class(c->state),
              mw_state_name(c->state));
    mw_printf(out, "<dl class=\"sum\"><dt>Request pool</dt><dd>%s peak, "
              "%s mean</dd><dt>Connection pool</dt><dd>%s peak, grew by up "
              "to %s over one keep-alive connection</dd><dt>While "
              "streaming</dt><dd>request and connection pools grew by up to "
              "%s while one response was still flowing</dd></dl>\n",
              size_or_dash(p, c->request_pool_peak),
              size_or_dash(p, c->request_pool_mean),
              size_or_dash(p, c->connection_pool_peak),
              size_or_dash(p, c->connection_pool_growth_peak),
              size_or_dash(p, c->stream_pool_growth_peak));
    series[0].s = series[1].s = with_now(p, v, c, &series[0].n);
    series[1].n = series[0].n;
    series[0].field = 0;
    series[1].field = 1;
    series[0].colour = colours[0];
    series[1].colour = colours[1];
    mw_puts(out, "<h2>RSS (blue) and private (orange) over time</h2>");
    chart(out, p, series, 2, 0, v, "RSS and private memory over time");
    mw_puts(out, "<h2>History</h2><table class=\"history\"><tr><th>When</th>"
                 "<th>Requests</th><th>RSS</th><th>Private</th>"
                 "<th>Shared</th><th>Req pool peak</th>"
                 "<th>Conn pool peak</th></tr>\n");
    for (k = c->nhistory - 1; k >= 0; k--) {
        const mw_view_sample_t *s = &c->history[k];
        mw_printf(out, "<tr><td>%s ago</td><td>%" APR_UINT64_T_FMT "</td>"
                  "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                  "</tr>\n",
                  mw_format_duration(p, mw_view_seconds(v->now, s->time)),
                  s->requests, mw_format_size(p, s->rss),
                  size_or_dash(p, s->private_bytes),
                  size_or_dash(p, s->shared_bytes),
                  size_or_dash(p, s->request_pool_peak),
                  size_or_dash(p, s->connection_pool_peak));
    }
    mw_puts(out, "</table>\n");
    foot(out, o);
}

void mw_render_html(mw_out_t *out, const mw_view_t *v, apr_pool_t *p,
                    const mw_html_opts_t *o)
{
    const mw_child_view_t *c = NULL;

    if (o->child >= 0) {
        c = mw_view_child(v, (apr_uint32_t)o->child);
    }
    if (c) {
        detail(out, v, p, o, c);
    }
    else {
        overview(out, v, p, o, o->child);
    }
}

void mw_render_status_section(mw_out_t *out, const mw_view_t *v,
                              apr_pool_t *p, int short_report)
{
    apr_uint64_t recycles = 0;
    int i, leaking = 0;

    for (i = MW_REASON_GROWTH; i < MW_REASON_COUNT; i++) {
        recycles += v->recycles_total[i];
    }
    for (i = 0; i < v->children->nelts; i++) {
        leaking += APR_ARRAY_IDX(v->children, i, mw_child_view_t)
                       .trend.verdict == MW_VERDICT_LEAKING;
    }
    if (short_report) {
        mw_printf(out, "MemwatchTotalRSS: %" APR_UINT64_T_FMT "\n"
                  "MemwatchMaxRSS: %" APR_UINT64_T_FMT "\n"
                  "MemwatchLeaking: %d\nMemwatchRetiring: %u\n"
                  "MemwatchRecycles: %" APR_UINT64_T_FMT "\n",
                  v->rss_total, v->rss_max, leaking, v->retiring, recycles);
        return;
    }
    mw_printf(out, "<hr /><h2>Memory (mod_memwatch)</h2>\n<dl><dt>Children "
              "use %s in total, the largest %s.</dt><dt>%d leaking, %u "
              "retiring, %" APR_UINT64_T_FMT " recycled for memory.</dt>"
              "</dl>\n", mw_format_size(p, v->rss_total),
              mw_format_size(p, v->rss_max), leaking, v->retiring, recycles);
}
