/* Licensed under the Apache License, Version 2.0. */

/* Graceful, memory-triggered retirement of one child.
 *
 * Deciding (in the child, at the end of a request): the policy in
 * mw_policy.c, MemwatchMinLifetime, MemwatchMaxRetiring tickets, dry run.
 *
 * Leaving, per MPM (see docs/recycling.md for the source this relies on):
 * - Every later response of a retiring child says "Connection: close", so
 *   no client is left holding an idle keep-alive connection to it.
 * - Each listener's accept_func is swapped for one that returns
 *   APR_EGENERAL: the MPM's own exit path for this process alone.
 * - prefork: child_main calls it as soon as the current connection has
 *   ended, and exits. (Lowering ap_max_requests_per_child would not do:
 *   prefork counts connections only when a limit was set to begin with,
 *   so an unlimited child would wait for one more connection.)
 * - worker/event: APR_EGENERAL starts the graceful exit of this process
 *   (in-flight requests finish), as soon as no connection of the child
 *   waits idle for a keep-alive request (event would close those as it
 *   leaves, racing a client that sends on them) and no request that began
 *   before the decision is still running (its response may promise
 *   keep-alive). Until then it accepts as usual, and each new connection
 *   gets one request and "Connection: close". A KeepAliveTimeout after the
 *   decision it leaves regardless. On an idle server no connection would
 *   come to wake the listener, so a small thread of the retiring child
 *   opens and closes a loopback connection to a listener until it is
 *   gone.
 */

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>


#include "httpd.h"
#include "http_config.h"
#include "apr_atomic.h"
#include "apr_random.h"
#include "apr_strings.h"

#include "ap_listen.h"
#include "ap_mpm.h"
#include "http_log.h"
#include "http_main.h"
#include "mpm_common.h"
#include "unixd.h"

#include "mod_memwatch.h"

APLOG_USE_MODULE(memwatch);
#include "mw_format.h"

/* The retiring child's accept functions, one per listener. */
typedef struct saved_accept_t {
    ap_listen_rec *lr;
    accept_function fn;
} saved_accept_t;

static saved_accept_t *saved;
static int nsaved;
static apr_time_t exit_deadline;        /* this child */
static apr_interval_time_t keepalive_max;
static int min_lifetime_warned;

/* The wake-up thread. It is stopped and joined before the child exits:
 * exit() runs apr_terminate, which unloads this module under any thread
 * still running its code. */
static pthread_t waker_thread;
static int waker_running;
static volatile apr_uint32_t waker_stop;
static apr_status_t stop_waker(void *data);

/* Longest KeepAliveTimeout of any virtual host. */
static apr_interval_time_t max_keepalive(server_rec *s)
{
    apr_interval_time_t m = 0;

    for (; s; s = s->next) {
        if (s->keep_alive && s->keep_alive_timeout > m) {
            m = s->keep_alive_timeout;
        }
    }
    return m;
}

void mw_retire_init(apr_pool_t *pchild, server_rec *s)
{
    const mw_config_t *conf = mw_g.conf;
    mw_slot_t *me = mw_g.me;
    mw_limits_t jittered;
    unsigned char rnd[4];
    double draw = 0.5;
    ap_listen_rec *lr;

    keepalive_max = max_keepalive(s);
    if (conf->jitter && apr_generate_random_bytes(rnd, sizeof(rnd))
                        == APR_SUCCESS) {
        draw = (double)((apr_uint32_t)rnd[0] << 24 | (apr_uint32_t)rnd[1] << 16
                        | (apr_uint32_t)rnd[2] << 8 | rnd[3])
               / 4294967295.0;
    }
    mw_policy_jitter(&conf->limits, conf->jitter, draw, &jittered);
    me->limit_growth = jittered.max_growth;
    me->limit_rss = jittered.max_rss;
    me->limit_private = jittered.max_private;
    me->limit_shared = jittered.min_shared;

    for (lr = ap_listeners; lr; lr = lr->next) {
        nsaved++;
    }
    saved = apr_pcalloc(pchild, sizeof(*saved) * (apr_size_t)(nsaved + 1));
    apr_pool_cleanup_register(pchild, NULL, stop_waker,
                              apr_pool_cleanup_null);
}

static apr_status_t retiring_accept(void **csd, ap_listen_rec *lr,
                                    apr_pool_t *ptrans)
{
    int i;

    /* As ap_unixd_accept does: worker's listener keeps csd across calls
     * and queues it unless the accept function clears it. */
    *csd = NULL;
    if ((apr_atomic_read32(&mw_g.idle_keepalive) == 0
         && apr_atomic_read32(&mw_g.active_before_retiring) == 0)
        || apr_time_now() >= exit_deadline) {
        /* The MPM's graceful exit of this process: the listener closes,
         * in-flight requests finish, the parent starts a replacement. */
        return APR_EGENERAL;
    }
    for (i = 0; i < nsaved; i++) {
        if (saved[i].lr == lr) {
            return saved[i].fn(csd, lr, ptrans);
        }
    }
    return ap_unixd_accept(csd, lr, ptrans);
}

/* Open and close a connection to a plain-HTTP listener (a wildcard one
 * through loopback), which wakes every child's listener thread. Plain
 * sockets: this runs on a thread of our own, where no pool is ours. */
static void nudge_listener(void)
{
    ap_listen_rec *lr;
    struct sockaddr_storage ss;
    struct timeval tv = { 0, 200000 };
    socklen_t len;
    int fd;

    for (lr = ap_listeners; lr; lr = lr->next) {
        if (!lr->protocol || !strcmp(lr->protocol, "http")) {
            break;
        }
    }
    if (!lr && !(lr = ap_listeners)) {
        return;
    }
    len = (socklen_t)lr->bind_addr->salen;
    if (len > sizeof(ss)) {
        return;
    }
    memcpy(&ss, &lr->bind_addr->sa, len);
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        if (in->sin_addr.s_addr == htonl(INADDR_ANY)) {
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
    }
    else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) {
            in6->sin6_addr = in6addr_loopback;
        }
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    connect(fd, (struct sockaddr *)&ss, len);
    close(fd);
}

/* Wake this child's listener until it is leaving. Bounded: gives up
 * after a minute. */
static void *waker(void *arg)
{
    int i;

    (void)arg;
    for (i = 0; i < 600 && !apr_atomic_read32(&waker_stop); i++) {
        apr_sleep(apr_time_from_msec(100));
        if (!apr_atomic_read32(&waker_stop)) {
            nudge_listener();
        }
    }
    return NULL;
}

/* pchild cleanup, run by the MPM's clean_child_exit before exit(). */
static apr_status_t stop_waker(void *data)
{
    (void)data;
    if (waker_running) {
        apr_atomic_set32(&waker_stop, 1);
        pthread_join(waker_thread, NULL);
        waker_running = 0;
    }
    return APR_SUCCESS;
}

/* This process stops taking new work, in the MPM's own way. */
static void start_leaving(apr_time_t now)
{
    ap_listen_rec *lr;
    int i = 0;

    apr_atomic_set32(&mw_g.retiring, 1);
    /* Idle keep-alive connections time out within KeepAliveTimeout; event
     * checks its keep-alive queue with up to a second's delay. */
    exit_deadline = now + keepalive_max + apr_time_from_sec(1);
    /* Set by the MPM after child_init, so swapped only now; the listener
     * thread reads the pointer once per accept. */
    for (lr = ap_listeners; lr && i < nsaved; lr = lr->next, i++) {
        saved[i].lr = lr;
        saved[i].fn = lr->accept_func;
        lr->accept_func = retiring_accept;
    }
    if (!mw_g.threaded) {
        return;     /* prefork leaves when this connection ends */
    }
    /* A raw thread: apr_thread_create would allocate from pchild, which
     * this (worker) thread must not touch. Joined by stop_waker. */
    if (pthread_create(&waker_thread, NULL, waker, NULL) == 0) {
        waker_running = 1;
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, ap_server_conf,
                     "MW0009: cannot start the wake-up thread: on an idle "
                     "server "
                     "this child leaves with the next connection");
    }
}

static void log_decision(request_rec *r, const char *what, mw_reason_e reason,
                         const mw_figures_t *f, apr_uint64_t requests,
                         apr_time_t now)
{
    mw_slot_t *me = mw_g.me;

    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, r->server,
                 "MW0010: %s child pid %" APR_PID_T_FMT " (slot %d): %s "
                 "over limit; "
                 "rss %s, growth %s since baseline %s, private %s, "
                 "%" APR_UINT64_T_FMT " requests in %" APR_TIME_T_FMT " s",
                 what, getpid(), mw_g.slot, mw_reason_name(reason),
                 mw_format_size(r->pool, f->rss),
                 mw_format_ssize(r->pool, (apr_int64_t)f->rss
                                          - (apr_int64_t)f->baseline_rss),
                 mw_format_size(r->pool, f->baseline_rss),
                 f->private_bytes == MW_UNKNOWN
                 ? "unknown" : mw_format_size(r->pool, f->private_bytes),
                 requests, apr_time_sec(now - me->started));
}

static void record(mw_reason_e reason, const mw_figures_t *f,
                   apr_uint64_t requests, apr_time_t now, int dry_run)
{
    mw_recycle_t ev;

    memset(&ev, 0, sizeof(ev));
    ev.pid = (apr_uint32_t)getpid();
    ev.slot = (apr_uint32_t)mw_g.slot;
    ev.reason = reason;
    ev.dry_run = dry_run;
    ev.time = now;
    ev.started = mw_g.me->started;
    ev.rss = f->rss;
    ev.growth = f->rss > f->baseline_rss ? f->rss - f->baseline_rss : 0;
    ev.private_bytes = f->private_bytes;
    ev.shared_bytes = f->shared_bytes;
    ev.requests = requests;
    mw_recycle_add(&mw_g.table, &ev);
}

void mw_retire_check(request_rec *r, apr_uint64_t requests, apr_time_t now)
{
    const mw_config_t *conf = mw_g.conf;
    mw_slot_t *me = mw_g.me;
    apr_uint32_t state = apr_atomic_read32(&me->state);
    mw_limits_t limits;
    mw_figures_t f;
    mw_reason_e reason;

    if (state != MW_STATE_OK && state != MW_STATE_WAITING) {
        return;     /* warming up, or already decided */
    }
    limits.max_growth = me->limit_growth;
    limits.max_rss = me->limit_rss;
    limits.max_private = me->limit_private;
    limits.min_shared = me->limit_shared;
    f.rss = apr_atomic_read64(&me->rss);
    f.baseline_rss = apr_atomic_read64(&me->baseline_rss);
    f.private_bytes = apr_atomic_read64(&me->private_bytes);
    f.shared_bytes = apr_atomic_read64(&me->shared_bytes);
    reason = mw_policy_check(&limits, &f);
    if (reason == MW_REASON_NONE && apr_atomic_read32(&me->retire_requested)) {
        reason = MW_REASON_TOTAL_PRIVATE;
    }
    if (reason == MW_REASON_NONE) {
        if (state == MW_STATE_WAITING) {
            apr_atomic_cas32(&me->state, MW_STATE_OK, MW_STATE_WAITING);
        }
        return;
    }
    apr_atomic_set32(&me->reason, reason);

    if (conf->dry_run) {
        if (apr_atomic_cas32(&me->state, MW_STATE_WOULD_RECYCLE, state)
            == state) {
            log_decision(r, "would recycle (MemwatchDryRun)", reason, &f,
                         requests, now);
            record(reason, &f, requests, now, 1);
        }
        return;
    }
    if (now - me->started < apr_time_from_sec(conf->min_lifetime)) {
        apr_atomic_cas32(&me->state, MW_STATE_WAITING, MW_STATE_OK);
        if (!min_lifetime_warned) {
            min_lifetime_warned = 1;
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, r->server,
                         "MW0011: child pid %" APR_PID_T_FMT " is over its "
                         "%s limit "
                         "after %" APR_TIME_T_FMT " s but MemwatchMinLifetime "
                         "is %u s: holding it back (is the limit too low?)",
                         getpid(), mw_reason_name(reason),
                         apr_time_sec(now - me->started), conf->min_lifetime);
        }
        return;
    }
    if (!mw_retire_ticket_take(&mw_g.table, me, conf->max_retiring)) {
        apr_atomic_cas32(&me->state, MW_STATE_WAITING, MW_STATE_OK);
        return;     /* MemwatchMaxRetiring: wait for our turn */
    }
    if (apr_atomic_cas32(&me->state, MW_STATE_RETIRING, state) != state) {
        mw_retire_ticket_return(&mw_g.table, me);   /* another thread won */
        return;
    }
    me->retire_time = now;
    apr_atomic_set32(&me->retired, 1);
    log_decision(r, "recycling", reason, &f, requests, now);
    record(reason, &f, requests, now, 0);
    start_leaving(now);
}

/* Marks a request that began before this process retired. */
static const char began_before;

int mw_retire_post_read(request_rec *r)
{
    if (apr_atomic_read32(&mw_g.retiring)) {
        /* ap_set_keepalive() then answers "Connection: close". */
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    else {
        apr_atomic_inc32(&mw_g.active_before_retiring);
        ap_set_module_config(r->request_config, &memwatch_module,
                             (void *)&began_before);
    }
    return DECLINED;
}

void mw_retire_request_done(request_rec *r)
{
    if (ap_get_module_config(r->request_config, &memwatch_module)
        == &began_before) {
        apr_atomic_dec32(&mw_g.active_before_retiring);
    }
}

/* Parent, every ten seconds: warn about children slow to leave, and
 * enforce MemwatchMaxTotalPrivate. */
void mw_retire_monitor(server_rec *s, apr_time_t now)
{
    const mw_config_t *conf = mw_g.conf;
    apr_interval_time_t ka = max_keepalive(s);
    apr_uint64_t total_private = 0, largest = 0;
    mw_slot_t *largest_slot = NULL;
    int pending = 0;
    apr_uint32_t i;

    for (i = 0; i < mw_g.table.hdr->nslots; i++) {
        mw_slot_t *sl = mw_table_slot(&mw_g.table, i);
        apr_uint32_t pid = apr_atomic_read32(&sl->pid);
        apr_uint32_t state = apr_atomic_read32(&sl->state);
        apr_uint64_t priv = apr_atomic_read64(&sl->private_bytes);

        if (!pid || state == MW_STATE_FREE) {
            continue;
        }
        if (state == MW_STATE_RETIRING) {
            apr_interval_time_t waited = now - sl->retire_time;
            if (waited > ka + s->timeout + apr_time_from_sec(10)
                && !sl->exit_warned) {
                sl->exit_warned = 1;
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                             "MW0012: child pid %u (slot %u) began to retire %"
                             APR_TIME_T_FMT " s ago and is still serving: "
                             "in-flight requests are left to finish", pid,
                             i, apr_time_sec(waited));
            }
            continue;
        }
        pending += apr_atomic_read32(&sl->retire_requested) != 0;
        if (priv != MW_UNKNOWN) {
            total_private += priv;
            if (priv > largest && !sl->retire_requested
                && (state == MW_STATE_OK || state == MW_STATE_WAITING)) {
                largest = priv;
                largest_slot = sl;
            }
        }
    }
    if (conf->max_total_private && total_private > conf->max_total_private
        && largest_slot && !pending && !conf->dry_run) {
        /* One at a time; the child acts on this at its next request. */
        apr_atomic_set32(&largest_slot->retire_requested, 1);
    }
}
