/* Licensed under the Apache License, Version 2.0. */

#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "mw_view.h"

static void collect_child(mw_child_view_t *c, apr_pool_t *p,
                          const mw_table_t *t, mw_slot_t *s, apr_uint32_t i,
                          int with_history)
{
    apr_uint64_t count;
    mw_trend_t trend;

    c->slot = i;
    c->pid = apr_atomic_read32(&s->pid);
    c->generation = s->generation;
    c->started = s->started;
    c->requests = apr_atomic_read64(&s->requests);
    c->connections = apr_atomic_read64(&s->connections);
    c->rss = apr_atomic_read64(&s->rss);
    c->rss_peak = apr_atomic_read64(&s->rss_peak);
    c->baseline_rss = apr_atomic_read64(&s->baseline_rss);
    c->growth = (apr_int64_t)c->rss - (apr_int64_t)c->baseline_rss;
    c->private_bytes = apr_atomic_read64(&s->private_bytes);
    c->shared_bytes = apr_atomic_read64(&s->shared_bytes);
    c->pss_bytes = apr_atomic_read64(&s->pss_bytes);
    c->private_time = c->private_bytes == MW_UNKNOWN ? 0 : s->smaps_last;
    count = apr_atomic_read64(&s->request_pool_count);
    c->request_pool_peak = count ? apr_atomic_read64(&s->request_pool_peak)
                                 : MW_UNKNOWN;
    c->request_pool_mean = count ? apr_atomic_read64(&s->request_pool_sum)
                                   / count
                                 : MW_UNKNOWN;
    c->connection_pool_peak = apr_atomic_read64(&s->connection_pool_peak);
    c->connection_pool_growth_peak =
        apr_atomic_read64(&s->connection_pool_growth_peak);
    c->stream_pool_growth_peak =
        apr_atomic_read64(&s->stream_pool_growth_peak);
    if (!count) {
        c->connection_pool_peak = c->connection_pool_growth_peak = MW_UNKNOWN;
        c->stream_pool_growth_peak = MW_UNKNOWN;
    }
    c->state = (mw_state_e)apr_atomic_read32(&s->state);
    c->reason = (mw_reason_e)apr_atomic_read32(&s->reason);
    c->limits.max_growth = s->limit_growth;
    c->limits.max_rss = s->limit_rss;
    c->limits.max_private = s->limit_private;
    c->limits.min_shared = s->limit_shared;
    c->retire_time = s->retire_time;
    c->exiting_since = s->exiting_since;
    c->exiting = c->state == MW_STATE_EXITING;
    memcpy(&trend, &s->trend, sizeof(trend));
    mw_trend_analyse(&trend, &c->trend);
    if (c->state == MW_STATE_WARMING) {
        c->trend.verdict = MW_VERDICT_WARMING;
    }

    c->nhistory = 0;
    c->history = NULL;
    if (with_history && t->hdr->history_len) {
        apr_uint32_t len = t->hdr->history_len;
        apr_uint32_t n = s->hist_count, next = s->hist_next, k;
        mw_sample_t *ring = mw_slot_history(t, s);

        n = n > len ? len : n;
        c->history = apr_palloc(p, sizeof(mw_sample_t) * (n ? n : 1));
        for (k = 0; k < n; k++) {
            c->history[k] = ring[(next + len - n + k) % len];
        }
        c->nhistory = (int)n;
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

static void copy_attr(mw_attr_view_t *v, apr_pool_t *p, mw_attr_t *a)
{
    v->handler = apr_pstrndup(p, a->handler, MW_HANDLER_LEN);
    v->prefix = apr_pstrndup(p, a->prefix, MW_PREFIX_LEN);
    v->requests = apr_atomic_read64(&a->requests);
    v->growth = apr_atomic_read64(&a->growth);
    v->pool_bytes = apr_atomic_read64(&a->pool_bytes);
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

void mw_view_collect(mw_view_t *v, apr_pool_t *p, const mw_table_t *t,
                     apr_time_t now, int with_history)
{
    mw_shm_header_t *h = t->hdr;
    apr_uint32_t i, n;
    int private_known = 1, pss_known = 1;

    v->now = now;
    v->children = apr_array_make(p, 16, sizeof(mw_child_view_t));
    v->rss_total = v->rss_max = v->private_total = v->pss_total = 0;
    v->requests_total = v->connections_total = 0;
    for (i = 0; i < h->nslots; i++) {
        mw_slot_t *s = mw_table_slot(t, i);
        mw_child_view_t *c;

        if (!apr_atomic_read32(&s->pid)
            || apr_atomic_read32(&s->state) == MW_STATE_FREE) {
            continue;
        }
        c = apr_array_push(v->children);
        collect_child(c, p, t, s, i, with_history);
        v->rss_total += c->rss;
        v->rss_max = c->rss > v->rss_max ? c->rss : v->rss_max;
        v->requests_total += c->requests;
        v->connections_total += c->connections;
        if (c->private_bytes == MW_UNKNOWN) {
            private_known = 0;
        }
        else {
            v->private_total += c->private_bytes;
        }
        if (c->pss_bytes == MW_UNKNOWN) {
            pss_known = 0;
        }
        else {
            v->pss_total += c->pss_bytes;
        }
    }
    if (!private_known || v->children->nelts == 0) {
        v->private_total = MW_UNKNOWN;
    }
    if (!pss_known || v->children->nelts == 0) {
        v->pss_total = MW_UNKNOWN;
    }

    /* Rings, newest first. */
    v->exited = apr_array_make(p, MW_EXITED_LEN, sizeof(mw_exited_t));
    n = apr_atomic_read32(&h->exited_next);
    for (i = 0; i < MW_EXITED_LEN && i < n; i++) {
        *(mw_exited_t *)apr_array_push(v->exited) =
            h->exited[(n - 1 - i) % MW_EXITED_LEN];
    }
    v->recycles = apr_array_make(p, MW_RECYCLES_LEN, sizeof(mw_recycle_t));
    n = apr_atomic_read32(&h->recycles_next);
    for (i = 0; i < MW_RECYCLES_LEN && i < n; i++) {
        mw_recycle_t *e = &h->recycles[(n - 1 - i) % MW_RECYCLES_LEN];
        if (apr_atomic_read32(&e->seq) == n - i) {
            *(mw_recycle_t *)apr_array_push(v->recycles) = *e;
        }
    }
    for (i = 0; i < MW_REASON_COUNT; i++) {
        v->recycles_total[i] = apr_atomic_read64(&h->recycles_total[i]);
    }
    v->would_recycle_total = apr_atomic_read64(&h->would_recycle_total);
    v->exited_total = apr_atomic_read64(&h->exited_total);
    v->retiring = apr_atomic_read32(&h->retiring);

    v->attribution = apr_array_make(p, 16, sizeof(mw_attr_view_t));
    for (i = 0; i < h->attr_len; i++) {
        if (apr_atomic_read32(&t->attr[i].state) == 2) {
            copy_attr(apr_array_push(v->attribution), p, &t->attr[i]);
        }
    }
    merge_attr_duplicates(v->attribution);
    qsort(v->attribution->elts, (size_t)v->attribution->nelts,
          sizeof(mw_attr_view_t), attr_by_growth);
    copy_attr(&v->attr_other, p, &h->attr_other);
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
