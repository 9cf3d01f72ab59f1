/* Licensed under the Apache License, Version 2.0. */

/* mw_shm: the shared-memory table over a malloc'd block. */

#include <apr_atomic.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <sched.h>
#include <stddef.h>

#include "tap.h"
#include "mw_atomic.h"
#include "mw_attr.h"
#include "mw_shm.h"

#define SEC(s) apr_time_from_sec(s)

static apr_uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static apr_uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A zero-filled-then-scribbled block, so create must really zero it. */
static void *new_block(apr_size_t size)
{
    void *b = malloc(size);

    if (!b) {
        bail_out("malloc failed");
    }
    memset(b, 0xa5, size);
    return b;
}

/* A fresh table of layout l in a new block (free the block when done). */
static char *new_table(mw_table_t *t, const mw_layout_t *l)
{
    apr_size_t size = mw_shm_size(l);
    char *block = new_block(size);

    mw_table_open(t, block, size, l, 1);
    return block;
}

static int ready_entries(const mw_table_t *t)
{
    apr_uint32_t i;
    int n = 0;

    for (i = 0; i < t->hdr->attr_len; i++) {
        n += t->attr[i].state == MW_ATTR_READY;
    }
    return n;
}

static mw_attr_t *find_attr(const mw_table_t *t, const char *handler,
                            const char *prefix)
{
    apr_uint32_t i;

    for (i = 0; i < t->hdr->attr_len; i++) {
        mw_attr_t *a = &t->attr[i];
        if (a->state == MW_ATTR_READY && !strcmp(a->handler, handler)
            && !strcmp(a->prefix, prefix)) {
            return a;
        }
    }
    return NULL;
}

static void test_open(void)
{
    mw_layout_t l = { 4, 16, 8 }, other;
    apr_size_t size = mw_shm_size(&l);
    apr_size_t big = size * 4;
    char *block = new_block(big);
    mw_table_t t, t2;
    apr_uint32_t i;
    int zeroed = 1, inside = 1;

    ok(size >= sizeof(mw_shm_header_t) + 4 * (sizeof(mw_slot_t)
                                              + 16 * sizeof(mw_sample_t))
              + 8 * sizeof(mw_attr_t),
       "mw_shm_size covers header, slots with history and attribution");
    is_int(mw_table_open(&t, block, size - 1, &l, 1), APR_EMISMATCH,
           "create in a block one byte short: APR_EMISMATCH");
    is_int(mw_table_open(&t, block, size, &l, 1), APR_SUCCESS, "create");
    is_int(t.hdr->nslots, 4, "nslots stamped");
    is_int(t.hdr->history_len, 16, "history_len stamped");
    is_int(t.hdr->attr_len, 8, "attr_len stamped");
    is_u64(t.hdr->total_size, size, "total_size stamped");
    is_str(t.hdr->attr_other.handler, "other", "\"other\" handler");
    is_str(t.hdr->attr_other.prefix, "other", "\"other\" prefix");
    for (i = 0; i < 4; i++) {
        mw_slot_t *s = mw_table_slot(&t, i);
        zeroed &= s->pid == 0 && s->state == MW_STATE_FREE
                  && s->requests == 0 && s->hist_seq == 0;
        inside &= (char *)s >= block
                  && (char *)s + t.hdr->slot_size <= (char *)t.attr
                  && (char *)((mw_sample_t *)(s + 1) + 16)
                     <= (char *)s + t.hdr->slot_size;
    }
    ok(zeroed, "every slot is zeroed");
    ok(inside, "slots and their history lie between header and attribution");
    ok((char *)(t.attr + 8) <= block + size, "attribution ends in the block");
    for (i = 0; i < 8; i++) {
        zeroed &= t.attr[i].state == 0 && t.attr[i].requests == 0;
    }
    ok(zeroed, "attribution zeroed");
    ok((char *)mw_table_slot(&t, 1) - (char *)mw_table_slot(&t, 0)
       == (long)t.hdr->slot_size, "slots are slot_size apart");

    /* Attach (another process after a graceful restart). */
    mw_table_slot(&t, 2)->pid = 4242;
    is_int(mw_table_open(&t2, block, size, &l, 0), APR_SUCCESS,
           "reopen with the same layout");
    ok(t2.hdr == t.hdr && t2.slots == t.slots && t2.attr == t.attr,
       "same addresses");
    is_int(mw_table_slot(&t2, 2)->pid, 4242, "and the data is kept");

    other = l;
    other.nslots = 5;
    is_int(mw_table_open(&t2, block, big, &other, 0), APR_EMISMATCH,
           "reopen with more slots: APR_EMISMATCH");
    other = l;
    other.history_len = 8;
    is_int(mw_table_open(&t2, block, big, &other, 0), APR_EMISMATCH,
           "reopen with shorter history: APR_EMISMATCH");
    other = l;
    other.attr_len = 16;
    is_int(mw_table_open(&t2, block, big, &other, 0), APR_EMISMATCH,
           "reopen with a larger attribution table: APR_EMISMATCH");
    t.hdr->magic ^= 1;
    is_int(mw_table_open(&t2, block, size, &l, 0), APR_EMISMATCH,
           "reopen with a bad magic: APR_EMISMATCH");
    memset(block, 0, size);
    is_int(mw_table_open(&t2, block, size, &l, 0), APR_EMISMATCH,
           "attach to a zeroed block: APR_EMISMATCH");
    free(block);
}

static void test_slots(void)
{
    mw_layout_t l = { 4, 8, 8 };
    apr_size_t size = mw_shm_size(&l);
    char *block = new_block(size);
    mw_table_t t;
    mw_slot_t *s;
    mw_exited_t *e;
    apr_uint32_t i;
    int n;

    mw_table_open(&t, block, size, &l, 1);
    for (i = 0; i < 4; i++) {
        is_int(mw_slot_claim(&t, 101 + i, 3, SEC(1000 + i), 1000000 + i), i,
               "pid %u claims slot %u", 101 + i, i);
    }
    is_int(mw_slot_claim(&t, 105, 3, SEC(1010), 1), -1,
           "a fifth child finds no slot");

    s = mw_table_slot(&t, 1);
    is_int(s->pid, 102, "slot 1 holds pid 102");
    is_int(s->state, MW_STATE_WARMING, "claimed slot is warming");
    is_int(s->generation, 3, "generation recorded");
    ok(s->started == SEC(1001), "start time recorded");
    ok(s->rss == 1000001 && s->rss_peak == 1000001
       && s->baseline_rss == 1000001,
       "rss, peak and baseline start at the given rss");
    ok(s->private_bytes == MW_UNKNOWN && s->shared_bytes == MW_UNKNOWN,
       "private and shared start unknown");

    s->requests = 77;
    s->hist_seq = 5;
    s->lock = 1;                        /* held by a killed child */
    is_int(mw_slot_claim(&t, 102, 4, SEC(2000), 555), 1,
           "the same pid claiming again gets the same slot");
    ok(s->requests == 0 && s->hist_seq == 0 && s->rss == 555
       && s->generation == 4, "and its figures are reset");
    is_int(s->lock, 0, "and a lock left held is free again");
    n = 0;
    for (i = 0; i < 4; i++) {
        n += mw_table_slot(&t, i)->pid == 102;
    }
    is_int(n, 1, "pid 102 is in exactly one slot");

    /* Reap a child that retired for growth, from an older generation. */
    s = mw_table_slot(&t, 2);
    s->requests = 500;
    s->connections = 50;
    s->rss = 300000000;
    s->rss_peak = 310000000;
    s->baseline_rss = 100000000;
    s->retired = 1;
    s->reason = MW_REASON_GROWTH;
    s->state = MW_STATE_RETIRING;
    is_int(mw_slot_reap(&t, 103, 4, SEC(5000)), 2, "reap pid 103: slot 2");
    e = &t.hdr->exited[0];
    ok(e->pid == 103 && e->slot == 2 && e->generation == 3,
       "exited entry: pid, slot, generation");
    is_int(e->reason, MW_REASON_GROWTH, "exited entry: reason growth");
    is_int(e->restart, 1, "exited entry: older generation is a restart");
    ok(e->started == SEC(1002) && e->exited == SEC(5000),
       "exited entry: start and exit times");
    ok(e->requests == 500 && e->connections == 50,
       "exited entry: requests and connections");
    ok(e->rss == 300000000 && e->rss_peak == 310000000
       && e->baseline_rss == 100000000, "exited entry: rss, peak, baseline");
    is_int(t.hdr->exited_next, 1, "exited_next is 1");
    is_u64(t.hdr->exited_total, 1, "exited_total is 1");
    is_int(s->pid, 0, "slot 2 is free again");
    is_int(s->state, MW_STATE_FREE, "and its state is free");
    is_int(mw_slot_reap(&t, 103, 4, SEC(5001)), -1,
           "reaping the same pid again finds nothing");
    is_int(mw_slot_reap(&t, 999, 4, SEC(5001)), -1,
           "reaping an unknown pid finds nothing");
    is_int(t.hdr->exited_next, 1, "and records nothing");

    /* A reason set but never retired: plain exit, same generation. */
    s = mw_table_slot(&t, 3);
    s->reason = MW_REASON_RSS;
    s->retired = 0;
    is_int(mw_slot_reap(&t, 104, 3, SEC(5002)), 3, "reap pid 104");
    e = &t.hdr->exited[1];
    is_int(e->reason, MW_REASON_NONE, "not retired: no reason recorded");
    is_int(e->restart, 0, "current generation: not a restart");

    is_int(mw_slot_claim(&t, 106, 4, SEC(6000), 1), 2,
           "a new child takes the first free slot");

    /* mw_slot_leave: exiting, and the parent's reap still finds it. */
    s = mw_table_slot(&t, 0);
    mw_slot_leave(&t, s, SEC(5999));
    is_int(s->state, MW_STATE_EXITING, "a leaving child is exiting");
    ok(s->exiting_since == SEC(5999), "since it stopped serving");
    is_int(s->pid, 101, "but it keeps its pid");
    is_int(mw_slot_claim(&t, 107, 4, SEC(6001), 1), 3,
           "its slot is not handed out before the reap");
    is_int(mw_slot_reap(&t, 101, 4, SEC(6002)), 0, "reap finds it by pid");
    is_int(mw_slot_claim(&t, 108, 4, SEC(6003), 1), 0,
           "then the slot is free for a new child");

    /* Pid reuse: a child was reaped from slot 0 while pid 200 still has a
     * stale slot 1 (it was killed and its exit missed). The same pid
     * claiming again must take over its stale slot, not a second one. */
    mw_table_open(&t, block, size, &l, 1);
    mw_slot_claim(&t, 100, 1, SEC(1), 1);
    mw_slot_claim(&t, 200, 1, SEC(1), 1);
    mw_slot_reap(&t, 100, 1, SEC(2));
    is_int(mw_slot_claim(&t, 200, 1, SEC(3), 1), 1,
           "pid 200 takes over its stale slot 1, not free slot 0");
    n = 0;
    for (i = 0; i < 4; i++) {
        n += mw_table_slot(&t, i)->pid == 200;
    }
    is_int(n, 1, "pid 200 is in exactly one slot");
    free(block);
}

static void test_exited_ring(void)
{
    mw_layout_t l = { 2, 0, 4 };
    char *block;
    mw_table_t t;
    const apr_uint32_t total = MW_EXITED_LEN + 5;
    apr_uint32_t k;
    int good = 1;

    block = new_table(&t, &l);
    for (k = 0; k < total; k++) {
        int slot = mw_slot_claim(&t, 1000 + k, 1, SEC(k), 1);
        mw_table_slot(&t, (apr_uint32_t)slot)->requests = k;
        good &= mw_slot_reap(&t, 1000 + k, 1, SEC(k + 1)) == slot;
    }
    ok(good, "%u children claimed and reaped", total);
    is_int(t.hdr->exited_next, total, "exited_next counts every exit");
    is_u64(t.hdr->exited_total, total, "exited_total counts every exit");
    for (k = total - MW_EXITED_LEN; k < total; k++) {
        const mw_exited_t *e = &t.hdr->exited[k % MW_EXITED_LEN];
        good &= e->pid == 1000 + k && e->requests == k
                && e->exited == SEC(k + 1);
    }
    ok(good, "the ring holds the newest %d exits", MW_EXITED_LEN);
    is_int(t.hdr->exited[(total - 1) % MW_EXITED_LEN].pid, 1000 + total - 1,
           "newest at (exited_next - 1) %% MW_EXITED_LEN");
    is_int(t.hdr->exited[total % MW_EXITED_LEN].pid,
           1000 + total - MW_EXITED_LEN, "oldest kept right after it");
    free(block);
}

static void test_recycles(void)
{
    mw_layout_t l = { 2, 0, 4 };
    char *block;
    mw_table_t t;
    mw_recycle_t ev;
    apr_uint64_t want[MW_REASON_COUNT] = { 0 }, want_dry = 0;
    const apr_uint32_t total = 2 * MW_RECYCLES_LEN + 7;
    apr_uint32_t k;
    int good = 1, r;

    block = new_table(&t, &l);
    memset(&ev, 0, sizeof(ev));
    for (k = 0; k < total; k++) {
        ev.pid = 5000 + k;
        ev.slot = k % 2;
        ev.reason = MW_REASON_GROWTH + k % (MW_REASON_COUNT - 1);
        ev.dry_run = k % 5 == 0;
        ev.time = SEC(100 + k);
        ev.rss = 1000 * k;
        ev.requests = k;
        mw_recycle_add(&t, &ev);
        if (ev.dry_run) {
            want_dry++;
        }
        else {
            want[ev.reason]++;
        }
    }
    is_int(t.hdr->recycles_next, total, "recycles_next counts every event");
    for (k = total - MW_RECYCLES_LEN; k < total; k++) {
        const mw_recycle_t *e = &t.hdr->recycles[k % MW_RECYCLES_LEN];
        good &= e->seq == k + 1 && e->pid == 5000 + k && e->rss == 1000 * k
                && e->time == SEC(100 + k) && e->requests == k
                && e->reason == MW_REASON_GROWTH + k % (MW_REASON_COUNT - 1);
    }
    ok(good, "the ring keeps the newest %d events, seq = index + 1",
       MW_RECYCLES_LEN);
    good = 1;
    for (r = 0; r < MW_REASON_COUNT; r++) {
        good &= t.hdr->recycles_total[r] == want[r];
        if (t.hdr->recycles_total[r] != want[r]) {
            diag("reason %s: got %llu want %llu", mw_reason_name(r),
                 (unsigned long long)t.hdr->recycles_total[r],
                 (unsigned long long)want[r]);
        }
    }
    ok(good, "recycles_total per reason counts real recycles only");
    is_u64(t.hdr->recycles_total[MW_REASON_NONE], 0, "none for NONE");
    is_u64(t.hdr->would_recycle_total, want_dry,
           "would_recycle_total counts dry runs");
    ev.dry_run = 0;
    ev.reason = MW_REASON_COUNT + 7;
    mw_recycle_add(&t, &ev);
    is_int(t.hdr->recycles_next, total + 1,
           "an out-of-range reason is still recorded");
    good = 1;
    for (r = 0; r < MW_REASON_COUNT; r++) {
        good &= t.hdr->recycles_total[r] == want[r];
    }
    ok(good, "but counted under no reason");
    free(block);
}

static void test_slot_retire(void)
{
    mw_layout_t l = { 4, 0, 4 };
    char *block;
    mw_table_t t;
    mw_slot_t *a, *b, *c;

    block = new_table(&t, &l);
    a = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 21, 1, SEC(1), 1));
    b = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 22, 1, SEC(1), 1));
    c = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 23, 1, SEC(1), 1));

    is_int(mw_slot_retire(&t, a, MW_STATE_WARMING, 1, MW_REASON_GROWTH, 0), APR_EINVAL,
           "from WARMING: EINVAL");
    is_int(mw_slot_retire(&t, a, MW_STATE_RETIRING, 1, MW_REASON_GROWTH, 0), APR_EINVAL,
           "from RETIRING: EINVAL");
    is_int(mw_slot_retire(&t, a, 77, 1, MW_REASON_GROWTH, 0), APR_EINVAL, "from 77: EINVAL");
    is_int(a->state, MW_STATE_WARMING, "and the slot is untouched");

    a->state = b->state = MW_STATE_WAITING;
    c->state = MW_STATE_OK;
    is_int(mw_slot_retire(&t, a, MW_STATE_WAITING, 0, MW_REASON_GROWTH, 0), APR_EBUSY,
           "max 0: EBUSY");
    is_int(mw_slot_retire(&t, a, MW_STATE_WAITING, 1, MW_REASON_GROWTH, 0), APR_SUCCESS,
           "max 1, none out: moved");
    is_int(a->state, MW_STATE_RETIRING, "the slot is RETIRING");
    is_int(a->ticket_held, 1, "it holds the ticket");
    is_int(t.hdr->retiring, 1, "counted once");

    is_int(mw_slot_retire(&t, b, MW_STATE_WAITING, 1, MW_REASON_GROWTH, 0), APR_EBUSY,
           "a second child at max 1: EBUSY");
    is_int(b->state, MW_STATE_WAITING, "left WAITING");
    is_int(mw_slot_retire(&t, c, MW_STATE_OK, 1, MW_REASON_GROWTH, 0), APR_EBUSY,
           "a third from OK: EBUSY");
    is_int(c->state, MW_STATE_OK, "left OK");
    ok(!b->ticket_held && !c->ticket_held && t.hdr->retiring == 1,
       "neither holds a ticket; still one out");

    is_int(mw_slot_retire(&t, a, MW_STATE_WAITING, 1, MW_REASON_GROWTH, 0), APR_EAGAIN,
           "deciding again on the moved slot: EAGAIN");
    is_int(mw_slot_retire(&t, a, MW_STATE_WAITING, APR_UINT32_MAX, MW_REASON_GROWTH, 0),
           APR_EAGAIN, "past the ceiling too");
    ok(a->state == MW_STATE_RETIRING && a->ticket_held == 1
       && t.hdr->retiring == 1,
       "the winner keeps its ticket: nothing taken, nothing given back");
    is_int(mw_slot_retire(&t, b, MW_STATE_OK, APR_UINT32_MAX, MW_REASON_GROWTH, 0), APR_EAGAIN,
           "a stale `from` (OK, slot WAITING): EAGAIN");
    ok(b->state == MW_STATE_WAITING && t.hdr->retiring == 1,
       "and nothing changed");

    is_int(mw_slot_retire(&t, b, MW_STATE_WAITING, APR_UINT32_MAX, MW_REASON_GROWTH, 0),
           APR_SUCCESS, "past the ceiling with max reached: moved");
    is_int(t.hdr->retiring, 2, "and counted");
    mw_slot_leave(&t, a, SEC(2));
    is_int(t.hdr->retiring, 1, "mw_slot_leave gives one back");
    is_int(a->ticket_held, 0, "the slot holds none");
    mw_slot_reap(&t, 21, 1, SEC(3));
    is_int(t.hdr->retiring, 1, "the reap after it gives back nothing more");
    mw_slot_reap(&t, 22, 1, SEC(3));
    is_int(t.hdr->retiring, 0, "the reap of the other gives back its own");
    is_int(mw_slot_retire(&t, c, MW_STATE_OK, 1, MW_REASON_GROWTH, 0), APR_SUCCESS,
           "now the third moves");

    /* A child killed while retiring, its pid reused before the reap: the
     * new child's claim gives the ticket back rather than lose it. */
    is_int(mw_slot_claim(&t, 23, 1, SEC(4), 1), 2, "pid 23 claimed again");
    ok(c->ticket_held == 0 && t.hdr->retiring == 0,
       "the old ticket was given back (retiring %u)", t.hdr->retiring);
    free(block);
}

/* What another process may have written over: the count never wraps nor
 * goes below zero, and past the ceiling is never refused. */
static void test_slot_retire_hostile(void)
{
    mw_layout_t l = { 2, 0, 4 };
    char *block;
    mw_table_t t;
    mw_slot_t *a, *b;

    block = new_table(&t, &l);
    a = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 31, 1, SEC(1), 1));
    b = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 32, 1, SEC(1), 1));
    a->state = b->state = MW_STATE_WAITING;

    t.hdr->retiring = APR_UINT32_MAX;
    is_int(mw_slot_retire(&t, a, MW_STATE_WAITING, 5, MW_REASON_GROWTH, 0), APR_EBUSY,
           "count full: max 5 refused");
    is_int(mw_slot_retire(&t, a, MW_STATE_WAITING, APR_UINT32_MAX, MW_REASON_GROWTH, 0),
           APR_SUCCESS, "count full: past the ceiling still moves");
    is_u64(t.hdr->retiring, APR_UINT32_MAX, "without wrapping the count");

    t.hdr->retiring = 0;
    mw_slot_leave(&t, a, SEC(2));
    is_u64(t.hdr->retiring, 0, "a return on a zeroed count stays at 0");
    mw_slot_reap(&t, 31, 1, SEC(2));
    is_u64(t.hdr->retiring, 0, "and the reap does not wrap it either");

    b->ticket_held = 1;             /* forged: no ticket counted */
    is_int(mw_slot_retire(&t, b, MW_STATE_WAITING, 1, MW_REASON_GROWTH, 0), APR_SUCCESS,
           "a forged ticket_held: still moves");
    is_u64(t.hdr->retiring, 0, "counting only the one ticket the flag "
           "stands for (given back)");
    mw_slot_leave(&t, b, SEC(3));
    is_u64(t.hdr->retiring, 0, "whose return does not go below 0");

    b = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 33, 1, SEC(4), 1));
    b->state = MW_STATE_OK;
    b->ticket_held = 7;             /* neither 0 nor 1 */
    is_int(mw_slot_retire(&t, b, MW_STATE_OK, 2, MW_REASON_GROWTH, 0), APR_SUCCESS,
           "ticket_held 7: moves");
    is_u64(t.hdr->retiring, 0, "its count given back at once");
    mw_slot_reap(&t, 33, 1, SEC(5));
    is_u64(t.hdr->retiring, 0, "and the reap takes nothing off");
    free(block);
}

static void test_history_lock_max(void)
{
    mw_layout_t l = { 2, 16, 4 };
    char *block;
    mw_table_t t;
    mw_slot_t *s, *s1;
    mw_sample_t smp, *ring, out[64];
    volatile apr_uint64_t v = 10;
    apr_uint32_t k;
    int good = 1;

    block = new_table(&t, &l);
    s = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 1, 1, SEC(1), 1));
    s1 = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 2, 1, SEC(1), 1));
    memset(&smp, 0, sizeof(smp));
    for (k = 0; k < 20; k++) {
        smp.time = SEC(10 * k);
        smp.rss = 1000 + k;
        smp.requests = k;
        mw_history_append(&t, s, &smp);
    }
    is_u64(s->hist_seq, 20, "hist_seq counts every sample appended");
    ok(s->hist_last == SEC(190), "hist_last is the newest sample's time");
    is_int(mw_history_copy(&t, 0, out, 64), 16,
           "a copy holds history_len samples at most");
    for (k = 0; k < 16; k++) {
        good &= out[k].rss == 1000 + 4 + k && out[k].time == SEC(40 + 10 * k);
    }
    ok(good, "samples 4..19, oldest first");
    is_int(mw_history_copy(&t, 0, out, 3), 3, "a copy of at most 3");
    ok(out[0].rss == 1017 && out[2].rss == 1019, "is the newest 3");
    is_int(mw_history_copy(&t, 1, out, 64), 0,
           "the next slot's history is untouched");
    ring = (mw_sample_t *)(s1 + 1);
    ok(ring[0].rss == 0, "its ring is still zero");
    is_int(mw_history_copy(&t, 2, out, 64), 0, "slot out of range: none");
    /* A damaged sequence word cannot take the copy out of the ring. */
    s->hist_seq = s->hist_writing = APR_UINT64_MAX - 3;
    is_int(mw_history_copy(&t, 0, out, 64), 16,
           "a huge hist_seq still copies history_len samples");
    s->hist_writing = 5;
    is_int(mw_history_copy(&t, 0, out, 64), 0,
           "hist_writing behind hist_seq: nothing is trusted");
    /* A writer that went on by 3 samples while the copy ran: 3 of the
     * oldest copied may be torn (simulated by hist_writing ahead). */
    s->hist_seq = 20;
    s->hist_writing = 23;
    is_int(mw_history_copy(&t, 0, out, 64), 13,
           "samples overwritten during the copy are left out");
    ok(out[0].rss == 1000 + 7 && out[12].rss == 1019,
       "the newest 13 are kept, oldest first");

    is_int(mw_slot_trylock(s), 1, "trylock a free lock");
    is_int(mw_slot_trylock(s), 0, "trylock a held lock fails");
    is_int(mw_slot_trylock(s1), 1, "another slot's lock is separate");
    mw_slot_unlock(s);
    is_int(mw_slot_trylock(s), 1, "trylock after unlock");
    mw_slot_unlock(s);
    mw_slot_unlock(s1);

    mw_atomic_max64(&v, 5);
    is_u64(v, 10, "max64 with a smaller value keeps 10");
    mw_atomic_max64(&v, 10);
    is_u64(v, 10, "max64 with the same value keeps 10");
    mw_atomic_max64(&v, APR_UINT64_MAX - 1);
    is_u64(v, APR_UINT64_MAX - 1, "max64 raises to a large value");

    is_str(mw_state_name(MW_STATE_RETIRING), "retiring", "state name");
    is_str(mw_state_name((mw_state_e)99), "unknown", "unknown state name");
    is_str(mw_state_token(MW_STATE_WAITING), "over_limit_waiting",
           "the ?auto token of a state is its name as one word");
    is_str(mw_reason_name(MW_REASON_TOTAL_PRIVATE), "total_private",
           "reason name");
    is_str(mw_reason_name((mw_reason_e)99), "unknown",
           "unknown reason name");
    free(block);
}

static void test_attribution(void)
{
    mw_layout_t l = { 1, 0, 8 };
    char *block;
    mw_table_t t;
    mw_attr_t *a;
    char prefix[64], longh[200];
    apr_uint64_t sum_req = 0, sum_growth = 0, want_growth = 0;
    apr_uint32_t i;
    int k, dup = 0;

    block = new_table(&t, &l);

    mw_attr_add(&t, "php", "/a", 1, 0, 100, SEC(1000));
    is_int(ready_entries(&t), 0, "no growth: no entry is created");
    is_u64(t.hdr->attr_other.requests, 1, "it is counted in other");
    is_u64(t.hdr->attr_other.pool_bytes, 100, "with its pool bytes");

    mw_attr_add(&t, "php", "/a", 1, 4096, 100, SEC(1000));
    is_int(ready_entries(&t), 1, "growth: an entry is created");
    a = find_attr(&t, "php", "/a");
    ok(a != NULL, "for (php, /a)");
    mw_attr_add(&t, "php", "/a", 1, 0, 200, SEC(1000));
    ok(a && a->requests == 2 && a->growth == 4096 && a->pool_bytes == 300,
       "an existing key also takes requests without growth");
    for (k = 0; k < 50; k++) {
        mw_attr_add(&t, "cgi", "/b/c", 1, 100, 10, SEC(1000));
    }
    a = find_attr(&t, "cgi", "/b/c");
    ok(a && a->requests == 50 && a->growth == 5000 && a->pool_bytes == 500,
       "a key seen 50 times accumulates requests, growth and pool bytes");
    is_int(ready_entries(&t), 2, "still one entry per key");
    mw_attr_add(&t, "cgi", "/b", 1, 1, 0, SEC(1000));
    mw_attr_add(&t, "cgi2", "/b/c", 1, 1, 0, SEC(1000));
    is_int(ready_entries(&t), 4, "keys differ by handler and by prefix");

    /* A handler longer than the field is cut, and still found again. */
    memset(longh, 'h', sizeof(longh) - 1);
    longh[sizeof(longh) - 1] = '\0';
    mw_attr_add(&t, longh, "/long", 1, 7, 0, SEC(1000));
    mw_attr_add(&t, longh, "/long", 1, 7, 0, SEC(1000));
    is_int(ready_entries(&t), 5, "a long handler makes one entry");
    for (i = 0; i < 8; i++) {
        if (t.attr[i].state == MW_ATTR_READY
            && !strcmp(t.attr[i].prefix, "/long")) {
            is_int(strlen(t.attr[i].handler), MW_HANDLER_LEN - 1,
                   "cut to MW_HANDLER_LEN - 1");
            is_u64(t.attr[i].requests, 2, "both requests counted in it");
        }
    }
    /* A request measured for attribution stands for several. */
    mw_attr_add(&t, "cgi", "/b", 32, 32 * 4096, 3200, SEC(1000));
    a = find_attr(&t, "cgi", "/b");
    ok(a && a->requests == 33 && a->growth == 1 + 32 * 4096
       && a->pool_bytes == 3200, "one measured request counts for 32");

    /* Fill it: 10000 random prefixes with growth. */
    for (k = 0; k < 10000; k++) {
        apr_snprintf(prefix, sizeof(prefix), "/r/%016" APR_UINT64_T_HEX_FMT,
                     rng());
        mw_attr_add(&t, "rnd", prefix, 1, 3, 1, SEC(1000));
        if (ready_entries(&t) > 8) {
            break;
        }
    }
    is_int(ready_entries(&t), 8, "the table never exceeds attr_len entries");
    for (i = 0; i < 8; i++) {
        apr_uint32_t j;
        sum_req += t.attr[i].requests;
        sum_growth += t.attr[i].growth;
        for (j = i + 1; j < 8; j++) {
            dup += !strcmp(t.attr[i].handler, t.attr[j].handler)
                   && !strcmp(t.attr[i].prefix, t.attr[j].prefix);
        }
    }
    is_int(dup, 0, "no key twice");
    is_u64(t.hdr->attr_other.requests, 1 + 10000 - 3,
           "the other 9997 random prefixes went to other");
    is_u64(t.hdr->attr_other.growth, (10000 - 3) * 3,
           "with their growth");
    want_growth = 4096 + 5000 + 1 + 32 * 4096 + 1 + 14 + 3 * 3;
    is_u64(sum_req + t.hdr->attr_other.requests,
           1 + 2 + 50 + 2 + 32 + 2 + 10000,
           "every request is counted exactly once");
    is_u64(sum_growth, want_growth, "table growth is exact");
    a = find_attr(&t, "php", "/a");
    mw_attr_add(&t, "php", "/a", 1, 1, 0, SEC(1000));
    ok(a && a->requests == 3, "a known key is still found in a full table");
    is_u64(t.hdr->attr_other.requests, 1 + 10000 - 3,
           "and does not go to other");
    free(block);
}

/* No history and no attribution table: nothing breaks. */
static void test_zero_lengths(void)
{
    mw_layout_t l = { 1, 0, 0 };
    apr_size_t size = mw_shm_size(&l);
    char *block = new_block(size);
    mw_table_t t;
    mw_slot_t *s;
    mw_sample_t smp;

    is_int(mw_table_open(&t, block, size, &l, 1), APR_SUCCESS,
           "a table with no history and no attribution");
    s = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 9, 1, SEC(1), 1));
    memset(&smp, 0, sizeof(smp));
    smp.time = SEC(5);
    mw_history_append(&t, s, &smp);
    is_u64(s->hist_seq, 0, "history_len 0: nothing appended");
    mw_attr_add(&t, "h", "/x", 1, 10, 1, SEC(1000));
    is_u64(t.hdr->attr_other.requests, 1, "attr_len 0: all goes to other");
    is_u64(t.hdr->attr_other.growth, 10, "with its growth");
    free(block);
}

/* Issue 11, finding 1: the layout stored in shared memory is not trusted. */
static void test_validation(void)
{
    mw_layout_t l = { 4, 16, 8 }, huge = { 65536, 100000, 8 };
    mw_layout_t wrap = { APR_UINT32_MAX, APR_UINT32_MAX, APR_UINT32_MAX };
    apr_size_t size = mw_shm_size(&l), got = 0;
    char *block = new_block(size);
    mw_table_t t, t2;

    is_int(mw_table_open(&t, block, size, &l, 1), APR_SUCCESS, "create");
    t.hdr->slot_size = 1ULL << 40;
    is_int(mw_table_open(&t2, block, size, &l, 0), APR_EMISMATCH,
           "reopen with a damaged slot_size: APR_EMISMATCH");
    ok(mw_table_check(&t) != NULL, "and mw_table_check reports it");
    ok(mw_table_slot(&t, 3) == (mw_slot_t *)(t.slots + 3 * t.slot_size),
       "mw_table_slot indexes with the validated size");
    ok(mw_table_slot(&t, 4) == NULL, "and not past the last slot");
    t.hdr->slot_size = t.slot_size;
    is_int(mw_table_check(&t) == NULL, 1, "restored: the check passes");
    t.hdr->nslots = 1000000;
    ok(mw_table_check(&t) != NULL, "a damaged nslots fails the check");
    is_int(mw_table_nslots(&t), 4, "while the table keeps its own count");
    is_int(mw_slot_claim(&t, 7, 1, SEC(1), 1), 0,
           "and claims within it");
    t.hdr->nslots = 4;
    t.hdr->magic = 0;
    ok(mw_table_check(&t) != NULL, "a damaged magic fails the check");

    /* Finding 2: writers do not size their writes from shared memory. */
    mw_table_open(&t, block, size, &l, 1);
    t.hdr->slot_size = APR_SIZE_MAX / 2;
    t.hdr->history_len = APR_UINT32_MAX;
    is_int(mw_slot_claim(&t, 8, 1, SEC(1), 1), 0,
           "a claim with a damaged slot_size resets only the real slot");
    ok(mw_table_slot(&t, 1)->pid == 0 && mw_table_slot(&t, 1)->state == 0,
       "and leaves the next slot alone");

    /* Issue 9 / finding 7: the size is computed without overflow. */
    is_int(mw_shm_size_check(&l, MW_SHM_MAX_SIZE, &got), APR_SUCCESS,
           "a small layout fits the 64 MiB cap");
    is_u64(got, size, "with mw_shm_size's figure");
    is_int(mw_shm_size_check(&huge, MW_SHM_MAX_SIZE, &got), APR_ENOMEM,
           "ServerLimit 65536 x MemwatchHistory 100000 does not");
    is_int(mw_shm_size_check(&wrap, APR_SIZE_MAX, &got), APR_ENOMEM,
           "a layout whose size overflows is refused even without a cap");
    is_u64(mw_shm_size(&wrap), 0, "mw_shm_size says 0 for it");
    is_int(mw_table_open(&t2, block, size, &wrap, 1), APR_EINVAL,
           "and mw_table_open refuses it");
    free(block);
}

/* Finding 2: mw_trend_add with a damaged point count. */
static void test_trend_bound(void)
{
    mw_trend_t tr;

    memset(&tr, 0, sizeof(tr));
    mw_trend_start(&tr, 0);
    tr.n = 100000;
    mw_trend_add(&tr, 1, 2, 3, NULL);
    ok(tr.n >= 1 && tr.n <= MW_TREND_POINTS,
       "a damaged n is bounded before the write (n now %u)", tr.n);
}

/* Rings: an entry whose seq is not the one expected is not copied. */
static void test_ring_copies(void)
{
    mw_layout_t l = { 2, 0, 4 };
    char *block;
    mw_table_t t;
    mw_recycle_t ev, rc[MW_RECYCLES_LEN];
    mw_exited_t ex[MW_EXITED_LEN];
    apr_uint32_t k;

    block = new_table(&t, &l);
    memset(&ev, 0, sizeof(ev));
    for (k = 0; k < 3; k++) {
        ev.pid = 10 + k;
        mw_recycle_add(&t, &ev);
    }
    is_int(mw_recycle_copy(&t, rc, MW_RECYCLES_LEN), 3, "3 recycles");
    ok(rc[0].pid == 12 && rc[2].pid == 10, "newest first");
    t.hdr->recycles[1].seq = 0;             /* being written */
    is_int(mw_recycle_copy(&t, rc, MW_RECYCLES_LEN), 2,
           "an entry being written is skipped");
    t.hdr->recycles_next = APR_UINT32_MAX;  /* damaged */
    is_int(mw_recycle_copy(&t, rc, MW_RECYCLES_LEN), 0,
           "a damaged index finds no entry with the expected seq");
    is_int(mw_recycle_copy(&t, rc, 1), 0, "nor with a smaller max");

    for (k = 0; k < 3; k++) {
        mw_slot_claim(&t, 20 + k, 1, SEC(1), 1);
        mw_slot_reap(&t, 20 + k, 1, SEC(2));
    }
    is_int(mw_exited_copy(&t, ex, MW_EXITED_LEN), 3, "3 exits");
    ok(ex[0].pid == 22 && ex[2].pid == 20, "newest first");
    is_int(mw_exited_copy(&t, ex, 2), 2, "at most max");
    t.hdr->exited_next = 77777;
    is_int(mw_exited_copy(&t, ex, MW_EXITED_LEN), 0,
           "a damaged exited_next copies nothing");
    free(block);
}

/* Finding 6: a table full of old keys makes room for new growth. */
static void test_attr_aging(void)
{
    mw_layout_t l = { 1, 0, 8 };
    char *block, prefix[32];
    mw_table_t t;
    mw_attr_copy_t a;
    apr_uint64_t req = 0, growth = 0;
    apr_uint32_t i;
    int k, found = 0;

    block = new_table(&t, &l);
    for (k = 0; k < 8; k++) {
        apr_snprintf(prefix, sizeof(prefix), "/old%d", k);
        mw_attr_add(&t, "h", prefix, 1, 100, 0, SEC(1000));
    }
    is_int(ready_entries(&t), 8, "the table is full of keys from t=1000");
    mw_attr_add(&t, "h", "/new", 1, 100, 0, SEC(1000) + MW_ATTR_IDLE / 2);
    ok(!find_attr(&t, "h", "/new"),
       "a new key while the old ones are recent goes to other");
    mw_attr_add(&t, "h", "/old3", 1, 100, 0, SEC(1000) + MW_ATTR_IDLE / 2);
    mw_attr_add(&t, "h", "/new", 1, 0, 0, SEC(1000) + 2 * MW_ATTR_IDLE);
    ok(!find_attr(&t, "h", "/new"),
       "a new key without growth never takes an old one's place");
    mw_attr_add(&t, "h", "/new", 1, 100, 0, SEC(1000) + 2 * MW_ATTR_IDLE);
    ok(find_attr(&t, "h", "/new") != NULL,
       "a new key with growth replaces an idle one");
    ok(find_attr(&t, "h", "/old3") != NULL,
       "the key that grew more recently is kept");
    is_int(ready_entries(&t), 8, "still 8 entries");
    for (i = 0; i < 8; i++) {
        if (mw_attr_copy(&t, i, &a)) {
            req += a.requests;
            growth += a.growth;
            found += !strcmp(a.prefix, "/new") && a.requests == 1;
        }
    }
    mw_attr_other_copy(&t, &a);
    is_u64(req + a.requests, 12, "every request counted once");
    is_u64(growth + a.growth, 1100, "and all growth");
    is_int(found, 1, "the new key starts with its own request only");
    mw_attr_add(&t, "h", "/new", 1, 100, 0, SEC(1000) + 2 * MW_ATTR_IDLE);
    ok(find_attr(&t, "h", "/new")->requests == 2,
       "and is found again in its new place");
    free(block);
}

/* ---- history read while it is written ---- */

#define HIST_LEN        64
#define HIST_MAX_WRITES 5000000
#define HIST_COPIES     1000

typedef struct {
    const mw_table_t *t;
    mw_slot_t *slot;
    volatile apr_uint32_t stop;
    apr_uint64_t written;
} hist_writer_t;

static void *APR_THREAD_FUNC hist_writer(apr_thread_t *thd, void *data)
{
    hist_writer_t *w = data;
    mw_sample_t smp;
    apr_uint64_t k;

    memset(&smp, 0, sizeof(smp));
    for (k = 1; k <= HIST_MAX_WRITES && !apr_atomic_read32(&w->stop); k++) {
        smp.time = (apr_int64_t)k;
        smp.rss = 3 * k;
        smp.private_bytes = 5 * k;
        smp.shared_bytes = 7 * k;
        smp.requests = k;
        smp.request_pool_peak = 11 * k;
        smp.connection_pool_peak = 13 * k;
        mw_history_append(w->t, w->slot, &smp);
        if (k % 16 == 0) {
            sched_yield();      /* let the reader in between */
        }
    }
    w->written = k - 1;
    (void)thd;
    return NULL;
}

/* Issue 11, finding 8: a reader never pairs a new count with an old index
 * or copies a sample half written: every copy is a run of whole,
 * consecutive samples. */
static void test_history_concurrent(apr_pool_t *p)
{
    mw_layout_t l = { 1, HIST_LEN, 4 };
    char *block;
    mw_table_t t;
    mw_sample_t out[HIST_LEN];
    apr_thread_t *thr;
    hist_writer_t w;
    apr_status_t rv;
    apr_uint64_t copies = 0, samples = 0, bad = 0, newest = 0;

    block = new_table(&t, &l);
    w.t = &t;
    w.slot = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 1, 1,
                                                           SEC(1), 1));
    w.stop = 0;
    if (apr_thread_create(&thr, NULL, hist_writer, &w, p) != APR_SUCCESS) {
        bail_out("cannot start a thread");
    }
    while (copies < HIST_COPIES && apr_atomic_read64(&w.slot->hist_seq)
                                   < HIST_MAX_WRITES) {
        apr_uint32_t n = mw_history_copy(&t, 0, out, HIST_LEN), k;
        for (k = 0; k < n; k++) {
            apr_uint64_t v = (apr_uint64_t)out[k].time;
            bad += out[k].rss != 3 * v || out[k].private_bytes != 5 * v
                   || out[k].shared_bytes != 7 * v || out[k].requests != v
                   || out[k].request_pool_peak != 11 * v
                   || out[k].connection_pool_peak != 13 * v
                   || (k && v != (apr_uint64_t)out[k - 1].time + 1);
        }
        /* count copies that saw the writer move on since the last one */
        if (n && (apr_uint64_t)out[n - 1].time != newest) {
            newest = (apr_uint64_t)out[n - 1].time;
            copies++;
        }
        samples += n;
    }
    apr_atomic_set32(&w.stop, 1);
    apr_thread_join(&rv, thr);
    ok(copies >= 100, "%lu copies of a changed ring (%lu samples) taken "
       "while %lu samples were written", (unsigned long)copies,
       (unsigned long)samples, (unsigned long)w.written);
    is_u64(bad, 0, "every sample copied is whole and in sequence");
    is_int(mw_history_copy(&t, 0, out, HIST_LEN), HIST_LEN,
           "afterwards: a full ring");
    is_u64((apr_uint64_t)out[HIST_LEN - 1].time, w.written,
           "the newest last");
    free(block);
}

/* The recycle ring read while another thread adds to it. */
typedef struct {
    const mw_table_t *t;
    volatile apr_uint32_t stop;
} recycle_writer_t;

static void *APR_THREAD_FUNC recycle_writer(apr_thread_t *thd, void *data)
{
    recycle_writer_t *w = data;
    mw_recycle_t ev;
    apr_uint32_t k;

    memset(&ev, 0, sizeof(ev));
    for (k = 1; k <= 2000000 && !apr_atomic_read32(&w->stop); k++) {
        ev.pid = k;
        ev.slot = k * 3;
        ev.time = (apr_int64_t)k * 5;
        ev.started = (apr_int64_t)k * 7;
        ev.rss = (apr_uint64_t)k * 11;
        ev.growth = (apr_uint64_t)k * 13;
        ev.requests = (apr_uint64_t)k * 17;
        ev.reason = MW_REASON_GROWTH;
        mw_recycle_add(w->t, &ev);
        if (k % 16 == 0) {
            sched_yield();
        }
    }
    (void)thd;
    return NULL;
}

static void test_recycles_concurrent(apr_pool_t *p)
{
    mw_layout_t l = { 1, 0, 4 };
    char *block;
    mw_table_t t;
    mw_recycle_t rc[MW_RECYCLES_LEN];
    apr_thread_t *thr;
    recycle_writer_t w;
    apr_status_t rv;
    apr_uint64_t copies = 0, events = 0, bad = 0;
    apr_uint32_t newest = 0;

    block = new_table(&t, &l);
    w.t = &t;
    w.stop = 0;
    if (apr_thread_create(&thr, NULL, recycle_writer, &w, p)
        != APR_SUCCESS) {
        bail_out("cannot start a thread");
    }
    while (copies < 1000 && apr_atomic_read32(&t.hdr->recycles_next)
                            < 2000000) {
        apr_uint32_t n = mw_recycle_copy(&t, rc, MW_RECYCLES_LEN), k;
        for (k = 0; k < n; k++) {
            apr_uint32_t v = rc[k].pid;
            bad += rc[k].seq != v || rc[k].slot != v * 3
                   || rc[k].time != (apr_int64_t)v * 5
                   || rc[k].started != (apr_int64_t)v * 7
                   || rc[k].rss != (apr_uint64_t)v * 11
                   || rc[k].growth != (apr_uint64_t)v * 13
                   || rc[k].requests != (apr_uint64_t)v * 17
                   || (k && v >= rc[k - 1].pid);
        }
        if (n && rc[0].pid != newest) {
            newest = rc[0].pid;
            copies++;
        }
        events += n;
    }
    apr_atomic_set32(&w.stop, 1);
    apr_thread_join(&rv, thr);
    ok(copies >= 100, "%lu copies of a changed ring (%lu events)",
       (unsigned long)copies, (unsigned long)events);
    is_u64(bad, 0, "every event copied is whole, newest first");
    free(block);
}

/* ---- threads ---- */

#define NTHREADS    4
#define PER_THREAD  10000
#define NKEYS       24

typedef struct {
    const mw_table_t *t;
    volatile apr_uint64_t *max;
    volatile apr_uint32_t *start;
    int id;
    apr_uint64_t local_max;
} worker_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *thd, void *data)
{
    worker_t *w = data;
    char prefix[32];
    apr_uint64_t x = 0x2545f4914f6cdd1dULL * (apr_uint64_t)(w->id + 1);
    int i;

    /* Start together: spin until every thread has arrived. */
    apr_atomic_inc32(w->start);
    while (apr_atomic_read32(w->start) < NTHREADS) {
        ;
    }
    for (i = 0; i < PER_THREAD; i++) {
        int key = (i + w->id * 7) % NKEYS;
        apr_snprintf(prefix, sizeof(prefix), "/k%d", key);
        /* growth key+1; the first lap with growth so every key gets an
         * entry, later laps without growth every other time */
        mw_attr_add(w->t, key % 2 ? "odd" : "even", prefix, 1,
                    (i < NKEYS || i % 2) ? (apr_uint64_t)key + 1 : 0,
                    (apr_uint64_t)key, SEC(1000));
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (x % 1000003 > w->local_max) {
            w->local_max = x % 1000003;
        }
        mw_atomic_max64(w->max, x % 1000003);
    }
    /* Return rather than apr_thread_exit(): pthread_exit's forced unwind
     * leaves ASan's stack poisoning behind (a false stack-buffer-underflow
     * at thread exit). APR 1.7 returns this from the thread either way. */
    (void)thd;
    return NULL;
}

static void test_threads(apr_pool_t *p)
{
    mw_layout_t l = { 1, 0, 64 };
    char *block;
    mw_table_t t;
    apr_thread_t *thr[NTHREADS];
    worker_t w[NTHREADS];
    volatile apr_uint64_t max = 0;
    volatile apr_uint32_t start = 0;
    apr_uint64_t want_max = 0, req = 0, growth = 0, pool = 0;
    apr_uint64_t want_growth = 0, want_pool = 0;
    apr_uint64_t key_req[NKEYS] = { 0 }, want_key_req[NKEYS] = { 0 };
    int i, k, created = 1, dups = 0, keys_ok = 1;

    block = new_table(&t, &l);
    for (i = 0; i < NTHREADS; i++) {
        w[i].t = &t;
        w[i].max = &max;
        w[i].start = &start;
        w[i].id = i;
        w[i].local_max = 0;
        created &= apr_thread_create(&thr[i], NULL, worker, &w[i], p)
                   == APR_SUCCESS;
    }
    ok(created, "%d threads started", NTHREADS);
    for (i = 0; i < NTHREADS; i++) {
        apr_status_t rv;
        apr_thread_join(&rv, thr[i]);
        want_max = w[i].local_max > want_max ? w[i].local_max : want_max;
        for (k = 0; k < PER_THREAD; k++) {
            int key = (k + i * 7) % NKEYS;
            want_growth += (k < NKEYS || k % 2) ? (apr_uint64_t)key + 1 : 0;
            want_pool += (apr_uint64_t)key;
            want_key_req[key]++;
        }
    }
    for (i = 0; i < 64; i++) {
        const mw_attr_t *a = &t.attr[i];
        if (a->state != MW_ATTR_READY) {
            continue;
        }
        req += a->requests;
        growth += a->growth;
        pool += a->pool_bytes;
        k = atoi(a->prefix + 2);
        if (k < 0 || k >= NKEYS
            || strcmp(a->handler, k % 2 ? "odd" : "even") != 0) {
            keys_ok = 0;
            continue;
        }
        dups += key_req[k] != 0;
        key_req[k] += a->requests;
    }
    req += t.hdr->attr_other.requests;
    growth += t.hdr->attr_other.growth;
    pool += t.hdr->attr_other.pool_bytes;
    is_u64(req, NTHREADS * PER_THREAD, "requests total exact");
    is_u64(growth, want_growth, "growth total exact");
    is_u64(pool, want_pool, "pool bytes total exact");
    ok(keys_ok, "every entry holds a key that was added, intact");
    is_u64(t.hdr->attr_other.requests, 0,
           "every key got an entry (nothing in other)");
    for (k = 0; k < NKEYS; k++) {
        keys_ok &= key_req[k] == want_key_req[k];
    }
    ok(keys_ok, "per-key request totals exact");
    if (dups) {
        diag("%d keys got a second entry while their first was being "
             "filled (allowed: the request path never waits)", dups);
    }
    is_u64(max, want_max, "mw_atomic_max64 from %d threads: the largest "
           "value wins", NTHREADS);
    free(block);
}

/* Slots begin on a cache line of their own wherever the segment begins
 * (APR's anonymous segments begin 8 bytes into a page), and all a request
 * writes lies in the first line of its slot. */
static void test_slot_lines(void)
{
    static const apr_size_t offsets[] = { 0, 8, 24, 56 };
    mw_layout_t l = { 5, 7, 3 };
    apr_size_t size = mw_shm_size(&l), i;

    ok(offsetof(mw_slot_t, request_pool_count) + sizeof(apr_uint64_t)
       <= MW_LINE && offsetof(mw_slot_t, requests) < MW_LINE
       && offsetof(mw_slot_t, state) < MW_LINE,
       "a request's counters and the state lie in the slot's first line");
    for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        /* aligned_alloc takes a multiple of the alignment. */
        char *block = aligned_alloc(MW_LINE, APR_ALIGN(size + MW_LINE,
                                                       MW_LINE));
        char *base = block + offsets[i];
        mw_table_t t;
        apr_uint32_t k;
        int aligned = 1, inside = 1;

        if (!block) {
            bail_out("aligned_alloc failed");
        }
        is_int(mw_table_open(&t, base, size, &l, 1), APR_SUCCESS,
               "a table opens %d bytes into a line", (int)offsets[i]);
        for (k = 0; k < l.nslots; k++) {
            char *slot = (char *)mw_table_slot(&t, k);
            aligned &= (apr_uintptr_t)slot % MW_LINE == 0;
            inside &= slot >= base + sizeof(mw_shm_header_t)
                      && slot + t.slot_size <= (char *)t.attr;
        }
        ok(aligned, "and every slot begins on a line");
        ok(inside && (char *)(t.attr + l.attr_len) <= base + size,
           "between the header and the attribution table, within the "
           "segment");
        free(block);
    }
}

/* MemwatchMaxTotalPrivate's sums, saturated, and the largest child that
 * may retire. */
static void test_private_total(void)
{
    mw_layout_t l = { 4, 4, 4 };
    mw_table_t t;
    mw_private_total_t tot;
    char *block = new_table(&t, &l);
    int i;

    for (i = 0; i < 4; i++) {
        mw_slot_claim(&t, 100 + i, 1, SEC(1), 1000);
    }
    mw_table_slot(&t, 0)->state = MW_STATE_OK;
    mw_table_slot(&t, 0)->private_bytes = 10;
    mw_table_slot(&t, 1)->state = MW_STATE_WAITING;
    mw_table_slot(&t, 1)->private_bytes = 30;
    mw_table_slot(&t, 2)->state = MW_STATE_RETIRING;
    mw_table_slot(&t, 2)->private_bytes = 1000;
    mw_table_slot(&t, 3)->state = MW_STATE_WARMING;
    mw_table_slot(&t, 3)->private_bytes = 50;
    mw_table_private_total(&t, &tot);
    ok(tot.all == 1090, "all: every child, a retiring one too");
    ok(tot.serving == 90, "serving: not the retiring one");
    ok(tot.largest == 1 && tot.largest_pid == 101,
       "largest that may retire: the waiting one, not the warming one, "
       "with its pid");
    mw_table_slot(&t, 0)->private_bytes = APR_UINT64_MAX - 5;
    mw_table_private_total(&t, &tot);
    ok(tot.all == APR_UINT64_MAX - 1 && tot.serving == APR_UINT64_MAX - 1,
       "a forged figure saturates the sums");
    ok(tot.largest == 0, "and is the largest");
    mw_table_slot(&t, 0)->private_bytes = MW_UNKNOWN;
    mw_table_slot(&t, 1)->state = 77;
    mw_table_private_total(&t, &tot);
    ok(tot.all == 1050 && tot.serving == 50 && tot.largest == -1,
       "unknown figures and forged states are left out");
    free(block);
}

/* The lifecycle, through the writers the glue uses: every move, and
 * every move refused from the wrong state. */
static void test_own_growth(void)
{
    apr_uint64_t mean = 0;
    int i;

    ok(mw_attr_ended_mean(0, 3) == 3 * MW_ATTR_ONE,
       "the first count is the mean");
    ok(mw_attr_own_growth(8192, MW_ATTR_ONE) == 8192, "alone: all of it");
    ok(mw_attr_own_growth(8192, 0) == 8192, "no mean yet: all of it");
    ok(mw_attr_own_growth(32768, 4 * MW_ATTR_ONE) == 8192,
       "four on average: a quarter");
    for (i = 0; i < 400; i++) {
        mean = mw_attr_ended_mean(mean, i % 2 ? 2 : 6);
    }
    ok(mean > 3 * MW_ATTR_ONE && mean < 5 * MW_ATTR_ONE,
       "counts of 2 and 6 average to about 4");
    ok(mw_attr_ended_mean(4 * MW_ATTR_ONE, APR_UINT64_MAX - 5)
       < 4 * MW_ATTR_ONE, "a count that went backwards (forged) counts 1");
    ok(mw_attr_own_growth(APR_UINT64_MAX, MW_ATTR_ONE) == APR_UINT64_MAX
       && mw_attr_own_growth(APR_UINT64_MAX, APR_UINT64_MAX) == APR_UINT64_MAX,
       "no overflow at the extremes");
}

static void test_lifecycle(void)
{
    mw_layout_t l = { 2, 4, 4 };
    mw_table_t t;
    mw_limits_t lim = { 16, 32, 8, 4 }, back;
    mw_figures_t f;
    mw_smaps_t sm = { 100, 60, 50, 0, 40 };
    mw_slot_copy_t c;
    mw_table_totals_t tot;
    mw_sample_t h[4];
    char *block = new_table(&t, &l);
    mw_slot_t *s;
    int i = mw_slot_claim(&t, 4242, 3, SEC(10), 1000), now;

    s = mw_table_slot(&t, (apr_uint32_t)i);
    ok(mw_slot_state(s) == MW_STATE_WARMING, "claimed: warming");
    mw_slot_set_limits(s, &lim);
    mw_slot_limits(s, &back);
    ok(!memcmp(&lim, &back, sizeof(lim)), "limits read back as set");
    ok(mw_slot_count_request(s) == 1 && mw_slot_count_request(s) == 2,
       "count_request returns the count with this request");
    mw_slot_note_rss(s, 3000);
    mw_slot_note_rss(s, 2000);
    mw_slot_copy(&t, (apr_uint32_t)i, &c);
    ok(c.rss == 2000 && c.rss_peak == 3000, "rss noted, peak kept");
    mw_slot_unwait(s);
    mw_slot_wait(s, MW_REASON_GROWTH);
    ok(mw_slot_state(s) == MW_STATE_WARMING,
       "wait and unwait do not move a warming slot");
    ok(!mw_slot_would_recycle(s, MW_STATE_WARMING, MW_REASON_GROWTH),
       "would_recycle refuses from warming");
    ok(mw_slot_warmed(s, 2, 2000) == 1, "warmed: the first caller moves it");
    ok(mw_slot_warmed(s, 2, 2500) == 0, "and only the first");
    mw_slot_figures(s, 2600, &f);
    ok(f.rss == 2600 && f.baseline_rss == 2000
       && f.private_bytes == MW_UNKNOWN, "figures: rss given, baseline "
       "from warm-up, private unknown before a read");
    ok(mw_slot_smaps_due(s, SEC(20), SEC(5)), "smaps due before any read");
    mw_slot_note_smaps(s, SEC(20), &sm);
    ok(!mw_slot_smaps_due(s, SEC(24), SEC(5))
       && mw_slot_smaps_due(s, SEC(25), SEC(5)), "then every interval");
    ok(mw_slot_private(s) == 50, "private noted");
    mw_slot_note_smaps(s, SEC(30), NULL);
    ok(mw_slot_private(s) == 50 && !mw_slot_smaps_due(s, SEC(31), SEC(5)),
       "a failed read keeps the figures and notes the time");
    ok(mw_slot_history_due(s, SEC(30), SEC(1)), "history due before any");
    mw_slot_sample(&t, s, SEC(30), 2600);
    ok(mw_history_copy(&t, (apr_uint32_t)i, h, 4) == 1 && h[0].rss == 2600
       && h[0].private_bytes == 50 && h[0].requests == 2
       && h[0].request_pool_peak == MW_UNKNOWN,
       "a sample of the slot's figures, pools unknown before a measure");
    mw_slot_raise_private(s, 40);
    ok(mw_slot_private(s) == 50, "a floor below the last read leaves it");
    mw_slot_raise_private(s, 70);
    ok(mw_slot_private(s) == 70, "a floor above it raises it");
    mw_slot_raise_private(s, MW_UNKNOWN);
    ok(mw_slot_private(s) == 70, "an unknown floor changes nothing");
    mw_slot_note_smaps(s, SEC(30), &sm);
    ok(mw_slot_private(s) == 50, "until the next read sets it");
    ok(!mw_slot_history_due(s, SEC(30), SEC(1)), "not due right after");
    mw_slot_wait(s, MW_REASON_GROWTH);
    ok(mw_slot_state(s) == MW_STATE_WAITING, "ok -> waiting");
    mw_slot_unwait(s);
    ok(mw_slot_state(s) == MW_STATE_OK, "waiting -> ok");
    ok(mw_slot_retire_requested(s, 4242, &now) == MW_REASON_NONE && !now,
       "not asked to retire");
    mw_slot_request_retire(s, 4242, MW_REASON_PRESSURE, 0);
    mw_slot_request_retire(s, 4242, MW_REASON_MANUAL, 0);
    ok(mw_slot_retire_requested(s, 4242, &now) == MW_REASON_PRESSURE && !now,
       "a retire request is not replaced by another");
    ok(mw_slot_retire_requested(s, 4243, &now) == MW_REASON_NONE && !now,
       "it is for the pid it names only");
    mw_slot_request_retire(s, 4242, MW_REASON_TOTAL_PRIVATE, 1);
    ok(mw_slot_retire_requested(s, 4242, &now) == MW_REASON_TOTAL_PRIVATE
       && now, "but by one past the ceiling");
    mw_slot_request_retire(s, 4242, MW_REASON_PRESSURE, 0);
    ok(mw_slot_retire_requested(s, 4242, &now) == MW_REASON_TOTAL_PRIVATE
       && now, "which nothing replaces");
    mw_slot_request_retire(s, 4243, MW_REASON_MANUAL, 0);
    ok(mw_slot_retire_requested(s, 4243, &now) == MW_REASON_MANUAL && !now
       && mw_slot_retire_requested(s, 4242, &now) == MW_REASON_NONE,
       "a request for the slot's next child replaces its previous one's");
    s->retire_requested = (apr_uint64_t)4242 << 32
                          | (apr_uint32_t)MW_REASON_COUNT << 1 | 1;
    ok(mw_slot_retire_requested(s, 4242, &now) == MW_REASON_NONE && !now,
       "a forged request out of range reads as none");
    s->retire_requested = 0;
    mw_slot_request_retire(s, 4242, MW_REASON_MANUAL, 1);
    ok(mw_slot_retire_requested(s, 4242, &now) == MW_REASON_MANUAL && now,
       "a request past the ceiling says so");
    ok(mw_slot_retire(&t, s, MW_STATE_OK, 1, MW_REASON_TOTAL_PRIVATE,
                      SEC(40)) == APR_SUCCESS, "ok -> retiring");
    mw_slot_copy(&t, (apr_uint32_t)i, &c);
    ok(c.state == MW_STATE_RETIRING && c.reason == MW_REASON_TOTAL_PRIVATE
       && c.retire_time == SEC(40), "with its reason and time");
    ok(!mw_slot_would_recycle(s, MW_STATE_RETIRING, MW_REASON_GROWTH)
       && mw_slot_state(s) == MW_STATE_RETIRING,
       "would_recycle refuses from retiring");
    mw_slot_leave(&t, s, SEC(50));
    ok(mw_slot_state(s) == MW_STATE_EXITING && mw_table_retiring(&t) == 0,
       "leave: exiting, ticket back");
    ok(mw_slot_reap(&t, 4242, 3, SEC(60)) == i
       && mw_slot_state(s) == MW_STATE_FREE, "reap: free");
    mw_table_totals(&t, &tot);
    ok(tot.exited_by[MW_REASON_TOTAL_PRIVATE] == 1 && tot.exited_total == 1,
       "a recycled child's exit counts under its reason");
    i = mw_slot_claim(&t, 4343, 3, SEC(70), 1000);
    s = mw_table_slot(&t, (apr_uint32_t)i);
    mw_slot_warmed(s, 0, 1000);
    ok(mw_slot_would_recycle(s, MW_STATE_OK, MW_REASON_RSS)
       && mw_slot_state(s) == MW_STATE_WOULD_RECYCLE,
       "dry run: ok -> would_recycle");
    ok(mw_table_first_misconfig(&t, 3) && !mw_table_first_misconfig(&t, 3)
       && mw_table_first_misconfig(&t, 4),
       "a misconfiguration is told once per generation");
    mw_slot_reap(&t, 4343, 4, SEC(80));
    mw_slot_claim(&t, 4444, 4, SEC(90), 1000);
    mw_slot_reap(&t, 4444, 4, SEC(95));
    mw_table_totals(&t, &tot);
    ok(tot.exited_restart == 1 && tot.exited_by[MW_REASON_NONE] == 1
       && tot.exited_total == 3, "an older generation's exit is a restart, "
       "any other one not recycled is exited");
    free(block);
}

/* Growth by mapping: a slot's reading and a recycle's growers are copied
 * out bounded, whatever a child wrote. */
static void test_mapping(void)
{
    mw_layout_t l = { 2, 0, 4 };
    char *block;
    mw_table_t t;
    mw_slot_t *s;
    mw_mapping_growth_t g[MW_MAPPING_TOP + 2], out[MW_MAPPING_TOP];
    mw_recycle_t ev, rc[MW_RECYCLES_LEN];
    apr_time_t when = 1;
    apr_uint32_t k;

    block = new_table(&t, &l);
    s = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 100, 1, SEC(1),
                                                      1));
    is_int(mw_mapping_copy(&t, 0, out, &when), 0, "no reading yet");
    is_int(when, 0, "and no time");
    ok(!mw_slot_mapping_asked(s), "not asked");
    mw_slot_ask_mapping(s);
    ok(mw_slot_mapping_asked(s), "asked");
    ok(!mw_slot_mapping_asked(s), "once");

    memset(g, 'x', sizeof(g));
    for (k = 0; k < MW_MAPPING_TOP + 2; k++) {
        g[k].mclass = MW_MAPPING_HEAP;
        g[k].rss = g[k].private_bytes = 1000 - k;
    }
    mw_slot_note_mapping(s, SEC(5), g, MW_MAPPING_TOP + 2);
    is_int(mw_mapping_copy(&t, 0, out, &when), MW_MAPPING_TOP,
           "a reading of more growers keeps MW_MAPPING_TOP");
    ok(when == SEC(5) && out[0].rss == 1000
       && strlen(out[0].name) == MW_MAPPING_NAME_LEN - 1,
       "its time, figures and names cut to their room");

    s->mapping_seq++;                       /* a writer at work */
    is_int(mw_mapping_copy(&t, 0, out, &when), 0, "none while written");
    is_int(when, 0, "nor a time");
    s->mapping_seq = APR_UINT32_MAX;        /* odd: written over */
    mw_slot_note_mapping(s, SEC(6), g, 1);
    is_int(mw_mapping_copy(&t, 0, out, &when), 1,
           "a sequence written over still publishes");
    s->mapping_count = APR_UINT32_MAX;      /* a forged count */
    memset(s->mapping, 'y', sizeof(s->mapping));
    is_int(mw_mapping_copy(&t, 0, out, &when), MW_MAPPING_TOP,
           "a forged count is bounded");
    ok(strlen(out[MW_MAPPING_TOP - 1].name) == MW_MAPPING_NAME_LEN - 1,
       "forged names are NUL-terminated");
    is_int(mw_mapping_copy(&t, 7, out, &when), 0, "a slot out of range");

    memset(&ev, 0, sizeof(ev));
    ev.mapping_count = MW_MAPPING_UNREAD;
    mw_recycle_add(&t, &ev);
    ev.mapping_count = MW_MAPPING_TOP + 2;
    memcpy(ev.mapping, g, sizeof(ev.mapping));
    mw_recycle_add(&t, &ev);
    is_int(mw_recycle_copy(&t, rc, MW_RECYCLES_LEN), 2, "two recycles");
    is_int(rc[0].mapping_count, MW_MAPPING_TOP,
           "a recycle keeps at most MW_MAPPING_TOP growers");
    is_int(rc[1].mapping_count, MW_MAPPING_UNREAD, "and no reading is none");
    t.hdr->recycles[1].mapping_count = MW_MAPPING_UNREAD - 1;
    memset(t.hdr->recycles[1].mapping, 'z',
           sizeof(t.hdr->recycles[1].mapping));
    mw_recycle_copy(&t, rc, MW_RECYCLES_LEN);
    ok(rc[0].mapping_count == MW_MAPPING_TOP
       && strlen(rc[0].mapping[0].name) == MW_MAPPING_NAME_LEN - 1,
       "a forged recycle: count bounded, names NUL-terminated");
    free(block);
}

/* malloc's figures and the trims: into the slot through its writers, out
 * through the copy and the totals, and into the trend's points. */
static void test_heap(void)
{
    mw_layout_t l = { 2, 4, 4 };
    mw_table_t t;
    mw_slot_copy_t c;
    mw_table_totals_t tot;
    mw_heap_t heap = { 3 << 20, 5 << 20 };
    char *block = new_table(&t, &l);
    int i = mw_slot_claim(&t, 4545, 1, SEC(10), 1000);
    mw_slot_t *s = mw_table_slot(&t, (apr_uint32_t)i);
    apr_uint64_t n;

    mw_slot_copy(&t, (apr_uint32_t)i, &c);
    ok(c.heap_in_use == MW_UNKNOWN && c.heap_free == MW_UNKNOWN
       && c.heap_time == 0 && c.trims == 0 && c.trim_reclaimed == 0,
       "a claimed slot: heap figures unknown, no trims");
    ok(mw_slot_heap_due(s, SEC(20), SEC(1)), "a heap reading due at once");
    mw_slot_note_heap(s, SEC(20), &heap);
    ok(!mw_slot_heap_due(s, SEC(20) + SEC(1) - 1, SEC(1))
       && mw_slot_heap_due(s, SEC(21), SEC(1)), "then every interval");
    mw_slot_copy(&t, (apr_uint32_t)i, &c);
    ok(c.heap_in_use == 3 << 20 && c.heap_free == 5 << 20
       && c.heap_time == SEC(20), "a reading: its figures and time");
    mw_slot_note_heap(s, SEC(22), NULL);
    mw_slot_copy(&t, (apr_uint32_t)i, &c);
    ok(c.heap_in_use == 3 << 20 && c.heap_time == SEC(22),
       "none to read: the figures kept, the time noted");

    mw_slot_warmed(s, 0, 1000);
    for (n = 0; n <= MW_TREND_FIRST_STEP; n++) {
        mw_slot_trend_note(s, n, 1000 + n, SEC(30) + (apr_time_t)n);
    }
    ok(s->trend.n == 2 && s->trend.pts[1].heap_in_use == 3 << 20
       && s->trend.pts[1].heap_time == SEC(22),
       "each trend point carries the last reading and its time");

    mw_slot_note_trim(&t, s, 7 << 20, 1);
    mw_slot_note_trim(&t, s, 1 << 20, 0);
    mw_slot_copy(&t, (apr_uint32_t)i, &c);
    mw_table_totals(&t, &tot);
    ok(c.trims == 2 && c.trim_reclaimed == 8 << 20,
       "two trims in the slot, 8 MiB given back");
    ok(tot.trims_total == 2 && tot.trim_reclaimed_total == 8 << 20
       && tot.trim_kept_total == 1, "and in the totals, one of them kept "
       "the child");
    mw_slot_reap(&t, 4545, 1, SEC(40));
    i = mw_slot_claim(&t, 4646, 1, SEC(50), 1000);
    mw_slot_copy(&t, (apr_uint32_t)i, &c);
    mw_table_totals(&t, &tot);
    ok(c.trims == 0 && c.heap_in_use == MW_UNKNOWN
       && tot.trims_total == 2, "a new child starts afresh, the totals stay");
    free(block);
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);

    test_open();
    test_slots();
    test_slot_lines();
    test_exited_ring();
    test_recycles();
    test_slot_retire();
    test_slot_retire_hostile();
    test_lifecycle();
    test_heap();
    test_own_growth();
    test_private_total();
    test_history_lock_max();
    test_attribution();
    test_zero_lengths();
    test_validation();
    test_trend_bound();
    test_ring_copies();
    test_mapping();
    test_attr_aging();
    test_threads(p);
    test_history_concurrent(p);
    test_recycles_concurrent(p);

    apr_pool_destroy(p);
    apr_terminate();
    return done();
}
