/* Licensed under the Apache License, Version 2.0. */

/* The parent's own record of its children (mod_memwatch_children.h).
 *
 * Kept from the MPM's child_status hook (server/mpm/{prefork,worker,
 * event}, httpd 2.4), which runs in the parent:
 * - MPM_CHILD_STARTED (slot, pid): right after fork(), the pid fork()
 *   returned. In httpd -X, with the parent's own pid: never recorded.
 * - MPM_CHILD_EXITED (slot, pid): once the parent has reaped the child,
 *   before it runs anything else (a monitor hook); also from
 *   ap_reclaim_child_processes and ap_relieve_child_processes on stop and
 *   restart. (-1, pid) for a worker child that had lost its slot.
 * - MPM_CHILD_LOST_SLOT (slot, pid; worker only): a new child takes over
 *   the slot of an older one that still finishes its requests; the older
 *   one lives on without a slot until EXITED (-1, pid).
 * Children of older generations live on across graceful restarts, and
 * the module is unloaded and loaded again then: the record is retained
 * data, ServerLimit entries for the slots and as many for children that
 * lost theirs.
 *
 * A pid in the record is the child's until the parent reaps it (an
 * unreaped child keeps its pid, as a zombie), and reaping runs
 * child_status before the parent does anything else. Where that fails (a
 * child reaped after ap_reclaim_child_processes gave up on it, an EXITED
 * whose pid came from a scoreboard a child overwrote), an entry could
 * outlive its process and its pid name another one. So each entry keeps
 * the child's start time too, and a pid is vouched for only while
 * /proc/PID/stat shows this parent as its parent and that start time.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_main.h"
#include "apr_strings.h"

#include "ap_mpm.h"

#include "mod_memwatch_private.h"
#include "mod_memwatch_children.h"
#include "mw_proc.h"

#define RECORD_KEY "mod_memwatch-children"

typedef struct child_t {
    pid_t child_pid;            /* 0: none */
    apr_uint64_t start;         /* from /proc/PID/stat; 0: not known */
} child_t;

/* Entries 0 .. n-1 are slots[], n .. 2n-1 lost[]; index[] maps a pid to
 * its entry (open addressing, linear probing, at most half full), so a
 * look-up per table slot stays cheap at any ServerLimit. */
typedef struct record_t {
    int n;
    child_t *slots;             /* by scoreboard slot */
    child_t *lost;              /* worker: children that lost their slot */
    int *index;                 /* entry + 1, 0: empty */
    apr_uint32_t mask;          /* cells in index[] - 1 */
    pid_t *warned;              /* 2n + 1, by table slot (threaded MPMs
                                 * have 2 x ServerLimit): last pid refused */
} record_t;

/* The retained record; found again after each reload of the module. */
static record_t *rec;

static record_t *record(void)
{
    if (!rec) {
        rec = ap_retained_data_get(RECORD_KEY);
        if (!rec) {
            rec = ap_retained_data_create(RECORD_KEY, sizeof(*rec));
        }
    }
    return rec;
}

static child_t *entry(record_t *r, int e)
{
    return e < r->n ? &r->slots[e] : &r->lost[e - r->n];
}

static apr_uint32_t cell_of(const record_t *r, pid_t pid)
{
    return ((apr_uint32_t)pid * 2654435761u) & r->mask;
}

/* The index cell of pid, or -1. */
static int index_find(record_t *r, pid_t pid)
{
    apr_uint32_t i;

    if (!r->n || pid <= 0) {
        return -1;
    }
    for (i = cell_of(r, pid); r->index[i]; i = (i + 1) & r->mask) {
        if (entry(r, r->index[i] - 1)->child_pid == pid) {
            return (int)i;
        }
    }
    return -1;
}

static void index_add(record_t *r, int e)
{
    apr_uint32_t i = cell_of(r, entry(r, e)->child_pid);

    while (r->index[i]) {
        i = (i + 1) & r->mask;
    }
    r->index[i] = e + 1;
}

/* Empty cell i, and move back the cells after it that probed past it. */
static void index_del(record_t *r, apr_uint32_t i)
{
    apr_uint32_t j = i, k;

    r->index[i] = 0;
    for (;;) {
        j = (j + 1) & r->mask;
        if (!r->index[j]) {
            return;
        }
        k = cell_of(r, entry(r, r->index[j] - 1)->child_pid);
        /* Stays if its home k lies cyclically in (i, j]. */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;
        }
        r->index[i] = r->index[j];
        r->index[j] = 0;
        i = j;
    }
}

/* Room for ServerLimit n; it is fixed for the life of the parent (the
 * MPMs keep the first value across restarts), so this grows once. */
static void record_size(record_t *r, int n)
{
    record_t old = *r;
    apr_uint32_t cells = 4;
    int e;

    if (n <= r->n) {
        return;
    }
    while (cells < (apr_uint32_t)n * 4) {
        cells <<= 1;
    }
    r->n = n;
    r->slots = apr_pcalloc(ap_pglobal, sizeof(child_t) * (apr_size_t)n);
    r->lost = apr_pcalloc(ap_pglobal, sizeof(child_t) * (apr_size_t)n);
    r->warned = apr_pcalloc(ap_pglobal,
                            sizeof(pid_t) * (2 * (apr_size_t)n + 1));
    r->index = apr_pcalloc(ap_pglobal, sizeof(int) * cells);
    r->mask = cells - 1;
    if (old.n) {
        memcpy(r->slots, old.slots, sizeof(child_t) * (apr_size_t)old.n);
        memcpy(r->lost, old.lost, sizeof(child_t) * (apr_size_t)old.n);
        memcpy(r->warned, old.warned,
               sizeof(pid_t) * (2 * (apr_size_t)old.n + 1));
    }
    for (e = 0; e < 2 * n; e++) {
        if (entry(r, e)->child_pid) {
            index_add(r, e);
        }
    }
}

/* The parent pid and start time of pid (mw_stat_read_pid). */
static apr_status_t proc_stat(pid_t pid, pid_t *ppid, apr_uint64_t *start)
{
    mw_stat_t st;
    apr_status_t rv = pid > 0 ? mw_stat_read_pid((long)pid, &st)
                              : APR_EINVAL;

    if (rv == APR_SUCCESS) {
        *ppid = (pid_t)st.ppid;
        *start = st.start;
    }
    return rv;
}

/* Is the process at e->child_pid still the child recorded there? Without
 * /proc (start time not known, nothing to read) the record alone says. */
static int still_ours(const child_t *e)
{
    pid_t ppid;
    apr_uint64_t start;

    if (proc_stat(e->child_pid, &ppid, &start) != APR_SUCCESS) {
        return !e->start && e->child_pid != getpid();
    }
    return ppid == getpid() && (!e->start || start == e->start);
}

static void forget(record_t *r, pid_t pid)
{
    int i = index_find(r, pid);

    if (i >= 0) {
        child_t *e = entry(r, r->index[i] - 1);
        e->child_pid = 0;
        e->start = 0;
        index_del(r, (apr_uint32_t)i);
    }
}

/* The child in slots[slot] lives on without its slot. With no room left
 * it is forgotten: then it is never signalled, the safe side. */
static void to_lost(record_t *r, int slot)
{
    child_t moved = r->slots[slot];
    int j;

    forget(r, moved.child_pid);
    for (j = 0; j < r->n; j++) {
        if (r->lost[j].child_pid && !still_ours(&r->lost[j])) {
            forget(r, r->lost[j].child_pid);      /* gone unreported */
        }
        if (!r->lost[j].child_pid) {
            r->lost[j] = moved;
            index_add(r, r->n + j);
            return;
        }
    }
}

static void started(record_t *r, int slot, pid_t pid)
{
    child_t *e = &r->slots[slot];
    pid_t ppid;

    /* Recorded elsewhere: that process was reaped unreported. */
    forget(r, pid);
    if (e->child_pid) {
        /* The slot's former child was not reported gone. */
        if (still_ours(e)) {
            to_lost(r, slot);
        }
        else {
            forget(r, e->child_pid);
        }
    }
    e->child_pid = pid;
    if (proc_stat(pid, &ppid, &e->start) != APR_SUCCESS || ppid != getpid()) {
        e->start = 0;
    }
    index_add(r, slot);
}

static void children_status(server_rec *s, pid_t pid, ap_generation_t gen,
                            int slot, mpm_child_status status)
{
    record_t *r = record();
    int limit = 0;

    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &limit);
    record_size(r, limit > slot ? limit : slot + 1);
    switch (status) {
    case MPM_CHILD_STARTED:
        /* httpd -X: the parent itself serves. */
        if (slot >= 0 && pid > 0 && pid != getpid()) {
            started(r, slot, pid);
        }
        break;
    case MPM_CHILD_LOST_SLOT:
        /* The pid comes from the scoreboard: only one recorded moves. */
        if (slot >= 0 && pid > 0 && r->slots[slot].child_pid == pid) {
            to_lost(r, slot);
        }
        break;
    case MPM_CHILD_EXITED:
        forget(r, pid);
        break;
    default:
        break;
    }
}

int mw_children_known(pid_t pid)
{
    record_t *r = record();
    int i;

    if (pid <= 0 || pid == getpid() || (i = index_find(r, pid)) < 0) {
        return 0;
    }
    return still_ours(entry(r, r->index[i] - 1));
}

/* Why pid is not vouched for, for the log. */
static const char *refusal(record_t *r, pid_t pid)
{
    pid_t ppid;
    apr_uint64_t start;

    if (pid <= 0) {
        return "not a process id";
    }
    if (pid == getpid()) {
        return "the parent itself";
    }
    if (index_find(r, pid) >= 0) {
        return "a former child's, now another process's";
    }
    if (proc_stat(pid, &ppid, &start) == APR_SUCCESS && ppid == getpid()) {
        return "a process of the parent that is not a server child "
               "(a piped logger?)";
    }
    return "not a child of this server";
}

int mw_children_vouch(server_rec *s, int table_slot, pid_t pid)
{
    record_t *r = record();
    pid_t *warned;

    if (mw_children_known(pid)) {
        return 1;
    }
    if (r->n) {
        warned = &r->warned[table_slot >= 0 && table_slot < 2 * r->n
                            ? table_slot : 2 * r->n];
        if (*warned == pid) {
            return 0;
        }
        *warned = pid;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 "MW0018: slot %d of the shared table names pid %"
                 APR_PID_T_FMT ", %s: the parent neither signals it nor "
                 "reads its memory (a child wrote that slot)", table_slot,
                 pid, refusal(r, pid));
    return 0;
}

apr_status_t mw_children_signal(server_rec *s, int table_slot, pid_t pid,
                                int sig)
{
    if (!mw_children_vouch(s, table_slot, pid)) {
        return APR_EINVAL;
    }
    /* Not ap_mpm_safe_kill: its process-group check lets the parent and
     * its piped loggers through, and without getpgid it may reap a child
     * behind child_status's back. */
    return kill(pid, sig) == 0 ? APR_SUCCESS : errno;
}

apr_uint64_t mw_children_rss(pid_t pid)
{
    mw_statm_t st;

    if (!mw_children_known(pid)) {
        return 0;
    }
    return mw_statm_read_pid((long)pid, (apr_size_t)sysconf(_SC_PAGESIZE),
                             &st) == APR_SUCCESS ? st.rss_bytes : 0;
}

/* Sized before the first child starts, so a refusal is logged once. */
void mw_children_post_config(server_rec *s)
{
    int limit = 0;

    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &limit);
    record_size(record(), limit > 0 ? limit : 1);
}

void mw_children_register_hooks(void)
{
    ap_hook_child_status(children_status, NULL, NULL, APR_HOOK_FIRST);
}
