/* Licensed under the Apache License, Version 2.0. */

/* The page a person reads: summary, an SVG chart of RSS over time
 * (mw_render_chart.c), one row per child, growth attribution, recycles and
 * exited children; and a detail view per child. Inline CSS and SVG only:
 * no scripts, no fonts. */

#include <math.h>

#include "mw_render_chart.h"

#ifdef MW_SHM_H
#error "renderers read mw_view only, never the shared-memory layout"
#endif

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
        ".fragmented{color:#b60;font-weight:bold}"
        ".plateau{color:#070}.note{color:#555}"
        "dl.sum{display:grid;grid-template-columns:max-content auto;"
        "gap:2px 16px}dl.sum dt{font-weight:bold}dl.sum dd{margin:0}"
        "svg text{font:11px sans-serif;fill:#444}"
        ".age{color:#777;font-size:.85em}"
        ".sw{display:inline-block;width:.8em;height:.8em;"
        "vertical-align:middle}form.recycle{display:inline;margin:0}"
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


static void html_psi(mw_out_t *out, const char *line, apr_uint32_t avg10)
{
    if (avg10 != MW_PSI_UNKNOWN) {
        mw_printf(out, "; pressure %s %u.%02u%%", line, avg10 / 100,
                  avg10 % 100);
    }
}

/* The memory cgroup, pressure and the machine's memory. */
static void html_memory(mw_out_t *out, const mw_view_t *v, apr_pool_t *p)
{
    const mw_cgroup_figures_t *f = &v->cgroup_figures;

    mw_puts(out, "<dt>Memory</dt><dd>");
    if (v->cgroup && v->cgroup->version != MW_CGROUP_NONE) {
        mw_puts(out, "cgroup ");
        mw_put_html_text(out, v->cgroup->path);
        mw_printf(out, " (v%d): %s used of %s", (int)v->cgroup->version,
                  size_or_dash(p, f->usage_bytes),
                  f->limit_bytes == MW_UNKNOWN
                  ? "no limit" : mw_format_size(p, f->limit_bytes));
        if (f->high_bytes != MW_UNKNOWN) {
            mw_printf(out, " (high %s)", mw_format_size(p, f->high_bytes));
        }
        if (f->oom_kills != MW_UNKNOWN) {
            mw_printf(out, ", %" APR_UINT64_T_FMT " OOM kill%s",
                      f->oom_kills, f->oom_kills == 1 ? "" : "s");
        }
    }
    else {
        mw_puts(out, "no memory cgroup");
    }
    if (v->mem_total) {
        mw_printf(out, "; machine %s", mw_format_size(p, v->mem_total));
    }
    html_psi(out, "some", f->pressure_some_avg10);
    html_psi(out, "full", f->pressure_full_avg10);
    if (f->pressure_some_avg10 != MW_PSI_UNKNOWN) {
        mw_printf(out, " (the %s's, avg10)",
                  f->pressure_of_group ? "cgroup" : "machine");
    }
    mw_puts(out, "</dd>");
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
              "<dt title=\"swap included\">Total private</dt><dd>%s"
              " (swap %s)</dd>"
              "<dt title=\"proportional set size: shared pages divided "
              "among the processes sharing them\">Total PSS</dt><dd>%s</dd>"
              "<dt>Recycled</dt><dd>%" APR_UINT64_T_FMT
              " (%u retiring now, at most %u at once)</dd>",
              v->generation, v->children->nelts, v->server_limit,
              mw_format_size(p, v->rss_total), mw_format_size(p, v->rss_max),
              size_or_dash(p, v->private_total),
              size_or_dash(p, v->swap_total),
              size_or_dash(p, v->pss_total), recycles, v->retiring,
              v->max_retiring);
    mw_puts(out, "<dt>Limits</dt><dd>");
    if (!mw_view_limits_set(v)) {
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
            const char *off = mw_view_max_rss_off(v);

            mw_printf(out, "%sRSS &gt; %s%s%s%s", sep,
                      mw_format_size(p, v->limits.max_rss),
                      off ? " <strong>(" : "", off ? off : "",
                      off ? ")</strong>" : "");
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
            sep = "; ";
        }
        if (v->max_total_private) {
            mw_printf(out, "%sall children's private &gt; %s", sep,
                      mw_format_size(p, v->max_total_private));
            if (v->max_total_private_percent) {
                mw_printf(out, " (%u%%)", v->max_total_private_percent);
            }
            mw_printf(out, " (now %s)", size_or_dash(p, v->private_total));
            sep = "; ";
        }
        if (v->pressure) {
            mw_printf(out, "%smemory pressure (%s avg10) &gt; %u.%02u%%", sep,
                      v->pressure, v->pressure_threshold / 100,
                      v->pressure_threshold % 100);
        }
        if (v->jitter) {
            mw_printf(out, " (&plusmn;%u%% per child)", v->jitter);
        }
        if (v->dry_run) {
            mw_puts(out, "; <strong>dry run: nothing is recycled</strong>");
        }
    }
    mw_puts(out, "</dd>");
    if (v->trim || v->trims_total) {
        mw_printf(out, "<dt title=\"MemwatchTrim: malloc_trim before a child "
                  "retires for an RSS limit\">Trims</dt><dd>%"
                  APR_UINT64_T_FMT " (%" APR_UINT64_T_FMT " left the child "
                  "under its limits), %s given back</dd>", v->trims_total,
                  v->trim_kept_total,
                  mw_format_size(p, v->trim_reclaimed_total));
    }
    html_memory(out, v, p);
    mw_puts(out, "</dl>\n");
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
    if (v->heap_unavailable) {
        mw_puts(out, "<p class=\"note\">malloc's figures not available: ");
        mw_put_html_text(out, v->heap_unavailable);
        mw_puts(out, "</p>\n");
    }
}

/* "limit in about 4m 0s" for a leaking child with a forecast, else "". */
static const char *forecast_text(apr_pool_t *p, const mw_child_view_t *c)
{
    apr_uint64_t s = c->forecast.seconds;

    if (s == MW_UNKNOWN) {
        return "";
    }
    return s ? apr_pstrcat(p, "limit in about ",
                           mw_format_duration(p, (apr_int64_t)s), NULL)
             : "at its limit";
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

/* MemwatchAllowRecycle: a button that recycles child c, which serves past
 * its warm-up and is not leaving yet. The form posts back to this page
 * (the detail view's own when in_detail); its token binds it to this
 * child and generation. */
static void recycle_form(mw_out_t *out, const mw_view_t *v, apr_pool_t *p,
                         const mw_html_opts_t *o, const mw_child_view_t *c,
                         int in_detail)
{
    if (!v->recycle_token
        || (c->state != MW_STATE_OK && c->state != MW_STATE_WAITING)) {
        return;
    }
    mw_puts(out, "<form class=\"recycle\" method=\"post\" action=\"");
    mw_put_html_path(out, o->self);
    if (in_detail) {
        mw_printf(out, "?child=%u", c->slot);
    }
    mw_printf(out, "\"><input type=\"hidden\" name=\"recycle\" "
              "value=\"%u\"><input type=\"hidden\" name=\"pid\" "
              "value=\"%u\"><input type=\"hidden\" name=\"token\" value=\"",
              c->slot, c->pid);
    mw_put_html_text(out, v->recycle_token(p, c->slot, c->pid));
    mw_printf(out, "\"><button type=\"submit\" title=\"retire pid %u "
              "gracefully, as a limit would\">recycle</button></form>",
              c->pid);
}

static void children_table(mw_out_t *out, const mw_view_t *v, apr_pool_t *p,
                           const mw_html_opts_t *o)
{
    int i;

    mw_printf(out, "<h2>Children</h2><table class=\"children\"><tr>"
        "<th title=\"mod_memwatch's own table slot, not mod_status's\">"
        "Slot</th><th>PID</th><th>Age</th><th>Requests</th>"
        "<th>Conns</th><th>RSS</th><th>Peak</th><th>Baseline</th>"
        "<th>Growth</th><th>Private</th><th>Shared</th>"
        "<th title=\"malloc's bytes in use / free but kept, over all its "
        "arenas\">Heap in use / free</th>"
        "<th>Req pool peak / mean</th>"
        "<th title=\"connection pool peak / largest growth within one "
        "connection\">Conn pool</th><th>Growth/req</th>"
        "<th class=\"l\">Verdict</th><th class=\"l\">State</th>%s</tr>\n",
        v->recycle_token ? "<th class=\"l\">Recycle</th>" : "");
    for (i = 0; i < v->children->nelts; i++) {
        const mw_child_view_t *c =
            &APR_ARRAY_IDX(v->children, i, mw_child_view_t);
        const char *verdict = mw_verdict_name(c->trend.verdict);

        mw_printf(out, "<tr><td><span class=\"sw\" style=\"background:%s\">"
                  "</span> <a href=\"", mw_chart_colour(p, i));
        mw_put_html_path(out, o->self);
        mw_printf(out, "?child=%u\">%u</a></td><td>%u</td><td>%s</td>"
                  "<td>%" APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT
                  "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                  "<td>%s</td><td>%s</td><td>%s / %s</td><td>%s / %s</td>"
                  "<td>%s / %s</td>",
                  c->slot, c->slot, c->pid,
                  mw_format_duration(p, mw_view_seconds(v->now, c->started)),
                  c->requests, c->connections, mw_format_size(p, c->rss),
                  mw_format_size(p, c->rss_peak),
                  mw_format_size(p, c->baseline_rss),
                  mw_format_ssize(p, c->growth),
                  size_with_age(p, v, c->private_bytes, c->private_time),
                  size_or_dash(p, c->shared_bytes),
                  size_or_dash(p, c->heap_in_use),
                  size_or_dash(p, c->heap_free),
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
        mw_printf(out, "<td class=\"l %s\">%s", verdict, verdict);
        if (c->forecast.seconds != MW_UNKNOWN) {
            mw_printf(out, ", %s", forecast_text(p, c));
        }
        mw_printf(out, "</td><td class=\"l %s\">%s",
                  state_class(c->state),
                  mw_state_name(c->state));
        if (c->state == MW_STATE_EXITING) {
            mw_printf(out, " for %s", mw_format_duration(
                          p, mw_view_seconds(v->now, c->exiting_since)));
        }
        else if (c->reason != MW_REASON_NONE) {
            mw_printf(out, " (%s)", mw_reason_name(c->reason));
        }
        if (v->recycle_token) {
            mw_puts(out, "</td><td class=\"l\">");
            recycle_form(out, v, p, o, c, 0);
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

/* "heap +14 MiB": a grower's class and the larger of its resident and
 * private growth, which ranked it (and is more than 0). */
static const char *mapping_short(apr_pool_t *p, const mw_mapping_view_t *m)
{
    return apr_pstrcat(p, mw_mapping_class_name(m->mclass), " +",
                       mw_format_ssize(p, m->rss_growth > m->private_growth
                                          ? m->rss_growth
                                          : m->private_growth), NULL);
}

/* A recycle's growth by mapping in one cell: the top grower, and all of
 * them with their names in its title. */
static void recycle_mapping_cell(mw_out_t *out, apr_pool_t *p,
                                 const mw_recycle_view_t *e)
{
    int k;

    if (!e->nmapping) {
        mw_printf(out, "<td class=\"l\">%s</td>",
                  e->mapping_read ? "nothing grew" : "&ndash;");
        return;
    }
    mw_puts(out, "<td class=\"l\" title=\"");
    for (k = 0; k < e->nmapping; k++) {
        const mw_mapping_view_t *m = &e->mapping[k];

        mw_printf(out, "%s%s ", k ? "; " : "",
                  mw_mapping_class_name(m->mclass));
        mw_put_html_text(out, m->name);
        mw_printf(out, ": %s resident, %s private",
                  mw_format_ssize(p, m->rss_growth),
                  mw_format_ssize(p, m->private_growth));
    }
    mw_printf(out, "\">%s</td>", mapping_short(p, &e->mapping[0]));
}

/* The child page: what grew since warm-up, by mapping. */
static void mapping_table(mw_out_t *out, const mw_view_t *v, apr_pool_t *p,
                          const mw_child_view_t *c)
{
    int k;

    mw_puts(out, "<h2>Growth by mapping since warm-up</h2>");
    if (!c->mapping_time) {
        mw_printf(out, "<p class=\"note\">Not read yet. %s</p>\n",
                  c->state == MW_STATE_WARMING
                  ? "A child reads its mappings once it has warmed up."
                  : "This page asked the child to read its mappings (at "
                    "most every few seconds): a worker or event child "
                    "does within a second, a prefork child at its next "
                    "request. Reload to see them.");
        return;
    }
    mw_printf(out, "<p class=\"note\">From /proc/PID/smaps, read %s ago "
              "(at most every few seconds, when this page asks); the "
              "classes and names that grew most.</p>",
              mw_format_duration(p, mw_view_seconds(v->now,
                                                    c->mapping_time)));
    if (!c->nmapping) {
        mw_puts(out, "<p>Nothing grew.</p>\n");
        return;
    }
    mw_puts(out, "<table class=\"mapping\"><tr><th class=\"l\">Class</th>"
                 "<th class=\"l\">Name</th><th>RSS growth</th>"
                 "<th>Private growth</th></tr>\n");
    for (k = 0; k < c->nmapping; k++) {
        const mw_mapping_view_t *m = &c->mapping[k];

        mw_printf(out, "<tr><td class=\"l\">%s</td><td class=\"l\">",
                  mw_mapping_class_name(m->mclass));
        mw_put_html_text(out, m->name);
        mw_printf(out, "</td><td>%s</td><td>%s</td></tr>\n",
                  mw_format_ssize(p, m->rss_growth),
                  mw_format_ssize(p, m->private_growth));
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
                 "<th>Lifetime</th><th class=\"l\">Top growth</th>"
                 "</tr>\n");
    for (i = 0; i < v->recycles->nelts; i++) {
        const mw_recycle_view_t *e =
            &APR_ARRAY_IDX(v->recycles, i, mw_recycle_view_t);
        mw_printf(out, "<tr><td>%s ago</td><td>%u</td><td>%u</td>"
                  "<td class=\"l\">%s%s</td><td>%s</td><td>%s</td><td>%s</td>"
                  "<td>%" APR_UINT64_T_FMT "</td><td>%s</td>",
                  mw_format_duration(p, mw_view_seconds(v->now, e->time)),
                  e->pid, e->slot, mw_reason_name(e->reason),
                  e->dry_run ? " (would recycle)" : "",
                  mw_format_size(p, e->rss), mw_format_size(p, e->growth),
                  size_or_dash(p, e->private_bytes), e->requests,
                  mw_format_duration(p, mw_view_seconds(e->time,
                                                        e->started)));
        recycle_mapping_cell(out, p, e);
        mw_puts(out, "</tr>\n");
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
    mw_chart_series_t *series = apr_pcalloc(p, sizeof(*series)
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
        series[i].s = mw_chart_with_now(p, v, c, &series[i].n);
        series[i].colour = mw_chart_colour(p, i);
    }
    mw_printf(out, "<h2>RSS over time</h2><p class=\"note\">One line per "
              "child, in the colour by its slot below%s; dashed red for "
              "recycles; a sample every %u s.</p>",
              v->children->nelts > 1 ? ", black for their total" : "",
              v->history_interval);
    mw_chart(out, p, series, v->children->nelts, 1, v, "RSS over time");
    children_table(out, v, p, o);
    attribution_table(out, v, p);
    recycles_table(out, v, p);
    exited_table(out, v, p);
    foot(out, o);
}

/* malloc's view of the child: its figures, what they did over the trend
 * window beside RSS, and its trims. */
static void heap_detail(mw_out_t *out, const mw_view_t *v, apr_pool_t *p,
                        const mw_child_view_t *c)
{
    mw_printf(out, "<dl class=\"sum\"><dt title=\"mallinfo2, over all "
              "arenas\">Heap (malloc)</dt><dd>%s in use, %s free but kept"
              "</dd>", size_with_age(p, v, c->heap_in_use, c->heap_time),
              size_or_dash(p, c->heap_free));
    if (!isnan(c->trend.heap_rise)) {
        mw_printf(out, "<dt>Heap over the trend</dt><dd>in use changed by "
                  "%s and free by %s while RSS changed by %s</dd>",
                  mw_format_ssize(p, mw_view_double_i64(c->trend.heap_rise)),
                  mw_format_ssize(p, mw_view_double_i64(
                                         c->trend.heap_free_rise)),
                  mw_format_ssize(p, mw_view_double_i64(
                                         c->trend.rss_rise_then)));
    }
    if (v->trim || c->trims) {
        mw_printf(out, "<dt>Trims</dt><dd>%" APR_UINT64_T_FMT ", %s given "
                  "back</dd>", c->trims, mw_format_size(p, c->trim_reclaimed));
    }
    mw_puts(out, "</dl>\n");
}

static void detail(mw_out_t *out, const mw_view_t *v, apr_pool_t *p,
                   const mw_html_opts_t *o, const mw_child_view_t *c)
{
    mw_chart_series_t series[2];
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
              "<dt>Trend window</dt><dd>%u points over %s; fitted rise "
              "%s</dd>"
              "<dt>Age</dt><dd>%s, %" APR_UINT64_T_FMT " requests</dd>"
              "<dt>RSS</dt><dd>%s now, %s peak, %s baseline (%s growth)</dd>"
              "<dt>Private / shared</dt><dd>%s / %s</dd>"
              "<dt>Swap</dt><dd>%s (counted in private)</dd>"
              "<dt>PSS</dt><dd>%s</dd>"
              "<dt>State</dt><dd class=\"%s\">%s</dd></dl>\n",
              mw_verdict_name(c->trend.verdict),
              mw_verdict_name(c->trend.verdict),
              warming ? "&ndash; (not enough requests since warm-up yet)"
                      : apr_psprintf(p, "%.1f B", c->trend.per_request),
              warming ? "&ndash;"
                      : mw_format_ssize(p, mw_view_double_i64(
                                               c->trend.per_minute)),
              c->trend.points,
              c->trend.window_requests
              ? apr_psprintf(p, "%" APR_UINT64_T_FMT " requests",
                             c->trend.window_requests)
              : "no requests yet",
              mw_format_ssize(p, mw_view_double_i64(c->trend.recent_rise)),
              mw_format_duration(p, mw_view_seconds(v->now, c->started)),
              c->requests, mw_format_size(p, c->rss),
              mw_format_size(p, c->rss_peak),
              mw_format_size(p, c->baseline_rss),
              mw_format_ssize(p, c->growth),
              size_with_age(p, v, c->private_bytes, c->private_time),
              size_or_dash(p, c->shared_bytes),
              size_or_dash(p, c->swap_bytes),
              size_or_dash(p, c->pss_bytes), state_class(c->state),
              mw_state_name(c->state));
    recycle_form(out, v, p, o, c, 1);
    heap_detail(out, v, p, c);
    if (c->forecast.seconds != MW_UNKNOWN
        || c->forecast.requests != MW_UNKNOWN) {
        mw_printf(out, "<dl class=\"sum\"><dt>Forecast</dt><dd>%s%s%s"
                  " (%s), at the rates above</dd></dl>\n",
                  forecast_text(p, c),
                  c->forecast.seconds != MW_UNKNOWN ? ", " : "limit in ",
                  c->forecast.requests == MW_UNKNOWN ? "&ndash; requests"
                  : apr_psprintf(p, "%" APR_UINT64_T_FMT " requests",
                                 c->forecast.requests),
                  mw_reason_name(c->forecast.limit));
    }
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
    mapping_table(out, v, p, c);
    series[0].s = series[1].s = mw_chart_with_now(p, v, c, &series[0].n);
    series[1].n = series[0].n;
    series[0].field = 0;
    series[1].field = 1;
    series[0].colour = mw_chart_colour(p, 0);
    series[1].colour = mw_chart_colour(p, 1);
    mw_puts(out, "<h2>RSS (blue) and private (orange) over time</h2>");
    mw_chart(out, p, series, 2, 0, v, "RSS and private memory over time");
    mw_puts(out, "<h2>History</h2><table class=\"history\"><tr><th>When</th>"
                 "<th>Requests</th><th>RSS</th><th>Private</th>"
                 "<th>Shared</th><th>Req pool peak</th>"
                 "<th>Conn pool peak</th></tr>\n");
    for (k = c->nhistory - 1; k >= 0; k--) {
        const mw_sample_t *s = &c->history[k];
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
    int i, leaking = 0, fragmented = 0;

    for (i = MW_REASON_GROWTH; i < MW_REASON_COUNT; i++) {
        recycles += v->recycles_total[i];
    }
    for (i = 0; i < v->children->nelts; i++) {
        mw_verdict_e verdict = APR_ARRAY_IDX(v->children, i,
                                             mw_child_view_t).trend.verdict;

        leaking += verdict == MW_VERDICT_LEAKING;
        fragmented += verdict == MW_VERDICT_FRAGMENTED;
    }
    if (short_report) {
        mw_printf(out, "MemwatchTotalRSS: %" APR_UINT64_T_FMT "\n"
                  "MemwatchLargestRSS: %" APR_UINT64_T_FMT "\n"
                  "MemwatchLeaking: %d\nMemwatchFragmented: %d\n"
                  "MemwatchRetiring: %u\n"
                  "MemwatchRecycles: %" APR_UINT64_T_FMT "\n",
                  v->rss_total, v->rss_max, leaking, fragmented,
                  v->retiring, recycles);
        return;
    }
    mw_printf(out, "<hr /><h2>Memory (mod_memwatch)</h2>\n<dl><dt>Children "
              "use %s in total, the largest %s.</dt><dt>%d leaking, %d "
              "fragmented, %u retiring, %" APR_UINT64_T_FMT " recycled for "
              "memory.</dt></dl>\n", mw_format_size(p, v->rss_total),
              mw_format_size(p, v->rss_max), leaking, fragmented,
              v->retiring, recycles);
}
