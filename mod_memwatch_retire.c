/* Licensed under the Apache License, Version 2.0. */

/* Deciding that a child retires, gracefully and when its memory says so,
 * or when it was asked to (MemwatchMaxTotalPrivate, MemwatchPressure, a
 * recycle button; see docs/recycling.md for the httpd source this relies
 * on).
 *
 * mw_policy_decide() runs on the figures of a finished request (the
 * request path), every second from a small watcher thread of a worker or
 * event child (an idle child), and every ten seconds from the parent for
 * an idle prefork child (mod_memwatch_parent.c). Below the ceiling
 * (MemwatchCeiling) a child over its limit may wait for
 * MemwatchMinLifetime and a MemwatchMaxRetiring ticket; past it, it leaves
 * regardless. Leaving is mod_memwatch_leave.c's.
 *
 * With MemwatchTrim, a child over an RSS limit first gives malloc's free
 * memory back and reads RSS again: it retires only if still over.
 *
 * As the MPM destroys pchild, after every worker has finished, the child
 * marks itself exiting and gives its ticket back; the parent ends a child
 * stuck in its exit (mod_memwatch_parent.c).
 */

#include <pthread.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "apr_random.h"

#include "ap_mpm.h"
#include "http_main.h"
#include "mpm_common.h"

#include "mod_memwatch_private.h"
#include "mod_memwatch_config.h"
#include "mod_memwatch_children.h"
#include "mod_memwatch_table.h"
#include "mod_memwatch_mapping.h"
#include "mod_memwatch_leave.h"
#include "mod_memwatch_retire.h"
#include "mw_atomic.h"
#include "mw_clock.h"
#include "mw_format.h"
#include "mw_heap.h"

/* The watcher thread's period, and its checks of the limits. */
#define WATCH_TICK apr_time_from_msec(100)
/* Once the child is leaving, the watcher wakes its listener this often:
 * the wake-up connection may go to another child's listener first. */
#define LEAVE_TICK apr_time_from_msec(10)
#define WATCH_CHECK_TICKS 10

/* Whose retirement is decided: the child itself, or an idle prefork child
 * the parent looks at. */
typedef struct subject_t {
    mw_slot_t *slot;
    int index;
    pid_t child_pid;
    int self;
    apr_time_t started;             /* as its slot says, for the record */
    apr_interval_time_t age;
} subject_t;

/* Set in post_config (parent, inherited by children). */
static const mw_config_t *conf;
static int one_process;

/* This child. */
static int checking;                /* some limit can trigger a recycle */
static int generation;
static apr_uint32_t my_pid;         /* what a retire request must name */
static int min_lifetime_warned;
static apr_time_t born;             /* mw_clock_now() at child_init */
static apr_time_t born_at;          /* apr_time_now() then, for records */
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

/* MemwatchTrim: this child's last trim (mw_policy_trim_due): when, on the
 * monotonic clock, and the RSS it left. Written under trim_busy, which
 * one deciding thread at a time holds. */
static volatile apr_uint32_t trim_busy;
static mw_trim_last_t trim_last;

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
    /* What grew most since warm-up, by mapping, as the child read it
     * when it decided; -1: no reading (the parent decided). */
    int nmapping;
    mw_mapping_growth_t mapping[MW_MAPPING_TOP];
} decision_t;

/* ", top growth heap +14 MiB": the class that grew most and by how much
 * (as it was ranked), or nothing. */
static const char *top_growth(apr_pool_t *p, const decision_t *d)
{
    const mw_mapping_growth_t *g = &d->mapping[0];

    if (d->nmapping <= 0) {
        return "";
    }
    return apr_pstrcat(p, ", top growth ",
                       mw_mapping_class_name((mw_mapping_class_e)g->mclass),
                       " +", mw_format_ssize(p, mw_mapping_growth_size(g)),
                       NULL);
}

static void log_decision(server_rec *s, apr_pool_t *p, const subject_t *who,
                         const decision_t *d)
{
    const mw_figures_t *f = &d->figures;

    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 "MW0010: %s child pid %" APR_PID_T_FMT " (slot %d), "
                 "reason %s: rss %s, growth %s since baseline %s, private %s, "
                 "%" APR_UINT64_T_FMT " requests in %" APR_TIME_T_FMT " s%s",
                 d->what, who->child_pid, who->index,
                 mw_reason_name(d->reason),
                 mw_format_size(p, f->rss),
                 mw_format_ssize(p, (apr_int64_t)f->rss
                                    - (apr_int64_t)f->baseline_rss),
                 mw_format_size(p, f->baseline_rss),
                 f->private_bytes == MW_UNKNOWN
                 ? "unknown" : mw_format_size(p, f->private_bytes),
                 d->requests, apr_time_sec(who->age), top_growth(p, d));
}

static void record(const subject_t *who, const decision_t *d)
{
    const mw_figures_t *f = &d->figures;
    mw_recycle_t ev;

    memset(&ev, 0, sizeof(ev));
    ev.pid = (apr_uint32_t)who->child_pid;
    ev.slot = (apr_uint32_t)who->index;
    ev.reason = d->reason;
    ev.dry_run = d->dry_run;
    ev.time = d->now;
    ev.started = who->started;
    ev.rss = f->rss;
    ev.growth = f->rss > f->baseline_rss ? f->rss - f->baseline_rss : 0;
    ev.private_bytes = f->private_bytes;
    ev.shared_bytes = f->shared_bytes;
    ev.requests = d->requests;
    ev.mapping_count = MW_MAPPING_UNREAD;
    if (d->nmapping >= 0) {
        ev.mapping_count = (apr_uint32_t)d->nmapping;
        memcpy(ev.mapping, d->mapping, sizeof(ev.mapping));
    }
    mw_recycle_add(mw_table(), &ev);
}

/* A decision in the error log and in the table's recent recycles, with
 * what grew by mapping when the child decided for itself: read here, as
 * the child has stopped taking work (or, on a dry run, once in its life),
 * on the deciding thread. */
static void announce(server_rec *s, apr_pool_t *p, const subject_t *who,
                     decision_t *d)
{
    d->nmapping = who->self ? mw_mapping_growth(d->mapping, MW_MAPPING_TOP)
                            : -1;
    log_decision(s, p, who, d);
    record(who, d);
}

/* MemwatchTrim: `who`, this child, is over `reason`, an RSS limit. Give
 * malloc's free memory back on this thread (the one that decided), when
 * mw_policy_trim_due allows, and read RSS again into f: also when it does
 * not, as a reading from before another thread's trim would retire the
 * child for memory it gave back. The trim, what it gave back and whether
 * the child is now under its limits go to the log (MW0025), the slot and
 * the totals. Returns 0, f untouched, while another thread is at it: that
 * thread decides. */
static int trim_first(server_rec *s, apr_pool_t *p, const subject_t *who,
                      const mw_limits_t *limits, mw_reason_e reason,
                      mw_figures_t *f)
{
    apr_time_t mono = mw_clock_now();
    apr_uint64_t before = f->rss, fresh, given;
    int trim, kept;

    if (mw_atomic_cas32(&trim_busy, 1, 0) != 0) {
        return 0;
    }
    trim = mw_policy_trim_due(&trim_last, before, mono)
           && mw_heap_trim() == APR_SUCCESS;
    fresh = mw_own_rss();
    f->rss = fresh ? fresh : before;    /* statm unreadable: as it was */
    if (trim) {
        trim_last.done = 1;
        trim_last.time = mono;
        trim_last.rss_after = f->rss;
    }
    mw_atomic_set32(&trim_busy, 0);
    if (!trim) {
        return 1;
    }
    mw_slot_note_rss(who->slot, f->rss);
    kept = mw_policy_check(limits, f) == MW_REASON_NONE;
    given = before > f->rss ? before - f->rss : 0;
    mw_slot_note_trim(mw_table(), who->slot, given, kept);
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 "MW0025: child pid %" APR_PID_T_FMT " (slot %d) over its "
                 "%s limit: malloc_trim gave back %s, rss %s now (was %s); "
                 "%s", who->child_pid, who->index, mw_reason_name(reason),
                 mw_format_size(p, given),
                 mw_format_size(p, f->rss), mw_format_size(p, before),
                 kept ? "under its limits now: it stays"
                      : "still over its limits");
    return 1;
}

/* Decide for `who` on `figures`, and move its slot to the state that
 * follows. Returns 1 when it must leave now: the caller starts that, and
 * only then announces *out. Logging takes a while (much longer when this
 * thread is preempted in the write), and until the process has stopped
 * taking work its other threads go on starting keep-alive requests. */
static int decide(server_rec *s, apr_pool_t *p, const subject_t *who,
                  const mw_figures_t *figures, int largest_over_total,
                  apr_time_t now, decision_t *out)
{
    mw_figures_t f = *figures;
    const mw_table_t *t = mw_table();
    mw_slot_t *sl = who->slot;
    mw_state_e state = mw_slot_state(sl);
    int requested_now;
    mw_reason_e requested = mw_slot_retire_requested(
        sl, (apr_uint32_t)who->child_pid, &requested_now);
    mw_limits_t limits, ceiling;
    mw_decision_in_t in;
    mw_hold_e hold;
    mw_decision_e d;
    apr_status_t rv;

    mw_slot_limits(sl, &limits);
    mw_policy_ceiling(&limits, conf->ceiling, &ceiling);
    in.state = state;
    in.reason = mw_policy_check(&limits, &f);
    /* Only this child can trim itself: not the parent for an idle prefork
     * child. */
    if (conf->trim && who->self && mw_policy_trimmable(in.reason)
        && (state == MW_STATE_OK || state == MW_STATE_WAITING)) {
        if (!trim_first(s, p, who, &limits, in.reason, &f)) {
            return 0;
        }
        in.reason = mw_policy_check(&limits, &f);
    }
    in.over_ceiling = in.reason != MW_REASON_NONE
                      && mw_policy_check(&ceiling, &f) != MW_REASON_NONE;
    if (in.reason == MW_REASON_NONE && largest_over_total) {
        in.reason = MW_REASON_TOTAL_PRIVATE;
        in.over_ceiling = largest_over_total == 2;
    }
    else if (in.reason == MW_REASON_NONE && requested != MW_REASON_NONE) {
        in.reason = requested;
        in.over_ceiling = requested_now;
    }
    in.dry_run = conf->dry_run;
    in.age = who->age;
    in.min_lifetime = apr_time_from_sec(conf->min_lifetime);
    in.ticket_free = mw_table_retiring(t) < conf->max_retiring;
    d = mw_policy_decide(&in, &hold);
    out->reason = in.reason;
    out->figures = f;
    /* Read here, after any trim (milliseconds on a large heap, while the
     * child's other threads serve on): the count at the decision. */
    out->requests = mw_slot_requests(sl);
    out->now = now;

    switch (d) {
    case MW_DECISION_NONE:
        if (state == MW_STATE_WAITING && in.reason == MW_REASON_NONE) {
            mw_slot_unwait(sl);
        }
        return 0;
    case MW_DECISION_DRY_RUN:
        if (mw_slot_would_recycle(sl, state, in.reason)) {
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
                                          : conf->max_retiring,
                            in.reason, now);
        if (rv == APR_SUCCESS) {
            break;
        }
        if (rv != APR_EBUSY) {
            return 0;   /* another thread, or the parent, decided first */
        }
        hold = MW_HOLD_MAX_RETIRING;    /* another child took the last */
        /* fall through */
    case MW_DECISION_WAIT:
        mw_slot_wait(sl, in.reason);
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
                         who->child_pid, mw_reason_name(in.reason),
                         apr_time_sec(in.age), conf->min_lifetime);
        }
        return 0;
    }
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
    me->child_pid = getpid();
    me->self = 1;
    me->started = born_at;
    me->age = mw_clock_since(mw_clock_now(), born);
}

/* Was this child asked to retire (for the total, for pressure, by hand)?
 * It then decides at once, not at its next check. */
static int asked_to_retire(void)
{
    int past_ceiling;

    return mw_slot_retire_requested(mw_my_slot(), my_pid, &past_ceiling)
           != MW_REASON_NONE;
}

void mw_retire_check_request(request_rec *r, const mw_request_figures_t *f)
{
    subject_t me;
    decision_t d;

    if (!checking
        || (f->requests % conf->check_every && !f->largest_over_total
            && !asked_to_retire())) {
        return;
    }
    self_subject(&me);
    if (decide(r->server, r->pool, &me, &f->memory, f->largest_over_total,
               f->now, &d)) {
        mw_leave_start(r->connection);
        watcher_wake(0);
        announce(r->server, r->pool, &me, &d);
    }
}

void mw_retire_baseline(request_rec *r, apr_uint64_t baseline_rss)
{
    mw_limits_t limits;

    mw_slot_limits(mw_my_slot(), &limits);
    if (!mw_policy_born_over(&limits, baseline_rss)
        || !mw_table_first_misconfig(mw_table(), (apr_uint32_t)generation)) {
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
    mw_state_e state = mw_slot_state(sl);
    subject_t me;
    mw_figures_t f;
    decision_t d;

    if (state != MW_STATE_OK && state != MW_STATE_WAITING) {
        return;
    }
    mw_slot_figures(sl, mw_own_rss(), &f);
    if (!f.rss) {
        return;
    }
    self_subject(&me);
    apr_pool_clear(watcher_pool);
    if (decide(ap_server_conf, watcher_pool, &me, &f, 0, now, &d)) {
        mw_leave_start(NULL);
        announce(ap_server_conf, watcher_pool, &me, &d);
    }
}

/* Wait one tick (shorter once the child is leaving), or until woken:
 * nonzero when told to stop. */
static int watcher_wait(void)
{
    apr_interval_time_t tick = mw_leave_leaving() ? LEAVE_TICK
                                                       : WATCH_TICK;
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
        apr_time_t now;

        if (mw_leave_leaving()) {
            mw_leave_tick();
            continue;
        }
        /* The child page's ask, and malloc's figures once a second: off
         * every request's path. */
        mw_mapping_answer();
        now = apr_time_now();
        mw_own_heap(now);
        if (checking
            && (++tick % WATCH_CHECK_TICKS == 0 || asked_to_retire())) {
            watch_limits(now);
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

/* This child's limits: the configured ones, jittered (MemwatchJitter). */
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
    mw_slot_set_limits(me, &jittered);
}

void mw_retire_child_init(apr_pool_t *pchild, server_rec *s)
{
    mw_slot_t *me = mw_my_slot();

    if (!me) {
        return;
    }
    born = mw_clock_now();
    born_at = apr_time_now();
    my_pid = (apr_uint32_t)getpid();
    ap_mpm_query(AP_MPMQ_GENERATION, &generation);
    draw_limits(me);
    checking = mw_config_may_retire(conf) && !one_process;
    if (mw_leave_threaded()) {
        start_watcher(pchild, s);
    }
}

/* The module's last child_init, for its pchild pre-cleanup to run first
 * of all. */
static void retire_exit_first(apr_pool_t *pchild, server_rec *s)
{
    if (mw_my_slot()) {
        apr_pool_pre_cleanup_register(pchild, NULL, child_exiting);
    }
}

void mw_retire_post_config(server_rec *s)
{
    conf = mw_config(s);
    one_process = mw_config_one_process();
    if (conf->trim && (conf->limits.max_growth || conf->limits.max_rss)
        && mw_heap_trim_unavailable()
        && ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MW0021: MemwatchTrim "
                     "is inactive: %s; children over a limit retire "
                     "untrimmed (MemwatchTrim Off silences this)",
                     mw_heap_trim_unavailable());
    }
}

/* ---- For the parent: an idle prefork child ---------------------------- */

void mw_retire_idle(server_rec *s, apr_pool_t *p, int index, pid_t pid,
                    const mw_slot_copy_t *copy, apr_uint64_t rss,
                    apr_time_t now)
{
    subject_t who;
    mw_figures_t f;
    decision_t d;

    who.slot = mw_table_slot(mw_table(), (apr_uint32_t)index);
    who.index = index;
    who.child_pid = pid;
    who.self = 0;
    who.started = copy->started;
    who.age = mw_clock_since(now, copy->started);
    mw_slot_figures(who.slot, rss, &f);
    if (decide(s, p, &who, &f, 0, now, &d)) {
        mw_children_signal(s, index, pid, AP_SIG_GRACEFUL);
        announce(s, p, &who, &d);
    }
}

void mw_retire_register_hooks(void)
{
    ap_hook_child_init(retire_exit_first, NULL, NULL, APR_HOOK_REALLY_LAST);
}
