/* Licensed under the Apache License, Version 2.0. */

#include <stddef.h>
#include <string.h>

#include <apr_strings.h>

#include "mw_atomic.h"
#include "mw_clock.h"
#include "mw_shm.h"

#define MW_MAGIC 0x6d774d63     /* "mwMc": bump when the layout changes */

/* A point between two steps of a decision that another decider may see;
 * tests/test_ticket_race.c replays every order of two deciders' steps by
 * pausing there (built with -DMW_STEP_HOOK=its function). */
#ifdef MW_STEP_HOOK
void MW_STEP_HOOK(void);
#define MW_STEP() MW_STEP_HOOK()
#else
#define MW_STEP()
#endif

/* a + b and a * b into *r, 0 if they overflow apr_size_t. */
static int add_size(apr_size_t a, apr_size_t b, apr_size_t *r)
{
    return !__builtin_add_overflow(a, b, r);
}

static int mul_size(apr_size_t a, apr_size_t b, apr_size_t *r)
{
    return !__builtin_mul_overflow(a, b, r);
}

static apr_size_t align(apr_size_t n)
{
    return APR_ALIGN(n, MW_LINE);
}

/* Slot and total sizes of a layout; 0 if either overflows. */
static int layout_sizes(const mw_layout_t *l, apr_size_t *slot,
                        apr_size_t *total)
{
    apr_size_t hist, slots, attrs, sz;

    if (!mul_size(l->history_len, sizeof(mw_sample_t), &hist)
        || !add_size(sizeof(mw_slot_t), hist, &sz)
        || sz > APR_SIZE_MAX - MW_LINE) {
        return 0;
    }
    *slot = align(sz);
    if (!mul_size(l->nslots, *slot, &slots)
        || !mul_size(l->attr_len, sizeof(mw_attr_t), &attrs)
        || !add_size(align(sizeof(mw_shm_header_t)) + MW_LINE, slots, &sz)
        || !add_size(sz, attrs, total)) {
        return 0;
    }
    return 1;
}

apr_size_t mw_shm_size(const mw_layout_t *l)
{
    apr_size_t slot, total;

    return layout_sizes(l, &slot, &total) ? total : 0;
}

apr_status_t mw_shm_size_check(const mw_layout_t *l, apr_size_t max,
                               apr_size_t *size)
{
    apr_size_t slot, total;

    if (!layout_sizes(l, &slot, &total) || total > max) {
        return APR_ENOMEM;
    }
    *size = total;
    return APR_SUCCESS;
}

apr_status_t mw_table_open(mw_table_t *t, void *base, apr_size_t size,
                           const mw_layout_t *l, int create)
{
    mw_shm_header_t *h = base;
    apr_size_t slot, total;

    if (!layout_sizes(l, &slot, &total)) {
        return APR_EINVAL;
    }
    if (size < total) {
        return APR_EMISMATCH;
    }
    if (create) {
        memset(base, 0, total);
        h->magic = MW_MAGIC;
        h->nslots = l->nslots;
        h->history_len = l->history_len;
        h->attr_len = l->attr_len;
        h->slot_size = slot;
        h->total_size = total;
        apr_cpystrn(h->attr_other.handler, "other", MW_HANDLER_LEN);
        apr_cpystrn(h->attr_other.prefix, "other", MW_PREFIX_LEN);
        h->attr_other.state = MW_ATTR_READY;
    }
    t->hdr = h;
    t->layout = *l;
    t->slot_size = slot;
    t->size = total;
    if (!create && mw_table_check(t)) {
        return APR_EMISMATCH;
    }
    /* Slots begin on a line of their own: the base need not be aligned
     * (APR's anonymous segments begin 8 bytes into a page), so the
     * layout leaves a line's room for it. */
    t->slots = (char *)APR_ALIGN((apr_uintptr_t)base
                                 + sizeof(mw_shm_header_t), MW_LINE);
    t->attr = (mw_attr_t *)(t->slots + (apr_size_t)l->nslots * slot);
    return APR_SUCCESS;
}

const char *mw_table_check(const mw_table_t *t)
{
    const mw_shm_header_t *h = t->hdr;

    if (h->magic != MW_MAGIC) {
        return "its magic number is wrong";
    }
    if (h->nslots != t->layout.nslots || h->history_len
        != t->layout.history_len || h->attr_len != t->layout.attr_len) {
        return "its counts differ from the configured layout";
    }
    if (h->slot_size != t->slot_size || h->total_size != t->size) {
        return "its sizes differ from the configured layout";
    }
    return NULL;
}

apr_uint32_t mw_table_nslots(const mw_table_t *t)
{
    return t->layout.nslots;
}

mw_slot_t *mw_table_slot(const mw_table_t *t, apr_uint32_t i)
{
    if (i >= t->layout.nslots) {
        return NULL;
    }
    return (mw_slot_t *)(t->slots + (apr_size_t)i * t->slot_size);
}

static mw_sample_t *slot_history(mw_slot_t *slot)
{
    return (mw_sample_t *)(slot + 1);
}

/* The count of tickets out (hdr->retiring). Any process may write it, so
 * it is only ever moved by compare-and-swap within [0, APR_UINT32_MAX]:
 * never wrapped, never below zero. */
typedef enum {
    COUNT_REFUSED = 0,      /* max reached */
    COUNT_TAKEN,            /* counted: give it back with count_give */
    COUNT_UNCOUNTED         /* max APR_UINT32_MAX, count full (written
                             * over): granted, nothing to give back */
} count_e;

static count_e count_take(mw_shm_header_t *h, apr_uint32_t max)
{
    apr_uint32_t cur = mw_atomic_read32(&h->retiring);

    while (cur < max) {
        apr_uint32_t seen = mw_atomic_cas32(&h->retiring, cur + 1, cur);
        if (seen == cur) {
            return COUNT_TAKEN;
        }
        cur = seen;
    }
    return max == APR_UINT32_MAX ? COUNT_UNCOUNTED : COUNT_REFUSED;
}

static void count_give(mw_shm_header_t *h)
{
    apr_uint32_t cur = mw_atomic_read32(&h->retiring);

    while (cur > 0) {
        apr_uint32_t seen = mw_atomic_cas32(&h->retiring, cur - 1, cur);
        if (seen == cur) {
            return;
        }
        cur = seen;
    }
}

/* ticket_held 1 -> 0 happens once per ticket, whoever gets there first
 * (the leaving child, the parent's reap, a new owner's reset). */
static void ticket_return(const mw_table_t *t, mw_slot_t *slot)
{
    if (mw_atomic_cas32(&slot->ticket_held, 0, 1) == 1) {
        count_give(t->hdr);
    }
}

/* Reset a slot just claimed. The pid word (the claim) is left alone:
 * zeroing it, even for a moment, would let another child claim the same
 * slot. The lock is freed (a child killed while holding it must not keep
 * its successor from sampling). The size is the validated one, never
 * hdr->slot_size. */
static void slot_reset(const mw_table_t *t, mw_slot_t *s,
                       apr_uint32_t generation, apr_time_t now,
                       apr_uint64_t rss)
{
    const apr_size_t from = offsetof(mw_slot_t, generation);

    mw_atomic_set32(&s->state, MW_STATE_FREE);
    /* A predecessor killed while retiring (and not reaped) held a ticket:
     * the memset would lose it, and MaxRetiring with it, for good. */
    ticket_return(t, s);
    mw_atomic_set32(&s->reason, MW_REASON_NONE);
    memset((char *)s + from, 0, t->slot_size - from);
    s->generation = generation;
    s->started = now;
    s->rss = s->rss_peak = s->baseline_rss = rss;
    s->private_bytes = s->shared_bytes = MW_UNKNOWN;
    s->pss_bytes = s->swap_bytes = MW_UNKNOWN;
    s->heap_in_use = s->heap_free = MW_UNKNOWN;
    mw_atomic_release();
    mw_atomic_set32(&s->lock, 0);
    mw_atomic_set32(&s->state, MW_STATE_WARMING);
}

int mw_slot_claim(const mw_table_t *t, apr_uint32_t pid,
                  apr_uint32_t generation, apr_time_t now, apr_uint64_t rss)
{
    apr_uint32_t i;

    /* A slot still held by this pid (its previous owner was killed and
     * the pid reused before the parent reaped it) is taken over first, so
     * one pid never holds two slots. */
    for (i = 0; i < t->layout.nslots; i++) {
        mw_slot_t *s = mw_table_slot(t, i);
        if (mw_atomic_read32(&s->pid) == pid) {
            slot_reset(t, s, generation, now, rss);
            return (int)i;
        }
    }
    for (i = 0; i < t->layout.nslots; i++) {
        mw_slot_t *s = mw_table_slot(t, i);
        if (mw_atomic_read32(&s->pid) == 0
            && mw_atomic_cas32(&s->pid, pid, 0) == 0) {
            slot_reset(t, s, generation, now, rss);
            return (int)i;
        }
    }
    return -1;
}

/* Move a slot to FREE: 1 if this caller did, 0 if it was already. */
static int free_state(mw_slot_t *s)
{
    apr_uint32_t state;

    do {
        state = mw_atomic_read32(&s->state);
        if (state == MW_STATE_FREE) {
            return 0;
        }
    } while (mw_atomic_cas32(&s->state, MW_STATE_FREE, state) != state);
    return 1;
}

int mw_slot_reap(const mw_table_t *t, apr_uint32_t pid,
                 apr_uint32_t current_generation, apr_time_t now)
{
    mw_shm_header_t *h = t->hdr;
    apr_uint32_t i;

    for (i = 0; i < t->layout.nslots; i++) {
        mw_slot_t *s = mw_table_slot(t, i);
        apr_uint32_t next;
        mw_exited_t *e;

        /* Claimed by the compare-and-swap: the parent and the child
         * itself (as it exits) may both reap it. */
        if (!pid || mw_atomic_read32(&s->pid) != pid || !free_state(s)) {
            continue;
        }
        /* Writers take their place in the ring by an atomic increment. */
        next = mw_atomic_inc32(&h->exited_next);
        e = &h->exited[next % MW_EXITED_LEN];
        mw_atomic_set32(&e->seq, 0);
        mw_atomic_release();
        e->pid = pid;
        e->slot = i;
        e->generation = s->generation;
        e->reason = s->retired ? s->reason : MW_REASON_NONE;
        e->restart = s->generation != current_generation;
        e->started = s->started;
        e->exited = now;
        e->requests = mw_atomic_read64(&s->requests);
        e->connections = mw_atomic_read64(&s->connections);
        e->rss = mw_atomic_read64(&s->rss);
        e->rss_peak = mw_atomic_read64(&s->rss_peak);
        e->baseline_rss = mw_atomic_read64(&s->baseline_rss);
        mw_atomic_release();
        mw_atomic_set32(&e->seq, next + 1);
        mw_atomic_inc64(&h->exited_total);
        /* As the view names an exit (mw_exit_name): a reason the child
         * wrote out of range counts as not recycled. */
        if (e->reason != MW_REASON_NONE && e->reason < MW_REASON_COUNT) {
            mw_atomic_inc64(&h->exited_by[e->reason]);
        }
        else if (e->restart) {
            mw_atomic_inc64(&h->exited_restart);
        }
        else {
            mw_atomic_inc64(&h->exited_by[MW_REASON_NONE]);
        }
        ticket_return(t, s);
        mw_atomic_set32(&s->pid, 0);
        return (int)i;
    }
    return -1;
}

int mw_slot_trylock(mw_slot_t *slot)
{
    return mw_atomic_cas32(&slot->lock, 1, 0) == 0;
}

void mw_slot_unlock(mw_slot_t *slot)
{
    mw_atomic_set32(&slot->lock, 0);
}

void mw_slot_leave(const mw_table_t *t, mw_slot_t *slot, apr_time_t now)
{
    slot->exiting_since = now;
    mw_atomic_set32(&slot->state, MW_STATE_EXITING);
    ticket_return(t, slot);
}

apr_status_t mw_slot_retire(const mw_table_t *t, mw_slot_t *slot,
                            apr_uint32_t from, apr_uint32_t max,
                            mw_reason_e reason, apr_time_t now)
{
    count_e got;

    if (from != MW_STATE_OK && from != MW_STATE_WAITING) {
        return APR_EINVAL;
    }
    /* A slot already moved costs the count nothing, not even a moment. */
    if (mw_atomic_read32(&slot->state) != from) {
        return APR_EAGAIN;
    }
    MW_STEP();
    /* Counted before the move, so that no other child can take the last
     * ticket between them; refused, the slot has not changed. */
    got = count_take(t->hdr, max);
    if (got == COUNT_REFUSED) {
        return APR_EBUSY;
    }
    MW_STEP();
    /* The one step that decides between deciders. The count just taken
     * is not yet the slot's: a loser gives back exactly that, and never
     * touches ticket_held, which is the winner's. */
    if (mw_atomic_cas32(&slot->state, MW_STATE_RETIRING, from) != from) {
        if (got == COUNT_TAKEN) {
            count_give(t->hdr);
        }
        return APR_EAGAIN;
    }
    MW_STEP();
    /* Only the winner gets here: the ticket becomes the slot's, for
     * mw_slot_leave or mw_slot_reap to give back once. A flag already
     * set (written over) stands for one ticket: ours goes back. */
    if (mw_atomic_cas32(&slot->ticket_held, 1, 0) != 0
        && got == COUNT_TAKEN) {
        count_give(t->hdr);
    }
    mw_atomic_set32(&slot->reason, reason);
    slot->retire_time = now;
    mw_atomic_set32(&slot->retired, 1);
    return APR_SUCCESS;
}

void mw_slot_wait(mw_slot_t *slot, mw_reason_e reason)
{
    mw_atomic_set32(&slot->reason, reason);
    mw_atomic_cas32(&slot->state, MW_STATE_WAITING, MW_STATE_OK);
}

void mw_slot_unwait(mw_slot_t *slot)
{
    mw_atomic_cas32(&slot->state, MW_STATE_OK, MW_STATE_WAITING);
}

int mw_slot_would_recycle(mw_slot_t *slot, apr_uint32_t from,
                          mw_reason_e reason)
{
    if (from != MW_STATE_OK && from != MW_STATE_WAITING) {
        return 0;
    }
    mw_atomic_set32(&slot->reason, reason);
    return mw_atomic_cas32(&slot->state, MW_STATE_WOULD_RECYCLE, from)
           == from;
}

/* A request is the pid asked, then its reason, shifted, and whether it is
 * past the ceiling. */
static apr_uint64_t retire_request(apr_uint32_t pid, mw_reason_e reason,
                                   int past_ceiling)
{
    return (apr_uint64_t)pid << 32
           | (apr_uint32_t)reason << 1 | (past_ceiling != 0);
}

void mw_slot_request_retire(mw_slot_t *slot, apr_uint32_t pid,
                            mw_reason_e reason, int past_ceiling)
{
    apr_uint64_t want = retire_request(pid, reason, past_ceiling);
    apr_uint64_t cur = mw_atomic_read64(&slot->retire_requested), seen;

    /* Only past the ceiling may one request replace another of the same
     * child's: the budget can then override MemwatchMaxRetiring even for
     * a child that pressure or a hand asked first. */
    while (cur == 0 || cur >> 32 != pid || (past_ceiling && !(cur & 1))) {
        seen = mw_atomic_cas64(&slot->retire_requested, want, cur);
        if (seen == cur) {
            return;
        }
        cur = seen;
    }
}

mw_reason_e mw_slot_retire_requested(mw_slot_t *slot, apr_uint32_t pid,
                                     int *past_ceiling)
{
    apr_uint64_t v = mw_atomic_read64(&slot->retire_requested);
    apr_uint32_t reason = (apr_uint32_t)v >> 1;

    if (v >> 32 != pid || reason <= MW_REASON_NONE
        || reason >= MW_REASON_COUNT) {
        *past_ceiling = 0;
        return MW_REASON_NONE;      /* not asked, or not a request */
    }
    *past_ceiling = (int)(v & 1);
    return (mw_reason_e)reason;
}

void mw_slot_no_stream_figures(mw_slot_t *slot)
{
    mw_atomic_set64(&slot->stream_pool_growth_peak, MW_UNKNOWN);
}

void mw_slot_set_limits(mw_slot_t *slot, const mw_limits_t *l)
{
    slot->limits = *l;
}

void mw_slot_limits(mw_slot_t *slot, mw_limits_t *l)
{
    *l = slot->limits;
}

void mw_slot_figures(mw_slot_t *slot, apr_uint64_t rss, mw_figures_t *f)
{
    f->rss = rss;
    f->baseline_rss = mw_atomic_read64(&slot->baseline_rss);
    f->private_bytes = mw_atomic_read64(&slot->private_bytes);
    f->shared_bytes = mw_atomic_read64(&slot->shared_bytes);
}

int mw_slot_warmed(mw_slot_t *slot, apr_uint64_t n, apr_uint64_t rss)
{
    if (mw_atomic_cas32(&slot->state, MW_STATE_OK, MW_STATE_WARMING)
        != MW_STATE_WARMING) {
        return 0;
    }
    mw_atomic_set64(&slot->baseline_rss, rss);
    mw_trend_start(&slot->trend, n);
    return 1;
}

void mw_slot_trend_note(mw_slot_t *slot, apr_uint64_t n, apr_uint64_t rss,
                        apr_time_t now)
{
    mw_trend_heap_t heap;

    if (mw_slot_state(slot) != MW_STATE_WARMING
        && mw_trend_due(&slot->trend, n) && mw_slot_trylock(slot)) {
        heap.time = slot->heap_time;
        mw_atomic_acquire();
        heap.in_use = mw_atomic_read64(&slot->heap_in_use);
        heap.free_bytes = mw_atomic_read64(&slot->heap_free);
        mw_trend_add(&slot->trend, n, rss, now, &heap);
        mw_slot_unlock(slot);
    }
}

int mw_slot_history_due(mw_slot_t *slot, apr_time_t now,
                        apr_interval_time_t interval)
{
    return mw_clock_since(now, slot->hist_last) >= interval;
}

int mw_slot_smaps_due(mw_slot_t *slot, apr_time_t now,
                      apr_interval_time_t interval)
{
    return mw_clock_since(now, slot->smaps_last) >= interval;
}

void mw_slot_note_smaps(mw_slot_t *slot, apr_time_t now,
                        const mw_smaps_t *sm)
{
    slot->smaps_last = now;
    if (sm) {
        mw_atomic_set64(&slot->private_bytes, sm->private_bytes);
        mw_atomic_set64(&slot->shared_bytes, sm->shared_bytes);
        mw_atomic_set64(&slot->pss_bytes, sm->pss_bytes);
        mw_atomic_set64(&slot->swap_bytes, sm->swap_bytes);
    }
}

int mw_slot_heap_due(mw_slot_t *slot, apr_time_t now,
                     apr_interval_time_t interval)
{
    return mw_clock_since(now, slot->heap_time) >= interval;
}

/* The figures first, then their time (release): the trend takes the time
 * first, so a point never carries a time older than its figure. */
void mw_slot_note_heap(mw_slot_t *slot, apr_time_t now,
                       const mw_heap_t *heap)
{
    if (heap) {
        mw_atomic_set64(&slot->heap_in_use, heap->in_use);
        mw_atomic_set64(&slot->heap_free, heap->free_bytes);
    }
    mw_atomic_release();
    slot->heap_time = now;
}

void mw_slot_note_trim(const mw_table_t *t, mw_slot_t *slot,
                       apr_uint64_t reclaimed, int kept)
{
    mw_atomic_inc64(&slot->trims);
    mw_atomic_add64(&slot->trim_reclaimed, reclaimed);
    mw_atomic_inc64(&t->hdr->trims_total);
    mw_atomic_add64(&t->hdr->trim_reclaimed_total, reclaimed);
    if (kept) {
        mw_atomic_inc64(&t->hdr->trim_kept_total);
    }
}

apr_uint64_t mw_slot_private(mw_slot_t *slot)
{
    return mw_atomic_read64(&slot->private_bytes);
}

void mw_slot_raise_private(mw_slot_t *slot, apr_uint64_t floor)
{
    apr_uint64_t was = mw_atomic_read64(&slot->private_bytes);

    while (floor != MW_UNKNOWN && was != MW_UNKNOWN && floor > was) {
        apr_uint64_t seen = mw_atomic_cas64(&slot->private_bytes, floor, was);

        if (seen == was) {
            break;
        }
        was = seen;
    }
}

void mw_slot_sample(const mw_table_t *t, mw_slot_t *slot, apr_time_t now,
                    apr_uint64_t rss)
{
    mw_sample_t sample;

    sample.time = now;
    sample.rss = rss;
    sample.private_bytes = mw_atomic_read64(&slot->private_bytes);
    sample.shared_bytes = mw_atomic_read64(&slot->shared_bytes);
    sample.requests = mw_atomic_read64(&slot->requests);
    /* Pool figures stay unknown until a request pool was measured. */
    sample.request_pool_peak = mw_atomic_read64(&slot->request_pool_count)
                               ? mw_atomic_read64(&slot->request_pool_peak)
                               : MW_UNKNOWN;
    sample.connection_pool_peak = sample.request_pool_peak == MW_UNKNOWN
        ? MW_UNKNOWN : mw_atomic_read64(&slot->connection_pool_peak);
    mw_history_append(t, slot, &sample);
}

volatile apr_uint64_t *mw_table_measure_due(const mw_table_t *t)
{
    return &t->hdr->measure_due;
}

apr_uint32_t mw_table_retiring(const mw_table_t *t)
{
    return mw_atomic_read32(&t->hdr->retiring);
}

int mw_table_first_misconfig(const mw_table_t *t, apr_uint32_t generation)
{
    apr_uint32_t mark = generation + 1;     /* 0: none told yet */
    apr_uint32_t seen = mw_atomic_read32(&t->hdr->misconfig_generation);

    return seen != mark
           && mw_atomic_cas32(&t->hdr->misconfig_generation, mark, seen)
              == seen;
}

/* At most MW_MAPPING_TOP growers from src to dst, names NUL-terminated:
 * the source may be any child's word. Returns how many. */
static apr_uint32_t growth_copy(mw_mapping_growth_t *dst,
                                const mw_mapping_growth_t *src,
                                apr_uint32_t n)
{
    apr_uint32_t k;

    n = n < MW_MAPPING_TOP ? n : MW_MAPPING_TOP;
    for (k = 0; k < n; k++) {
        dst[k] = src[k];
        dst[k].name[MW_MAPPING_NAME_LEN - 1] = '\0';
    }
    return n;
}

void mw_slot_ask_mapping(mw_slot_t *slot)
{
    mw_atomic_set32(&slot->mapping_asked, 1);
}

int mw_slot_mapping_asked(mw_slot_t *slot)
{
    return mw_atomic_read32(&slot->mapping_asked)
           && mw_atomic_xchg32(&slot->mapping_asked, 0);
}

void mw_slot_note_mapping(mw_slot_t *slot, apr_time_t now,
                          const mw_mapping_growth_t *g, apr_uint32_t n)
{
    /* Even: no writer now (another process may have written it odd). */
    apr_uint32_t seq = mw_atomic_read32(&slot->mapping_seq) | 1;

    mw_atomic_set32(&slot->mapping_seq, seq);
    mw_atomic_fence();      /* before the reading */
    slot->mapping_count = growth_copy(slot->mapping, g, n);
    slot->mapping_time = now;
    mw_atomic_release();
    mw_atomic_set32(&slot->mapping_seq, seq + 1 ? seq + 1 : 2);
}

apr_uint32_t mw_mapping_copy(const mw_table_t *t, apr_uint32_t i,
                             mw_mapping_growth_t *dst, apr_time_t *when)
{
    mw_slot_t *s = mw_table_slot(t, i);
    apr_uint32_t seq, n;
    apr_time_t time;

    *when = 0;
    if (!s || (seq = mw_atomic_read32(&s->mapping_seq)) == 0 || seq & 1) {
        return 0;
    }
    mw_atomic_acquire();
    time = s->mapping_time;
    /* Read once: the bound must hold for the count that is copied. */
    n = growth_copy(dst, s->mapping, mw_atomic_read32(&s->mapping_count));
    mw_atomic_acquire();
    if (mw_atomic_read32(&s->mapping_seq) != seq) {
        return 0;
    }
    *when = time;
    return n;
}

void mw_recycle_add(const mw_table_t *t, const mw_recycle_t *ev)
{
    mw_shm_header_t *h = t->hdr;
    apr_uint32_t seq = mw_atomic_inc32(&h->recycles_next) + 1;
    mw_recycle_t *e = &h->recycles[(seq - 1) % MW_RECYCLES_LEN];

    /* seq 0 while the fields change, so a reader skips the entry. */
    mw_atomic_set32(&e->seq, 0);
    mw_atomic_release();
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
    e->mapping_count = ev->mapping_count == MW_MAPPING_UNREAD
                       ? MW_MAPPING_UNREAD
                       : growth_copy(e->mapping, ev->mapping,
                                     ev->mapping_count);
    mw_atomic_release();
    mw_atomic_set32(&e->seq, seq);
    if (ev->dry_run) {
        mw_atomic_inc64(&h->would_recycle_total);
    }
    else if (ev->reason < MW_REASON_COUNT) {
        mw_atomic_inc64(&h->recycles_total[ev->reason]);
    }
}

void mw_history_append(const mw_table_t *t, mw_slot_t *slot,
                       const mw_sample_t *s)
{
    apr_uint32_t len = t->layout.history_len;
    apr_uint64_t seq;

    if (!len) {
        return;
    }
    seq = mw_atomic_read64(&slot->hist_seq);
    mw_atomic_set64(&slot->hist_writing, seq + 1);
    mw_atomic_fence();    /* before the sample */
    slot_history(slot)[seq % len] = *s;
    mw_atomic_release();
    mw_atomic_set64(&slot->hist_seq, seq + 1);
    slot->hist_last = s->time;
}

int mw_slot_copy(const mw_table_t *t, apr_uint32_t i, mw_slot_copy_t *c)
{
    mw_slot_t *s = mw_table_slot(t, i);

    if (!s || !(c->pid = mw_atomic_read32(&s->pid))) {
        return 0;
    }
    c->state = (mw_state_e)mw_atomic_read32(&s->state);
    if (c->state == MW_STATE_FREE) {
        return 0;
    }
    mw_atomic_acquire();
    c->reason = (mw_reason_e)mw_atomic_read32(&s->reason);
    c->generation = s->generation;
    c->started = s->started;
    c->retire_time = s->retire_time;
    c->exiting_since = s->exiting_since;
    c->smaps_time = s->smaps_last;
    c->history_time = s->hist_last;
    c->heap_time = s->heap_time;
    c->requests = mw_atomic_read64(&s->requests);
    c->connections = mw_atomic_read64(&s->connections);
    c->rss = mw_atomic_read64(&s->rss);
    c->rss_peak = mw_atomic_read64(&s->rss_peak);
    c->baseline_rss = mw_atomic_read64(&s->baseline_rss);
    c->private_bytes = mw_atomic_read64(&s->private_bytes);
    c->shared_bytes = mw_atomic_read64(&s->shared_bytes);
    c->pss_bytes = mw_atomic_read64(&s->pss_bytes);
    c->swap_bytes = mw_atomic_read64(&s->swap_bytes);
    c->request_pool_peak = mw_atomic_read64(&s->request_pool_peak);
    c->request_pool_sum = mw_atomic_read64(&s->request_pool_sum);
    c->request_pool_count = mw_atomic_read64(&s->request_pool_count);
    c->connection_pool_peak = mw_atomic_read64(&s->connection_pool_peak);
    c->connection_pool_growth_peak =
        mw_atomic_read64(&s->connection_pool_growth_peak);
    c->stream_pool_growth_peak =
        mw_atomic_read64(&s->stream_pool_growth_peak);
    c->heap_in_use = mw_atomic_read64(&s->heap_in_use);
    c->heap_free = mw_atomic_read64(&s->heap_free);
    c->trims = mw_atomic_read64(&s->trims);
    c->trim_reclaimed = mw_atomic_read64(&s->trim_reclaimed);
    c->limits = s->limits;
    memcpy(&c->trend, (const void *)&s->trend, sizeof(c->trend));
    return 1;
}

apr_uint32_t mw_history_copy(const mw_table_t *t, apr_uint32_t i,
                             mw_sample_t *dst, apr_uint32_t max)
{
    mw_slot_t *s = mw_table_slot(t, i);
    apr_uint32_t len = t->layout.history_len, n, k, drop;
    apr_uint64_t seq, writing;
    const mw_sample_t *ring;

    if (!s || !len || !max) {
        return 0;
    }
    ring = slot_history(s);
    seq = mw_atomic_read64(&s->hist_seq);
    mw_atomic_acquire();
    n = seq < len ? (apr_uint32_t)seq : len;
    n = n < max ? n : max;
    for (k = 0; k < n; k++) {
        dst[k] = ring[(seq - n + k) % len];
    }
    mw_atomic_acquire();
    writing = mw_atomic_read64(&s->hist_writing);
    /* Samples seq .. writing - 1 were (or are being) written meanwhile:
     * once past the ring's free places they land on the oldest copied. */
    if (writing < seq) {
        return 0;                   /* the slot was reset: nothing sure */
    }
    if (writing - seq <= (apr_uint64_t)(len - n)) {
        return n;
    }
    drop = writing - seq - (len - n) >= n
           ? n : (apr_uint32_t)(writing - seq - (len - n));
    memmove(dst, dst + drop, (n - drop) * sizeof(*dst));
    return n - drop;
}

/* Copy the newest entries of a ring of records that carry their own
 * sequence number (1-based; 0 while being written), newest first. */
#define RING_COPY(ring, len, next, dst, max, n)                            \
    do {                                                                   \
        apr_uint32_t i_;                                                   \
        (max) = (max) < (len) ? (max) : (len);                             \
        for (i_ = 0; i_ < (max) && i_ < (next); i_++) {                    \
            apr_uint32_t want_ = (next) - i_;                              \
            if (mw_atomic_read32(&(ring)[(want_ - 1) % (len)].seq)        \
                != want_) {                                                \
                continue;                                                  \
            }                                                              \
            mw_atomic_acquire();                                                  \
            (dst)[n] = (ring)[(want_ - 1) % (len)];                        \
            mw_atomic_acquire();                                                  \
            if (mw_atomic_read32(&(ring)[(want_ - 1) % (len)].seq)        \
                == want_) {                                                \
                (dst)[(n)++].seq = want_;                                  \
            }                                                              \
        }                                                                  \
    } while (0)

apr_uint32_t mw_exited_copy(const mw_table_t *t, mw_exited_t *dst,
                            apr_uint32_t max)
{
    mw_shm_header_t *h = t->hdr;
    apr_uint32_t next = mw_atomic_read32(&h->exited_next), n = 0;

    RING_COPY(h->exited, MW_EXITED_LEN, next, dst, max, n);
    return n;
}

apr_uint32_t mw_recycle_copy(const mw_table_t *t, mw_recycle_t *dst,
                              apr_uint32_t max)
{
    mw_shm_header_t *h = t->hdr;
    apr_uint32_t next = mw_atomic_read32(&h->recycles_next), n = 0, i;

    RING_COPY(h->recycles, MW_RECYCLES_LEN, next, dst, max, n);
    for (i = 0; i < n; i++) {
        if (dst[i].mapping_count != MW_MAPPING_UNREAD) {
            dst[i].mapping_count = growth_copy(dst[i].mapping,
                                               dst[i].mapping,
                                               dst[i].mapping_count);
        }
    }
    return n;
}

void mw_table_totals(const mw_table_t *t, mw_table_totals_t *out)
{
    mw_shm_header_t *h = t->hdr;
    int i;

    for (i = 0; i < MW_REASON_COUNT; i++) {
        out->recycles_total[i] = mw_atomic_read64(&h->recycles_total[i]);
        out->exited_by[i] = mw_atomic_read64(&h->exited_by[i]);
    }
    out->exited_restart = mw_atomic_read64(&h->exited_restart);
    out->would_recycle_total = mw_atomic_read64(&h->would_recycle_total);
    out->exited_total = mw_atomic_read64(&h->exited_total);
    out->trims_total = mw_atomic_read64(&h->trims_total);
    out->trim_reclaimed_total = mw_atomic_read64(&h->trim_reclaimed_total);
    out->trim_kept_total = mw_atomic_read64(&h->trim_kept_total);
    out->retiring = mw_atomic_read32(&h->retiring);
}

void mw_table_private_total(const mw_table_t *t, mw_private_total_t *out)
{
    apr_uint64_t most = 0;
    apr_uint32_t i;

    out->all = out->serving = 0;
    out->largest = -1;
    out->largest_pid = 0;
    for (i = 0; i < t->layout.nslots; i++) {
        mw_slot_t *sl = mw_table_slot(t, i);
        apr_uint32_t pid = mw_atomic_read32(&sl->pid);
        apr_uint32_t state = mw_atomic_read32(&sl->state);
        apr_uint64_t priv = mw_atomic_read64(&sl->private_bytes);

        if (!pid || priv == MW_UNKNOWN
            || state == MW_STATE_FREE || state >= MW_STATE_COUNT) {
            continue;
        }
        out->all = mw_add_known(out->all, priv);
        if (state == MW_STATE_RETIRING || state == MW_STATE_EXITING) {
            continue;
        }
        out->serving = mw_add_known(out->serving, priv);
        if ((state == MW_STATE_OK || state == MW_STATE_WAITING)
            && priv > most) {
            most = priv;
            out->largest = (int)i;
            out->largest_pid = pid;
        }
    }
}

