/* Licensed under the Apache License, Version 2.0. */

/* The /memwatch handler (SetHandler memwatch) and the section added to
 * mod_status's /server-status. Parses the query, collects one view, and
 * hands it to the renderer of the format asked for. With
 * MemwatchAllowRecycle, a POST from a page's recycle button asks that
 * child to retire (mw_manual.h has the token). */

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
#include "mod_memwatch_mapping.h"
#include "mod_memwatch_status.h"
#include "mw_heap.h"
#include "mw_hot.h"
#include "mw_manual.h"
#include "mw_render.h"

#define MAX_QUERY 256

/* Recycling by hand, set in post_config (the parent; children inherit
 * it): the key of the buttons' tokens is drawn anew at every start and
 * restart, so that a page from before a restart recycles nothing. Off in
 * one process (httpd -X), where the child is the server. */
static int recycle_on;
static unsigned char recycle_secret[MW_MANUAL_SECRET_LEN];

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

/* This process's generation: the one its pages show, and its tokens are
 * bound to. */
static apr_uint32_t my_generation(void)
{
    int gen = 0;

    ap_mpm_query(AP_MPMQ_GENERATION, &gen);
    return (apr_uint32_t)gen;
}

/* The token of the recycle button of the child in slot with pid. */
static const char *recycle_token(apr_pool_t *p, apr_uint32_t slot,
                                 apr_uint32_t pid)
{
    char *token = apr_palloc(p, MW_MANUAL_TOKEN_LEN + 1);

    mw_manual_token(p, recycle_secret, my_generation(), slot, pid, token);
    return token;
}

static void fill_view(mw_view_t *v, request_rec *r, int with_history)
{
    const mw_config_t *conf = mw_config(r->server);
    const mw_table_t *t = mw_table();
    int server_limit = 0;

    memset(v, 0, sizeof(*v));
    v->version = MEMWATCH_VERSION;
    v->mpm = mpm_name();
    v->server_name = ap_get_server_name(r);
    v->generation = my_generation();
    /* ServerLimit itself: the table has twice as many slots on a
     * threaded MPM (mw_layout_of). */
    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &server_limit);
    v->server_limit = server_limit > 0 ? (apr_uint32_t)server_limit
                                       : mw_table_nslots(t);
    v->pools_unavailable = mw_pools_unavailable();
    v->smaps_unavailable = mw_smaps_unavailable();
    v->heap_unavailable = mw_heap_unavailable();
    v->dry_run = conf->dry_run;
    v->trim = conf->trim && !mw_heap_trim_unavailable();
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
    v->recycle_token = recycle_on ? recycle_token : NULL;
    mw_view_collect(v, r->pool, t, apr_time_now(), with_history);
}

/* A plain-text answer with status: why a request was refused. */
static int answer(request_rec *r, int status, const char *what,
                  const char *why)
{
    ap_set_content_type(r, "text/plain; charset=utf-8");
    r->status = status;
    ap_rprintf(r, "%s: %s\n", what, why);
    return OK;
}

/* The form of a recycle button: at most MW_MANUAL_FORM_MAX bytes, read
 * no further (a longer body is a 413, and httpd closes the connection). */
static int read_form(request_rec *r, const char **body, apr_size_t *len)
{
    static const char form_type[] = "application/x-www-form-urlencoded";
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    apr_size_t got = 0;
    char *buf;
    long n = 0;
    int rv;

    if (!ct || ap_cstr_casecmpn(ct, form_type, sizeof(form_type) - 1)
        || (ct[sizeof(form_type) - 1] && ct[sizeof(form_type) - 1] != ';'
            && ct[sizeof(form_type) - 1] != ' ')) {
        return HTTP_UNSUPPORTED_MEDIA_TYPE;
    }
    if ((rv = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        return rv;
    }
    if (r->remaining > MW_MANUAL_FORM_MAX) {
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    buf = apr_palloc(r->pool, MW_MANUAL_FORM_MAX + 1);
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, buf + got,
                                        MW_MANUAL_FORM_MAX + 1 - got)) > 0) {
            if ((got += (apr_size_t)n) > MW_MANUAL_FORM_MAX) {
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
        }
    }
    if (n < 0) {
        return HTTP_BAD_REQUEST;
    }
    *body = buf;
    *len = got;
    return OK;
}

/* A POST from a recycle button: ask that child to retire, gracefully and
 * as a limit would (mod_memwatch_retire.c decides at its next check). The
 * token proves the form is one this generation's page made for this very
 * child: a made-up one, one from before a restart, or one for a child
 * that has left the slot since, is refused. Then, 303 back to the page. */
static int recycle_by_hand(request_rec *r, const query_t *q)
{
    const mw_table_t *t = mw_table();
    char expected[MW_MANUAL_TOKEN_LEN + 1];
    mw_manual_form_t form;
    mw_slot_copy_t c;
    const char *body, *err;
    char *back;
    apr_size_t len;
    int rv;

    if ((rv = read_form(r, &body, &len)) != OK) {
        return rv;
    }
    if ((err = mw_manual_form_parse(r->pool, body, len, &form)) != NULL) {
        return answer(r, HTTP_BAD_REQUEST, "Bad form", err);
    }
    mw_manual_token(r->pool, recycle_secret, my_generation(), form.slot,
                    form.pid, expected);
    if (!mw_manual_token_equal(form.token, expected)) {
        return answer(r, HTTP_FORBIDDEN, "Not recycled", form.token
            ? "wrong token (a page from before a restart, or not this "
              "server's)" : "no token");
    }
    /* The token is this generation's for this slot and pid: the child
     * may have left since. */
    if (!mw_slot_copy(t, form.slot, &c) || c.pid != form.pid) {
        return answer(r, HTTP_FORBIDDEN, "Not recycled", apr_psprintf(
            r->pool, "child pid %u has left slot %u", form.pid, form.slot));
    }
    if (c.state != MW_STATE_OK && c.state != MW_STATE_WAITING) {
        return answer(r, HTTP_CONFLICT, "Not recycled", apr_psprintf(
            r->pool, "child pid %u is %s", form.pid,
            mw_state_name(c.state)));
    }
    mw_slot_request_retire(mw_table_slot(t, form.slot), form.pid,
                           MW_REASON_MANUAL, 0);
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "MW0019: %s asked to recycle child pid %u (slot %u)%s",
                  r->useragent_ip, form.pid, form.slot,
                  mw_config(r->server)->dry_run
                  ? " (MemwatchDryRun: it is only logged)" : "");
    /* Back to the page, on this host: a path that starts with "//" would
     * name another. */
    back = ap_escape_uri(r->pool, r->uri);
    if (back[0] == '/' && back[1] == '/') {
        back = apr_pstrcat(r->pool, "/.", back, NULL);
    }
    if (q->child >= 0) {
        back = apr_psprintf(r->pool, "%s?child=%d", back, q->child);
    }
    apr_table_setn(r->headers_out, "Location", back);
    return HTTP_SEE_OTHER;
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
    if (recycle_on) {
        ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, M_POST, M_OPTIONS,
                                  -1);
    }
    else {
        ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, M_OPTIONS, -1);
    }
    if (r->method_number == M_OPTIONS) {
        return ap_send_http_options(r);
    }
    if (r->method_number != M_GET
        && !(r->method_number == M_POST && recycle_on)) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if ((err = parse_query(r->pool, r->args, &q)) != NULL) {
        return answer(r, HTTP_BAD_REQUEST, "Bad query", err);
    }
    if (!mw_table()) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (r->method_number == M_POST) {
        return recycle_by_hand(r, &q);
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
        /* Its buttons recycle: no other site may frame the page to have
         * a visitor click one unawares (the token does not stop that). */
        if (recycle_on) {
            apr_table_setn(r->headers_out, "Content-Security-Policy",
                           "frame-ancestors 'none'");
            apr_table_setn(r->headers_out, "X-Frame-Options", "DENY");
        }
    }
    if (r->header_only) {
        return OK;
    }
    /* A child's page shows its growth by mapping: ask for a fresh one. */
    if (q.format == FMT_HTML && q.child >= 0) {
        mw_mapping_ask(q.child);
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

int mw_status_post_config(server_rec *s)
{
    apr_status_t rv;

    recycle_on = 0;
    if (!mw_config(s)->allow_recycle || mw_config_one_process()) {
        return OK;
    }
    if ((rv = mw_manual_secret(recycle_secret)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, rv, s,
                     "MW0024: MemwatchAllowRecycle On: no random bytes for "
                     "the recycle buttons' key");
        return !OK;
    }
    recycle_on = 1;
    return OK;
}

void mw_status_register_hooks(void)
{
    ap_hook_handler(status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, status_section, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
