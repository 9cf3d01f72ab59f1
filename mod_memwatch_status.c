/* Licensed under the Apache License, Version 2.0. */

/* The /memwatch handler (SetHandler memwatch) and the section added to
 * mod_status's /server-status. Parses the query, collects one view, and
 * hands it to the renderer of the format asked for. */

#include "httpd.h"
#include "http_config.h"
#include "apr_strings.h"

#include "ap_mpm.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_status.h"

#include "mod_memwatch.h"

APLOG_USE_MODULE(memwatch);
#include "mw_render.h"

#define MAX_QUERY 256

typedef enum { FMT_HTML, FMT_JSON, FMT_AUTO, FMT_PROMETHEUS } format_e;

typedef struct query_t {
    format_e format;
    int refresh;
    int child;
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

/* Options as mod_status takes them: "?json", "?refresh=5&child=3".
 * Returns NULL or a message for a 400. */
static const char *parse_query(apr_pool_t *p, const char *args, query_t *q)
{
    char *copy, *tok, *last;

    q->format = FMT_HTML;
    q->refresh = 0;
    q->child = -1;
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
        if (!strcmp(tok, "json") && !val) {
            q->format = FMT_JSON;
        }
        else if (!strcmp(tok, "auto") && !val) {
            q->format = FMT_AUTO;
        }
        else if (!strcmp(tok, "prometheus") && !val) {
            q->format = FMT_PROMETHEUS;
        }
        else if (!strcmp(tok, "refresh")) {
            /* mod_status: a bare ?refresh means one second. */
            q->refresh = val ? small_number(val, 86400) : 1;
            if (q->refresh < 0) {
                return "refresh takes a number of seconds";
            }
        }
        else if (!strcmp(tok, "child")) {
            q->child = small_number(val, 1000000);
            if (q->child < 0) {
                return "child takes a slot number";
            }
        }
        else {
            return "unknown option; use json, auto, prometheus, "
                   "refresh=N or child=SLOT";
        }
    }
    return NULL;
}

static void fill_view(mw_view_t *v, request_rec *r, int with_history)
{
    const mw_config_t *conf = mw_g.conf;
    int gen = 0;

    memset(v, 0, sizeof(*v));
    ap_mpm_query(AP_MPMQ_GENERATION, &gen);
    v->version = MEMWATCH_VERSION;
    v->mpm = mw_g.mpm;
    v->server_name = ap_get_server_name(r);
    v->generation = (apr_uint32_t)gen;
    v->server_limit = mw_g.server_limit;
    v->pools_unavailable = mw_g.pools_unavailable;
    v->smaps_unavailable = mw_g.smaps_unavailable;
    v->dry_run = conf->dry_run;
    v->limits.max_growth = conf->limits.max_growth;
    v->limits.max_rss = conf->limits.max_rss;
    v->limits.max_private = conf->limits.max_private;
    v->limits.min_shared = conf->limits.min_shared;
    v->jitter = conf->jitter;
    v->max_retiring = conf->max_retiring;
    v->history_interval = conf->history_interval;
    v->attribute_depth = conf->attribute_depth;
    mw_view_collect(v, r->pool, &mw_g.table, apr_time_now(), with_history);
}

int mw_status_handler(request_rec *r)
{
    mw_view_t view;
    query_t q;
    mw_out_t out;
    const char *err;

    if (!r->handler || strcmp(r->handler, "memwatch")) {
        return DECLINED;
    }
    r->allowed |= (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if ((err = parse_query(r->pool, r->args, &q)) != NULL) {
        ap_set_content_type(r, "text/plain; charset=utf-8");
        r->status = HTTP_BAD_REQUEST;
        ap_rprintf(r, "Bad query: %s\n", err);
        return OK;
    }
    if (!mw_g.have_table) {
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
    fill_view(&view, r, q.format == FMT_JSON || q.format == FMT_HTML);
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
        opts.self = r->uri;
        opts.refresh = q.refresh;
        opts.child = q.child;
        mw_render_html(&out, &view, r->pool, &opts);
    }
    }
    return OK;
}

static int status_section(request_rec *r, int flags)
{
    mw_view_t view;
    mw_out_t out;

    if (!mw_g.have_table) {
        return OK;
    }
    fill_view(&view, r, 0);
    out.write = write_response;
    out.baton = r;
    mw_render_status_section(&out, &view, r->pool, flags & AP_STATUS_SHORT);
    return OK;
}

void mw_register_status_hook(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, status_section, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
