/* Licensed under the Apache License, Version 2.0. */

/* mw_shm: the layout of mod_memwatch's shared memory and the operations on
 * it. The block is a header, one slot per child (fixed part, then its
 * history ring), the recycle ring, the recently-exited ring and the
 * attribution table. Works on any memory block, so tests use malloc'd
 * memory.
 *
 * Writers: a child's own threads write its slot (atomics; history and
 * trend behind a try-lock that is skipped, never waited on); the parent
 * fills in history for idle children under the same try-lock, writes the
 * exited ring and frees slots; any child may append to the recycle ring and
 * update the attribution table (atomics, lock-free). Readers take no lock
 * and may see a figure a moment old.
 *
 * Nothing read from the block is trusted: mw_table_open validates the
 * header once and keeps the layout in mw_table_t; every size, count and
 * index read from shared memory afterwards is bounded by that copy, so a
 * stray write by any process cannot make a reader or writer go outside
 * the block. Readers copy out through the mw_*_copy accessors (as httpd's
 * ap_copy_scoreboard_worker does) and never hold raw records.
 *
 * Publication: a writer fills a record, then publishes it with a release
 * (an APR atomic or a fence) on one word (a slot's hist_seq, a recycle's or
 * an exit's seq, an attribution entry's state); a reader loads that word
 * first, copies, and checks again (hist_writing, seq), dropping what was
 * overwritten meanwhile. */

#ifndef MW_SHM_H
#define MW_SHM_H

#include <apr_pools.h>
#include <apr_time.h>

#include "mw_atomic.h"
#include "mw_heap.h"
#include "mw_names.h"
#include "mw_policy.h"
#include "mw_proc.h"
#include "mw_sample.h"
#include "mw_smaps.h"
#include "mw_trend.h"

/* A cache line: slots begin on one, so that no two children write the
 * same line, and a request's writes fall in one line of its own slot. */
#define MW_LINE             64
#define MW_HANDLER_LEN      48
#define MW_PREFIX_LEN       96
#define MW_EXITED_LEN       32
#define MW_RECYCLES_LEN     64

/* The largest block mw_shm_size_check accepts by default: ServerLimit x
 * MemwatchHistory beyond this is a configuration error. */
#define MW_SHM_MAX_SIZE     ((apr_size_t)64 * 1024 * 1024)

/* An attribution entry that has seen no growth for this long may be
 * replaced by a new key with growth when the table is full. */
#define MW_ATTR_IDLE        apr_time_from_sec(600)

typedef enum {
    MW_ATTR_FREE = 0,
    MW_ATTR_FILLING,                /* its key is being written */
    MW_ATTR_READY
} mw_attr_state_e;

typedef struct mw_slot_t {
    /* The first 64 bytes hold all a request writes, and what it reads but
     * on a fresh RSS: one cache line (slots are aligned to MW_LINE). */
    volatile apr_uint32_t pid;          /* 0: free; claimed by CAS */
    volatile apr_uint32_t state;        /* mw_state_e */
    volatile apr_uint32_t reason;       /* mw_reason_e over the limit */
    volatile apr_uint32_t lock;         /* try-lock for trend and history */
    apr_uint32_t generation;
    volatile apr_uint32_t retired;      /* decided to retire, for `reason` */
    volatile apr_uint64_t requests;
    volatile apr_uint64_t connections;
    volatile apr_uint64_t request_pool_peak;
    volatile apr_uint64_t request_pool_sum;
    volatile apr_uint64_t request_pool_count;
    /* A request to retire (budget, pressure, by hand), set by another
     * child, the parent or the page: the pid asked (high half), its reason
     * and whether past the ceiling (low half); acted on at that child's
     * next check, and by no other child that takes the slot later. */
    volatile apr_uint64_t retire_requested;
    volatile apr_uint32_t ticket_held;  /* holds a retire ticket: set
                                         * only by mw_slot_retire's
                                         * winner, cleared once by
                                         * leave, reap or a reset */
    apr_int64_t started;                /* apr_time_t */
    volatile apr_uint64_t rss;
    volatile apr_uint64_t rss_peak;
    volatile apr_uint64_t baseline_rss;
    volatile apr_uint64_t private_bytes;    /* parent, from smaps_rollup */
    volatile apr_uint64_t shared_bytes;
    volatile apr_uint64_t pss_bytes;        /* parent or child, smaps_rollup */
    volatile apr_uint64_t swap_bytes;       /* included in private_bytes */
    volatile apr_uint64_t connection_pool_peak;
    volatile apr_uint64_t connection_pool_growth_peak;  /* one connection */
    volatile apr_uint64_t stream_pool_growth_peak;  /* during one response */
    /* malloc's view (mw_heap.h), read on an interval: MW_UNKNOWN before
     * the first reading, or where the C library cannot tell. */
    volatile apr_uint64_t heap_in_use;
    volatile apr_uint64_t heap_free;
    volatile apr_int64_t heap_time;     /* apr_time_t of that reading */
    volatile apr_uint64_t trims;        /* MemwatchTrim: malloc_trim calls */
    volatile apr_uint64_t trim_reclaimed;   /* RSS they gave back */
    mw_limits_t limits;                 /* this child's limits, jittered */
    volatile apr_int64_t retire_time;   /* apr_time_t retiring started */
    volatile apr_int64_t exiting_since; /* apr_time_t it stopped serving */
    volatile apr_int64_t hist_last;     /* apr_time_t of newest sample */
    volatile apr_int64_t smaps_last;    /* apr_time_t of the last smaps read */
    volatile apr_uint64_t hist_seq;     /* samples ever appended; the
                                         * newest is at (hist_seq-1) % len */
    volatile apr_uint64_t hist_writing; /* hist_seq + 1 while appending */
    mw_trend_t trend;
    /* Growth by mapping since warm-up as the child last read it, for its
     * page (mod_memwatch_mapping.c). Any child may ask for a reading
     * (mapping_asked); only the child itself writes one, and publishes it
     * by mapping_seq: odd while it writes, 0 before its first. */
    volatile apr_uint32_t mapping_asked;
    volatile apr_uint32_t mapping_seq;
    apr_uint32_t mapping_count;
    apr_int64_t mapping_time;           /* apr_time_t of the reading */
    mw_mapping_growth_t mapping[MW_MAPPING_TOP];
    /* history_len mw_sample_t follow */
} mw_slot_t;

/* A child gone: kept for the "recently exited" list. */
typedef struct mw_exited_t {
    volatile apr_uint32_t seq;          /* written last: 0 = not yet */
    apr_uint32_t pid;
    apr_uint32_t slot;
    apr_uint32_t generation;
    apr_uint32_t reason;                /* mw_reason_e if recycled */
    apr_uint32_t restart;               /* left with an older generation */
    apr_int64_t started;
    apr_int64_t exited;
    apr_uint64_t requests;
    apr_uint64_t connections;
    apr_uint64_t rss;
    apr_uint64_t rss_peak;
    apr_uint64_t baseline_rss;
} mw_exited_t;

/* A recycle event's mapping_count when the deciding child read no
 * growth by mapping (the parent decided for it, or smaps was not read). */
#define MW_MAPPING_UNREAD   APR_UINT32_MAX

/* A recycle decision (or dry-run "would recycle"). */
typedef struct mw_recycle_t {
    volatile apr_uint32_t seq;          /* written last: 0 = not yet */
    apr_uint32_t pid;
    apr_uint32_t slot;
    apr_uint32_t reason;
    apr_uint32_t dry_run;
    apr_uint32_t mapping_count;         /* or MW_MAPPING_UNREAD */
    apr_int64_t time;
    apr_int64_t started;
    apr_uint64_t rss;
    apr_uint64_t growth;
    apr_uint64_t private_bytes;
    apr_uint64_t shared_bytes;
    apr_uint64_t requests;
    mw_mapping_growth_t mapping[MW_MAPPING_TOP];   /* what grew most */
} mw_recycle_t;

/* Growth attributed to one handler and URL-path prefix. */
typedef struct mw_attr_t {
    volatile apr_uint32_t state;        /* mw_attr_state_e */
    apr_uint32_t hash;
    volatile apr_int64_t last_growth;   /* apr_time_t it last grew */
    char handler[MW_HANDLER_LEN];
    char prefix[MW_PREFIX_LEN];
    volatile apr_uint64_t requests;
    volatile apr_uint64_t growth;       /* sum of positive RSS deltas */
    volatile apr_uint64_t pool_bytes;   /* sum of request pool sizes */
} mw_attr_t;

typedef struct mw_shm_header_t {
    apr_uint32_t magic;
    apr_uint32_t nslots;
    apr_uint32_t history_len;
    apr_uint32_t attr_len;
    apr_uint64_t slot_size;
    apr_uint64_t total_size;
    volatile apr_uint32_t retiring;     /* retire tickets out; only
                                         * moved by CAS, never wrapped */
    volatile apr_uint32_t exited_next;
    volatile apr_uint32_t recycles_next;
    /* The last generation told that a limit is below a fresh child. */
    volatile apr_uint32_t misconfig_generation;
    volatile apr_uint64_t recycles_total[MW_REASON_COUNT];
    volatile apr_uint64_t would_recycle_total;
    volatile apr_uint64_t exited_total;
    /* Exits by how: recycled for a reason, or (MW_REASON_NONE) not
     * recycled; and those of an older generation (a restart). */
    volatile apr_uint64_t exited_by[MW_REASON_COUNT];
    volatile apr_uint64_t exited_restart;
    /* MemwatchTrim: trims, the RSS they gave back, and those that left a
     * child under its limits, so that it did not retire. */
    volatile apr_uint64_t trims_total;
    volatile apr_uint64_t trim_reclaimed_total;
    volatile apr_uint64_t trim_kept_total;
    /* When the next request to measure for attribution is due, for the
     * whole server (mod_memwatch_sample.c's GCRA bucket): every request
     * of every child reads it and a few a second write it, so it has a
     * cache line to itself, whatever the segment's alignment. */
    char measure_line_before[MW_LINE];
    volatile apr_uint64_t measure_due;
    char measure_line_after[MW_LINE];
    mw_attr_t attr_other;               /* what did not fit the table */
    mw_exited_t exited[MW_EXITED_LEN];
    mw_recycle_t recycles[MW_RECYCLES_LEN];
} mw_shm_header_t;

typedef struct mw_layout_t {
    apr_uint32_t nslots;
    apr_uint32_t history_len;
    apr_uint32_t attr_len;
} mw_layout_t;

/* A table as this process validated it: the layout is a private copy,
 * never re-read from shared memory. */
typedef struct mw_table_t {
    mw_shm_header_t *hdr;
    char *slots;
    mw_attr_t *attr;
    mw_layout_t layout;
    apr_size_t slot_size;
    apr_size_t size;
} mw_table_t;

/* A plain copy of a live child's slot (mw_slot_copy). */
typedef struct mw_slot_copy_t {
    apr_uint32_t pid;
    apr_uint32_t generation;
    mw_state_e state;
    mw_reason_e reason;
    apr_time_t started;
    apr_time_t retire_time;
    apr_time_t exiting_since;
    apr_time_t smaps_time;              /* last smaps_rollup read; 0 never */
    apr_time_t history_time;            /* newest history sample; 0 none */
    apr_time_t heap_time;               /* last heap reading; 0 never */
    apr_uint64_t requests;
    apr_uint64_t connections;
    apr_uint64_t rss;
    apr_uint64_t rss_peak;
    apr_uint64_t baseline_rss;
    apr_uint64_t private_bytes;
    apr_uint64_t shared_bytes;
    apr_uint64_t pss_bytes;
    apr_uint64_t swap_bytes;
    apr_uint64_t request_pool_peak;
    apr_uint64_t request_pool_sum;
    apr_uint64_t request_pool_count;
    apr_uint64_t connection_pool_peak;
    apr_uint64_t connection_pool_growth_peak;
    apr_uint64_t stream_pool_growth_peak;
    apr_uint64_t heap_in_use;
    apr_uint64_t heap_free;
    apr_uint64_t trims;
    apr_uint64_t trim_reclaimed;
    mw_limits_t limits;
    mw_trend_t trend;
} mw_slot_copy_t;

/* The table-wide counters (mw_table_totals). */
typedef struct mw_table_totals_t {
    apr_uint64_t recycles_total[MW_REASON_COUNT];
    apr_uint64_t would_recycle_total;
    apr_uint64_t exited_total;
    apr_uint64_t exited_by[MW_REASON_COUNT];    /* NONE: not recycled */
    apr_uint64_t exited_restart;
    apr_uint64_t trims_total;
    apr_uint64_t trim_reclaimed_total;
    apr_uint64_t trim_kept_total;
    apr_uint32_t retiring;
} mw_table_totals_t;

/* Bytes needed for a layout, or 0 if that does not fit in apr_size_t. */
apr_size_t mw_shm_size(const mw_layout_t *layout);

/* The size of a layout into *size: APR_SUCCESS, or APR_ENOMEM if it
 * overflows or exceeds max bytes (MW_SHM_MAX_SIZE for the default cap). */
apr_status_t mw_shm_size_check(const mw_layout_t *layout, apr_size_t max,
                               apr_size_t *size);

/* Map a table onto a block of mw_shm_size() bytes. With create the block
 * is zeroed and stamped; without, APR_EMISMATCH unless it holds a table of
 * exactly this layout (magic, counts, slot and total sizes all checked).
 * APR_EINVAL for a layout whose size overflows. */
apr_status_t mw_table_open(mw_table_t *t, void *base, apr_size_t size,
                           const mw_layout_t *layout, int create);

/* NULL while the header in shared memory still says what was validated
 * at open, else why not: such a table is shown as damaged, and rebuilt at
 * the next restart (mw_table_open fails on it). */
const char *mw_table_check(const mw_table_t *t);

/* Slots in the table (the validated count). */
apr_uint32_t mw_table_nslots(const mw_table_t *t);

/* Slot i, or NULL if i is out of range. */
mw_slot_t *mw_table_slot(const mw_table_t *t, apr_uint32_t i);

/* Copy slot i if a live child holds it: returns 1, else 0. */
int mw_slot_copy(const mw_table_t *t, apr_uint32_t i, mw_slot_copy_t *out);

/* The newest (at most max) history samples of slot i into dst, oldest
 * first; samples overwritten while being copied are left out. Returns how
 * many. */
apr_uint32_t mw_history_copy(const mw_table_t *t, apr_uint32_t i,
                             mw_sample_t *dst, apr_uint32_t max);

/* The recently exited children, newest first, complete ones only; at
 * most max (MW_EXITED_LEN). Returns how many. */
apr_uint32_t mw_exited_copy(const mw_table_t *t, mw_exited_t *dst,
                            apr_uint32_t max);

/* The recent recycle events, newest first, complete ones only; at most
 * max (MW_RECYCLES_LEN), each mapping_count at most MW_MAPPING_TOP (or
 * MW_MAPPING_UNREAD) and each name NUL-terminated. Returns how many. */
apr_uint32_t mw_recycle_copy(const mw_table_t *t, mw_recycle_t *dst,
                              apr_uint32_t max);

/* Slot i's last reading of its growth by mapping (mw_slot_note_mapping):
 * at most MW_MAPPING_TOP growers into dst, names NUL-terminated, and its
 * time into *when. Returns how many; 0 and *when 0 when there is none,
 * or it was being written. */
apr_uint32_t mw_mapping_copy(const mw_table_t *t, apr_uint32_t i,
                             mw_mapping_growth_t *dst, apr_time_t *when);

void mw_table_totals(const mw_table_t *t, mw_table_totals_t *out);

/* The children's private memory, as each last wrote it, saturated: what
 * MemwatchMaxTotalPrivate limits. */
typedef struct mw_private_total_t {
    apr_uint64_t all;           /* every child, leaving ones included */
    apr_uint64_t serving;       /* those still taking work */
    int largest;                /* the largest that may retire (ok,
                                 * waiting), or -1 */
    apr_uint32_t largest_pid;   /* its pid as the slot said */
} mw_private_total_t;

void mw_table_private_total(const mw_table_t *t, mw_private_total_t *out);

/* Claim a free slot for pid; returns its index or -1 if all are taken.
 * A stale slot of the same pid (pid reuse after kill -9) is taken over,
 * and the retire ticket it held given back. */
int mw_slot_claim(const mw_table_t *t, apr_uint32_t pid,
                  apr_uint32_t generation, apr_time_t now, apr_uint64_t rss);

/* The child has stopped serving (all its workers are done) but is still
 * alive: give back its retire ticket and mark it exiting since now. The
 * parent's mw_slot_reap frees the slot once the process is gone. */
void mw_slot_leave(const mw_table_t *t, mw_slot_t *slot, apr_time_t now);

/* pid has exited (the parent, as it reaps it), or is about to (the child
 * itself, as the last thing it does: its slot is free for the next child
 * at once). Record it in the exited ring, give back its retire ticket and
 * free its slot, once whoever comes first. Returns the slot index or -1. */
int mw_slot_reap(const mw_table_t *t, apr_uint32_t pid,
                 apr_uint32_t current_generation, apr_time_t now);

/* Move slot from state `from` (MW_STATE_OK or MW_STATE_WAITING) to
 * MW_STATE_RETIRING, holding one of at most `max` retire tickets
 * (APR_UINT32_MAX: past the ceiling, counted but never refused). Returns
 * APR_SUCCESS when this caller made the move and holds the ticket;
 * APR_EBUSY when no ticket was free (slot left in `from`); APR_EAGAIN when
 * the slot was no longer in `from`, as when another decider moved it first
 * (nothing taken, nothing returned); APR_EINVAL for any other `from`.
 * One state CAS picks the winner among deciders on one slot, and only the
 * winner marks the ticket as the slot's: a loser gives back only the count
 * it took itself. mw_slot_leave or mw_slot_reap gives the ticket back,
 * once. The count is taken just before the move, so for a moment it may
 * read one more than the RETIRING slots. The winner records the reason
 * and the time (now) of the decision. */
apr_status_t mw_slot_retire(const mw_table_t *t, mw_slot_t *slot,
                            apr_uint32_t from, apr_uint32_t max,
                            mw_reason_e reason, apr_time_t now);

/* Append a recycle (or dry-run) event. */
void mw_recycle_add(const mw_table_t *t, const mw_recycle_t *ev);

/* Append a history sample to a slot's ring; hold the slot's lock. */
void mw_history_append(const mw_table_t *t, mw_slot_t *slot,
                       const mw_sample_t *s);

/* Try to take a slot's lock (never waits); release with mw_slot_unlock. */
int mw_slot_trylock(mw_slot_t *slot);
void mw_slot_unlock(mw_slot_t *slot);

/* ---- A child's own slot ------------------------------------------------
 * Every write to a slot goes through the functions of this file: a child
 * writes its own slot, and the parent or another child only ever asks one
 * to retire (mw_slot_request_retire), takes a history sample of an idle
 * one, or reaps it. The lifecycle:
 *
 *   FREE -claim-> WARMING -warmed-> OK <-wait/unwait-> WAITING
 *   OK, WAITING -retire (with a ticket)-> RETIRING
 *   OK, WAITING -would_recycle (MemwatchDryRun)-> WOULD_RECYCLE
 *   any -leave-> EXITING;  any -reap-> FREE
 *
 * The request path's writers are inline: an atomic or two each, on the
 * slot's first cache line. */

static APR_INLINE mw_state_e mw_slot_state(mw_slot_t *slot)
{
    return (mw_state_e)mw_atomic_read32(&slot->state);
}

static APR_INLINE apr_uint64_t mw_slot_requests(mw_slot_t *slot)
{
    return mw_atomic_read64(&slot->requests);
}

/* Count a request that ended; returns the child's count with it. */
static APR_INLINE apr_uint64_t mw_slot_count_request(mw_slot_t *slot)
{
    return mw_atomic_inc64(&slot->requests) + 1;
}

static APR_INLINE void mw_slot_count_connection(mw_slot_t *slot)
{
    mw_atomic_inc64(&slot->connections);
}

static APR_INLINE void mw_slot_note_rss(mw_slot_t *slot, apr_uint64_t rss)
{
    mw_atomic_set64(&slot->rss, rss);
    mw_atomic_max64(&slot->rss_peak, rss);
}

/* A request pool as the request ended (peak, and its mean). */
static APR_INLINE void mw_slot_note_request_pool(mw_slot_t *slot,
                                                 apr_uint64_t held)
{
    mw_atomic_max64(&slot->request_pool_peak, held);
    mw_atomic_add64(&slot->request_pool_sum, held);
    mw_atomic_inc64(&slot->request_pool_count);
}

/* A connection pool: what it holds, and how much it grew since the
 * connection's first request. */
static APR_INLINE void mw_slot_note_connection_pool(mw_slot_t *slot,
                                                    apr_uint64_t held,
                                                    apr_uint64_t growth)
{
    mw_atomic_max64(&slot->connection_pool_peak, held);
    mw_atomic_max64(&slot->connection_pool_growth_peak, growth);
}

/* A long response, sampled while it flows: its request pool, and how much
 * its pools grew since its first sample. */
static APR_INLINE void mw_slot_note_stream(mw_slot_t *slot,
                                           apr_uint64_t request_held,
                                           apr_uint64_t growth)
{
    mw_atomic_max64(&slot->request_pool_peak, request_held);
    mw_atomic_max64(&slot->stream_pool_growth_peak, growth);
}

/* The child does not sample long responses: its stream figure is
 * unknown, not 0. */
void mw_slot_no_stream_figures(mw_slot_t *slot);

/* This child's limits (drawn once, jittered), and reading them back. */
void mw_slot_set_limits(mw_slot_t *slot, const mw_limits_t *limits);
void mw_slot_limits(mw_slot_t *slot, mw_limits_t *limits);

/* The figures limits are checked on: rss as the caller just read it, the
 * rest from the slot. */
void mw_slot_figures(mw_slot_t *slot, apr_uint64_t rss, mw_figures_t *f);

/* The end of warm-up, at the child's n-th request with rss: WARMING ->
 * OK, the baseline and the trend's start. Returns 1 for the one caller
 * that made the move. */
int mw_slot_warmed(mw_slot_t *slot, apr_uint64_t n, apr_uint64_t rss);

/* A point for the trend, when one is due at request n, with the slot's
 * last heap reading: skipped, not waited for, while another thread holds
 * the slot's lock. */
void mw_slot_trend_note(mw_slot_t *slot, apr_uint64_t n, apr_uint64_t rss,
                        apr_time_t now);

/* Are a history sample, or an smaps_rollup read, due at now (every
 * `interval`)? The slot's times are any child's word: saturated. */
int mw_slot_history_due(mw_slot_t *slot, apr_time_t now,
                        apr_interval_time_t interval);
int mw_slot_smaps_due(mw_slot_t *slot, apr_time_t now,
                      apr_interval_time_t interval);

/* An smaps_rollup read at now: its figures, or NULL when it failed (the
 * time is noted either way, so a failing read is not retried at once).
 * Hold the slot's lock. */
void mw_slot_note_smaps(mw_slot_t *slot, apr_time_t now,
                        const mw_smaps_t *sm);

/* Is a heap reading due at now (every `interval`)? And one made at now:
 * its figures, or NULL where the C library cannot tell (noted all the
 * same, so a failing read is not retried at once). Only the child's own
 * reader writes them: its watcher thread, or the request path on
 * prefork. */
int mw_slot_heap_due(mw_slot_t *slot, apr_time_t now,
                     apr_interval_time_t interval);
void mw_slot_note_heap(mw_slot_t *slot, apr_time_t now,
                       const mw_heap_t *heap);

/* MemwatchTrim: one trim of this child, the RSS it gave back, and
 * whether it left the child under its limits (kept: no retirement). */
void mw_slot_note_trim(const mw_table_t *t, mw_slot_t *slot,
                       apr_uint64_t reclaimed, int kept);

/* The slot's private memory as last read (MW_UNKNOWN before). */
apr_uint64_t mw_slot_private(mw_slot_t *slot);

/* Private memory is at least `floor` now (mw_policy_private_floor): the
 * slot's figure rises to it, until the next smaps_rollup read sets it.
 * With a server-wide budget every child sums the others' figures, and a
 * last read alone goes stale where no child is near enough to read often
 * (many small prefork children). */
void mw_slot_raise_private(mw_slot_t *slot, apr_uint64_t floor);

/* Append a history sample of the slot's figures at now, with rss. Hold
 * the slot's lock. */
void mw_slot_sample(const mw_table_t *t, mw_slot_t *slot, apr_time_t now,
                    apr_uint64_t rss);

/* Held back over a limit (reason): OK -> WAITING; and back, once under. */
void mw_slot_wait(mw_slot_t *slot, mw_reason_e reason);
void mw_slot_unwait(mw_slot_t *slot);

/* MemwatchDryRun: `from` -> WOULD_RECYCLE for reason. Returns 1 for the
 * one caller that made the move. */
int mw_slot_would_recycle(mw_slot_t *slot, apr_uint32_t from,
                          mw_reason_e reason);

/* Ask child `pid` in slot to retire for `reason` (MemwatchMaxTotalPrivate,
 * MemwatchPressure, by hand), past its ceiling (without a ticket) or not.
 * A request it has stands, unless this one is past the ceiling and that
 * one is not. mw_slot_retire_requested: what child `pid` was asked, read
 * at its next check (MW_REASON_NONE: nothing; a request for another pid,
 * one the slot's previous child was given, or out of range reads as
 * nothing). */
void mw_slot_request_retire(mw_slot_t *slot, apr_uint32_t pid,
                            mw_reason_e reason, int past_ceiling);
mw_reason_e mw_slot_retire_requested(mw_slot_t *slot, apr_uint32_t pid,
                                     int *past_ceiling);

/* Ask the child in slot for a reading of its growth by mapping (the
 * child page); mw_slot_mapping_asked: was it asked? (It clears the ask.) */
void mw_slot_ask_mapping(mw_slot_t *slot);
int mw_slot_mapping_asked(mw_slot_t *slot);

/* The child's own reading of its growth by mapping at now: n growers (at
 * most MW_MAPPING_TOP are kept). One thread of the child at a time. */
void mw_slot_note_mapping(mw_slot_t *slot, apr_time_t now,
                          const mw_mapping_growth_t *g, apr_uint32_t n);

/* ---- The header -------------------------------------------------------- */

/* The server-wide due time of the next request measured for attribution
 * (mw_budget.h), on a cache line of its own. */
volatile apr_uint64_t *mw_table_measure_due(const mw_table_t *t);

/* Retire tickets out now. */
apr_uint32_t mw_table_retiring(const mw_table_t *t);

/* Returns 1 for the first caller of a generation (a limit below a fresh
 * child is reported once per generation), else 0. */
int mw_table_first_misconfig(const mw_table_t *t, apr_uint32_t generation);

#endif /* MW_SHM_H */
