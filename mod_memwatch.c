/* Licensed under the Apache License, Version 2.0. */

/* mod_memwatch: per-child memory sampling, the /memwatch status page and
 * graceful memory-triggered recycling of children.
 *
 * This file: the module record, shared memory set-up, and the hooks that
 * sample each request and connection. Directives are in
 * mod_memwatch_config.c, the handler in mod_memwatch_status.c, recycling in
 * mod_memwatch_retire.c; the APR-only logic in mw_*.c. */

#include "httpd.h"
#include "http_config.h"
#include <fcntl.h>
#include <unistd.h>

#include "apr_atomic.h"
#include "apr_shm.h"
#include "apr_strings.h"

#include "ap_mpm.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "mpm_common.h"

#include "mod_memwatch.h"
#include "mw_key.h"
#include "mw_pool.h"
#include "mw_proc.h"

mw_globals_t mw_g = { NULL, { NULL, NULL, NULL, { 0, 0, 0 }, 0, 0 }, 0,
                      NULL, NULL, NULL, 0, 0, 0, -1, 0, NULL, -1, 0, 0, 0 };

/* Kept across graceful restarts so the table (and children's figures)
 * survive them and no segment is leaked per restart. */
typedef struct mw_retained_t {
    apr_shm_t *shm;
    mw_layout_t layout;
} mw_retained_t;

/* Per connection: the connection pool as it was after its first request,
 * and whether it now waits for a next keep-alive request. */
typedef struct mw_conn_t {
    apr_uint64_t requests;
    apr_size_t first_used;
    int idle;
    /* The request being answered, for the streaming sampler. */
    request_rec *current;
    int passes;                     /* brigades of it so far */
    apr_time_t next_sample;
    apr_size_t stream_base;         /* pools' size at its first sample */
} mw_conn_t;

/* A response still flowing after this long is sampled, and then no more
 * often than this, so a pool that grows while a client stays connected
 * shows before the request ends. */
#define MW_STREAM_SAMPLE apr_time_from_msec(250)

static ap_filter_rec_t *stream_filter_handle;

/* Keep mw_g.idle_keepalive: a connection is idle from the end of a
 * keep-alive response until its next request starts or it closes. */
static void conn_set_idle(mw_conn_t *cs, int idle)
{
    if (cs && cs->idle != idle) {
        cs->idle = idle;
        if (idle) {
            apr_atomic_inc32(&mw_g.idle_keepalive);
        }
        else {
            apr_atomic_dec32(&mw_g.idle_keepalive);
        }
    }
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

static apr_status_t attach_table(apr_pool_t *pconf, server_rec *s,
                                 const mw_config_t *conf)
{
    mw_retained_t *ret;
    mw_layout_t layout;
    int hard_limit = 0;
    apr_status_t rv;
    const char *key = "mod_memwatch-shm";

    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &hard_limit);
    layout.nslots = (apr_uint32_t)(hard_limit > 0 ? hard_limit : 1);
    layout.history_len = conf->history_len;
    layout.attr_len = conf->attribute_slots;
    mw_g.server_limit = layout.nslots;

    ret = ap_retained_data_get(key);
    if (!ret) {
        ret = ap_retained_data_create(key, sizeof(*ret));
    }
    if (ret->shm) {
        rv = mw_table_open(&mw_g.table, apr_shm_baseaddr_get(ret->shm),
                           apr_shm_size_get(ret->shm), &layout, 0);
        if (rv == APR_SUCCESS) {
            mw_g.have_table = 1;
            return APR_SUCCESS;
        }
        /* ServerLimit, MemwatchHistory or MemwatchAttributeSlots changed:
         * old children keep their own mapping of the old segment. */
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "layout changed, "
                     "starting a new table; figures of older children are "
                     "no longer shown");
        apr_shm_destroy(ret->shm);
        ret->shm = NULL;
    }
    (void)pconf;
    rv = apr_shm_create(&ret->shm, mw_shm_size(&layout), NULL,
                        s->process->pool);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "cannot create shared memory of %" APR_SIZE_T_FMT
                     " bytes", mw_shm_size(&layout));
        return rv;
    }
    ret->layout = layout;
    rv = mw_table_open(&mw_g.table, apr_shm_baseaddr_get(ret->shm),
                       apr_shm_size_get(ret->shm), &layout, 1);
    mw_g.have_table = rv == APR_SUCCESS;
    return rv;
}

static int mw_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    const mw_config_t *conf = mw_config(s);
    mw_smaps_t smaps;

    (void)plog;
    (void)ptemp;
    mw_g.conf = conf;
    mw_g.mpm = mpm_name();
    ap_mpm_query(AP_MPMQ_IS_THREADED, &mw_g.threaded);
    mw_g.threaded = mw_g.threaded != AP_MPMQ_NOT_SUPPORTED;
    mw_g.page_size = (apr_size_t)sysconf(_SC_PAGESIZE);

    /* Nothing to share on the first of the two start-up passes, nor for
     * -t / -D DUMP_*. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        || ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_NORMAL) {
        return OK;
    }

    if (mw_pool_init(pconf, &mw_g.pools_unavailable) == MW_POOL_UNAVAILABLE) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "pool sizes will not "
                     "be reported: %s", mw_g.pools_unavailable);
    }
    mw_g.smaps_unavailable = NULL;
    if (mw_smaps_read_pid(0, &smaps) != APR_SUCCESS) {
        mw_g.smaps_unavailable = "this system has no "
                                 "/proc/self/smaps_rollup (Linux 4.14+)";
        if (conf->limits.max_private || conf->limits.min_shared
            || conf->max_total_private) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "MemwatchMaxPrivate, MemwatchMinShared and "
                         "MemwatchMaxTotalPrivate are inactive: %s",
                         mw_g.smaps_unavailable);
        }
    }
    if (attach_table(pconf, s, conf) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static apr_uint64_t read_own_rss(void)
{
    char buf[128];

    if (mw_g.statm_fd < 0
        || mw_proc_pread(mw_g.statm_fd, buf, sizeof(buf)) != APR_SUCCESS) {
        return 0;
    }
    return mw_statm_rss(buf, mw_g.page_size);
}

static apr_status_t child_exit(void *data)
{
    (void)data;
    /* Let the next child over its limit start retiring now rather than
     * when the parent reaps this one (up to a second later). */
    if (mw_g.me) {
        mw_slot_leave(&mw_g.table, mw_g.me);
    }
    if (mw_g.statm_fd >= 0) {
        close(mw_g.statm_fd);
        mw_g.statm_fd = -1;
    }
    return APR_SUCCESS;
}

static void mw_child_init(apr_pool_t *pchild, server_rec *s)
{
    int gen = 0;

    if (!mw_g.have_table) {
        return;
    }
    mw_g.statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    apr_pool_cleanup_register(pchild, NULL, child_exit,
                              apr_pool_cleanup_null);
    ap_mpm_query(AP_MPMQ_GENERATION, &gen);
    mw_g.slot = mw_slot_claim(&mw_g.table, (apr_uint32_t)getpid(),
                              (apr_uint32_t)gen, apr_time_now(),
                              read_own_rss());
    if (mw_g.slot < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "no free slot for "
                     "child %" APR_PID_T_FMT ", it is not watched",
                     getpid());
        return;
    }
    mw_g.me = mw_table_slot(&mw_g.table, (apr_uint32_t)mw_g.slot);
    mw_g.checking = mw_policy_active(&mw_g.conf->limits)
                    || mw_g.conf->max_total_private;
    if (mw_g.conf->warmup == 0) {
        mw_g.me->state = MW_STATE_OK;
        mw_trend_start(&mw_g.me->trend, 0);
    }
    mw_retire_init(pchild, s);
}

static int history_due(const mw_slot_t *sl, apr_time_t now)
{
    return now - sl->hist_last
           >= apr_time_from_sec(mw_g.conf->history_interval);
}

static int smaps_due(const mw_slot_t *sl, apr_time_t now)
{
    return !mw_g.smaps_unavailable && now - sl->smaps_last
           >= apr_time_from_sec(mw_g.conf->smaps_interval);
}

/* Take a history sample of the child in `sl` and, when due, its
 * private/shared split: from the child itself (pid 0) at the end of a
 * request, or from the parent for a child that has been idle. Skipped, not
 * waited for, when another thread or the parent holds the slot's lock. */
static void sample_slot(mw_slot_t *sl, long pid, apr_time_t now,
                        apr_uint64_t rss)
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
        mw_history_append(&mw_g.table, sl, &sample);
    }
    mw_slot_unlock(sl);
}

/* cs is NULL on mod_http2's secondary connections, whose pool other
 * threads use; only the thread serving a connection may walk its pool. */
static void note_connection_pool(mw_conn_t *cs, conn_rec *c, mw_slot_t *me)
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

/* Add a request's growth to its handler and URL prefix. */
static void attribute(request_rec *r, apr_uint64_t growth,
                      apr_uint64_t pool_bytes, apr_time_t now)
{
    char handler[MW_HANDLER_LEN], prefix[MW_PREFIX_LEN];
    const char *h = r->handler ? r->handler : "(none)";

    mw_key_clean(handler, sizeof(handler), h, strlen(h));
    mw_key_url_prefix(prefix, sizeof(prefix), r->parsed_uri.path,
                      mw_g.conf->attribute_depth, 1);
    mw_attr_add(&mw_g.table, handler, prefix, growth, pool_bytes, now);
}

/* End of a request: runs as its pool is destroyed, nodes still intact. */
static apr_status_t request_done(void *data)
{
    request_rec *r = data;
    mw_slot_t *me = mw_g.me;
    const mw_config_t *conf = mw_g.conf;
    apr_uint64_t n = apr_atomic_inc64(&me->requests) + 1;
    apr_uint64_t rss = read_own_rss();
    apr_uint64_t prev, growth, pool_bytes = 0;
    apr_time_t now = apr_time_now();
    mw_pool_size_t ps;
    mw_conn_t *cs = r->connection->master ? NULL
        : ap_get_module_config(r->connection->conn_config, &memwatch_module);

    if (cs) {
        cs->current = NULL;
    }
    if (mw_pool_measure(r->pool, &ps) == APR_SUCCESS) {
        pool_bytes = ps.held;
        mw_atomic_max64(&me->request_pool_peak, ps.held);
        apr_atomic_add64(&me->request_pool_sum, ps.held);
        apr_atomic_inc64(&me->request_pool_count);
    }
    note_connection_pool(cs, r->connection, me);
    conn_set_idle(cs, r->connection->keepalive == AP_CONN_KEEPALIVE
                      && !r->connection->aborted);
    mw_retire_request_done(r);
    if (!rss) {
        return APR_SUCCESS;
    }
    apr_atomic_set64(&me->rss, rss);
    mw_atomic_max64(&me->rss_peak, rss);
    prev = apr_atomic_xchg64(&me->last_rss, rss);
    growth = rss > prev ? rss - prev : 0;

    if (me->state == MW_STATE_WARMING) {
        if (n >= conf->warmup
            && apr_atomic_cas32(&me->state, MW_STATE_OK, MW_STATE_WARMING)
               == MW_STATE_WARMING) {
            apr_atomic_set64(&me->baseline_rss, rss);
            mw_trend_start(&me->trend, n);
        }
        growth = 0;     /* warm-up growth is not a leak to attribute */
    }
    else if (mw_trend_due(&me->trend, n) && mw_slot_trylock(me)) {
        mw_trend_add(&me->trend, n, rss, now);
        mw_slot_unlock(me);
    }
    if (history_due(me, now) || smaps_due(me, now)) {
        sample_slot(me, 0, now, rss);
    }

    attribute(r, growth, pool_bytes, now);
    if (mw_g.checking && n % conf->check_every == 0) {
        mw_retire_check(r, n, now);
    }
    return APR_SUCCESS;
}

static int mw_post_read_request(request_rec *r)
{
    if (!mw_g.me || r->main || r->prev) {
        return DECLINED;
    }
    if (!r->connection->master) {
        mw_conn_t *cs = ap_get_module_config(r->connection->conn_config,
                                             &memwatch_module);
        conn_set_idle(cs, 0);
        if (cs) {
            cs->current = r;
            cs->passes = 0;
            cs->next_sample = r->request_time + MW_STREAM_SAMPLE;
            cs->stream_base = 0;
        }
    }
    apr_pool_cleanup_register(r->pool, r, request_done,
                              apr_pool_cleanup_null);
    return mw_retire_post_read(r);
}

static apr_status_t connection_done(void *data)
{
    conn_rec *c = data;
    mw_pool_size_t ps;

    conn_set_idle(ap_get_module_config(c->conn_config, &memwatch_module), 0);
    if (mw_pool_measure(c->pool, &ps) == APR_SUCCESS) {
        mw_atomic_max64(&mw_g.me->connection_pool_peak, ps.held);
    }
    return APR_SUCCESS;
}

/* A long response: how much the request and connection pools grew since
 * its first sample. Runs in the thread writing the response, which owns
 * both pools, and before the brigade is passed on (which may end the
 * request). */
static void sample_stream(mw_conn_t *cs, conn_rec *c, apr_time_t now)
{
    mw_pool_size_t rp, cp;

    cs->next_sample = now + MW_STREAM_SAMPLE;
    if (mw_pool_measure(cs->current->pool, &rp) != APR_SUCCESS
        || mw_pool_measure(c->pool, &cp) != APR_SUCCESS) {
        return;
    }
    mw_atomic_max64(&mw_g.me->request_pool_peak, rp.held);
    if (!cs->stream_base) {
        cs->stream_base = rp.used + cp.used;
    }
    else if (rp.used + cp.used > cs->stream_base) {
        mw_atomic_max64(&mw_g.me->stream_pool_growth_peak,
                        rp.used + cp.used - cs->stream_base);
    }
}

static apr_status_t stream_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    mw_conn_t *cs = f->ctx;

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

static int mw_pre_connection(conn_rec *c, void *csd)
{
    mw_conn_t *cs;

    (void)csd;
    if (!mw_g.me || c->master) {
        return DECLINED;
    }
    apr_atomic_inc64(&mw_g.me->connections);
    cs = apr_pcalloc(c->pool, sizeof(mw_conn_t));
    ap_set_module_config(c->conn_config, &memwatch_module, cs);
    if (mw_pool_method() != MW_POOL_UNAVAILABLE) {
        ap_add_output_filter_handle(stream_filter_handle, cs, NULL, c);
    }
    apr_pool_cleanup_register(c->pool, c, connection_done,
                              apr_pool_cleanup_null);
    return DECLINED;
}

/* Parent, every ten seconds (ap_wait_or_timeout runs monitor hooks on
 * every tenth one-second wait): samples for children that served nothing
 * lately, and the recycling duties that need no child. */
static int mw_monitor(apr_pool_t *p, server_rec *s)
{
    const mw_config_t *conf = mw_g.conf;
    apr_time_t now = apr_time_now();
    apr_uint32_t i;

    (void)p;
    if (!mw_g.have_table) {
        return DECLINED;
    }
    for (i = 0; i < mw_table_nslots(&mw_g.table); i++) {
        mw_slot_t *sl = mw_table_slot(&mw_g.table, i);
        apr_uint32_t pid = apr_atomic_read32(&sl->pid);
        mw_statm_t st;

        if (pid && sl->state != MW_STATE_FREE
            && now - sl->hist_last > apr_time_from_sec(
                   conf->history_interval + 1)
            && mw_statm_read_pid((long)pid, mw_g.page_size, &st)
               == APR_SUCCESS) {
            sample_slot(sl, (long)pid, now, st.rss_bytes);
        }
    }
    mw_retire_monitor(s, now);
    return DECLINED;
}

/* Parent: a child is gone (however it left); keep its figures. */
static void mw_child_status(server_rec *s, pid_t pid, ap_generation_t gen,
                            int slot, mpm_child_status status)
{
    int cur = 0;

    (void)s;
    (void)gen;
    (void)slot;
    if (status != MPM_CHILD_EXITED || !mw_g.have_table) {
        return;
    }
    ap_mpm_query(AP_MPMQ_GENERATION, &cur);
    mw_slot_reap(&mw_g.table, (apr_uint32_t)pid, (apr_uint32_t)cur,
                 apr_time_now());
}

static void mw_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_check_config(mw_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(mw_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(mw_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_connection(mw_pre_connection, NULL, NULL, APR_HOOK_MIDDLE);
    /* First, so later hooks that fail the request are still counted. */
    ap_hook_post_read_request(mw_post_read_request, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
    ap_hook_handler(mw_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    stream_filter_handle = ap_register_output_filter("MEMWATCH_STREAM",
        stream_filter, NULL, AP_FTYPE_CONNECTION);
    ap_hook_monitor(mw_monitor, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_status(mw_child_status, NULL, NULL, APR_HOOK_MIDDLE);
    mw_register_status_hook();
}

AP_DECLARE_MODULE(memwatch) = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* per-directory config creator */
    NULL,                       /* dir config merger */
    mw_create_server_config,    /* server config creator */
    NULL,                       /* server config merger */
    mw_cmds,                    /* command table */
    mw_register_hooks,          /* set up other request processing hooks */
    AP_MODULE_FLAG_NONE
};
