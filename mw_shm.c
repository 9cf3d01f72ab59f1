/* Licensed under the Apache License, Version 2.0. */

#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "mw_shm.h"

#define MW_MAGIC 0x6d774d35     /* "mwM5": bump when the layout changes */

static apr_size_t slot_size(const mw_layout_t *l)
{
    return APR_ALIGN_DEFAULT(sizeof(mw_slot_t)
                             + (apr_size_t)l->history_len
                               * sizeof(mw_sample_t));
}

apr_size_t mw_shm_size(const mw_layout_t *l)
{
    return APR_ALIGN_DEFAULT(sizeof(mw_shm_header_t))
           + (apr_size_t)l->nslots * slot_size(l)
           + (apr_size_t)l->attr_len * sizeof(mw_attr_t);
}

apr_status_t mw_table_open(mw_table_t *t, void *base, apr_size_t size,
                           const mw_layout_t *l, int create)
{
    mw_shm_header_t *h = base;

    if (size < mw_shm_size(l)) {
        return APR_EMISMATCH;
    }
    if (create) {
        memset(base, 0, mw_shm_size(l));
        h->magic = MW_MAGIC;
        h->nslots = l->nslots;
        h->history_len = l->history_len;
        h->attr_len = l->attr_len;
        h->slot_size = slot_size(l);
        h->total_size = mw_shm_size(l);
        apr_cpystrn(h->attr_other.handler, "other", MW_HANDLER_LEN);
        apr_cpystrn(h->attr_other.prefix, "other", MW_PREFIX_LEN);
        h->attr_other.state = 2;
    }
    else if (h->magic != MW_MAGIC || h->nslots != l->nslots
             || h->history_len != l->history_len
             || h->attr_len != l->attr_len
             || h->total_size != mw_shm_size(l)) {
        return APR_EMISMATCH;
    }
    t->hdr = h;
    t->slots = (char *)base + APR_ALIGN_DEFAULT(sizeof(mw_shm_header_t));
    t->attr = (mw_attr_t *)(t->slots + (apr_size_t)l->nslots * slot_size(l));
    return APR_SUCCESS;
}

mw_slot_t *mw_table_slot(const mw_table_t *t, apr_uint32_t i)
{
    return (mw_slot_t *)(t->slots + (apr_size_t)i * t->hdr->slot_size);
}

mw_sample_t *mw_slot_history(const mw_table_t *t, mw_slot_t *slot)
{
    (void)t;
    return (mw_sample_t *)(slot + 1);
}

void mw_atomic_max64(volatile apr_uint64_t *target, apr_uint64_t v)
{
    apr_uint64_t cur = apr_atomic_read64(target);

    while (v > cur) {
        apr_uint64_t seen = apr_atomic_cas64(target, v, cur);
        if (seen == cur) {
            break;
        }
        cur = seen;
    }
}

/* Reset a slot's figures; its pid word is set by the caller. */
static void slot_reset(const mw_table_t *t, mw_slot_t *s,
                       apr_uint32_t generation, apr_time_t now,
                       apr_uint64_t rss)
{
    /* Everything but the pid word, which the claim owns: zeroing it, even
     * for a moment, would let another child claim the slot too. */
    memset((char *)s + sizeof(s->pid), 0,
           t->hdr->slot_size - sizeof(s->pid));
    s->generation = generation;
    s->started = now;
    s->rss = s->rss_peak = s->baseline_rss = s->last_rss = rss;
    s->private_bytes = s->shared_bytes = MW_UNKNOWN;
    s->pss_bytes = MW_UNKNOWN;
    s->state = MW_STATE_WARMING;
}

int mw_slot_claim(const mw_table_t *t, apr_uint32_t pid,
                  apr_uint32_t generation, apr_time_t now, apr_uint64_t rss)
{
    apr_uint32_t i;

    /* A slot still held by this pid (its previous owner was killed and
     * the pid reused before the parent reaped it) is taken over first, so
     * one pid never holds two slots. */
    for (i = 0; i < t->hdr->nslots; i++) {
        mw_slot_t *s = mw_table_slot(t, i);
        if (apr_atomic_read32(&s->pid) == pid) {
            slot_reset(t, s, generation, now, rss);
            return (int)i;
        }
    }
    for (i = 0; i < t->hdr->nslots; i++) {
        mw_slot_t *s = mw_table_slot(t, i);
        if (apr_atomic_read32(&s->pid) == 0
            && apr_atomic_cas32(&s->pid, pid, 0) == 0) {
            slot_reset(t, s, generation, now, rss);
            return (int)i;
        }
    }
    return -1;
}

int mw_slot_reap(const mw_table_t *t, apr_uint32_t pid,
                 apr_uint32_t current_generation, apr_time_t now)
{
    mw_shm_header_t *h = t->hdr;
    apr_uint32_t i;

    for (i = 0; i < h->nslots; i++) {
        mw_slot_t *s = mw_table_slot(t, i);
        mw_exited_t *e;

        if (apr_atomic_read32(&s->pid) != pid) {
            continue;
        }
        e = &h->exited[h->exited_next % MW_EXITED_LEN];
        e->pid = pid;
        e->slot = i;
        e->generation = s->generation;
        e->reason = s->retired ? s->reason : MW_REASON_NONE;
        e->restart = s->generation != current_generation;
        e->started = s->started;
        e->exited = now;
        e->requests = apr_atomic_read64(&s->requests);
        e->connections = apr_atomic_read64(&s->connections);
        e->rss = apr_atomic_read64(&s->rss);
        e->rss_peak = apr_atomic_read64(&s->rss_peak);
        e->baseline_rss = apr_atomic_read64(&s->baseline_rss);
        apr_atomic_inc32(&h->exited_next);
        apr_atomic_inc64(&h->exited_total);
        mw_retire_ticket_return(t, s);
        s->state = MW_STATE_FREE;
        apr_atomic_set32(&s->pid, 0);
        return (int)i;
    }
    return -1;
}

int mw_slot_trylock(mw_slot_t *slot)
{
    return apr_atomic_cas32(&slot->lock, 1, 0) == 0;
}

void mw_slot_unlock(mw_slot_t *slot)
{
    apr_atomic_set32(&slot->lock, 0);
}

void mw_slot_leave(const mw_table_t *t, mw_slot_t *slot, apr_time_t now)
{
    slot->exiting_since = now;
    apr_atomic_set32(&slot->state, MW_STATE_EXITING);
    mw_retire_ticket_return(t, slot);
}

int mw_retire_ticket_take(const mw_table_t *t, mw_slot_t *slot,
                          apr_uint32_t max)
{
    apr_uint32_t cur;

    /* One ticket per slot: two threads of a child may both try. */
    if (apr_atomic_cas32(&slot->ticket_held, 1, 0) != 0) {
        return 0;
    }
    cur = apr_atomic_read32(&t->hdr->retiring);
    while (cur < max) {
        apr_uint32_t seen = apr_atomic_cas32(&t->hdr->retiring, cur + 1, cur);
        if (seen == cur) {
            return 1;
        }
        cur = seen;
    }
    apr_atomic_set32(&slot->ticket_held, 0);
    return 0;
}

void mw_retire_ticket_return(const mw_table_t *t, mw_slot_t *slot)
{
    if (apr_atomic_cas32(&slot->ticket_held, 0, 1) == 1) {
        apr_atomic_dec32(&t->hdr->retiring);
    }
}

void mw_recycle_add(const mw_table_t *t, const mw_recycle_t *ev)
{
    mw_shm_header_t *h = t->hdr;
    apr_uint32_t seq = apr_atomic_inc32(&h->recycles_next) + 1;
    mw_recycle_t *e = &h->recycles[(seq - 1) % MW_RECYCLES_LEN];

    apr_atomic_set32(&e->seq, 0);
    e->pid = ev->pid;
    e->slot = ev->slot;
    e->reason = ev->reason;
    e->dry_run = ev->dry_run;
    e->time = ev->time;
    e->started = ev->started;
    e->rss = ev->rss;
    e->growth = ev->growth;
    e->private_bytes = ev->private_bytes;
    e->shared_bytes = ev->shared_bytes;
    e->requests = ev->requests;
    apr_atomic_set32(&e->seq, seq);
    if (ev->dry_run) {
        apr_atomic_inc64(&h->would_recycle_total);
    }
    else if (ev->reason < MW_REASON_COUNT) {
        apr_atomic_inc64(&h->recycles_total[ev->reason]);
    }
}

void mw_history_append(const mw_table_t *t, mw_slot_t *slot,
                       const mw_sample_t *s)
{
    apr_uint32_t len = t->hdr->history_len;

    if (!len) {
        return;
    }
    mw_slot_history(t, slot)[slot->hist_next % len] = *s;
    slot->hist_next = (slot->hist_next + 1) % len;
    if (slot->hist_count < len) {
        slot->hist_count++;
    }
    slot->hist_last = s->time;
}

/* FNV-1a over handler and prefix. Never 0, which marks a free entry. */
static apr_uint32_t attr_hash(const char *handler, const char *prefix)
{
    apr_uint32_t h = 2166136261u;
    const char *s;

    for (s = handler; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    h = (h ^ 0xff) * 16777619u;
    for (s = prefix; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h ? h : 1;
}

static void attr_count(mw_attr_t *a, apr_uint64_t requests,
                       apr_uint64_t growth, apr_uint64_t pool_bytes)
{
    apr_atomic_add64(&a->requests, requests);
    if (growth) {
        apr_atomic_add64(&a->growth, growth);
    }
    apr_atomic_add64(&a->pool_bytes, pool_bytes);
}

/* Linear probing; entries are never removed, so a key's place is stable. */
void mw_attr_add(const mw_table_t *t, const char *handler,
                 const char *prefix, apr_uint64_t requests,
                 apr_uint64_t growth, apr_uint64_t pool_bytes)
{
    apr_uint32_t len = t->hdr->attr_len;
    apr_uint32_t hash = attr_hash(handler, prefix);
    apr_uint32_t probe;

    for (probe = 0; probe < len; probe++) {
        mw_attr_t *a = &t->attr[(hash + probe) % len];
        apr_uint32_t st = apr_atomic_read32(&a->state);

        if (st == 0) {
            if (!growth) {
                break;      /* no growth: not worth a new entry */
            }
            if (apr_atomic_cas32(&a->state, 1, 0) != 0) {
                probe--;    /* lost the race: look at this entry again */
                continue;
            }
            a->hash = hash;
            apr_cpystrn(a->handler, handler, MW_HANDLER_LEN);
            apr_cpystrn(a->prefix, prefix, MW_PREFIX_LEN);
            apr_atomic_set32(&a->state, 2);
            attr_count(a, requests, growth, pool_bytes);
            return;
        }
        if (st == 2 && a->hash == hash
            && strncmp(a->handler, handler, MW_HANDLER_LEN - 1) == 0
            && strncmp(a->prefix, prefix, MW_PREFIX_LEN - 1) == 0) {
            attr_count(a, requests, growth, pool_bytes);
            return;
        }
        /* state 1: being filled by another thread; its key is unknown
         * yet, so move on rather than wait on the request path. */
    }
    attr_count(&t->hdr->attr_other, requests, growth, pool_bytes);
}

const char *mw_state_name(mw_state_e state)
{
    switch (state) {
    case MW_STATE_WARMING: return "warming";
    case MW_STATE_OK: return "ok";
    case MW_STATE_WAITING: return "over limit (waiting)";
    case MW_STATE_RETIRING: return "retiring";
    case MW_STATE_WOULD_RECYCLE: return "would recycle";
    case MW_STATE_EXITING: return "exiting";
    default: return "free";
    }
}

const char *mw_reason_name(mw_reason_e reason)
{
    switch (reason) {
    case MW_REASON_GROWTH: return "growth";
    case MW_REASON_RSS: return "rss";
    case MW_REASON_PRIVATE: return "private";
    case MW_REASON_SHARED: return "shared";
    case MW_REASON_TOTAL_PRIVATE: return "total_private";
    default: return "none";
    }
}
