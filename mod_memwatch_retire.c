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
 * Leaving is mod_memwatch_leave.c's.
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
#include "mod_memwatch_children.h"
#include "mod_memwatch_leave.h"
#include "mw_atomic.h"
#include "mw_clock.h"
#include "mw_format.h"

/* The watcher thread's period, and its checks of the limits. */
#define WATCH_TICK apr_time_from_msec(100)
/* Once the child is leaving, the watcher wakes its listener this often:
 * the wake-up connection may go to another child's listener first. */
#define LEAVE_TICK apr_time_from_msec(10)
#define WATCH_CHECK_TICKS 10
/* Where a decision is made: in the child itself, or in the parent for an
 * idle prefork child. */
typedef struct subject_t {
    mw_slot_t *slot;
    int index;
    pid_t pid;
    int self;
    apr_interval_time_t age;
} subject_t;

/* Set in post_config (parent, inherited by children). */
static const mw_config_t *conf;
static int one_process;

/* This child. */
static int checking;                /* some limit can trigger a recycle */
static int generation;
static mw_limits_t ceiling;         /* its limits, moved by MemwatchCeiling */
static int min_lifetime_warned;
static apr_time_t born;             /* mw_clock_now() at child_init */
/* The watcher thread (worker and event). It is stopped and joined before
 * the child exits: exit() runs apr_terminate, which unloads this module
 * under any thread still running its code. */
static pthread_t watcher_thread;
static int watcher_running;
static apr_pool_t *watcher_pool;
/* Its tick is a wait that child_exiting cuts short: the exit, and the
 * memory the child still holds, wait for no sleep to end. */
static pthread_mutex_t watcher_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watcher_cond;
static int watcher_stop;            /* under watcher_mutex */
static int watcher_woken;           /* under watcher_mutex */

static void watcher_wake(int stop);

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
                 d->requests, apr_time_sec(who->age));
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
                  const mw_figures_t *f, int largest_over_total,
                  apr_uint64_t requests, apr_time_t now,
                  const mw_limits_t *ceil, decision_t *out)
{
    const mw_table_t *t = mw_table();
    mw_slot_t *sl = who->slot;
    apr_uint32_t state = apr_atomic_read32(&sl->state);
    mw_decision_in_t in;
    mw_limits_t limits;
    mw_hold_e hold;
    mw_decision_e d;
    apr_status_t rv;
    apr_uint32_t requested;

    slot_limits(sl, &limits);
    in.state = (mw_state_e)state;
    in.reason = mw_policy_check(&limits, f);
    in.over_ceiling = in.reason != MW_REASON_NONE
                      && mw_policy_check(ceil, f) != MW_REASON_NONE;
    requested = apr_atomic_read32(&sl->retire_requested);
    if (in.reason == MW_REASON_NONE && (largest_over_total || requested)) {
        in.reason = MW_REASON_TOTAL_PRIVATE;
        in.over_ceiling = largest_over_total == 2 || requested == 2;
    }
    in.dry_run = conf->dry_run;
    in.age = who->age;
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
    case MW_DECISION_RETIRE_NOW:
        /* One step: the slot moves to RETIRING together with a ticket
         * (past the ceiling, one never refused), or nothing is taken. */
        rv = mw_slot_retire(t, sl, state, d == MW_DECISION_RETIRE_NOW
                                          ? APR_UINT32_MAX
                                          : conf->max_retiring);
        if (rv == APR_SUCCESS) {
            break;
        }
        if (rv != APR_EBUSY) {
            return 0;   /* another thread, or the parent, decided first */
        }
        hold = MW_HOLD_MAX_RETIRING;    /* another child took the last */
        /* fall through */
    case MW_DECISION_WAIT:
        apr_atomic_set32(&sl->reason, in.reason);
        apr_atomic_cas32(&sl->state, MW_STATE_WAITING, MW_STATE_OK);
        if (who->self) {
            mw_leave_soon();
        }
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
    }

    apr_atomic_set32(&sl->reason, in.reason);
    sl->retire_time = now;
    apr_atomic_set32(&sl->retired, 1);
    out->what = d == MW_DECISION_RETIRE_NOW
                ? "recycling (past MemwatchCeiling)" : "recycling";
    out->dry_run = 0;
    return 1;
}

/* ---- The request path ------------------------------------------------ */

/* This child, as the subject of its own decisions. Its age is on the
 * monotonic clock, from this process's own memory. */
static void self_subject(subject_t *me)
{
    me->slot = mw_my_slot();
    me->index = mw_my_slot_index();
    me->pid = getpid();
    me->self = 1;
    me->age = mw_clock_since(mw_clock_now(), born);
}

int mw_retire_check_request(request_rec *r, const mw_request_figures_t *f)
{
    subject_t me;
    mw_figures_t memory;
    mw_limits_t limits;
    decision_t d;

    if (!checking) {
        return 0;
    }
    self_subject(&me);
    slot_figures(me.slot, f->rss, &memory);
    if ((f->requests % conf->check_every == 0 || f->largest_over_total)
        && decide(r->server, r->pool, &me, &memory, f->largest_over_total,
                  f->requests, f->now, &ceiling, &d)) {
        mw_leave_start(r->connection);
        watcher_wake(0);
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

/* ---- The watcher thread (worker and event) ---------------------------- */

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
    self_subject(&me);
    apr_pool_clear(watcher_pool);
    if (decide(ap_server_conf, watcher_pool, &me, &f, 0,
               apr_atomic_read64(&sl->requests), now, &ceiling, &d)) {
        mw_leave_start(NULL);
        announce(ap_server_conf, watcher_pool, &me, &d);
    }
}

/* Wait one tick (shorter once the child is leaving), or until woken:
 * nonzero when told to stop. */
static int watcher_wait(void)
{
    apr_interval_time_t tick = apr_atomic_read32(&mw_leave_hot.leaving)
                               ? LEAVE_TICK : WATCH_TICK;
    struct timespec until;
    int stop;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += (long)tick * 1000;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&watcher_mutex);
    if (!watcher_stop && !watcher_woken) {
        pthread_cond_timedwait(&watcher_cond, &watcher_mutex, &until);
    }
    watcher_woken = 0;
    stop = watcher_stop;
    pthread_mutex_unlock(&watcher_mutex);
    return stop;
}

/* Make the watcher tick now: the child has just decided to leave. */
static void watcher_wake(int stop)
{
    if (!watcher_running) {
        return;
    }
    pthread_mutex_lock(&watcher_mutex);
    watcher_woken = 1;
    watcher_stop |= stop;
    pthread_cond_signal(&watcher_cond);
    pthread_mutex_unlock(&watcher_mutex);
}

static void *watcher(void *arg)
{
    apr_uint32_t tick = 0;

    while (!watcher_wait()) {
        if (apr_atomic_read32(&mw_leave_hot.leaving)) {
            mw_leave_tick();
        }
        else if (checking
                 && (++tick % WATCH_CHECK_TICKS == 0
                     || apr_atomic_read32(&mw_my_slot()->retire_requested))) {
            watch_limits(apr_time_now());
        }
    }
    return NULL;
}

/* ---- The end of a child ---------------------------------------------- */

/* pchild pre-cleanup: the MPM destroys pchild once every worker has
 * finished (clean_child_exit), so the child has stopped serving. First of
 * all pchild cleanups (registered last, in the last child_init), before a
 * module's cleanup that may be slow or never return. */
static apr_status_t child_exiting(void *data)
{
    /* First the ticket back, so another child may retire now. */
    mw_slot_leave(mw_table(), mw_my_slot(), apr_time_now());
    if (watcher_running) {
        watcher_wake(1);
        pthread_join(watcher_thread, NULL);
        watcher_running = 0;
    }
    return APR_SUCCESS;
}

static void start_watcher(apr_pool_t *pchild, server_rec *s)
{
    pthread_condattr_t attr;
    int rv;

    apr_pool_create(&watcher_pool, pchild);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&watcher_cond, &attr);
    pthread_condattr_destroy(&attr);
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
    born = mw_clock_now();
    ap_mpm_query(AP_MPMQ_GENERATION, &generation);
    draw_limits(me);
    checking = (mw_policy_active(&conf->limits) || conf->max_total_private)
               && !one_process;
    if (mw_leave_hot.threaded) {
        start_watcher(pchild, s);
    }
    apr_pool_pre_cleanup_register(pchild, NULL, child_exiting);
}

static int retire_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    conf = mw_config(s);
    /* In httpd -X the child is the server: recycling it would stop it. */
    one_process = ap_exists_config_define("ONE_PROCESS")
                  || ap_exists_config_define("DEBUG");
    return OK;
}

/* ---- The parent, every ten seconds ----------------------------------- */

/* Is the only worker of a prefork child waiting for a connection? Then
 * the MPM's graceful signal ends it without touching a request. */
static int prefork_idle(pid_t pid)
{
    apr_proc_t proc;
    int i;

    proc.pid = pid;
    i = ap_find_child_by_pid(&proc);

    return i >= 0
           && ap_get_scoreboard_worker_from_indexes(i, 0)->status
              == SERVER_READY;
}

/* An idle prefork child over its limit: no request ends to check it. */
static void prefork_check_idle(server_rec *s, apr_pool_t *p, int i,
                               mw_slot_t *sl, pid_t pid, apr_time_t now)
{
    subject_t who = { sl, i, pid, 0, 0 };
    mw_limits_t limits, ceil;
    mw_figures_t f;
    decision_t d;

    slot_figures(sl, mw_rss_of(pid), &f);
    if (!f.rss || !prefork_idle(pid)) {
        return;
    }
    slot_limits(sl, &limits);
    mw_policy_ceiling(&limits, conf->ceiling, &ceil);
    who.age = mw_clock_since(now, sl->started);
    if (decide(s, p, &who, &f, 0, apr_atomic_read64(&sl->requests), now,
               &ceil, &d)) {
        mw_children_signal(s, i, pid, AP_SIG_GRACEFUL);
        announce(s, p, &who, &d);
    }
}

/* What the parent has seen of each slot, in its own memory: the table's
 * times are the children's word, and the wall clock may step. Exit and
 * retiring times are counted from when the parent first saw the state,
 * on the monotonic clock: up to one monitor period late, never early. */
typedef struct seen_t {
    pid_t pid;
    apr_uint32_t state;
    apr_time_t since;               /* mw_clock_now() it was first seen */
    int acted;                      /* warned (retiring), killed (exiting) */
} seen_t;
static seen_t *seen;
static apr_uint32_t seen_len;

/* The slot as the parent sees it now: its record, restarted when the pid
 * or the state changed. */
static seen_t *see(apr_uint32_t i, pid_t pid, apr_uint32_t state,
                   apr_time_t now)
{
    seen_t *w = &seen[i];

    if (w->pid != pid || w->state != state) {
        w->pid = pid;
        w->state = state;
        w->since = now;
        w->acted = 0;
    }
    return w;
}

/* A child that stopped serving MemwatchExitTimeout ago and is still
 * there is stuck in its exit: end it, if it is a child of this parent
 * (mw_children_signal refuses and logs any other pid). */
static void end_stuck_exit(server_rec *s, int i, seen_t *w, apr_time_t now)
{
    apr_interval_time_t exiting = mw_clock_since(now, w->since);

    if (!conf->exit_timeout || exiting < apr_time_from_sec(conf->exit_timeout)
        || w->acted || !mw_children_vouch(s, i, w->pid)) {
        return;
    }
    w->acted = 1;
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 "MW0016: child pid %" APR_PID_T_FMT " (slot %d) stopped "
                 "serving %"
                 APR_TIME_T_FMT " s ago or more and has not exited (a "
                 "module's cleanup does not return?): killing it "
                 "(MemwatchExitTimeout %u)", w->pid, i, apr_time_sec(exiting),
                 conf->exit_timeout);
    mw_children_signal(s, i, w->pid, SIGKILL);
}

/* A child that began to retire long ago and still serves. */
static void warn_slow_retire(server_rec *s, int i, seen_t *w, apr_time_t now)
{
    apr_interval_time_t waited = mw_clock_since(now, w->since);

    if (waited <= mw_leave_max_wait() + s->timeout + apr_time_from_sec(10)
        || w->acted) {
        return;
    }
    w->acted = 1;
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 "MW0012: child pid %" APR_PID_T_FMT " (slot %d) began "
                 "to retire %" APR_TIME_T_FMT " s ago or more and is still "
                 "serving: in-flight requests are left to finish", w->pid, i,
                 apr_time_sec(waited));
}

static int retire_monitor(apr_pool_t *pconf, server_rec *s)
{
    const mw_table_t *t = mw_table();
    apr_time_t now = apr_time_now(), mono = mw_clock_now();
    mw_private_total_t tot;
    int prefork_checks;
    apr_pool_t *p;
    apr_uint32_t i;

    if (!t) {
        return DECLINED;
    }
    if (seen_len != mw_table_nslots(t)) {
        seen_len = mw_table_nslots(t);
        seen = apr_pcalloc(pconf, seen_len * sizeof(*seen));
    }
    apr_pool_create(&p, pconf);
    prefork_checks = !mw_leave_hot.threaded && !one_process
                     && (mw_policy_active(&conf->limits)
                         || conf->max_total_private);
    for (i = 0; i < seen_len; i++) {
        mw_slot_t *sl = mw_table_slot(t, i);
        pid_t pid = (pid_t)apr_atomic_read32(&sl->pid);
        apr_uint32_t state = apr_atomic_read32(&sl->state);
        seen_t *w = see(i, pid, state, mono);

        if (!pid || state == MW_STATE_FREE) {
            continue;
        }
        if (state == MW_STATE_EXITING) {
            end_stuck_exit(s, (int)i, w, mono);
        }
        else if (state == MW_STATE_RETIRING) {
            warn_slow_retire(s, (int)i, w, mono);
        }
        else if (prefork_checks) {
            prefork_check_idle(s, p, (int)i, sl, pid, now);
        }
    }
    /* The children check the budget themselves as they serve; an idle
     * prefork child is asked from here, and acts at its next check. */
    mw_table_private_total(t, &tot);
    if (conf->max_total_private && tot.all > conf->max_total_private
        && tot.largest >= 0 && !conf->dry_run) {
        apr_atomic_cas32(&mw_table_slot(t, (apr_uint32_t)tot.largest)
                         ->retire_requested, 1, 0);
    }
    apr_pool_destroy(p);
    return DECLINED;
}

void mw_retire_register_hooks(void)
{
    ap_hook_post_config(retire_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* Last, so its pchild pre-cleanup is the first to run. */
    ap_hook_child_init(retire_child_init, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_hook_monitor(retire_monitor, NULL, NULL, APR_HOOK_MIDDLE);
}
