/* Licensed under the Apache License, Version 2.0. */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "mw_shm.h"
#include "mw_attr.h"
#include "mw_view.h"

apr_int64_t mw_view_diff(apr_uint64_t a, apr_uint64_t b)
{
    if (a >= b) {
        return a - b > (apr_uint64_t)APR_INT64_MAX ? APR_INT64_MAX
                                                   : (apr_int64_t)(a - b);
    }
    return b - a > (apr_uint64_t)APR_INT64_MAX ? -APR_INT64_MAX
                                               : -(apr_int64_t)(b - a);
}

apr_int64_t mw_view_seconds(apr_time_t later, apr_time_t earlier)
{
    apr_int64_t d;

    if (__builtin_sub_overflow(later, earlier, &d)) {
        d = later > earlier ? APR_INT64_MAX : -APR_INT64_MAX;
    }
    return apr_time_sec(d);
}

apr_int64_t mw_view_double_i64(double d)
{
    if (isnan(d)) {
        return 0;
    }
    if (d >= 9.2e18) {
        return APR_INT64_MAX;
    }
    if (d <= -9.2e18) {
        return -APR_INT64_MAX;
    }
    return (apr_int64_t)d;
}

/* From the figures and limits as shown: at view time, nothing on the
 * request path. */
static void forecast(mw_child_view_t *c)
{
    mw_figures_t f;

    f.rss = c->rss;
    f.baseline_rss = c->baseline_rss;
    f.private_bytes = c->private_bytes;
    f.shared_bytes = c->shared_bytes;
    mw_policy_forecast(&c->limits, &f, &c->trend, &c->forecast);
}

/* n growers (bounded by the copy accessor) into the view's records. */
static int mapping_view(mw_mapping_view_t *v, apr_pool_t *p,
                        const mw_mapping_growth_t *g, apr_uint32_t n)
{
    apr_uint32_t k;

    for (k = 0; k < n && k < MW_MAPPING_TOP; k++) {
        v[k].mclass = (mw_mapping_class_e)g[k].mclass;
        v[k].name = apr_pstrdup(p, g[k].name);
        v[k].rss_growth = g[k].rss;
        v[k].private_growth = g[k].private_bytes;
    }
    return (int)k;
}

static void collect_child(mw_child_view_t *c, apr_pool_t *p,
                          const mw_table_t *t, const mw_slot_copy_t *s,
                          apr_uint32_t i, apr_uint32_t max_history)
{
    apr_uint64_t count = s->request_pool_count;
    mw_mapping_growth_t g[MW_MAPPING_TOP];

    c->slot = i;
    c->pid = s->pid;
    c->generation = s->generation;
    c->started = s->started;
    c->requests = s->requests;
    c->connections = s->connections;
    c->rss = s->rss;
    c->rss_peak = s->rss_peak;
    c->baseline_rss = s->baseline_rss;
    c->growth = mw_view_diff(c->rss, c->baseline_rss);
    c->private_bytes = s->private_bytes;
    c->shared_bytes = s->shared_bytes;
    c->request_pool_peak = count ? s->request_pool_peak : MW_UNKNOWN;
    c->request_pool_mean = count ? s->request_pool_sum / count : MW_UNKNOWN;
    c->connection_pool_peak = count ? s->connection_pool_peak : MW_UNKNOWN;
    c->connection_pool_growth_peak = count ? s->connection_pool_growth_peak
                                           : MW_UNKNOWN;
    c->stream_pool_growth_peak = count ? s->stream_pool_growth_peak
                                       : MW_UNKNOWN;
    c->heap_in_use = s->heap_in_use;
    c->heap_free = s->heap_free;
    c->heap_time = c->heap_in_use == MW_UNKNOWN ? 0 : s->heap_time;
    c->trims = s->trims;
    c->trim_reclaimed = s->trim_reclaimed;
    c->state = s->state;
    c->reason = s->reason;
    c->pss_bytes = s->pss_bytes;
    c->swap_bytes = s->swap_bytes;
    c->private_time = c->private_bytes == MW_UNKNOWN ? 0 : s->smaps_time;
    c->limits = s->limits;
    /* As mw_policy_check enforces it: not where the child's baseline is
     * over it (recycling could not help, MW0015). */
    c->max_rss_off = c->state != MW_STATE_WARMING
                     && mw_policy_born_over(&c->limits, s->baseline_rss);
    if (c->max_rss_off) {
        c->limits.max_rss = 0;
    }
    c->retire_time = s->retire_time;
    c->exiting_since = s->exiting_since;
    c->exiting = c->state == MW_STATE_EXITING;
    mw_trend_analyse(&s->trend, &c->trend);
    if (c->state == MW_STATE_WARMING) {
        c->trend.verdict = MW_VERDICT_WARMING;
    }
    forecast(c);
    c->nmapping = mapping_view(c->mapping, p, g,
                               mw_mapping_copy(t, i, g, &c->mapping_time));

    c->nhistory = 0;
    c->history = NULL;
    if (max_history) {
        c->history = apr_palloc(p, sizeof(*c->history) * max_history);
        c->nhistory = (int)mw_history_copy(t, i, c->history, max_history);
    }
}

static int attr_by_growth(const void *a, const void *b)
{
    const mw_attr_view_t *x = a, *y = b;

    if (x->growth != y->growth) {
        return x->growth < y->growth ? 1 : -1;
    }
    return x->requests < y->requests ? 1 : (x->requests > y->requests ? -1 : 0);
}

static void attr_view(mw_attr_view_t *v, apr_pool_t *p,
                      const mw_attr_copy_t *a)
{
    v->handler = apr_pstrdup(p, a->handler);
    v->prefix = apr_pstrdup(p, a->prefix);
    v->requests = a->requests;
    v->growth = a->growth;
    v->pool_bytes = a->pool_bytes;
}

static int attr_by_key(const void *a, const void *b)
{
    const mw_attr_view_t *x = a, *y = b;
    int c = strcmp(x->handler, y->handler);

    return c ? c : strcmp(x->prefix, y->prefix);
}

/* Two threads adding a new key at once can each fill an entry for it
 * (mw_attr_add never waits on the request path): show them as one. Sorted
 * by key first, so this stays n log n for the largest tables. */
static void merge_attr_duplicates(apr_array_header_t *list)
{
    mw_attr_view_t *e = (mw_attr_view_t *)list->elts;
    int i, n = 0;

    qsort(e, (size_t)list->nelts, sizeof(*e), attr_by_key);
    for (i = 0; i < list->nelts; i++) {
        if (n && !attr_by_key(&e[n - 1], &e[i])) {
            e[n - 1].requests += e[i].requests;
            e[n - 1].growth += e[i].growth;
            e[n - 1].pool_bytes += e[i].pool_bytes;
        }
        else {
            e[n++] = e[i];
        }
    }
    list->nelts = n;
}

/* A total of a figure every child must know: unknown once one does not.
 * The figures are children's word: the sum saturates. */
static void add_to_total(apr_uint64_t *total, apr_uint64_t figure)
{
    *total = *total == MW_UNKNOWN || figure == MW_UNKNOWN
             ? MW_UNKNOWN : mw_add_known(*total, figure);
}

static void collect_children(mw_view_t *v, apr_pool_t *p,
                             const mw_table_t *t, int with_history)
{
    apr_uint32_t i, nslots = mw_table_nslots(t), max_history = 0;
    mw_slot_copy_t s;

    if (with_history) {
        max_history = t->layout.history_len;
        if (nslots && max_history > MW_VIEW_MAX_SAMPLES / nslots) {
            max_history = MW_VIEW_MAX_SAMPLES / nslots;
        }
    }
    for (i = 0; i < nslots; i++) {
        mw_child_view_t *c;
        apr_uint64_t fresh;

        if (!mw_slot_copy(t, i, &s)) {
            continue;
        }
        if (v->rss_now && (fresh = v->rss_now(s.pid)) != 0) {
            s.rss = fresh;
            s.rss_peak = fresh > s.rss_peak ? fresh : s.rss_peak;
        }
        c = apr_array_push(v->children);
        collect_child(c, p, t, &s, i, max_history);
        v->max_rss_off |= c->max_rss_off && c->generation == v->generation;
        v->rss_total += c->rss;
        v->rss_max = c->rss > v->rss_max ? c->rss : v->rss_max;
        v->requests_total += c->requests;
        v->connections_total += c->connections;
        add_to_total(&v->private_total, c->private_bytes);
        add_to_total(&v->pss_total, c->pss_bytes);
        add_to_total(&v->swap_total, c->swap_bytes);
    }
    if (v->children->nelts == 0) {
        v->private_total = v->pss_total = v->swap_total = MW_UNKNOWN;
    }
}

static void collect_rings(mw_view_t *v, apr_pool_t *p, const mw_table_t *t)
{
    mw_exited_t ex[MW_EXITED_LEN];
    /* About 26 KiB: not on a worker thread's stack. */
    mw_recycle_t *rc = apr_palloc(p, sizeof(*rc) * MW_RECYCLES_LEN);
    apr_uint32_t i, n;

    n = mw_exited_copy(t, ex, MW_EXITED_LEN);
    for (i = 0; i < n; i++) {
        mw_exit_view_t *e = apr_array_push(v->exited);
        e->pid = ex[i].pid;
        e->slot = ex[i].slot;
        e->generation = ex[i].generation;
        e->reason = (mw_reason_e)ex[i].reason;
        e->exit = ex[i].reason != MW_REASON_NONE ? MW_EXIT_RECYCLED
                  : ex[i].restart ? MW_EXIT_RESTART : MW_EXIT_EXITED;
        e->started = ex[i].started;
        e->exited = ex[i].exited;
        e->requests = ex[i].requests;
        e->connections = ex[i].connections;
        e->rss = ex[i].rss;
        e->rss_peak = ex[i].rss_peak;
        e->growth = mw_view_diff(ex[i].rss, ex[i].baseline_rss);
    }
    n = mw_recycle_copy(t, rc, MW_RECYCLES_LEN);
    for (i = 0; i < n; i++) {
        mw_recycle_view_t *e = apr_array_push(v->recycles);
        e->pid = rc[i].pid;
        e->slot = rc[i].slot;
        e->reason = (mw_reason_e)rc[i].reason;
        e->dry_run = rc[i].dry_run != 0;
        e->time = rc[i].time;
        e->started = rc[i].started;
        e->rss = rc[i].rss;
        e->growth = rc[i].growth;
        e->private_bytes = rc[i].private_bytes;
        e->shared_bytes = rc[i].shared_bytes;
        e->requests = rc[i].requests;
        e->mapping_read = rc[i].mapping_count != MW_MAPPING_UNREAD;
        e->nmapping = e->mapping_read ? mapping_view(e->mapping, p,
                                                     rc[i].mapping,
                                                     rc[i].mapping_count)
                                      : 0;
    }
}

void mw_view_collect(mw_view_t *v, apr_pool_t *p, const mw_table_t *t,
                     apr_time_t now, int with_history)
{
    mw_table_totals_t tot;
    mw_attr_copy_t a;
    apr_uint32_t i;

    v->now = now;
    v->children = apr_array_make(p, 16, sizeof(mw_child_view_t));
    v->exited = apr_array_make(p, MW_EXITED_LEN, sizeof(mw_exit_view_t));
    v->recycles = apr_array_make(p, MW_RECYCLES_LEN,
                                 sizeof(mw_recycle_view_t));
    v->attribution = apr_array_make(p, 16, sizeof(mw_attr_view_t));
    v->rss_total = v->rss_max = v->private_total = v->pss_total = 0;
    v->swap_total = 0;
    v->requests_total = v->connections_total = 0;
    v->max_rss_off = 0;
    memset(&a, 0, sizeof(a));
    attr_view(&v->attr_other, p, &a);
    memset(v->recycles_total, 0, sizeof(v->recycles_total));
    v->would_recycle_total = v->exited_total = v->exited_restart = 0;
    v->trims_total = v->trim_reclaimed_total = v->trim_kept_total = 0;
    memset(v->exited_by, 0, sizeof(v->exited_by));
    v->retiring = 0;
    v->damaged = mw_table_check(t);
    if (v->damaged) {
        v->private_total = MW_UNKNOWN;
        return;
    }

    collect_children(v, p, t, with_history);
    collect_rings(v, p, t);
    mw_table_totals(t, &tot);
    for (i = 0; i < MW_REASON_COUNT; i++) {
        v->recycles_total[i] = tot.recycles_total[i];
        v->exited_by[i] = tot.exited_by[i];
    }
    v->exited_restart = tot.exited_restart;
    v->would_recycle_total = tot.would_recycle_total;
    v->exited_total = tot.exited_total;
    v->trims_total = tot.trims_total;
    v->trim_reclaimed_total = tot.trim_reclaimed_total;
    v->trim_kept_total = tot.trim_kept_total;
    v->retiring = tot.retiring;

    for (i = 0; i < mw_attr_len(t); i++) {
        if (mw_attr_copy(t, i, &a)) {
            attr_view(apr_array_push(v->attribution), p, &a);
        }
    }
    merge_attr_duplicates(v->attribution);
    qsort(v->attribution->elts, (size_t)v->attribution->nelts,
          sizeof(mw_attr_view_t), attr_by_growth);
    mw_attr_other_copy(t, &a);
    attr_view(&v->attr_other, p, &a);
}

int mw_view_limits_set(const mw_view_t *v)
{
    return mw_policy_active(&v->limits) || v->max_total_private
           || v->pressure;
}

const char *mw_view_max_rss_off(const mw_view_t *v)
{
    return v->max_rss_off && v->limits.max_rss
           ? "off: below what a fresh child holds (MW0015)" : NULL;
}

const mw_child_view_t *mw_view_child(const mw_view_t *v, apr_uint32_t slot)
{
    int i;

    for (i = 0; i < v->children->nelts; i++) {
        const mw_child_view_t *c =
            &APR_ARRAY_IDX(v->children, i, mw_child_view_t);
        if (c->slot == slot) {
            return c;
        }
    }
    return NULL;
}
