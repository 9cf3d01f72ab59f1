/* Licensed under the Apache License, Version 2.0. */

/* Graceful, memory-triggered retirement of a child, and the end of every
 * child's life (see docs/recycling.md for the httpd source this relies
 * on).
 *
 * Deciding: mw_policy_decide() on the figures of a finished request (the
 * request path), every second from a small watcher thread of a worker or
 * event child (an idle child), and every ten seconds from the parent for
 * an idle prefork child. Below the ceiling (MemwatchCeiling) a child over
 * its limit may wait for MemwatchMinLifetime and a MemwatchMaxRetiring
 * ticket; past it, it leaves regardless.
 *
 * Leaving: from the decision on, every response of the child says
 * "Connection: close" and it takes no new connection, so it stops growing
 * whatever the other children do. Then
 * - prefork: once the current connection has ended the child raises the
 *   MPM's own graceful signal on itself (AP_SIG_GRACEFUL: stop_listening,
 *   then clean_child_exit(0)); the parent sends it to an idle child;
 * - worker/event: each listener's accept_func accepts nothing more and
 *   returns APR_EGENERAL, the MPM's exit path for this one process, once
 *   no connection of the child waits idle for a keep-alive request (event
 *   would close those as it leaves, racing a client that sends on them),
 *   no request that began before the decision is still running, and the
 *   generation has settled: that exit status (APEXIT_CHILDSICK) before any
 *   child of the generation was healthy would make httpd shut down. The
 *   watcher thread wakes an idle child's listener when it may leave.
 *
 * Exiting: as the MPM destroys pchild, after every worker has finished,
 * the child marks itself exiting and gives its ticket back. The parent
 * ends with SIGKILL a child still exiting after MemwatchExitTimeout (a
 * module's pchild cleanup that never returns, as embedded mod_wsgi's does
 * on Python 3.11), whatever made it leave.
 */

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "apr_atomic.h"
#include "apr_random.h"
#include "apr_strings.h"

#include "ap_listen.h"
#include "ap_mpm.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mpm_common.h"
#include "scoreboard.h"
#include "unixd.h"

#include "mod_memwatch_private.h"
#include "mod_memwatch_retire.h"
#include "mw_atomic.h"
#include "mw_format.h"

/* How long a generation's first healthy child must have been seen before
 * an exit with APEXIT_CHILDSICK is safe: the parent's maintenance, which
 * notes it, runs once a second. */
#define SETTLE_TIME apr_time_from_sec(2)
/* The watcher thread's period, and its checks of the limits. */
#define WATCH_TICK apr_time_from_msec(100)
#define WATCH_CHECK_TICKS 10
/* How long a retiring worker or event child's listener, woken by a
 * connection it will not take, waits before it looks again (another
 * child takes it meanwhile). */
#define DECLINE_PAUSE apr_time_from_msec(20)

/* Per connection (its thread's alone): requests begun on it and not yet
 * ended (more than one when pipelined), how many of them began before
 * this process retired, whether it waits for its next keep-alive request,
 * and whether it holds the process (below). */
struct mw_retire_conn_t {
    apr_uint32_t open;
    apr_uint32_t before;
    int idle;
    int holds;
};

/* Where a decision is made: in the child itself, or in the parent for an
 * idle prefork child. */
typedef struct subject_t {
    mw_slot_t *slot;
    int index;
    pid_t pid;
    int self;
} subject_t;

/* Set in post_config (parent, inherited by children). */
static const mw_config_t *conf;
static int one_process;
static int threads_per_child;
static int server_limit;
static apr_interval_time_t keepalive_max;

/* This child. */
static int checking;                /* some limit can trigger a recycle */
/* How a retiring worker or event child's listener declines connections:
 * event's listener has other work (keep-alive and lingering connections)
 * and takes back the pool it offered; worker's only accepts, and with
 * several listeners it holds the accept mutex all children share. */
static enum {
    DECLINE_AND_RETURN,         /* event */
    DECLINE_UNTIL_LEAVING,      /* worker, one listener */
    ACCEPT_UNDER_MUTEX          /* worker, several listeners */
} listener_kind;
static int generation;
static mw_limits_t ceiling;         /* its limits, moved by MemwatchCeiling */
static apr_time_t exit_deadline;
static int min_lifetime_warned;
/* Read by every request (mod_memwatch_private.h); threaded is set in
 * post_config. */
mw_retire_hot_t mw_retire_hot MW_LINE_ALIGNED;
/* Connections that hold a worker or event child: while one of its
 * requests that began before the child retired is open, or while it waits
 * for its next keep-alive request (which a client may send as the child
 * leaves). The child leaves once none does. A keep-alive connection holds
 * from its first request to its end, so the count moves once per
 * connection, not per request; a request of a mod_http2 secondary
 * connection that began before retiring holds on its own. */
static volatile apr_uint32_t holding;

/* The watcher thread (worker and event). It is stopped and joined before
 * the child exits: exit() runs apr_terminate, which unloads this module
 * under any thread still running its code. */
static pthread_t watcher_thread;
static int watcher_running;
static volatile apr_uint32_t watcher_stop;
static apr_pool_t *watcher_pool;

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

/* A child's memory figures: rss as just read, the rest from its slot. */
static void slot_figures(mw_slot_t *sl, apr_uint64_t rss, mw_figures_t *f)
{
    f->rss = rss;
    f->baseline_rss = apr_atomic_read64(&sl->baseline_rss);
    f->private_bytes = apr_atomic_read64(&sl->private_bytes);
    f->shared_bytes = apr_atomic_read64(&sl->shared_bytes);
}

static void slot_limits(const mw_slot_t *sl, mw_limits_t *l)
{
    l->max_growth = sl->limit_growth;
    l->max_rss = sl->limit_rss;
    l->max_private = sl->limit_private;
    l->min_shared = sl->limit_shared;
}

/* ---- Deciding -------------------------------------------------------- */

/* Has this generation had a child with all its threads started, long
 * enough ago that the parent has seen it? Until then an exit with
 * APEXIT_CHILDSICK would make a worker or event parent shut httpd down
 * (AH02324: had_healthy_child is reset for each generation). prefork
 * children leave with status 0, which carries no such risk. The watcher
 * thread asks from the child's start, so the generation is noted settled
 * as early as possible. */
static int generation_settled(apr_time_t now)
{
    mw_shm_header_t *h = mw_table()->hdr;
    apr_uint32_t mark = (apr_uint32_t)generation + 1;   /* 0: none */
    apr_uint32_t seen;
    int i, j;

    if (!mw_retire_hot.threaded) {
        return 1;
    }
    seen = apr_atomic_read32(&h->settled_generation);
    if (seen == mark) {
        return now - h->settled_since >= SETTLE_TIME;
    }
    for (i = 0; i < server_limit; i++) {
        process_score *ps = ap_get_scoreboard_process(i);

        if (!ps->pid || ps->generation != generation || ps->quiescing) {
            continue;
        }
        for (j = 0; j < threads_per_child; j++) {
            int st = ap_get_scoreboard_worker_from_indexes(i, j)->status;
            if (st < SERVER_READY || st >= SERVER_GRACEFUL) {
                break;
            }
        }
        if (j == threads_per_child) {
            h->settled_since = now;
            apr_atomic_cas32(&h->settled_generation, mark, seen);
            break;
        }
    }
    return 0;
}

/* A decision to recycle (or, under MemwatchDryRun, that it would), for the
 * log and the table. */
typedef struct decision_t {
    const char *what;
    mw_reason_e reason;
    mw_figures_t figures;
    apr_uint64_t requests;
    apr_time_t now;
    int dry_run;
} decision_t;

static void log_decision(server_rec *s, apr_pool_t *p, const subject_t *who,
                         const decision_t *d)
{
    const mw_figures_t *f = &d->figures;

    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 "MW0010: %s child pid %" APR_PID_T_FMT " (slot %d): %s "
                 "over limit; "
                 "rss %s, growth %s since baseline %s, private %s, "
                 "%" APR_UINT64_T_FMT " requests in %" APR_TIME_T_FMT " s",
                 d->what, who->pid, who->index, mw_reason_name(d->reason),
                 mw_format_size(p, f->rss),
                 mw_format_ssize(p, (apr_int64_t)f->rss
                                    - (apr_int64_t)f->baseline_rss),
                 mw_format_size(p, f->baseline_rss),
                 f->private_bytes == MW_UNKNOWN
                 ? "unknown" : mw_format_size(p, f->private_bytes),
                 d->requests, apr_time_sec(d->now - who->slot->started));
}

static void record(const subject_t *who, const decision_t *d)
{
    const mw_figures_t *f = &d->figures;
    mw_recycle_t ev;

    memset(&ev, 0, sizeof(ev));
    ev.pid = (apr_uint32_t)who->pid;
    ev.slot = (apr_uint32_t)who->index;
    ev.reason = d->reason;
    ev.dry_run = d->dry_run;
    ev.time = d->now;
    ev.started = who->slot->started;
    ev.rss = f->rss;
    ev.growth = f->rss > f->baseline_rss ? f->rss - f->baseline_rss : 0;
    ev.private_bytes = f->private_bytes;
    ev.shared_bytes = f->shared_bytes;
    ev.requests = d->requests;
    mw_recycle_add(mw_table(), &ev);
}

/* A decision in the error log and in the table's recent recycles. */
static void announce(server_rec *s, apr_pool_t *p, const subject_t *who,
                     const decision_t *d)
{
    log_decision(s, p, who, d);
    record(who, d);
}

/* Decide for `who` on figures `f`, and move its slot to the state that
 * follows. Returns 1 when it must leave now: the caller starts that, and
 * only then announces *out. Logging takes a while (much longer when this
 * thread is preempted in the write), and until the process has stopped
 * taking work its other threads go on starting keep-alive requests. */
static int decide(server_rec *s, apr_pool_t *p, const subject_t *who,
                  const mw_figures_t *f, apr_uint64_t requests,
                  apr_time_t now, const mw_limits_t *ceil, decision_t *out)
{
    const mw_table_t *t = mw_table();
    mw_slot_t *sl = who->slot;
    apr_uint32_t state = apr_atomic_read32(&sl->state);
    mw_decision_in_t in;
    mw_limits_t limits;
    mw_hold_e hold;
    mw_decision_e d;

    slot_limits(sl, &limits);
    in.state = (mw_state_e)state;
    in.reason = mw_policy_check(&limits, f);
    in.over_ceiling = in.reason != MW_REASON_NONE
                      && mw_policy_check(ceil, f) != MW_REASON_NONE;
    if (in.reason == MW_REASON_NONE
        && apr_atomic_read32(&sl->retire_requested)) {
        in.reason = MW_REASON_TOTAL_PRIVATE;
    }
    in.dry_run = conf->dry_run;
    in.age = now - sl->started;
    in.min_lifetime = apr_time_from_sec(conf->min_lifetime);
    in.ticket_free = apr_atomic_read32(&t->hdr->retiring)
                     < conf->max_retiring;
    d = mw_policy_decide(&in, &hold);
    out->reason = in.reason;
    out->figures = *f;
    out->requests = requests;
    out->now = now;

    switch (d) {
    case MW_DECISION_NONE:
        if (state == MW_STATE_WAITING && in.reason == MW_REASON_NONE) {
            apr_atomic_cas32(&sl->state, MW_STATE_OK, MW_STATE_WAITING);
        }
        return 0;
    case MW_DECISION_DRY_RUN:
        apr_atomic_set32(&sl->reason, in.reason);
        if (apr_atomic_cas32(&sl->state, MW_STATE_WOULD_RECYCLE, state)
            == state) {
            out->what = "would recycle (MemwatchDryRun)";
            out->dry_run = 1;
            announce(s, p, who, out);
        }
        return 0;
    case MW_DECISION_RETIRE:
        if (mw_retire_ticket_take(t, sl, conf->max_retiring)) {
            break;
        }
        if (apr_atomic_read32(&sl->ticket_held)) {
            return 0;   /* another thread of this child is deciding */
        }
        hold = MW_HOLD_MAX_RETIRING;    /* another child took the last */
        /* fall through */
    case MW_DECISION_WAIT:
        apr_atomic_set32(&sl->reason, in.reason);
        apr_atomic_cas32(&sl->state, MW_STATE_WAITING, MW_STATE_OK);
        if (hold == MW_HOLD_MIN_LIFETIME && who->self
            && !min_lifetime_warned) {
            min_lifetime_warned = 1;
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "MW0011: child pid %" APR_PID_T_FMT " is over its "
                         "%s limit "
                         "after %" APR_TIME_T_FMT " s but MemwatchMinLifetime "
                         "is %u s: holding it back (is the limit too low?)",
                         who->pid, mw_reason_name(in.reason),
                         apr_time_sec(in.age), conf->min_lifetime);
        }
        return 0;
    case MW_DECISION_RETIRE_NOW:
        /* Counted among the retiring, even past MemwatchMaxRetiring. */
        mw_retire_ticket_take(t, sl, APR_UINT32_MAX);
        break;
    }

    apr_atomic_set32(&sl->reason, in.reason);
    if (apr_atomic_cas32(&sl->state, MW_STATE_RETIRING, state) != state) {
        mw_retire_ticket_return(t, sl);     /* another thread won */
        return 0;
    }
    sl->retire_time = now;
    apr_atomic_set32(&sl->retired, 1);
    out->what = d == MW_DECISION_RETIRE_NOW
                ? "recycling (past MemwatchCeiling)" : "recycling";
    out->dry_run = 0;
    return 1;
}

/* ---- Leaving --------------------------------------------------------- */

/* worker/event: may the retiring process exit now? Not while a client
 * may be about to reuse one of its connections, nor before the
 * generation has settled. */
static int may_leave(apr_time_t now)
{
    /* The atomic read orders it after start_leaving's exit_deadline. */
    if (!apr_atomic_read32(&mw_retire_hot.retiring)) {
        return 0;
    }
    return (apr_atomic_read32(&holding) == 0 || now >= exit_deadline)
           && generation_settled(now);
}

/* worker/event: accept nothing more (the connection stays in the backlog
 * for another child), and leave in the MPM's own way when it may. */
static apr_status_t threaded_retiring_accept(void **csd, ap_listen_rec *lr,
                                             apr_pool_t *ptrans)
{
    int state;

    /* As ap_unixd_accept does: worker's listener keeps csd across calls
     * and queues it unless the accept function clears it. */
    *csd = NULL;
    for (;;) {
        if (may_leave(apr_time_now())) {
            /* The listener closes, in-flight requests finish, the parent
             * starts a replacement. */
            return APR_EGENERAL;
        }
        switch (listener_kind) {
        case ACCEPT_UNDER_MUTEX:
            /* Declining would keep the mutex from the other children:
             * take the connection; it gets one response, with "close". */
            return ap_unixd_accept(csd, lr, ptrans);
        case DECLINE_AND_RETURN:
            /* The socket stays readable until another child accepts: do
             * not spin on it. */
            apr_sleep(DECLINE_PAUSE);
            return APR_EAGAIN;
        case DECLINE_UNTIL_LEAVING:
            /* worker would lose ptrans were nothing accepted, and an idle
             * worker child's listener would block in accept(), where a
             * wake-up connection may go to another child: wait here
             * (bounded: KeepAliveTimeout + 1 s, or the generation's
             * settling), unless the MPM is stopping anyway. */
            ap_mpm_query(AP_MPMQ_MPM_STATE, &state);
            if (state == AP_MPMQ_STOPPING) {
                return APR_EAGAIN;
            }
            apr_sleep(DECLINE_PAUSE);
            break;
        }
    }
}

/* prefork: the connection that was open at the decision has ended (this
 * runs as its pool, the MPM's ptrans, is cleared). stop_listening() sets
 * die_now; child_main then leaves with clean_child_exit(0). */
static apr_status_t prefork_leave(void *data)
{
    raise(AP_SIG_GRACEFUL);
    return APR_SUCCESS;
}

/* prefork: with one listener, child_main calls accept without looking at
 * die_now first; the listener is closed by then, so do not accept: the
 * loop goes round and sees die_now. */
static apr_status_t prefork_retiring_accept(void **csd, ap_listen_rec *lr,
                                            apr_pool_t *ptrans)
{
    *csd = NULL;
    return APR_EINTR;
}

/* This process stops taking new work, in the MPM's own way; c is the
 * connection being served (prefork), NULL on the watcher thread. */
static void start_leaving(conn_rec *c, apr_time_t now)
{
    ap_listen_rec *lr;

    /* Idle keep-alive connections time out within KeepAliveTimeout; event
     * checks its keep-alive queue with up to a second's delay. Published
     * by the atomic store, before any accept function can read it. */
    exit_deadline = now + keepalive_max + apr_time_from_sec(1);
    apr_atomic_set32(&mw_retire_hot.retiring, 1);
    /* Set by the MPM after child_init, so swapped only now; the listener
     * reads the pointer once per accept. */
    for (lr = ap_listeners; lr; lr = lr->next) {
        lr->accept_func = mw_retire_hot.threaded ? threaded_retiring_accept
                                                 : prefork_retiring_accept;
    }
    if (!mw_retire_hot.threaded) {
        apr_pool_cleanup_register(c->pool, NULL, prefork_leave,
                                  apr_pool_cleanup_null);
    }
}

/* ---- The request path ------------------------------------------------ */

int mw_retire_check_request(request_rec *r, const mw_request_figures_t *f)
{
    subject_t me;
    mw_figures_t memory;
    mw_limits_t limits;
    decision_t d;

    if (!checking) {
        return 0;
    }
    me.slot = mw_my_slot();
    me.index = mw_my_slot_index();
    me.pid = getpid();
    me.self = 1;
    slot_figures(me.slot, f->rss, &memory);
    if (f->requests % conf->check_every == 0
        && decide(r->server, r->pool, &me, &memory, f->requests, f->now,
                  &ceiling, &d)) {
        start_leaving(r->connection, f->now);
        announce(r->server, r->pool, &me, &d);
    }
    slot_limits(me.slot, &limits);
    return mw_policy_near(&limits, &memory);
}

void mw_retire_baseline(request_rec *r, apr_uint64_t baseline_rss)
{
    mw_shm_header_t *h = mw_table()->hdr;
    mw_slot_t *me = mw_my_slot();
    mw_limits_t limits;
    apr_uint32_t seen = apr_atomic_read32(&h->misconfig_generation);
    apr_uint32_t mark = (apr_uint32_t)generation + 1;

    slot_limits(me, &limits);
    if (!mw_policy_born_over(&limits, baseline_rss) || seen == mark
        || apr_atomic_cas32(&h->misconfig_generation, mark, seen) != seen) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, r->server,
                 "MW0015: MemwatchMaxRSS is below what a fresh child "
                 "holds: child "
                 "pid %" APR_PID_T_FMT " has %s at the end of warm-up, over "
                 "its limit of %s. A replacement would be as large, so no "
                 "child is recycled for MemwatchMaxRSS; raise it, or use "
                 "MemwatchMaxGrowth", getpid(),
                 mw_format_size(r->pool, baseline_rss),
                 mw_format_size(r->pool, limits.max_rss));
}

/* The end of a request on a mod_http2 secondary connection, which has no
 * state of its own here: its master's belongs to another thread. */
static apr_status_t secondary_request_done(void *data)
{
    apr_atomic_dec32(&holding);
    return APR_SUCCESS;
}

/* A connection's hold on the process, after its state changed. */
static void update_hold(struct mw_retire_conn_t *rc)
{
    int holds = rc->before || rc->idle;

    if (holds != rc->holds) {
        rc->holds = holds;
        if (holds) {
            apr_atomic_inc32(&holding);
        }
        else {
            apr_atomic_dec32(&holding);
        }
    }
}

/* A request begins on a threaded child (conn is NULL on a mod_http2
 * secondary connection). */
MW_HOT void mw_retire_track_begin(request_rec *r, mw_conn_t *conn,
                                  int retiring)
{
    struct mw_retire_conn_t *rc;

    if (!conn) {
        if (!retiring) {
            apr_atomic_inc32(&holding);
            apr_pool_cleanup_register(r->pool, NULL, secondary_request_done,
                                      apr_pool_cleanup_null);
        }
        return;
    }
    if (!(rc = conn->retire)) {
        return;
    }
    rc->idle = 0;
    rc->open++;
    if (!retiring) {
        rc->before++;
    }
    update_hold(rc);
}

/* The end of a request that began above: once none is open, its
 * connection may wait idle for the next keep-alive request. Requests on a
 * connection end in the order they began, so those that began before
 * retiring end first. */
MW_HOT void mw_retire_track_end(request_rec *r, mw_conn_t *conn)
{
    conn_rec *c = r->connection;
    struct mw_retire_conn_t *rc = conn->retire;

    if (!rc || !rc->open) {
        return;
    }
    rc->open--;
    if (rc->before) {
        rc->before--;
    }
    rc->idle = !rc->open && c->keepalive == AP_CONN_KEEPALIVE && !c->aborted;
    update_hold(rc);
}

static apr_status_t connection_done(void *data)
{
    struct mw_retire_conn_t *rc = data;

    rc->before = 0;
    rc->idle = 0;
    update_hold(rc);
    return APR_SUCCESS;
}

static int retire_pre_connection(conn_rec *c, void *csd)
{
    mw_conn_t *conn = mw_conn(c);

    if (conn && mw_retire_hot.threaded) {
        conn->retire = apr_pcalloc(c->pool, sizeof(*conn->retire));
        apr_pool_cleanup_register(c->pool, conn->retire, connection_done,
                                  apr_pool_cleanup_null);
    }
    return DECLINED;
}

/* ---- The watcher thread (worker and event) ---------------------------- */

/* Open and close a connection to a plain-HTTP listener (a wildcard one
 * through loopback), which wakes every child's listener thread. Plain
 * sockets: no pool of this thread's is needed. */
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

/* The limits of an idle child, checked on a fresh RSS. */
static void watch_limits(apr_time_t now)
{
    mw_slot_t *sl = mw_my_slot();
    apr_uint32_t state = apr_atomic_read32(&sl->state);
    subject_t me;
    mw_figures_t f;
    decision_t d;

    if (state != MW_STATE_OK && state != MW_STATE_WAITING) {
        return;
    }
    slot_figures(sl, mw_own_rss(), &f);
    if (!f.rss) {
        return;
    }
    me.slot = sl;
    me.index = mw_my_slot_index();
    me.pid = getpid();
    me.self = 1;
    apr_pool_clear(watcher_pool);
    if (decide(ap_server_conf, watcher_pool, &me, &f,
               apr_atomic_read64(&sl->requests), now, &ceiling, &d)) {
        start_leaving(NULL, now);
        announce(ap_server_conf, watcher_pool, &me, &d);
    }
}

static void *watcher(void *arg)
{
    apr_uint32_t tick = 0, nudges = 0;

    while (!apr_atomic_read32(&watcher_stop)) {
        apr_time_t now;

        apr_sleep(WATCH_TICK);
        if (apr_atomic_read32(&watcher_stop)) {
            break;
        }
        now = apr_time_now();
        if (apr_atomic_read32(&mw_retire_hot.retiring)) {
            /* An idle listener would not call the accept function that
             * lets the process go: wake it, for at most a minute. */
            if (may_leave(now) && nudges++ < 600) {
                nudge_listener();
            }
        }
        else if (checking && ++tick % WATCH_CHECK_TICKS == 0) {
            watch_limits(now);
        }
        else if (checking) {
            generation_settled(now);
        }
    }
    return NULL;
}

/* ---- The end of a child ---------------------------------------------- */

/* A child's index in the scoreboard, or -1. */
static int scoreboard_index_of(pid_t pid)
{
    apr_proc_t proc;

    proc.pid = pid;
    return ap_find_child_by_pid(&proc);
}

/* A prefork child on its way out is not a spare. It left the accept loop
 * marked SERVER_READY, and until the parent has reaped it the parent
 * counts it as idle (perform_idle_server_maintenance): a wave of recycled
 * children would hold off their replacements for a second and reset the
 * spawn rate to one a second. Marked as httpd marks a child finishing
 * gracefully ("G" on mod_status), it counts as neither. */
static void prefork_mark_leaving(void)
{
    int i = scoreboard_index_of(getpid());

    if (i >= 0) {
        ap_update_child_status_from_indexes(i, 0, SERVER_GRACEFUL, NULL);
    }
}

/* pchild pre-cleanup: the MPM destroys pchild once every worker has
 * finished (clean_child_exit), so the child has stopped serving. First of
 * all pchild cleanups (registered last, in the last child_init), before a
 * module's cleanup that may be slow or never return. */
static apr_status_t child_exiting(void *data)
{
    if (!mw_retire_hot.threaded && !one_process) {
        prefork_mark_leaving();
    }
    if (watcher_running) {
        apr_atomic_set32(&watcher_stop, 1);
        pthread_join(watcher_thread, NULL);
        watcher_running = 0;
    }
    mw_slot_leave(mw_table(), mw_my_slot(), apr_time_now());
    return APR_SUCCESS;
}

static void start_watcher(apr_pool_t *pchild, server_rec *s)
{
    int rv;

    apr_pool_create(&watcher_pool, pchild);
    /* A raw thread, inheriting the MPM's blocked signals: an APR thread
     * would allocate from pchild, which other threads use. */
    rv = pthread_create(&watcher_thread, NULL, watcher, NULL);
    if (rv == 0) {
        watcher_running = 1;
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "MW0009: cannot start the watcher thread: an idle child "
                     "over "
                     "its limit leaves only with the next request");
    }
}

static void draw_limits(mw_slot_t *me)
{
    mw_limits_t jittered;
    unsigned char rnd[4];
    double draw = 0.5;

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
    mw_policy_ceiling(&jittered, conf->ceiling, &ceiling);
}

static void retire_child_init(apr_pool_t *pchild, server_rec *s)
{
    mw_slot_t *me = mw_my_slot();

    if (!me) {
        return;
    }
    ap_mpm_query(AP_MPMQ_GENERATION, &generation);
    draw_limits(me);
    checking = (mw_policy_active(&conf->limits) || conf->max_total_private)
               && !one_process;
    if (strcmp(ap_show_mpm(), "worker")) {
        listener_kind = DECLINE_AND_RETURN;
    }
    else {
        listener_kind = ap_listeners && ap_listeners->next
                        ? ACCEPT_UNDER_MUTEX : DECLINE_UNTIL_LEAVING;
    }
    if (mw_retire_hot.threaded) {
        start_watcher(pchild, s);
    }
    apr_pool_pre_cleanup_register(pchild, NULL, child_exiting);
}

static int retire_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    int v = 0;

    conf = mw_config(s);
    ap_mpm_query(AP_MPMQ_IS_THREADED, &v);
    mw_retire_hot.threaded = v != AP_MPMQ_NOT_SUPPORTED;
    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &server_limit);
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads_per_child);
    if (threads_per_child < 1) {
        threads_per_child = 1;
    }
    /* In httpd -X the child is the server: recycling it would stop it. */
    one_process = ap_exists_config_define("ONE_PROCESS")
                  || ap_exists_config_define("DEBUG");
    keepalive_max = max_keepalive(s);
    return OK;
}

/* ---- The parent, every ten seconds ----------------------------------- */

/* Is the only worker of a prefork child waiting for a connection? Then
 * the MPM's graceful signal ends it without touching a request. */
static int prefork_idle(pid_t pid)
{
    int i = scoreboard_index_of(pid);

    return i >= 0
           && ap_get_scoreboard_worker_from_indexes(i, 0)->status
              == SERVER_READY;
}

/* An idle prefork child over its limit: no request ends to check it. */
static void prefork_check_idle(server_rec *s, apr_pool_t *p, int i,
                               mw_slot_t *sl, pid_t pid, apr_time_t now)
{
    subject_t who = { sl, i, pid, 0 };
    mw_limits_t limits, ceil;
    mw_figures_t f;
    decision_t d;

    slot_figures(sl, mw_rss_of(pid), &f);
    if (!f.rss || !prefork_idle(pid)) {
        return;
    }
    slot_limits(sl, &limits);
    mw_policy_ceiling(&limits, conf->ceiling, &ceil);
    if (decide(s, p, &who, &f, apr_atomic_read64(&sl->requests), now,
               &ceil, &d)) {
        ap_mpm_safe_kill(pid, AP_SIG_GRACEFUL);
        announce(s, p, &who, &d);
    }
}

/* A child that stopped serving MemwatchExitTimeout ago and is still
 * there is stuck in its exit: end it. */
static void end_stuck_exit(server_rec *s, int i, mw_slot_t *sl, pid_t pid,
                           apr_time_t now)
{
    apr_interval_time_t exiting = now - sl->exiting_since;

    if (!conf->exit_timeout || exiting < apr_time_from_sec(conf->exit_timeout)
        || apr_atomic_cas32(&sl->exit_killed, 1, 0) != 0) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 "MW0016: child pid %" APR_PID_T_FMT " (slot %d) stopped "
                 "serving %"
                 APR_TIME_T_FMT " s ago and has not exited (a module's "
                 "cleanup does not return?): killing it "
                 "(MemwatchExitTimeout %u)", pid, i, apr_time_sec(exiting),
                 conf->exit_timeout);
    ap_mpm_safe_kill(pid, SIGKILL);
}

static int retire_monitor(apr_pool_t *pconf, server_rec *s)
{
    const mw_table_t *t = mw_table();
    apr_time_t now = apr_time_now();
    apr_interval_time_t slow = keepalive_max + s->timeout
                               + apr_time_from_sec(10);
    apr_uint64_t total_private = 0, largest = 0;
    mw_slot_t *largest_slot = NULL;
    int pending = 0, prefork_checks;
    apr_pool_t *p;
    apr_uint32_t i;

    if (!t) {
        return DECLINED;
    }
    apr_pool_create(&p, pconf);
    prefork_checks = !mw_retire_hot.threaded && !one_process
                     && (mw_policy_active(&conf->limits)
                         || conf->max_total_private);
    for (i = 0; i < mw_table_nslots(t); i++) {
        mw_slot_t *sl = mw_table_slot(t, i);
        pid_t pid = (pid_t)apr_atomic_read32(&sl->pid);
        apr_uint32_t state = apr_atomic_read32(&sl->state);
        apr_uint64_t priv = apr_atomic_read64(&sl->private_bytes);

        if (!pid || state == MW_STATE_FREE) {
            continue;
        }
        if (state == MW_STATE_EXITING) {
            end_stuck_exit(s, (int)i, sl, pid, now);
            continue;
        }
        if (state == MW_STATE_RETIRING) {
            apr_interval_time_t waited = now - sl->retire_time;
            if (waited > slow && apr_atomic_cas32(&sl->exit_warned, 1, 0)
                                 == 0) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                             "MW0012: child pid %" APR_PID_T_FMT " (slot %u) "
                             "began "
                             "to retire %" APR_TIME_T_FMT " s ago and is "
                             "still serving: in-flight requests are left to "
                             "finish", pid, i, apr_time_sec(waited));
            }
            continue;
        }
        if (prefork_checks) {
            prefork_check_idle(s, p, (int)i, sl, pid, now);
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
        /* One at a time; the child acts on this at its next check. */
        apr_atomic_set32(&largest_slot->retire_requested, 1);
    }
    apr_pool_destroy(p);
    return DECLINED;
}

void mw_retire_register_hooks(void)
{
    ap_hook_post_config(retire_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* Last, so its pchild pre-cleanup is the first to run. */
    ap_hook_child_init(retire_child_init, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_hook_pre_connection(retire_pre_connection, NULL, NULL,
                           APR_HOOK_MIDDLE);
    ap_hook_monitor(retire_monitor, NULL, NULL, APR_HOOK_MIDDLE);
}
