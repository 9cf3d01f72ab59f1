/* Licensed under the Apache License, Version 2.0. */

/* Sampling: the figures of every request and connection of a child, its
 * history and trend, attribution of growth, and (in the parent) samples
 * for children that have been idle.
 *
 * The request path is a short pipeline, run as the request's pool is
 * destroyed: measure the request (RSS, pools), record it in the child's
 * slot, attribute its growth, and hand the figures to the limit check. */

#include "httpd.h"
#include "http_config.h"
#include "apr_atomic.h"

#include "http_connection.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mpm_common.h"
#include "util_filter.h"

#include "mod_memwatch_private.h"
#include "mod_memwatch_sample.h"
#include "mw_key.h"
#include "mw_pool.h"
#include "mw_proc.h"

/* Per connection: the connection pool as it was after its first request,
 * and the response being written, for the streaming sampler. */
struct mw_sample_conn_t {
    apr_uint64_t requests;
    apr_size_t first_used;
    request_rec *current;
    int passes;                     /* brigades of it so far */
    apr_time_t next_sample;
    apr_size_t stream_base;         /* pools' size at its first sample */
};

/* A response still flowing after this long is sampled, and then no more
 * often than this, so a pool that grows while a client stays connected
 * shows before the request ends. */
#define MW_STREAM_SAMPLE apr_time_from_msec(250)

/* The request path reads RSS (a pread of /proc/self/statm, 1.2-1.4 us
 * here) at most this often per child, so a limit is noticed within this
 * long, or at the next request of a quieter child. */
#define RSS_READ_INTERVAL apr_time_from_msec(5)

/* Attribution measures requests on their own: RSS before and after.
 * Up to EXACT_PER_SECOND a second (with bursts of EXACT_BURST) every
 * request is measured, so a quiet server attributes exactly. Past that,
 * one request in about ATTRIBUTE_GAP is, and is charged for the requests
 * it stands for (each thread draws its gaps at random between half and
 * one and a half times this, so periodic traffic cannot alias with it). */
#define EXACT_PER_SECOND 100
#define EXACT_BURST 20
#define ATTRIBUTE_GAP 32

/* A request, from post_read_request to its end (in r->request_config
 * until it ended). */
typedef struct request_state_t {
    request_rec *r;
    apr_uint64_t rss_before;        /* measured for attribution */
    apr_uint32_t weight;            /* requests it stands for; 0: not */
} request_state_t;

static ap_filter_rec_t *stream_filter_handle;
static const mw_config_t *conf;
static volatile apr_uint64_t last_read;     /* apr_time_t, this process */
/* The configuration logs %{memwatch-rss}n or %{memwatch-growth}n: every
 * request then reads RSS, and ends before the access log is written. */
static int log_notes_wanted;
static volatile apr_uint64_t last_logged_rss;
/* When the next exactly measured request is due (a GCRA bucket). */
static volatile apr_uint64_t exact_due;

/* Requests not measured since the last one that was, and how many to let
 * pass before the next; this thread's random state. */
static volatile apr_uint32_t unmeasured;
static apr_uint32_t next_gap;
static __thread apr_uint32_t prng_state;

static int history_due(const mw_slot_t *sl, apr_time_t now)
{
    return now - sl->hist_last >= apr_time_from_sec(conf->history_interval);
}

static int smaps_due(const mw_slot_t *sl, apr_time_t now)
{
    return !mw_smaps_unavailable() && now - sl->smaps_last
           >= apr_time_from_sec(conf->smaps_interval);
}

/* Take a history sample of the child in `sl` and, when due, its
 * private/shared split: from the child itself (pid 0) at the end of a
 * request, or from the parent for a child that has been idle. Skipped, not
 * waited for, when another thread or the parent holds the slot's lock. */
static void sample_slot(const mw_table_t *t, mw_slot_t *sl, long pid,
                        apr_time_t now, apr_uint64_t rss)
{
    mw_smaps_t sm;
    mw_sample_t sample;

    /* Due again under the lock: another thread may just have sampled. */
    if (!mw_slot_trylock(sl)) {
        return;
    }
    if (smaps_due(sl, now)) {
        sl->smaps_last = now;
        if (mw_smaps_read_pid(pid, &sm) == APR_SUCCESS) {
            apr_atomic_set64(&sl->private_bytes, sm.private_bytes);
            apr_atomic_set64(&sl->shared_bytes, sm.shared_bytes);
            apr_atomic_set64(&sl->pss_bytes, sm.pss_bytes);
        }
    }
    if (history_due(sl, now)) {
        sample.time = now;
        sample.rss = rss;
        sample.private_bytes = apr_atomic_read64(&sl->private_bytes);
        sample.shared_bytes = apr_atomic_read64(&sl->shared_bytes);
        sample.requests = apr_atomic_read64(&sl->requests);
        sample.request_pool_peak = apr_atomic_read64(&sl->request_pool_count)
                                   ? apr_atomic_read64(&sl->request_pool_peak)
                                   : MW_UNKNOWN;
        sample.connection_pool_peak = sample.request_pool_peak == MW_UNKNOWN
            ? MW_UNKNOWN : apr_atomic_read64(&sl->connection_pool_peak);
        mw_history_append(t, sl, &sample);
    }
    mw_slot_unlock(sl);
}

/* Only the thread serving a connection may walk its pool (cs is NULL on
 * mod_http2's secondary connections, whose pool other threads use). */
static void note_connection_pool(struct mw_sample_conn_t *cs, conn_rec *c,
                                 mw_slot_t *me)
{
    mw_pool_size_t ps;

    if (!cs || mw_pool_measure(c->pool, &ps) != APR_SUCCESS) {
        return;
    }
    if (cs->requests++ == 0) {
        cs->first_used = ps.used;
    }
    else if (ps.used > cs->first_used) {
        mw_atomic_max64(&me->connection_pool_growth_peak,
                        ps.used - cs->first_used);
    }
    mw_atomic_max64(&me->connection_pool_peak, ps.held);
}

/* Step 1: the pools the request leaves behind (walking their nodes is
 * cheap: a request pool has one to three). */
static apr_uint64_t measure_pools(request_rec *r, struct mw_sample_conn_t *cs,
                                  mw_slot_t *me)
{
    mw_pool_size_t ps;

    note_connection_pool(cs, r->connection, me);
    if (mw_pool_measure(r->pool, &ps) != APR_SUCCESS) {
        return 0;
    }
    mw_atomic_max64(&me->request_pool_peak, ps.held);
    apr_atomic_add64(&me->request_pool_sum, ps.held);
    apr_atomic_inc64(&me->request_pool_count);
    return ps.held;
}

/* Is it this thread's turn to read RSS on the request path? One thread
 * per interval wins the compare-and-swap. */
static int rss_read_due(apr_time_t now)
{
    apr_uint64_t prev = apr_atomic_read64(&last_read);

    return now - (apr_time_t)prev >= RSS_READ_INTERVAL
           && apr_atomic_cas64(&last_read, (apr_uint64_t)now, prev) == prev;
}

/* Step 2: record a fresh RSS in the slot; the end of warm-up takes the
 * baseline. */
static void record_rss(request_rec *r, mw_slot_t *me, apr_uint64_t n,
                       apr_uint64_t rss)
{
    apr_atomic_set64(&me->rss, rss);
    mw_atomic_max64(&me->rss_peak, rss);
    if (apr_atomic_read32(&me->state) == MW_STATE_WARMING
        && n >= conf->warmup
        && apr_atomic_cas32(&me->state, MW_STATE_OK, MW_STATE_WARMING)
           == MW_STATE_WARMING) {
        apr_atomic_set64(&me->baseline_rss, rss);
        mw_trend_start(&me->trend, n);
        mw_retire_baseline(r, rss);
    }
}

/* Step 3: the slot's trend and history, from the latest RSS. */
static void record_history(mw_slot_t *me, apr_uint64_t n, apr_time_t now)
{
    apr_uint64_t rss = apr_atomic_read64(&me->rss);

    if (apr_atomic_read32(&me->state) != MW_STATE_WARMING
        && mw_trend_due(&me->trend, n) && mw_slot_trylock(me)) {
        mw_trend_add(&me->trend, n, rss, now);
        mw_slot_unlock(me);
    }
    if (history_due(me, now) || smaps_due(me, now)) {
        sample_slot(mw_table(), me, 0, now, rss);
    }
}

/* Step 4: a measured request's growth, for all the requests it stands
 * for, to its handler and URL prefix. */
static void attribute(request_rec *r, apr_uint32_t weight,
                      apr_uint64_t growth, apr_uint64_t pool_bytes,
                      apr_time_t now)
{
    char handler[MW_HANDLER_LEN], prefix[MW_PREFIX_LEN];
    const char *h = r->handler ? r->handler : "(none)";

    mw_key_clean(handler, sizeof(handler), h, strlen(h));
    mw_key_url_prefix(prefix, sizeof(prefix), r->parsed_uri.path,
                      conf->attribute_depth, conf->attribute_group_ids);
    mw_attr_add(mw_table(), handler, prefix, weight, growth * weight,
                pool_bytes * weight, now);
}

/* A number in the request pool, without printf's cost. */
static const char *log_number(apr_pool_t *p, apr_int64_t v)
{
    char *end = (char *)apr_palloc(p, 24) + 23, *s = end;
    apr_uint64_t u = v < 0 ? (apr_uint64_t)0 - (apr_uint64_t)v
                           : (apr_uint64_t)v;

    *end = '\0';
    do {
        *--s = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        *--s = '-';
    }
    return s;
}

/* %{memwatch-rss}n and %{memwatch-growth}n for the access log: the
 * child's RSS after the request and how it changed since the child's
 * previous request ended (negative if it shrank), in bytes. On the last
 * request of an internal redirect chain, the one mod_log_config reads. */
static void set_log_notes(request_rec *r, apr_uint64_t rss)
{
    apr_uint64_t prev = apr_atomic_xchg64(&last_logged_rss, rss);

    while (r->next) {
        r = r->next;
    }
    /* addn: nothing else sets these names, no need to search. */
    apr_table_addn(r->notes, "memwatch-rss",
                   log_number(r->pool, (apr_int64_t)rss));
    apr_table_addn(r->notes, "memwatch-growth",
                   log_number(r->pool, (apr_int64_t)rss - (apr_int64_t)prev));
}

/* The end of a request: after the response, as its pool is destroyed
 * (nodes still intact) or, when the access log wants the notes, from the
 * first log_transaction hook. */
static apr_status_t request_done(void *data)
{
    request_state_t *st = data;
    request_rec *r = st->r;
    mw_slot_t *me = mw_my_slot();
    mw_conn_t *conn = mw_conn(r->connection);
    struct mw_sample_conn_t *cs = conn ? conn->sample : NULL;
    mw_request_figures_t fig;
    apr_uint64_t pool_bytes, rss;

    ap_set_module_config(r->request_config, &memwatch_module, NULL);
    fig.requests = apr_atomic_inc64(&me->requests) + 1;
    if (cs) {
        cs->current = NULL;
    }
    pool_bytes = measure_pools(r, cs, me);
    fig.now = apr_time_now();
    if (st->weight) {
        apr_atomic_set64(&last_read, (apr_uint64_t)fig.now);
    }
    if ((st->weight || log_notes_wanted || rss_read_due(fig.now)
         || (apr_atomic_read32(&me->state) == MW_STATE_WARMING
             && fig.requests >= conf->warmup))
        && (rss = mw_own_rss()) != 0) {
        record_rss(r, me, fig.requests, rss);
        if (log_notes_wanted) {
            set_log_notes(r, rss);
        }
        if (st->weight && apr_atomic_read32(&me->state) != MW_STATE_WARMING) {
            attribute(r, st->weight,
                      rss > st->rss_before ? rss - st->rss_before : 0,
                      pool_bytes, fig.now);
        }
        fig.rss = rss;
        mw_retire_check_request(r, &fig);
    }
    record_history(me, fig.requests, fig.now);
    return APR_SUCCESS;
}

/* mod_log_config writes the access log from the log_transaction hook,
 * which runs from a cleanup of the request pool registered after ours
 * (the EOR bucket's), so before it: notes set as the pool is destroyed
 * would come too late. When they are logged, the request ends here,
 * first of the log_transaction hooks. */
static int sample_log_transaction(request_rec *r)
{
    request_state_t *st;

    if (log_notes_wanted
        && (st = ap_get_module_config(r->request_config,
                                      &memwatch_module)) != NULL) {
        apr_pool_cleanup_run(r->pool, st, request_done);
    }
    return DECLINED;
}

static int mentions_log_notes(const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if ((d->args && ap_strstr_c(d->args, "{memwatch-"))
            || mentions_log_notes(d->first_child)) {
            return 1;
        }
    }
    return 0;
}

/* May this request, starting at `now`, be measured on its own? */
static int exact_allowed(apr_time_t now)
{
    const apr_interval_time_t interval = APR_USEC_PER_SEC / EXACT_PER_SECOND;
    apr_uint64_t due = apr_atomic_read64(&exact_due);
    apr_time_t next = (apr_time_t)due > now ? (apr_time_t)due : now;

    return next - now <= EXACT_BURST * interval
           && apr_atomic_cas64(&exact_due, (apr_uint64_t)(next + interval),
                               due) == due;
}

/* Is this request one to measure for attribution? Returns the number of
 * requests it stands for (itself and those of the gap before it), or 0. */
static apr_uint32_t pick_for_measure(apr_time_t now)
{
    apr_uint32_t weight;

    if (exact_allowed(now)) {
        return 1;
    }
    if (apr_atomic_inc32(&unmeasured) + 1 < next_gap
        || (weight = apr_atomic_xchg32(&unmeasured, 0)) == 0) {
        return 0;   /* not yet, or another thread took this gap */
    }
    if (!prng_state) {
        prng_state = ((apr_uint32_t)now
                      ^ (apr_uint32_t)(apr_uintptr_t)&prng_state) | 1;
    }
    /* xorshift32: cheap, and plenty for spreading gaps. */
    prng_state ^= prng_state << 13;
    prng_state ^= prng_state >> 17;
    prng_state ^= prng_state << 5;
    next_gap = ATTRIBUTE_GAP / 2 + prng_state % (ATTRIBUTE_GAP + 1);
    return weight;
}

static int sample_post_read_request(request_rec *r)
{
    mw_conn_t *conn;
    request_state_t *st;

    if (!mw_my_slot() || r->main || r->prev) {
        return DECLINED;
    }
    conn = mw_conn(r->connection);
    if (conn && conn->sample) {
        struct mw_sample_conn_t *cs = conn->sample;
        cs->current = r;
        cs->passes = 0;
        cs->next_sample = r->request_time + MW_STREAM_SAMPLE;
        cs->stream_base = 0;
    }
    st = apr_palloc(r->pool, sizeof(*st));
    st->r = r;
    st->weight = pick_for_measure(r->request_time);
    st->rss_before = st->weight ? mw_own_rss() : 0;
    ap_set_module_config(r->request_config, &memwatch_module, st);
    apr_pool_cleanup_register(r->pool, st, request_done,
                              apr_pool_cleanup_null);
    return DECLINED;
}

static apr_status_t connection_done(void *data)
{
    conn_rec *c = data;
    mw_pool_size_t ps;

    if (mw_pool_measure(c->pool, &ps) == APR_SUCCESS) {
        mw_atomic_max64(&mw_my_slot()->connection_pool_peak, ps.held);
    }
    return APR_SUCCESS;
}

/* A long response: how much the request and connection pools grew since
 * its first sample. Runs in the thread writing the response, which owns
 * both pools, and before the brigade is passed on (which may end the
 * request). */
static void sample_stream(struct mw_sample_conn_t *cs, conn_rec *c,
                          apr_time_t now)
{
    mw_slot_t *me = mw_my_slot();
    mw_pool_size_t rp, cp;

    cs->next_sample = now + MW_STREAM_SAMPLE;
    if (mw_pool_measure(cs->current->pool, &rp) != APR_SUCCESS
        || mw_pool_measure(c->pool, &cp) != APR_SUCCESS) {
        return;
    }
    mw_atomic_max64(&me->request_pool_peak, rp.held);
    if (!cs->stream_base) {
        cs->stream_base = rp.used + cp.used;
    }
    else if (rp.used + cp.used > cs->stream_base) {
        mw_atomic_max64(&me->stream_pool_growth_peak,
                        rp.used + cp.used - cs->stream_base);
    }
}

static apr_status_t stream_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    struct mw_sample_conn_t *cs = f->ctx;

    /* Most responses pass in a brigade or three: look at the clock only
     * for those that go on. */
    if (cs->current && ++cs->passes > 3) {
        apr_time_t now = apr_time_now();
        if (now >= cs->next_sample) {
            sample_stream(cs, f->c, now);
        }
    }
    return ap_pass_brigade(f->next, bb);
}

static int sample_pre_connection(conn_rec *c, void *csd)
{
    mw_conn_t *conn = mw_conn(c);

    if (!conn) {
        return DECLINED;
    }
    apr_atomic_inc64(&mw_my_slot()->connections);
    conn->sample = apr_pcalloc(c->pool, sizeof(*conn->sample));
    if (mw_pool_method() != MW_POOL_UNAVAILABLE) {
        ap_add_output_filter_handle(stream_filter_handle, conn->sample, NULL,
                                    c);
    }
    apr_pool_cleanup_register(c->pool, c, connection_done,
                              apr_pool_cleanup_null);
    return DECLINED;
}

static int sample_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    conf = mw_config(s);
    log_notes_wanted = mentions_log_notes(ap_conftree);
    return OK;
}

static void sample_child_init(apr_pool_t *pchild, server_rec *s)
{
    mw_slot_t *me = mw_my_slot();

    if (!me) {
        return;
    }
    if (conf->warmup == 0) {
        apr_atomic_set32(&me->state, MW_STATE_OK);
        mw_trend_start(&me->trend, 0);
    }
    /* A first history point and the private/shared split from the start
     * (one smaps_rollup read), so a child that has served nothing yet is
     * not shown with unknown figures until the parent samples it. */
    sample_slot(mw_table(), me, 0, apr_time_now(), mw_own_rss());
}

/* Parent, every ten seconds (ap_wait_or_timeout runs monitor hooks on
 * every tenth one-second wait): samples for children that served nothing
 * lately. */
static int sample_monitor(apr_pool_t *p, server_rec *s)
{
    const mw_table_t *t = mw_table();
    apr_time_t now = apr_time_now();
    apr_uint32_t i;

    if (!t) {
        return DECLINED;
    }
    for (i = 0; i < mw_table_nslots(t); i++) {
        mw_slot_t *sl = mw_table_slot(t, i);
        apr_uint32_t pid = apr_atomic_read32(&sl->pid);
        apr_uint64_t rss;

        if (pid && apr_atomic_read32(&sl->state) != MW_STATE_FREE
            && now - sl->hist_last > apr_time_from_sec(
                   conf->history_interval + 1)
            && (rss = mw_rss_of((pid_t)pid)) != 0) {
            sample_slot(t, sl, (long)pid, now, rss);
        }
    }
    return DECLINED;
}

void mw_sample_register_hooks(void)
{
    ap_hook_post_config(sample_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(sample_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_connection(sample_pre_connection, NULL, NULL,
                           APR_HOOK_MIDDLE);
    /* First, so later hooks that fail the request are still counted. */
    ap_hook_post_read_request(sample_post_read_request, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
    stream_filter_handle = ap_register_output_filter("MEMWATCH_STREAM",
        stream_filter, NULL, AP_FTYPE_CONNECTION);
    ap_hook_log_transaction(sample_log_transaction, NULL, NULL,
                            APR_HOOK_REALLY_FIRST);
    ap_hook_monitor(sample_monitor, NULL, NULL, APR_HOOK_MIDDLE);
}
