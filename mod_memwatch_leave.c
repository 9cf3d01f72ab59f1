/* Licensed under the Apache License, Version 2.0. */

/* Leaving: a child that decided to retire stops taking work and exits
 * with status 0, without dropping a request (docs/recycling.md has the
 * httpd source this relies on).
 *
 * From the decision on:
 * - every response of the child says "Connection: close";
 * - in this process ap_mpm_query(AP_MPMQ_MPM_STATE) answers
 *   AP_MPMQ_STOPPING, as it does in a child the MPM stops: mod_http2 sends
 *   each session a GOAWAY and answers the streams it accepted, and the
 *   keep-alive loops of prefork and worker end;
 * - the child takes no new connection.
 * Already when a child over its limit is held back (mw_leave_soon),
 * event marks it in the scoreboard as no spare, so that the parent, which
 * starts children once a second at most, has a replacement going by the
 * time it leaves: a server whose children pass their limits all at once
 * keeps taking connections.
 * Then
 * - prefork: once the current connection has ended the child raises the
 *   MPM's own graceful signal on itself (AP_SIG_GRACEFUL: stop_listening,
 *   then clean_child_exit(0));
 * - worker/event: each listener's accept_func returns APR_EGENERAL, the
 *   MPM's exit path for this one process, once no connection of the child
 *   waits idle for a keep-alive request (event would close those as it
 *   leaves, racing a client that sends on them) and no request that began
 *   before the decision is still running. That path ends in
 *   exit(APEXIT_CHILDSICK), which makes the parent start replacements at
 *   one a second (and, before a generation's first healthy child, stop
 *   httpd: AH02324); the last of pchild's cleanups, after every worker
 *   has finished and every later-registered cleanup has run, ends the
 *   process with status 0 instead.
 */

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "mw_atomic.h"

#include "ap_listen.h"
#include "ap_mpm.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_main.h"
#include "mpm_common.h"
#include "scoreboard.h"
#include "unixd.h"

#include "mod_memwatch_private.h"
#include "mod_memwatch_config.h"
#include "mod_memwatch_leave.h"
#include "mw_atomic.h"
#include "mw_clock.h"
#include "mw_hot.h"

/* How long a leaving worker or event child's listener, woken by a
 * connection it will not take, waits before it looks again (another
 * child takes it meanwhile). */
#define DECLINE_PAUSE apr_time_from_msec(20)
/* The watcher wakes an idle listener for at most ten seconds. */
#define MAX_NUDGES 1000

/* Per connection (its thread's alone): requests begun on it and not yet
 * ended (more than one when pipelined), how many of them began before
 * this process decided to leave, whether it waits for its next keep-alive
 * request, and whether it holds the process (below). */
struct mw_leave_conn_t {
    apr_uint32_t open;
    apr_uint32_t before;
    int idle;
    int holds;
};

/* What leaving reads on every request, on one cache line: whether this
 * child is leaving, and whether its MPM is threaded (set in post_config,
 * inherited by children). */
static struct {
    volatile apr_uint32_t leaving;
    int threaded;
} hot MW_LINE_ALIGNED;

/* Set in post_config (parent, inherited by children). */
static int one_process;
static apr_interval_time_t keepalive_max;

/* How a leaving worker or event child's listener declines connections:
 * event's listener has other work (keep-alive and lingering connections)
 * and takes back the pool it offered; worker's only accepts, and with
 * several listeners it holds the accept mutex all children share. */
static enum {
    DECLINE_AND_RETURN,         /* event */
    DECLINE_UNTIL_LEAVING,      /* worker, one listener */
    ACCEPT_UNDER_MUTEX          /* worker, several listeners */
} listener_kind;
static int is_event;

/* This child, once leaving. */
static apr_time_t exit_deadline;    /* mw_clock_now() */
static volatile apr_uint32_t marked;    /* not spare (mw_leave_soon) */
static apr_uint32_t nudges;
/* Connections that hold a worker or event child: while one of its
 * requests that began before the decision is open, or while it waits for
 * its next keep-alive request (which a client may send as the child
 * leaves). The child leaves once none does. A keep-alive connection holds
 * from its first request to its end, so the count moves once per
 * connection, not per request; on event, a request of a mod_http2
 * secondary connection that began before the decision holds on its own. */
static volatile apr_uint32_t holding;

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

/* A child's index in the scoreboard, or -1. */
static int scoreboard_index_of(pid_t pid)
{
    apr_proc_t proc;

    proc.pid = pid;
    return ap_find_child_by_pid(&proc);
}

/* Set while this thread asks the MPM itself (mpm_stopping). */
static __thread int asking_mpm;
/* prefork and worker: set while the connection this thread serves has
 * promised the client another request ("Connection: Keep-Alive" on the
 * last response), until the next one begins. Their keep-alive loop
 * (ap_process_http_sync_connection) asks for AP_MPMQ_MPM_STATE between
 * requests and closes the connection on STOPPING, which would drop a
 * request the client may already be sending: so this thread is told the
 * MPM's own answer, and that next request gets "Connection: close". */
static __thread int keepalive_promised;
static int sync_mpm;                /* prefork, worker: not event */

/* Is the MPM stopping this process (a restart, a shutdown), whatever
 * leave_mpm_query answers for it? */
static int mpm_stopping(void)
{
    int state = 0;

    asking_mpm = 1;
    ap_mpm_query(AP_MPMQ_MPM_STATE, &state);
    asking_mpm = 0;
    return state == AP_MPMQ_STOPPING;
}

/* worker/event: may the leaving process exit now? Not while a client may
 * be about to reuse one of its connections. */
static int may_leave(void)
{
    /* The atomic read orders it after mw_leave_start's exit_deadline. */
    if (!mw_atomic_read32(&hot.leaving)) {
        return 0;
    }
    return mw_atomic_read32(&holding) == 0 || mw_clock_now() >= exit_deadline;
}

/* worker/event: accept nothing more (the connection stays in the backlog
 * for another child), and leave in the MPM's own way when it may. */
static apr_status_t threaded_leaving_accept(void **csd, ap_listen_rec *lr,
                                            apr_pool_t *ptrans)
{
    /* As ap_unixd_accept does: worker's listener keeps csd across calls
     * and queues it unless the accept function clears it. */
    *csd = NULL;
    for (;;) {
        if (may_leave()) {
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
             * (bounded: KeepAliveTimeout + 1 s), unless the MPM is
             * stopping anyway. */
            if (mpm_stopping()) {
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
static apr_status_t prefork_leaving_accept(void **csd, ap_listen_rec *lr,
                                           apr_pool_t *ptrans)
{
    *csd = NULL;
    return APR_EINTR;
}

apr_interval_time_t mw_leave_max_wait(void)
{
    return keepalive_max + apr_time_from_sec(1);
}

/* event: the parent's maintenance stops counting this child's idle
 * threads as spare (event's own flag for a child that takes nothing new),
 * and starts a replacement as soon as the others' are too few. worker has
 * no such flag: its "quiescing" also lets the parent start a new process
 * in the same scoreboard slot while this one still serves. */
static void mark_not_spare(void)
{
    int i = scoreboard_index_of(getpid());

    if (i >= 0) {
        ap_get_scoreboard_process(i)->not_accepting = 1;
    }
}

void mw_leave_soon(void)
{
    if (is_event && !mw_atomic_xchg32(&marked, 1)) {
        mark_not_spare();
    }
}

void mw_leave_start(conn_rec *c)
{
    ap_listen_rec *lr;

    mw_leave_soon();
    /* Idle keep-alive connections time out within KeepAliveTimeout; event
     * checks its keep-alive queue with up to a second's delay. Published
     * by the atomic store, before any accept function can read it. */
    exit_deadline = mw_clock_now() + mw_leave_max_wait();
    mw_atomic_set32(&hot.leaving, 1);
    /* The listener reads accept_func once per accept; the MPM sets it
     * after child_init, so it is swapped only now. */
    for (lr = ap_listeners; lr; lr = lr->next) {
        lr->accept_func = hot.threaded ? threaded_leaving_accept
                                                : prefork_leaving_accept;
    }
    if (!hot.threaded) {
        keepalive_promised = c->keepalive == AP_CONN_KEEPALIVE;
        apr_pool_cleanup_register(c->pool, NULL, prefork_leave,
                                  apr_pool_cleanup_null);
    }
}

/* The first requests that begin after the decision. */
static MW_COLD void request_begin_leaving(request_rec *r)
{
    /* ap_set_keepalive() then answers "Connection: close". */
    r->connection->keepalive = AP_CONN_CLOSE;
    if (!hot.threaded) {
        keepalive_promised = 0;
    }
}

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

void mw_leave_tick(void)
{
    /* An idle listener would not call the accept function that lets the
     * process go: wake it. */
    if (may_leave() && nudges++ < MAX_NUDGES) {
        nudge_listener();
    }
}

/* AP_MPMQ_MPM_STATE for a leaving child: stopping. First, before the
 * MPM's own answer; everything else is the MPM's to answer. */
static int leave_mpm_query(int query, int *result, apr_status_t *rv)
{
    /* Every request asks (ap_set_keepalive): the thread-locals are read
     * only in a leaving child. */
    if (query != AP_MPMQ_MPM_STATE
        || !mw_atomic_read32(&hot.leaving)
        || asking_mpm || keepalive_promised) {
        return DECLINED;
    }
    *result = AP_MPMQ_STOPPING;
    *rv = APR_SUCCESS;
    return OK;
}

/* ---- Connection accounting (worker and event) ------------------------- */

/* The end of a request on a mod_http2 secondary connection, which has no
 * state of its own here: its master's belongs to another thread. */
static apr_status_t secondary_request_done(void *data)
{
    mw_atomic_dec32(&holding);
    return APR_SUCCESS;
}

/* A connection's hold on the process, after its state changed. */
static void update_hold(struct mw_leave_conn_t *lc)
{
    int holds = lc->before || lc->idle;

    if (holds != lc->holds) {
        lc->holds = holds;
        if (holds) {
            mw_atomic_inc32(&holding);
        }
        else {
            mw_atomic_dec32(&holding);
        }
    }
}

static void track_begin(request_rec *r, mw_conn_t *conn, int leaving)
{
    struct mw_leave_conn_t *lc;

    if (!conn) {
        /* On worker a session's connection stays on its thread until its
         * streams are answered, and worker joins that thread before the
         * process ends: only event, where a session waits in the MPM
         * between reads, needs the stream to hold. Not holding matters
         * where the leaving child accepts under the mutex: every HTTP/2
         * connection it takes meanwhile brings a burst of streams. */
        if (!leaving && !sync_mpm) {
            mw_atomic_inc32(&holding);
            apr_pool_cleanup_register(r->pool, NULL, secondary_request_done,
                                      apr_pool_cleanup_null);
        }
        return;
    }
    if (!(lc = conn->leave)) {
        return;
    }
    if (sync_mpm) {
        keepalive_promised = 0;
    }
    lc->idle = 0;
    lc->open++;
    if (!leaving) {
        lc->before++;
    }
    update_hold(lc);
}

/* Once no request is open on its connection, it may wait idle for the
 * next keep-alive request. Requests on a connection end in the order they
 * began, so those that began before the decision end first. */
static void track_end(request_rec *r, mw_conn_t *conn)
{
    conn_rec *c = r->connection;
    struct mw_leave_conn_t *lc = conn->leave;

    if (!lc || !lc->open) {
        return;
    }
    lc->open--;
    if (lc->before) {
        lc->before--;
    }
    lc->idle = !lc->open && c->keepalive == AP_CONN_KEEPALIVE && !c->aborted;
    if (sync_mpm) {
        keepalive_promised = lc->idle;
    }
    update_hold(lc);
}

MW_HOT void mw_leave_request_begin(request_rec *r, mw_conn_t *conn)
{
    int leaving = mw_atomic_read32(&hot.leaving) != 0;

    if (MW_UNLIKELY(leaving)) {
        request_begin_leaving(r);
    }
    if (hot.threaded) {
        track_begin(r, conn, leaving);
    }
}

MW_HOT void mw_leave_request_end(request_rec *r, mw_conn_t *conn)
{
    if (hot.threaded && conn) {
        track_end(r, conn);
    }
}

int mw_leave_leaving(void)
{
    return mw_atomic_read32(&hot.leaving) != 0;
}

int mw_leave_threaded(void)
{
    return hot.threaded;
}

static apr_status_t connection_done(void *data)
{
    struct mw_leave_conn_t *lc = data;

    lc->before = 0;
    lc->idle = 0;
    update_hold(lc);
    return APR_SUCCESS;
}

void mw_leave_conn_init(conn_rec *c, mw_conn_t *conn)
{
    keepalive_promised = 0;
    if (hot.threaded) {
        conn->leave = apr_pcalloc(c->pool, sizeof(*conn->leave));
        apr_pool_cleanup_register(c->pool, conn->leave, connection_done,
                                  apr_pool_cleanup_null);
    }
}

/* ---- The end of the process ------------------------------------------ */

/* prefork: a child on its way out is not a spare. It left the accept loop
 * marked SERVER_READY, and until the parent has reaped it the parent
 * counts it as idle (perform_idle_server_maintenance): a wave of recycled
 * children would hold off their replacements for a second and reset the
 * spawn rate to one a second. Marked as httpd marks a child finishing
 * gracefully ("G" on mod_status), it counts as neither. A pre-cleanup, so
 * it runs before any module's cleanup that may be slow. */
static apr_status_t prefork_mark_leaving(void *data)
{
    int i = scoreboard_index_of(getpid());

    if (i >= 0) {
        ap_update_child_status_from_indexes(i, 0, SERVER_GRACEFUL, NULL);
    }
    return APR_SUCCESS;
}

/* worker/event: the last of pchild's cleanups (registered first, from the
 * first child_init), run as clean_child_exit destroys pchild once every
 * worker has been joined, right before its exit(APEXIT_CHILDSICK). What
 * _exit skips is exit()'s atexit handlers (apr_terminate destroying the
 * global pool, whose cleanups a child does not need: the kernel closes
 * its descriptors and frees its memory) and pchild cleanups registered
 * before this one. */
static apr_status_t exit_with_status_0(void *data)
{
    int gen = 0;

    if (mw_atomic_read32(&hot.leaving)) {
        /* Nothing can hang after this: free the slot now rather than when
         * the parent reaps the process, up to a second later (worker may
         * meanwhile have started more processes than ServerLimit). */
        ap_mpm_query(AP_MPMQ_GENERATION, &gen);
        mw_slot_reap(mw_table(), (apr_uint32_t)getpid(), (apr_uint32_t)gen,
                     apr_time_now());
        _exit(0);
    }
    return APR_SUCCESS;
}

/* First of the module's child_init steps, so that its pchild cleanup
 * is the last to run. */
void mw_leave_child_init(apr_pool_t *pchild, server_rec *s)
{
    /* Whether or not this child gets a slot (that is known only after
     * this hook), leaving begins only from one. */
    if (!mw_table() || one_process) {
        return;
    }
    if (hot.threaded) {
        apr_pool_cleanup_register(pchild, NULL, exit_with_status_0,
                                  apr_pool_cleanup_null);
    }
    else {
        apr_pool_pre_cleanup_register(pchild, NULL, prefork_mark_leaving);
    }
    is_event = !strcmp(ap_show_mpm(), "event");
    if (is_event || !hot.threaded) {
        listener_kind = DECLINE_AND_RETURN;
    }
    else {
        listener_kind = ap_listeners && ap_listeners->next
                        ? ACCEPT_UNDER_MUTEX : DECLINE_UNTIL_LEAVING;
    }
}

void mw_leave_post_config(server_rec *s)
{
    int v = 0;

    ap_mpm_query(AP_MPMQ_IS_THREADED, &v);
    hot.threaded = v != AP_MPMQ_NOT_SUPPORTED;
    v = 0;
    ap_mpm_query(AP_MPMQ_IS_ASYNC, &v);
    sync_mpm = !v;
    one_process = mw_config_one_process();
    keepalive_max = max_keepalive(s);
}

void mw_leave_register_hooks(void)
{
    ap_hook_mpm_query(leave_mpm_query, NULL, NULL, APR_HOOK_REALLY_FIRST);
}
