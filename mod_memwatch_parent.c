/* Licensed under the Apache License, Version 2.0. */

/* The parent's duties toward its children. httpd's parent runs the
 * monitor hooks every ten seconds (ap_wait_or_timeout, on every tenth
 * one-second wait); here one pass over the table serves every concern:
 * - a history sample of a child that served nothing lately (sampling);
 * - the limits of an idle prefork child, which no request checks, and a
 *   request that it retire (MemwatchMaxTotalPrivate, MemwatchPressure,
 *   by hand) (deciding);
 * - a child over MemwatchMaxTotalPrivate that serves nothing is asked to
 *   retire at its next check;
 * - under MemwatchPressure, the largest child is asked to retire, one a
 *   pass: avg10 then has a window to show the effect;
 * - a child stuck in its exit is ended after MemwatchExitTimeout (a
 *   module's pchild cleanup that never returns, as embedded mod_wsgi's
 *   does on Python 3.11), whatever made it leave; one slow to retire is
 *   reported.
 * Every pid read from the table is the word of a child: nothing is read
 * from /proc or signalled unless mod_memwatch_children.c vouches for it. */

#include <signal.h>

#include "httpd.h"
#include "http_config.h"

#include "ap_mpm.h"
#include "mpm_common.h"
#include "scoreboard.h"

#include "mod_memwatch_private.h"
#include "mod_memwatch_config.h"
#include "mod_memwatch_cgroup.h"
#include "mod_memwatch_children.h"
#include "mod_memwatch_table.h"
#include "mod_memwatch_leave.h"
#include "mod_memwatch_retire.h"
#include "mod_memwatch_sample.h"
#include "mod_memwatch_parent.h"
#include "mw_clock.h"
#include "mw_format.h"
#include "mw_names.h"

/* What the parent has seen of each slot, in its own memory: the table's
 * times are the children's word, and the wall clock may step. Exit and
 * retiring times are counted from when the parent first saw the state,
 * on the monotonic clock: up to one monitor period late, never early. */
typedef struct seen_t {
    pid_t child_pid;
    apr_uint32_t slot_state;
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

    if (w->child_pid != pid || w->slot_state != state) {
        w->child_pid = pid;
        w->slot_state = state;
        w->since = now;
        w->acted = 0;
    }
    return w;
}

/* A child that stopped serving MemwatchExitTimeout ago and is still
 * there is stuck in its exit: end it, if it is a child of this parent
 * (mw_children_signal refuses and logs any other pid). */
static void end_stuck_exit(server_rec *s, const mw_config_t *conf, int i,
                           seen_t *w, apr_time_t now)
{
    apr_interval_time_t exiting = mw_clock_since(now, w->since);

    if (!conf->exit_timeout || exiting < apr_time_from_sec(conf->exit_timeout)
        || w->acted || !mw_children_vouch(s, i, w->child_pid)) {
        return;
    }
    w->acted = 1;
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 "MW0016: child pid %" APR_PID_T_FMT " (slot %d) stopped "
                 "serving %"
                 APR_TIME_T_FMT " s ago or more and has not exited (a "
                 "module's cleanup does not return?): killing it "
                 "(MemwatchExitTimeout %u)", w->child_pid, i,
                 apr_time_sec(exiting), conf->exit_timeout);
    mw_children_signal(s, i, w->child_pid, SIGKILL);
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
                 "serving: in-flight requests are left to finish",
                 w->child_pid, i, apr_time_sec(waited));
}

/* An idle prefork child over its limit, or asked to retire: no request
 * ends to check it. Only when its only worker waits for a connection, so
 * that the MPM's graceful signal ends it without touching a request. */
static void check_idle_prefork(server_rec *s, apr_pool_t *p, int i,
                               pid_t pid, const mw_slot_copy_t *c,
                               apr_time_t now)
{
    apr_proc_t proc;
    apr_uint64_t rss;
    int sb;

    proc.pid = pid;
    sb = ap_find_child_by_pid(&proc);
    if (sb < 0 || ap_get_scoreboard_worker_from_indexes(sb, 0)->status
                  != SERVER_READY
        || !(rss = mw_children_rss(proc.pid))) {
        return;
    }
    mw_retire_idle(s, p, i, pid, c, rss, now);
}

/* MemwatchPressure: the PSI line it watches, the group's or else the
 * machine's, over its threshold asks the largest child to retire (the
 * same way as the total budget: it leaves at its next check, gracefully,
 * within MemwatchMaxRetiring; a dry run marks it instead). */
static void check_pressure(server_rec *s, apr_pool_t *p,
                           const mw_config_t *conf,
                           const mw_private_total_t *tot)
{
    const mw_table_t *t = mw_table();
    mw_cgroup_figures_t f;
    mw_slot_copy_t c;
    apr_uint32_t avg10;

    if (!conf->pressure || tot->largest < 0) {
        return;
    }
    mw_cgroup_now(&f);
    avg10 = conf->pressure == MW_PRESSURE_FULL ? f.pressure_full_avg10
                                               : f.pressure_some_avg10;
    if (avg10 == MW_PSI_UNKNOWN || avg10 <= conf->pressure_threshold
        || !mw_slot_copy(t, (apr_uint32_t)tot->largest, &c)) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "MW0023: memory pressure "
                 "(%s avg10 %u.%02u%%, the %s's) is over MemwatchPressure "
                 "%u.%02u%%: asking the largest child, slot %d (pid %u, "
                 "private %s), to retire",
                 conf->pressure == MW_PRESSURE_FULL ? "full" : "some",
                 avg10 / 100, avg10 % 100,
                 f.pressure_of_group ? "cgroup" : "machine",
                 conf->pressure_threshold / 100,
                 conf->pressure_threshold % 100, tot->largest, c.pid,
                 c.private_bytes == MW_UNKNOWN
                 ? "unknown" : mw_format_size(p, c.private_bytes));
    mw_slot_request_retire(mw_table_slot(t, (apr_uint32_t)tot->largest),
                           c.pid, MW_REASON_PRESSURE, 0);
}

static int parent_monitor(apr_pool_t *pconf, server_rec *s)
{
    const mw_config_t *conf = mw_config(s);
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
    prefork_checks = !mw_leave_threaded() && !mw_config_one_process()
                     && mw_config_may_retire(conf);
    for (i = 0; i < seen_len; i++) {
        mw_slot_copy_t c;
        int live = mw_slot_copy(t, i, &c);
        seen_t *w = see(i, live ? (pid_t)c.pid : 0,
                        live ? c.state : MW_STATE_FREE, mono);

        if (!live) {
            continue;
        }
        mw_sample_idle((int)i, (pid_t)c.pid, &c, now);
        if (c.state == MW_STATE_EXITING) {
            end_stuck_exit(s, conf, (int)i, w, mono);
        }
        else if (c.state == MW_STATE_RETIRING) {
            warn_slow_retire(s, (int)i, w, mono);
        }
        else if (prefork_checks) {
            check_idle_prefork(s, p, (int)i, (pid_t)c.pid, &c, now);
        }
    }
    /* The children check the budget themselves as they serve; an idle
     * child is asked from here, and acts at its next check (the watcher's
     * tick on worker and event, the pass above on prefork). */
    mw_table_private_total(t, &tot);
    if (conf->max_total_private && tot.all > conf->max_total_private
        && tot.largest >= 0 && !conf->dry_run) {
        mw_slot_request_retire(mw_table_slot(t, (apr_uint32_t)tot.largest),
                               tot.largest_pid, MW_REASON_TOTAL_PRIVATE, 0);
    }
    check_pressure(s, p, conf, &tot);
    apr_pool_destroy(p);
    return DECLINED;
}

void mw_parent_register_hooks(void)
{
    ap_hook_monitor(parent_monitor, NULL, NULL, APR_HOOK_MIDDLE);
}
