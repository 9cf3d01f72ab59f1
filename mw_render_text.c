/* Licensed under the Apache License, Version 2.0. */

/* The machine formats: JSON, mod_status-style ?auto and Prometheus. */

#include <math.h>
#include <stddef.h>

#include "mw_render.h"

#ifdef MW_SHM_H
#error "renderers read mw_view only, never the shared-memory layout"
#endif

/* ---- JSON ---- */

static void json_u64(mw_out_t *out, const char *name, apr_uint64_t v,
                     int comma)
{
    if (v == MW_UNKNOWN) {
        mw_printf(out, "\"%s\":null%s", name, comma ? "," : "");
    }
    else {
        mw_printf(out, "\"%s\":%" APR_UINT64_T_FMT "%s", name, v,
                  comma ? "," : "");
    }
}

static void json_limit(mw_out_t *out, const char *name, apr_uint64_t v)
{
    json_u64(out, name, v ? v : MW_UNKNOWN, 1);
}

/* A PSI avg10 in hundredths of a percent as a JSON number, or null. */
static void json_psi(mw_out_t *out, const char *name, apr_uint32_t v)
{
    if (v == MW_PSI_UNKNOWN) {
        mw_printf(out, "\"%s\":null,", name);
    }
    else {
        mw_printf(out, "\"%s\":%u.%02u,", name, v / 100, v % 100);
    }
}

static int cgroup_found(const mw_view_t *v)
{
    return v->cgroup && v->cgroup->version != MW_CGROUP_NONE;
}

/* The memory cgroup, the pressure and the machine's memory. */
static void json_cgroup(mw_out_t *out, const mw_view_t *v)
{
    const mw_cgroup_figures_t *f = &v->cgroup_figures;

    mw_puts(out, "\"cgroup\":{\"path\":");
    mw_put_json_string(out, cgroup_found(v) ? v->cgroup->path : NULL);
    mw_printf(out, ",\"version\":%d,",
              cgroup_found(v) ? (int)v->cgroup->version : 0);
    json_u64(out, "limit_bytes", f->limit_bytes, 1);
    json_u64(out, "high_bytes", f->high_bytes, 1);
    json_u64(out, "usage_bytes", f->usage_bytes, 1);
    json_u64(out, "oom_kills", f->oom_kills, 1);
    json_u64(out, "fail_count", f->fail_count, 1);
    json_psi(out, "pressure_some_avg10", f->pressure_some_avg10);
    json_psi(out, "pressure_full_avg10", f->pressure_full_avg10);
    mw_printf(out, "\"pressure_of\":\"%s\"},",
              f->pressure_of_group ? "cgroup" : "machine");
    json_u64(out, "memory_total_bytes", v->mem_total ? v->mem_total
                                                     : MW_UNKNOWN, 1);
}

/* A byte count a double holds (the trend's), whole, or null when not
 * known (NaN). */
static void json_bytes_double(mw_out_t *out, const char *name, double v)
{
    if (isnan(v)) {
        mw_printf(out, "\"%s\":null,", name);
    }
    else {
        mw_printf(out, "\"%s\":%" APR_INT64_T_FMT ",", name,
                  mw_view_double_i64(v));
    }
}

/* Figures added for alerting: PSS, the age of private/shared, and
 * whether the child is exiting; malloc's figures and the trims. */
static void json_child_extra(mw_out_t *out, const mw_child_view_t *c)
{
    mw_puts(out, ",");
    json_u64(out, "pss_bytes", c->pss_bytes, 1);
    json_u64(out, "swap_bytes", c->swap_bytes, 1);
    mw_printf(out, "\"private_time\":%" APR_INT64_T_FMT ",\"exiting\":%s,",
              c->private_time ? apr_time_sec(c->private_time) : 0,
              c->exiting ? "true" : "false");
    json_u64(out, "heap_in_use_bytes", c->heap_in_use, 1);
    json_u64(out, "heap_free_bytes", c->heap_free, 1);
    mw_printf(out, "\"heap_time\":%" APR_INT64_T_FMT ",",
              c->heap_time ? apr_time_sec(c->heap_time) : 0);
    json_bytes_double(out, "trend_heap_in_use_rise_bytes",
                      c->trend.heap_rise);
    json_bytes_double(out, "trend_heap_free_rise_bytes",
                      c->trend.heap_free_rise);
    json_bytes_double(out, "trend_rss_rise_bytes", c->trend.rss_rise_then);
    json_u64(out, "trims", c->trims, 1);
    json_u64(out, "trim_reclaimed_bytes", c->trim_reclaimed, 0);
}

static void json_child(mw_out_t *out, const mw_view_t *v,
                       const mw_child_view_t *c)
{
    int k, warming = c->trend.verdict == MW_VERDICT_WARMING;

    mw_printf(out, "{\"slot\":%u,\"pid\":%u,\"generation\":%u,"
              "\"started\":%" APR_INT64_T_FMT ",",
              c->slot, c->pid, c->generation, apr_time_sec(c->started));
    json_u64(out, "requests", c->requests, 1);
    json_u64(out, "connections", c->connections, 1);
    json_u64(out, "rss_bytes", c->rss, 1);
    json_u64(out, "rss_peak_bytes", c->rss_peak, 1);
    json_u64(out, "baseline_rss_bytes", c->baseline_rss, 1);
    mw_printf(out, "\"growth_bytes\":%" APR_INT64_T_FMT ",", c->growth);
    json_u64(out, "private_bytes", c->private_bytes, 1);
    json_u64(out, "shared_bytes", c->shared_bytes, 1);
    json_u64(out, "request_pool_peak_bytes", c->request_pool_peak, 1);
    json_u64(out, "request_pool_mean_bytes", c->request_pool_mean, 1);
    json_u64(out, "connection_pool_peak_bytes", c->connection_pool_peak, 1);
    json_u64(out, "connection_pool_growth_bytes",
             c->connection_pool_growth_peak, 1);
    json_u64(out, "stream_pool_growth_bytes", c->stream_pool_growth_peak, 1);
    mw_puts(out, "\"state\":");
    mw_put_json_string(out, mw_state_name(c->state));
    mw_puts(out, ",\"reason\":");
    mw_put_json_string(out, c->reason == MW_REASON_NONE
                            ? NULL : mw_reason_name(c->reason));
    if (c->state == MW_STATE_EXITING) {
        mw_printf(out, ",\"exiting_seconds\":%" APR_INT64_T_FMT,
                  mw_view_seconds(v->now, c->exiting_since));
    }
    else {
        mw_puts(out, ",\"exiting_seconds\":null");
    }
    mw_puts(out, ",\"limits\":{");
    json_limit(out, "max_growth_bytes", c->limits.max_growth);
    json_limit(out, "max_rss_bytes", c->limits.max_rss);
    json_limit(out, "max_private_bytes", c->limits.max_private);
    json_u64(out, "min_shared_bytes",
             c->limits.min_shared ? c->limits.min_shared : MW_UNKNOWN, 1);
    mw_printf(out, "\"max_rss_off\":%s", c->max_rss_off ? "true" : "false");
    mw_puts(out, "},\"verdict\":");
    mw_put_json_string(out, mw_verdict_name(c->trend.verdict));
    if (warming) {
        mw_puts(out, ",\"growth_per_request_bytes\":null"
                     ",\"growth_per_minute_bytes\":null");
    }
    else {
        mw_printf(out, ",\"growth_per_request_bytes\":%.1f"
                  ",\"growth_per_minute_bytes\":%.0f",
                  c->trend.per_request, c->trend.per_minute);
    }
    mw_printf(out, ",\"trend_points\":%u,\"trend_window_requests\":%"
              APR_UINT64_T_FMT, c->trend.points, c->trend.window_requests);
    mw_puts(out, ",");
    json_u64(out, "seconds_to_limit", c->forecast.seconds, 1);
    json_u64(out, "requests_to_limit", c->forecast.requests, 0);
    json_child_extra(out, c);
    if (!c->history) {          /* asked for with ?json&history only */
        mw_puts(out, "}");
        return;
    }
    mw_puts(out, ",\"history\":[");
    for (k = 0; k < c->nhistory; k++) {
        const mw_sample_t *s = &c->history[k];
        mw_printf(out, "%s{\"time\":%" APR_INT64_T_FMT ",", k ? "," : "",
                  apr_time_sec(s->time));
        json_u64(out, "rss_bytes", s->rss, 1);
        json_u64(out, "private_bytes", s->private_bytes, 1);
        json_u64(out, "shared_bytes", s->shared_bytes, 1);
        json_u64(out, "requests", s->requests, 1);
        json_u64(out, "request_pool_peak_bytes", s->request_pool_peak, 1);
        json_u64(out, "connection_pool_peak_bytes",
                 s->connection_pool_peak, 0);
        mw_puts(out, "}");
    }
    mw_puts(out, "]}");
}

static void json_attr(mw_out_t *out, const mw_attr_view_t *a)
{
    mw_puts(out, "{\"handler\":");
    mw_put_json_string(out, a->handler);
    mw_puts(out, ",\"prefix\":");
    mw_put_json_string(out, a->prefix);
    mw_printf(out, ",\"requests\":%" APR_UINT64_T_FMT
              ",\"growth_bytes\":%" APR_UINT64_T_FMT
              ",\"growth_per_request_bytes\":%.1f"
              ",\"request_pool_mean_bytes\":%" APR_UINT64_T_FMT "}",
              a->requests, a->growth,
              a->requests ? (double)a->growth / (double)a->requests : 0.0,
              a->requests ? a->pool_bytes / a->requests : 0);
}

/* A recycle's growth by mapping: what grew most, or null if not read. */
static void json_mapping(mw_out_t *out, const mw_recycle_view_t *e)
{
    int k;

    if (!e->mapping_read) {
        mw_puts(out, "\"growth_by_mapping\":null,");
        return;
    }
    mw_puts(out, "\"growth_by_mapping\":[");
    for (k = 0; k < e->nmapping; k++) {
        const mw_mapping_view_t *m = &e->mapping[k];

        mw_printf(out, "%s{\"class\":", k ? "," : "");
        mw_put_json_string(out, mw_mapping_class_name(m->mclass));
        mw_puts(out, ",\"name\":");
        mw_put_json_string(out, m->name);
        mw_printf(out, ",\"rss_growth_bytes\":%" APR_INT64_T_FMT
                  ",\"private_growth_bytes\":%" APR_INT64_T_FMT "}",
                  m->rss_growth, m->private_growth);
    }
    mw_puts(out, "],");
}

void mw_render_json(mw_out_t *out, const mw_view_t *v, apr_pool_t *p)
{
    int i;

    mw_puts(out, "{\"version\":");
    mw_put_json_string(out, v->version);
    mw_puts(out, ",\"mpm\":");
    mw_put_json_string(out, v->mpm);
    mw_printf(out, ",\"generation\":%u,\"server_limit\":%u,"
              "\"time\":%" APR_INT64_T_FMT ",\"dry_run\":%s,",
              v->generation, v->server_limit, apr_time_sec(v->now),
              v->dry_run ? "true" : "false");
    mw_puts(out, "\"damaged\":");
    mw_put_json_string(out, v->damaged);
    mw_printf(out, ",\"pools\":{\"available\":%s,\"reason\":",
              v->pools_unavailable ? "false" : "true");
    mw_put_json_string(out, v->pools_unavailable);
    mw_printf(out, "},\"private_shared\":{\"available\":%s,\"reason\":",
              v->smaps_unavailable ? "false" : "true");
    mw_put_json_string(out, v->smaps_unavailable);
    mw_printf(out, "},\"heap\":{\"available\":%s,\"reason\":",
              v->heap_unavailable ? "false" : "true");
    mw_put_json_string(out, v->heap_unavailable);
    mw_printf(out, "},\"trim\":%s,\"limits\":{",
              v->trim ? "true" : "false");
    json_limit(out, "max_growth_bytes", v->limits.max_growth);
    json_limit(out, "max_rss_bytes",
               mw_view_max_rss_off(v) ? 0 : v->limits.max_rss);
    mw_puts(out, "\"max_rss_off\":");
    mw_put_json_string(out, mw_view_max_rss_off(v));
    mw_puts(out, ",");
    json_limit(out, "max_private_bytes", v->limits.max_private);
    json_limit(out, "min_shared_bytes", v->limits.min_shared);
    json_limit(out, "max_total_private_bytes", v->max_total_private);
    if (v->max_total_private_percent) {
        mw_printf(out, "\"max_total_private_percent\":%u,",
                  v->max_total_private_percent);
    }
    else {
        mw_puts(out, "\"max_total_private_percent\":null,");
    }
    mw_puts(out, "\"pressure\":");
    if (v->pressure) {
        mw_printf(out, "{\"line\":\"%s\",\"threshold_percent\":%u.%02u},",
                  v->pressure, v->pressure_threshold / 100,
                  v->pressure_threshold % 100);
    }
    else {
        mw_puts(out, "null,");
    }
    mw_printf(out, "\"max_retiring\":%u},", v->max_retiring);
    json_cgroup(out, v);
    mw_printf(out, "\"totals\":{\"children\":%d,", v->children->nelts);
    json_u64(out, "rss_bytes", v->rss_total, 1);
    json_u64(out, "rss_max_bytes", v->rss_max, 1);
    json_u64(out, "private_bytes", v->private_total, 1);
    json_u64(out, "pss_bytes", v->pss_total, 1);
    json_u64(out, "swap_bytes", v->swap_total, 1);
    json_u64(out, "requests", v->requests_total, 1);
    json_u64(out, "connections", v->connections_total, 1);
    json_u64(out, "trims", v->trims_total, 1);
    json_u64(out, "trims_under_limit", v->trim_kept_total, 1);
    json_u64(out, "trim_reclaimed_bytes", v->trim_reclaimed_total, 1);
    mw_printf(out, "\"retiring\":%u},\"children\":[", v->retiring);
    for (i = 0; i < v->children->nelts; i++) {
        if (i) {
            mw_puts(out, ",");
        }
        json_child(out, v, &APR_ARRAY_IDX(v->children, i, mw_child_view_t));
    }
    mw_puts(out, "],\"exited\":[");
    for (i = 0; i < v->exited->nelts; i++) {
        const mw_exit_view_t *e =
            &APR_ARRAY_IDX(v->exited, i, mw_exit_view_t);
        mw_printf(out, "%s{\"pid\":%u,\"slot\":%u,\"generation\":%u,"
                  "\"started\":%" APR_INT64_T_FMT ",\"exited\":%"
                  APR_INT64_T_FMT ",\"lifetime_seconds\":%" APR_INT64_T_FMT
                  ",\"requests\":%" APR_UINT64_T_FMT ",\"connections\":%"
                  APR_UINT64_T_FMT ",\"rss_bytes\":%" APR_UINT64_T_FMT
                  ",\"rss_peak_bytes\":%" APR_UINT64_T_FMT
                  ",\"growth_bytes\":%" APR_INT64_T_FMT ",\"reason\":",
                  i ? "," : "", e->pid, e->slot, e->generation,
                  apr_time_sec(e->started), apr_time_sec(e->exited),
                  mw_view_seconds(e->exited, e->started), e->requests,
                  e->connections, e->rss, e->rss_peak, e->growth);
        mw_put_json_string(out, mw_exit_name(e->exit, e->reason));
        mw_puts(out, "}");
    }
    mw_puts(out, "],\"recycles\":[");
    for (i = 0; i < v->recycles->nelts; i++) {
        const mw_recycle_view_t *e =
            &APR_ARRAY_IDX(v->recycles, i, mw_recycle_view_t);
        mw_printf(out, "%s{\"pid\":%u,\"slot\":%u,\"time\":%" APR_INT64_T_FMT
                  ",\"reason\":", i ? "," : "", e->pid, e->slot,
                  apr_time_sec(e->time));
        mw_put_json_string(out, mw_reason_name(e->reason));
        mw_puts(out, ",");
        json_u64(out, "rss_bytes", e->rss, 1);
        json_u64(out, "growth_bytes", e->growth, 1);
        json_u64(out, "private_bytes", e->private_bytes, 1);
        json_u64(out, "shared_bytes", e->shared_bytes, 1);
        json_u64(out, "requests", e->requests, 1);
        json_mapping(out, e);
        mw_printf(out, "\"lifetime_seconds\":%" APR_INT64_T_FMT
                  ",\"dry_run\":%s}", mw_view_seconds(e->time, e->started),
                  e->dry_run ? "true" : "false");
    }
    mw_puts(out, "],\"recycles_total\":{");
    for (i = MW_REASON_GROWTH; i < MW_REASON_COUNT; i++) {
        mw_printf(out, "%s\"%s\":%" APR_UINT64_T_FMT,
                  i > MW_REASON_GROWTH ? "," : "",
                  mw_reason_name((mw_reason_e)i), v->recycles_total[i]);
    }
    mw_printf(out, "},\"would_recycle_total\":%" APR_UINT64_T_FMT
              ",\"exited_total\":%" APR_UINT64_T_FMT ",\"exited_by\":{",
              v->would_recycle_total, v->exited_total);
    for (i = MW_REASON_GROWTH; i < MW_REASON_COUNT; i++) {
        mw_printf(out, "\"%s\":%" APR_UINT64_T_FMT ",",
                  mw_exit_name(MW_EXIT_RECYCLED, (mw_reason_e)i),
                  v->exited_by[i]);
    }
    mw_printf(out, "\"%s\":%" APR_UINT64_T_FMT ",\"%s\":%" APR_UINT64_T_FMT
              "},\"attribution_depth\":%u,\"attribution\":[",
              mw_exit_name(MW_EXIT_RESTART, MW_REASON_NONE),
              v->exited_restart,
              mw_exit_name(MW_EXIT_EXITED, MW_REASON_NONE),
              v->exited_by[MW_REASON_NONE], v->attribute_depth);
    for (i = 0; i < v->attribution->nelts; i++) {
        if (i) {
            mw_puts(out, ",");
        }
        json_attr(out, &APR_ARRAY_IDX(v->attribution, i, mw_attr_view_t));
    }
    mw_puts(out, "],\"attribution_other\":");
    json_attr(out, &v->attr_other);
    mw_puts(out, "}\n");
}

/* ---- ?auto ---- */

static void auto_u64(mw_out_t *out, const char *key, apr_uint64_t v)
{
    if (v != MW_UNKNOWN) {
        mw_printf(out, "%s: %" APR_UINT64_T_FMT "\n", key, v);
    }
}

void mw_render_auto(mw_out_t *out, const mw_view_t *v, apr_pool_t *p)
{
    apr_uint64_t recycles = 0;
    int i;

    mw_printf(out, "MemwatchVersion: %s\nServerMPM: %s\nGeneration: %u\n"
              "ServerLimit: %u\nChildren: %d\n", v->version, v->mpm,
              v->generation, v->server_limit, v->children->nelts);
    auto_u64(out, "TotalRSS", v->rss_total);
    auto_u64(out, "LargestRSS", v->rss_max);
    auto_u64(out, "TotalPrivate", v->private_total);
    auto_u64(out, "TotalPSS", v->pss_total);
    auto_u64(out, "TotalSwap", v->swap_total);
    auto_u64(out, "TotalRequests", v->requests_total);
    auto_u64(out, "TotalConnections", v->connections_total);
    mw_printf(out, "Retiring: %u\n", v->retiring);
    for (i = MW_REASON_GROWTH; i < MW_REASON_COUNT; i++) {
        recycles += v->recycles_total[i];
    }
    mw_printf(out, "Recycles: %" APR_UINT64_T_FMT "\n", recycles);
    mw_printf(out, "WouldRecycle: %" APR_UINT64_T_FMT "\n",
              v->would_recycle_total);
    mw_printf(out, "Trims: %" APR_UINT64_T_FMT "\nTrimsUnderLimit: %"
              APR_UINT64_T_FMT "\nTrimReclaimed: %" APR_UINT64_T_FMT "\n",
              v->trims_total, v->trim_kept_total, v->trim_reclaimed_total);
    mw_printf(out, "DryRun: %s\nPoolSizes: %s\n", v->dry_run ? "On" : "Off",
              v->pools_unavailable ? "unavailable" : "available");
    auto_u64(out, "CgroupLimit", v->cgroup_figures.limit_bytes);
    auto_u64(out, "CgroupHigh", v->cgroup_figures.high_bytes);
    auto_u64(out, "CgroupUsage", v->cgroup_figures.usage_bytes);
    auto_u64(out, "CgroupOOMKills", v->cgroup_figures.oom_kills);
    if (v->cgroup_figures.pressure_some_avg10 != MW_PSI_UNKNOWN) {
        mw_printf(out, "PressureSomeAvg10: %u.%02u\n",
                  v->cgroup_figures.pressure_some_avg10 / 100,
                  v->cgroup_figures.pressure_some_avg10 % 100);
    }
    if (v->damaged) {
        mw_printf(out, "Damaged: %s\n", v->damaged);
    }
    for (i = 0; i < v->children->nelts; i++) {
        const mw_child_view_t *c =
            &APR_ARRAY_IDX(v->children, i, mw_child_view_t);
        mw_printf(out, "Child%u: pid=%u generation=%u requests=%"
                  APR_UINT64_T_FMT " connections=%" APR_UINT64_T_FMT
                  " rss=%" APR_UINT64_T_FMT " peak=%" APR_UINT64_T_FMT
                  " baseline=%" APR_UINT64_T_FMT " growth=%" APR_INT64_T_FMT,
                  c->slot, c->pid, c->generation, c->requests,
                  c->connections, c->rss, c->rss_peak, c->baseline_rss,
                  c->growth);
        if (c->private_bytes != MW_UNKNOWN) {
            mw_printf(out, " private=%" APR_UINT64_T_FMT " shared=%"
                      APR_UINT64_T_FMT, c->private_bytes, c->shared_bytes);
        }
        if (c->heap_in_use != MW_UNKNOWN) {
            mw_printf(out, " heap_in_use=%" APR_UINT64_T_FMT " heap_free=%"
                      APR_UINT64_T_FMT, c->heap_in_use, c->heap_free);
        }
        mw_printf(out, " trims=%" APR_UINT64_T_FMT " trim_reclaimed=%"
                  APR_UINT64_T_FMT, c->trims, c->trim_reclaimed);
        if (c->forecast.seconds != MW_UNKNOWN) {
            mw_printf(out, " seconds_to_limit=%" APR_UINT64_T_FMT,
                      c->forecast.seconds);
        }
        if (c->forecast.requests != MW_UNKNOWN) {
            mw_printf(out, " requests_to_limit=%" APR_UINT64_T_FMT,
                      c->forecast.requests);
        }
        mw_printf(out, " state=%s verdict=%s\n", mw_state_token(c->state),
                  mw_verdict_name(c->trend.verdict));
    }
}

/* ---- Prometheus text format 0.0.4 ---- */

static void prom_head(mw_out_t *out, const char *name, const char *type,
                      const char *help)
{
    mw_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A gauge per child: 1 if its verdict is `verdict`, else 0. */
static void prom_child_verdict(mw_out_t *out, const mw_view_t *v,
                               const char *name, const char *help,
                               mw_verdict_e verdict)
{
    int i;

    prom_head(out, name, "gauge", help);
    for (i = 0; i < v->children->nelts; i++) {
        const mw_child_view_t *c =
            &APR_ARRAY_IDX(v->children, i, mw_child_view_t);
        mw_printf(out, "%s{slot=\"%u\"} %d\n", name, c->slot,
                  c->trend.verdict == verdict);
    }
}

typedef struct {
    const char *name;
    const char *type;
    const char *help;
    apr_size_t offset;      /* of an apr_uint64_t in mw_child_view_t */
} prom_child_metric_t;

#define CV(f) offsetof(mw_child_view_t, f)

static const prom_child_metric_t child_metrics[] = {
    { "memwatch_child_requests_total", "counter",
      "Requests served by the child in this slot.", CV(requests) },
    { "memwatch_child_connections_total", "counter",
      "Connections served by the child in this slot.", CV(connections) },
    { "memwatch_child_rss_bytes", "gauge",
      "Resident set size of the child.", CV(rss) },
    { "memwatch_child_rss_peak_bytes", "gauge",
      "Highest resident set size seen for the child.", CV(rss_peak) },
    { "memwatch_child_baseline_rss_bytes", "gauge",
      "Resident set size after warm-up, growth is measured from it.",
      CV(baseline_rss) },
    { "memwatch_child_private_bytes", "gauge",
      "Private (unshared) memory of the child.", CV(private_bytes) },
    { "memwatch_child_shared_bytes", "gauge",
      "Shared memory of the child.", CV(shared_bytes) },
    { "memwatch_child_pss_bytes", "gauge",
      "Proportional set size of the child (smaps_rollup): shared pages "
      "divided among the processes sharing them.", CV(pss_bytes) },
    { "memwatch_child_swap_bytes", "gauge",
      "The child's share of swap (SwapPss), included in its private "
      "memory.", CV(swap_bytes) },
    { "memwatch_child_request_pool_peak_bytes", "gauge",
      "Largest request pool seen in the child.", CV(request_pool_peak) },
    { "memwatch_child_connection_pool_peak_bytes", "gauge",
      "Largest connection pool seen in the child.",
      CV(connection_pool_peak) },
    { "memwatch_child_connection_pool_growth_bytes", "gauge",
      "Largest growth of a connection pool over one keep-alive connection.",
      CV(connection_pool_growth_peak) },
    { "memwatch_child_stream_pool_growth_bytes", "gauge",
      "Largest growth of the request and connection pools while one "
      "response was still flowing.", CV(stream_pool_growth_peak) },
    { "memwatch_child_heap_in_use_bytes", "gauge",
      "Bytes malloc has handed out and not had back, over all its arenas "
      "(mallinfo2).", CV(heap_in_use) },
    { "memwatch_child_heap_free_bytes", "gauge",
      "Bytes malloc holds free, over all its arenas (mallinfo2).",
      CV(heap_free) },
    { "memwatch_child_trims_total", "counter",
      "malloc_trim calls of the child before it would retire "
      "(MemwatchTrim).", CV(trims) },
    { "memwatch_child_trim_reclaimed_bytes_total", "counter",
      "Resident memory the child's trims gave back.", CV(trim_reclaimed) },
};

/* One counter per attribution entry, labelled by handler and prefix. */
static void prom_attr(mw_out_t *out, const mw_view_t *v, const char *name,
                      const char *help, apr_size_t offset)
{
    int i;

    prom_head(out, name, "counter", help);
    for (i = 0; i < v->attribution->nelts; i++) {
        const mw_attr_view_t *a =
            &APR_ARRAY_IDX(v->attribution, i, mw_attr_view_t);
        mw_printf(out, "%s{handler=\"", name);
        mw_put_prom_label(out, a->handler);
        mw_puts(out, "\",prefix=\"");
        mw_put_prom_label(out, a->prefix);
        mw_printf(out, "\"} %" APR_UINT64_T_FMT "\n",
                  *(const apr_uint64_t *)((const char *)a + offset));
    }
}

/* One gauge per child, skipping the children for which get() says no. */
static void prom_per_child(mw_out_t *out, const mw_view_t *v,
                           const char *name, const char *help,
                           int (*get)(const mw_child_view_t *, const mw_view_t *,
                                      apr_uint64_t *))
{
    int i;

    prom_head(out, name, "gauge", help);
    for (i = 0; i < v->children->nelts; i++) {
        const mw_child_view_t *c =
            &APR_ARRAY_IDX(v->children, i, mw_child_view_t);
        apr_uint64_t val;
        if (get(c, v, &val)) {
            mw_printf(out, "%s{slot=\"%u\"} %" APR_UINT64_T_FMT "\n", name,
                      c->slot, val);
        }
    }
}

/* Which process holds each slot now, to join with process exporters. */
static void prom_child_info(mw_out_t *out, const mw_view_t *v)
{
    int i;

    prom_head(out, "memwatch_child_info", "gauge",
              "The process in each slot; always 1.");
    for (i = 0; i < v->children->nelts; i++) {
        const mw_child_view_t *c =
            &APR_ARRAY_IDX(v->children, i, mw_child_view_t);
        mw_printf(out, "memwatch_child_info{slot=\"%u\",pid=\"%u\","
                  "generation=\"%u\"} 1\n", c->slot, c->pid, c->generation);
    }
}

static int get_start(const mw_child_view_t *c, const mw_view_t *v,
                     apr_uint64_t *val)
{
    *val = (apr_uint64_t)apr_time_sec(c->started);
    return 1;
}

#define LIMIT_GETTER(fn, field)                                           \
    static int fn(const mw_child_view_t *c, const mw_view_t *v,          \
                  apr_uint64_t *val)                                      \
    {                                                                     \
        *val = c->limits.field;                                           \
        return *val != 0;                                                 \
    }
LIMIT_GETTER(get_max_growth, max_growth)
LIMIT_GETTER(get_max_rss, max_rss)
LIMIT_GETTER(get_max_private, max_private)
LIMIT_GETTER(get_min_shared, min_shared)

static int get_private_age(const mw_child_view_t *c, const mw_view_t *v,
                           apr_uint64_t *val)
{
    apr_int64_t age = mw_view_seconds(v->now, c->private_time);

    *val = c->private_time && age > 0 ? (apr_uint64_t)age : 0;
    return c->private_time != 0;
}

static int get_waiting(const mw_child_view_t *c, const mw_view_t *v,
                       apr_uint64_t *val)
{
    *val = c->state == MW_STATE_WAITING;
    return 1;
}

static int get_retiring_seconds(const mw_child_view_t *c, const mw_view_t *v,
                                apr_uint64_t *val)
{
    apr_int64_t age = mw_view_seconds(v->now, c->retire_time);

    *val = c->retire_time && age > 0 ? (apr_uint64_t)age : 0;
    return c->state == MW_STATE_RETIRING;
}

static int get_seconds_to_limit(const mw_child_view_t *c,
                                const mw_view_t *v, apr_uint64_t *val)
{
    *val = c->forecast.seconds;
    return *val != MW_UNKNOWN;
}

static int get_exiting(const mw_child_view_t *c, const mw_view_t *v,
                       apr_uint64_t *val)
{
    *val = c->exiting != 0;
    return 1;
}

static void prom_u64(mw_out_t *out, const char *name, const char *type,
                     const char *help, apr_uint64_t v)
{
    if (v != MW_UNKNOWN) {
        prom_head(out, name, type, help);
        mw_printf(out, "%s %" APR_UINT64_T_FMT "\n", name, v);
    }
}

/* The memory cgroup, the machine's memory and pressure. */
static void prom_cgroup(mw_out_t *out, const mw_view_t *v)
{
    const mw_cgroup_figures_t *f = &v->cgroup_figures;
    int i;

    prom_u64(out, "memwatch_cgroup_limit_bytes", "gauge",
             "The server's memory cgroup limit (memory.max, "
             "memory.limit_in_bytes).", f->limit_bytes);
    prom_u64(out, "memwatch_cgroup_high_bytes", "gauge",
             "The server's memory cgroup throttling mark (memory.high).",
             f->high_bytes);
    prom_u64(out, "memwatch_cgroup_usage_bytes", "gauge",
             "Memory the server's cgroup uses, page cache included.",
             f->usage_bytes);
    prom_u64(out, "memwatch_cgroup_oom_kills_total", "counter",
             "Processes the kernel's OOM killer ended in the server's "
             "memory cgroup.", f->oom_kills);
    prom_u64(out, "memwatch_memory_total_bytes", "gauge",
             "The machine's memory (MemTotal).",
             v->mem_total ? v->mem_total : MW_UNKNOWN);
    for (i = 0; i < 2; i++) {
        apr_uint32_t avg10 = i ? f->pressure_full_avg10
                               : f->pressure_some_avg10;

        if (avg10 == MW_PSI_UNKNOWN) {
            continue;
        }
        if (!i || f->pressure_some_avg10 == MW_PSI_UNKNOWN) {
            prom_head(out, "memwatch_memory_pressure_avg10_ratio", "gauge",
                      "Share of the last 10 s that some (or all) tasks "
                      "stalled on memory: PSI, the cgroup's or else the "
                      "machine's.");
        }
        mw_printf(out, "memwatch_memory_pressure_avg10_ratio{line=\"%s\","
                  "of=\"%s\"} %u.%04u\n", i ? "full" : "some",
                  f->pressure_of_group ? "cgroup" : "machine",
                  avg10 / 10000, avg10 % 10000);
    }
}

/* What alerts need beyond the figures: build, start times, each child's
 * own limits (after MemwatchJitter), totals, and where recycling stands. */
static void prom_alerting(mw_out_t *out, const mw_view_t *v)
{
    prom_head(out, "memwatch_build_info", "gauge",
              "mod_memwatch version and MPM; always 1.");
    mw_puts(out, "memwatch_build_info{version=\"");
    mw_put_prom_label(out, v->version);
    mw_puts(out, "\",mpm=\"");
    mw_put_prom_label(out, v->mpm);
    mw_puts(out, "\"} 1\n");
    if (v->max_total_private) {
        prom_head(out, "memwatch_max_total_private_bytes", "gauge",
                  "MemwatchMaxTotalPrivate: the children's private memory "
                  "together may not exceed it.");
        mw_printf(out, "memwatch_max_total_private_bytes %" APR_UINT64_T_FMT
                  "\n", v->max_total_private);
    }
    prom_cgroup(out, v);
    if (mw_view_max_rss_off(v)) {
        prom_head(out, "memwatch_limit_off", "gauge",
                  "1 for a configured limit that is not enforced (MW0015: "
                  "MemwatchMaxRSS below what a fresh child holds).");
        mw_puts(out, "memwatch_limit_off{limit=\"max_rss\"} 1\n");
    }
    if (v->private_total != MW_UNKNOWN) {
        prom_head(out, "memwatch_private_bytes", "gauge",
                  "Private memory of all children together.");
        mw_printf(out, "memwatch_private_bytes %" APR_UINT64_T_FMT "\n",
                  v->private_total);
    }
    if (v->swap_total != MW_UNKNOWN) {
        prom_head(out, "memwatch_swap_bytes", "gauge",
                  "The children's share of swap together, included in "
                  "memwatch_private_bytes.");
        mw_printf(out, "memwatch_swap_bytes %" APR_UINT64_T_FMT "\n",
                  v->swap_total);
    }
    if (v->pss_total != MW_UNKNOWN) {
        prom_head(out, "memwatch_pss_bytes", "gauge",
                  "Proportional set size of all children together: what "
                  "they cost, shared pages counted once.");
        mw_printf(out, "memwatch_pss_bytes %" APR_UINT64_T_FMT "\n",
                  v->pss_total);
    }
    prom_child_info(out, v);
    prom_per_child(out, v, "memwatch_child_start_time_seconds",
                   "When the child started, seconds since the epoch.",
                   get_start);
    prom_per_child(out, v, "memwatch_child_max_growth_bytes",
                   "The child's MemwatchMaxGrowth after jitter.",
                   get_max_growth);
    prom_per_child(out, v, "memwatch_child_max_rss_bytes",
                   "The child's MemwatchMaxRSS after jitter.", get_max_rss);
    prom_per_child(out, v, "memwatch_child_max_private_bytes",
                   "The child's MemwatchMaxPrivate after jitter.",
                   get_max_private);
    prom_per_child(out, v, "memwatch_child_min_shared_bytes",
                   "The child's MemwatchMinShared after jitter.",
                   get_min_shared);
    prom_per_child(out, v, "memwatch_child_private_age_seconds",
                   "Age of the child's private, shared and PSS figures.",
                   get_private_age);
    prom_per_child(out, v, "memwatch_child_waiting",
                   "1 if the child is over a limit and waits for its turn "
                   "to retire (MemwatchMaxRetiring).", get_waiting);
    prom_per_child(out, v, "memwatch_child_retiring_seconds",
                   "How long the retiring child has been retiring.",
                   get_retiring_seconds);
    prom_per_child(out, v, "memwatch_child_seconds_to_limit",
                   "Seconds until the leaking child reaches its nearest "
                   "limit, at the growth its trend fitted.",
                   get_seconds_to_limit);
    prom_per_child(out, v, "memwatch_child_exiting",
                   "1 if the child stopped serving and has not exited yet.",
                   get_exiting);
}

void mw_render_prometheus(mw_out_t *out, const mw_view_t *v, apr_pool_t *p)
{
    apr_size_t m;
    int i;

    prom_head(out, "memwatch_table_damaged", "gauge",
              "1 if the shared table failed validation and is not read.");
    mw_printf(out, "memwatch_table_damaged %d\n", v->damaged != NULL);
    prom_head(out, "memwatch_children", "gauge", "Child processes tracked.");
    mw_printf(out, "memwatch_children %d\n", v->children->nelts);
    prom_head(out, "memwatch_rss_bytes", "gauge",
              "Resident set size of all children together.");
    mw_printf(out, "memwatch_rss_bytes %" APR_UINT64_T_FMT "\n",
              v->rss_total);
    prom_head(out, "memwatch_retiring", "gauge",
              "Children retiring now.");
    mw_printf(out, "memwatch_retiring %u\n", v->retiring);

    for (m = 0; m < sizeof(child_metrics) / sizeof(child_metrics[0]); m++) {
        const prom_child_metric_t *cm = &child_metrics[m];
        prom_head(out, cm->name, cm->type, cm->help);
        for (i = 0; i < v->children->nelts; i++) {
            const mw_child_view_t *c =
                &APR_ARRAY_IDX(v->children, i, mw_child_view_t);
            apr_uint64_t val = *(const apr_uint64_t *)
                               ((const char *)c + cm->offset);
            if (val != MW_UNKNOWN) {
                mw_printf(out, "%s{slot=\"%u\"} %" APR_UINT64_T_FMT "\n",
                          cm->name, c->slot, val);
            }
        }
    }
    prom_head(out, "memwatch_child_growth_bytes", "gauge",
              "Growth of the resident set since the baseline.");
    for (i = 0; i < v->children->nelts; i++) {
        const mw_child_view_t *c =
            &APR_ARRAY_IDX(v->children, i, mw_child_view_t);
        mw_printf(out, "memwatch_child_growth_bytes{slot=\"%u\"} %"
                  APR_INT64_T_FMT "\n", c->slot, c->growth);
    }
    prom_head(out, "memwatch_child_growth_per_request_bytes", "gauge",
              "Recent growth per request (least-squares slope).");
    for (i = 0; i < v->children->nelts; i++) {
        const mw_child_view_t *c =
            &APR_ARRAY_IDX(v->children, i, mw_child_view_t);
        if (c->trend.verdict != MW_VERDICT_WARMING) {
            mw_printf(out, "memwatch_child_growth_per_request_bytes"
                      "{slot=\"%u\"} %.1f\n", c->slot, c->trend.per_request);
        }
    }
    prom_child_verdict(out, v, "memwatch_child_leaking",
                       "1 if the child's memory keeps climbing with "
                       "requests.", MW_VERDICT_LEAKING);
    prom_child_verdict(out, v, "memwatch_child_fragmented",
                       "1 if the child's memory climbs while malloc's "
                       "bytes in use do not: its heap keeps free memory.",
                       MW_VERDICT_FRAGMENTED);
    prom_head(out, "memwatch_trims_total", "counter",
              "malloc_trim calls of children over an RSS limit "
              "(MemwatchTrim), by whether the child was under its limits "
              "after it.");
    mw_printf(out, "memwatch_trims_total{outcome=\"under_limit\"} %"
              APR_UINT64_T_FMT "\nmemwatch_trims_total{outcome=\"over_limit\"}"
              " %" APR_UINT64_T_FMT "\n", v->trim_kept_total,
              v->trims_total > v->trim_kept_total
              ? v->trims_total - v->trim_kept_total : 0);
    prom_head(out, "memwatch_trim_reclaimed_bytes_total", "counter",
              "Resident memory children's trims gave back.");
    mw_printf(out, "memwatch_trim_reclaimed_bytes_total %" APR_UINT64_T_FMT
              "\n", v->trim_reclaimed_total);

    prom_head(out, "memwatch_recycles_total", "counter",
              "Children recycled for memory, by the limit they crossed.");
    for (i = MW_REASON_GROWTH; i < MW_REASON_COUNT; i++) {
        mw_printf(out, "memwatch_recycles_total{reason=\"%s\"} %"
                  APR_UINT64_T_FMT "\n", mw_reason_name((mw_reason_e)i),
                  v->recycles_total[i]);
    }
    prom_head(out, "memwatch_exited_total", "counter",
              "Children that exited, by how: recycled for a reason, "
              "restart (an older generation), exited (anything else).");
    for (i = MW_REASON_GROWTH; i < MW_REASON_COUNT; i++) {
        mw_printf(out, "memwatch_exited_total{reason=\"%s\"} %"
                  APR_UINT64_T_FMT "\n",
                  mw_exit_name(MW_EXIT_RECYCLED, (mw_reason_e)i),
                  v->exited_by[i]);
    }
    mw_printf(out, "memwatch_exited_total{reason=\"%s\"} %" APR_UINT64_T_FMT
              "\n", mw_exit_name(MW_EXIT_RESTART, MW_REASON_NONE),
              v->exited_restart);
    mw_printf(out, "memwatch_exited_total{reason=\"%s\"} %" APR_UINT64_T_FMT
              "\n", mw_exit_name(MW_EXIT_EXITED, MW_REASON_NONE),
              v->exited_by[MW_REASON_NONE]);
    prom_head(out, "memwatch_would_recycle_total", "counter",
              "Recycles decided but not done (MemwatchDryRun).");
    mw_printf(out, "memwatch_would_recycle_total %" APR_UINT64_T_FMT "\n",
              v->would_recycle_total);

    /* Bounded by the attribution table's fixed size. */
    prom_attr(out, v, "memwatch_attribution_requests_total",
              "Requests by handler and URL prefix.",
              offsetof(mw_attr_view_t, requests));
    prom_attr(out, v, "memwatch_attribution_growth_bytes_total",
              "Resident set growth that followed requests, by handler and "
              "URL prefix.", offsetof(mw_attr_view_t, growth));
    prom_alerting(out, v);
}
