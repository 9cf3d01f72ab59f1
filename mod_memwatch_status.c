/* Licensed under the Apache License, Version 2.0. */

/* The /memwatch handler (SetHandler memwatch) and the section added to
 * mod_status's /server-status. Parses the query, collects one view, and
 * hands it to the renderer of the format asked for. */

#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "apr_strings.h"

#include "ap_mpm.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_core.h"          /* ap_send_http_options */
#include "mod_status.h"

#include "mod_memwatch_private.h"
#include "mod_memwatch_config.h"
#include "mod_memwatch_cgroup.h"
#include "mod_memwatch_table.h"
#include "mod_memwatch_status.h"
#include "mw_hot.h"
#include "mw_render.h"

#define MAX_QUERY 256

typedef enum { FMT_HTML, FMT_JSON, FMT_AUTO, FMT_PROMETHEUS } format_e;

typedef struct query_t {
    format_e format;
    int refresh;
    int child;
    int history;        /* JSON: each child's history too */
} query_t;

static apr_status_t write_response(void *baton, const char *data,
                                   apr_size_t len)
{
    return ap_rwrite(data, (int)len, baton) < 0 ? APR_EGENERAL : APR_SUCCESS;
}

/* A whole number in [0, max], or -1. */
static int small_number(const char *s, int max)
{
    long v = 0;

    if (!s || !*s) {
        return -1;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || (v = v * 10 + (*s - '0')) > max) {
            return -1;
        }
    }
    return (int)v;
}

/* Options as mod_status takes them: "?json", "?refresh=5&child=3". Every
 * option takes "key", "key=" or "key=value" (Prometheus sends
 * "?prometheus=" from params: {prometheus: [""]}); a format ignores its
 * value. Unknown keys are ignored, as mod_status does. A value that is not
 * a number where one is needed, or an over-long query, is refused.
 * Returns NULL or a message for a 400. */
static const char *parse_query(apr_pool_t *p, const char *args, query_t *q)
{
    char *copy, *tok, *last;

    q->format = FMT_HTML;
    q->refresh = 0;
    q->child = -1;
    q->history = 0;
    if (!args || !*args) {
        return NULL;
    }
    if (strlen(args) > MAX_QUERY) {
        return "query string too long";
    }
    copy = apr_pstrdup(p, args);
    for (tok = apr_strtok(copy, "&;", &last); tok;
         tok = apr_strtok(NULL, "&;", &last)) {
        char *val = strchr(tok, '=');
        if (val) {
            *val++ = '\0';
        }
        if (!strcmp(tok, "json")) {
            q->format = FMT_JSON;
        }
        else if (!strcmp(tok, "auto")) {
            q->format = FMT_AUTO;
        }
        else if (!strcmp(tok, "prometheus")) {
            q->format = FMT_PROMETHEUS;
        }
        else if (!strcmp(tok, "history")) {
            q->history = 1;
        }
        else if (!strcmp(tok, "refresh")) {
            /* mod_status: a bare ?refresh, or under 1, means 10 s. */
            int t = val && *val ? small_number(val, 86400) : 0;
            if (t < 0) {
                return "refresh takes a number of seconds";
            }
            q->refresh = t < 1 ? 10 : t;
        }
        else if (!strcmp(tok, "child")) {
            /* "child" or "child=" alone: the overview. */
            q->child = val && *val ? small_number(val, 1000000) : -1;
            if (val && *val && q->child < 0) {
                return "child takes a slot number";
            }
        }
    }
    return NULL;
}

static const char *mpm_name(void)
{
    const char *name = ap_show_mpm();

    if (!strcmp(name, "prefork") || !strcmp(name, "worker")
        || !strcmp(name, "event")) {
        return name;
    }
    return "other";
}

/* A child's resident set now, for the page only: the table has what the
 * child read at its last request, which an idle child never refreshes. A
 * statm read is a microsecond. The pid is the table's, which children
 * write: only a process this server's parent started is read. */
static apr_uint64_t child_rss_now(apr_uint32_t pid)
{
    mw_stat_t st;
    mw_statm_t m;

    if (!pid || mw_stat_read_pid((long)pid, &st) != APR_SUCCESS
        || st.ppid != (long)getppid()
        || mw_statm_read_pid((long)pid, (apr_size_t)sysconf(_SC_PAGESIZE),
                             &m) != APR_SUCCESS) {
        return 0;
    }
    return m.rss_bytes;
}

static void fill_view(mw_view_t *v, request_rec *r, int with_history)
{
    const mw_config_t *conf = mw_config(r->server);
    const mw_table_t *t = mw_table();
    int gen = 0, server_limit = 0;

    memset(v, 0, sizeof(*v));
    ap_mpm_query(AP_MPMQ_GENERATION, &gen);
    v->version = MEMWATCH_VERSION;
    v->mpm = mpm_name();
    v->server_name = ap_get_server_name(r);
    v->generation = (apr_uint32_t)gen;
    /* ServerLimit itself: the table has twice as many slots on a
     * threaded MPM (mw_layout_of). */
    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &server_limit);
    v->server_limit = server_limit > 0 ? (apr_uint32_t)server_limit
                                       : mw_table_nslots(t);
    v->pools_unavailable = mw_pools_unavailable();
    v->smaps_unavailable = mw_smaps_unavailable();
    v->dry_run = conf->dry_run;
    v->limits = conf->limits;
    v->max_total_private = conf->max_total_private;
    v->max_total_private_percent = conf->max_total_private_percent;
    v->pressure = conf->pressure == MW_PRESSURE_FULL ? "full"
                  : conf->pressure == MW_PRESSURE_SOME ? "some" : NULL;
    v->pressure_threshold = conf->pressure_threshold;
    v->cgroup = mw_cgroup_found();
    mw_cgroup_now(&v->cgroup_figures);
    v->mem_total = mw_cgroup_mem_total();
    v->jitter = conf->jitter;
    v->max_retiring = conf->max_retiring;
    v->history_interval = conf->history_interval;
    v->attribute_depth = conf->attribute_depth;
    v->rss_now = child_rss_now;
    mw_view_collect(v, r->pool, t, apr_time_now(), with_history);
}

static MW_COLD int serve_status(request_rec *r)
{
    mw_view_t view;
    query_t q;
    mw_out_t out;
    const char *err;

    /* httpd builds Allow from r->allowed_methods, not r->allowed; GET
     * brings HEAD with it. OPTIONS is answered as core's default handler
     * does; anything else is a 405 naming these. */
    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, M_OPTIONS, -1);
    if (r->method_number == M_OPTIONS) {
        return ap_send_http_options(r);
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if ((err = parse_query(r->pool, r->args, &q)) != NULL) {
        ap_set_content_type(r, "text/plain; charset=utf-8");
        r->status = HTTP_BAD_REQUEST;
        ap_rprintf(r, "Bad query: %s\n", err);
        return OK;
    }
    if (!mw_table()) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    switch (q.format) {
    case FMT_JSON:
        ap_set_content_type(r, "application/json");
        break;
    case FMT_AUTO:
        ap_set_content_type(r, "text/plain; charset=utf-8");
        break;
    case FMT_PROMETHEUS:
        ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
        break;
    default:
        ap_set_content_type(r, "text/html; charset=utf-8");
    }
    if (r->header_only) {
        return OK;
    }
    fill_view(&view, r, (q.format == FMT_JSON && q.history)
                        || q.format == FMT_HTML);
    out.write = write_response;
    out.baton = r;
    switch (q.format) {
    case FMT_JSON:
        mw_render_json(&out, &view, r->pool);
        break;
    case FMT_AUTO:
        mw_render_auto(&out, &view, r->pool);
        break;
    case FMT_PROMETHEUS:
        mw_render_prometheus(&out, &view, r->pool);
        break;
    default: {
        mw_html_opts_t opts;
        /* Decoded; the renderer percent-encodes it for its links, so
         * "%3F" stays in the path and raw bytes never reach the page.
         * (r->unparsed_uri may be absolute-form and is not normalised.) */
        opts.self = r->uri;
        opts.refresh = q.refresh;
        opts.child = q.child;
        mw_render_html(&out, &view, r->pool, &opts);
    }
    }
    return OK;
}

/* Asked on every request of the server: the first letter settles almost
 * all of them without a call to strcmp. */
static MW_HOT int status_handler(request_rec *r)
{
    const char *h = r->handler;

    if (!h || h[0] != 'm' || strcmp(h, "memwatch")) {
        return DECLINED;
    }
    return serve_status(r);
}

static int status_section(request_rec *r, int flags)
{
    mw_view_t view;
    mw_out_t out;

    if (!mw_table()) {
        return OK;
    }
    fill_view(&view, r, 0);
    out.write = write_response;
    out.baton = r;
    mw_render_status_section(&out, &view, r->pool, flags & AP_STATUS_SHORT);
    return OK;
}

void mw_status_register_hooks(void)
{
    ap_hook_handler(status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, status_section, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
