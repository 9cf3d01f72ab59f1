/* Licensed under the Apache License, Version 2.0. */

/* Sampling: the figures of every request and connection of a child, its
 * history and trend, attribution of growth, and (in the parent) samples
 * for children that have been idle.
 *
 * The request path runs once per request, at its end: count it and, when
 * due, measure its pool, read RSS, record it in the child's slot,
 * attribute a measured request's growth, and hand the figures to the
 * limit check. What it costs is in docs/design.md. */

#include "httpd.h"
#include "http_config.h"

#include "http_connection.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mpm_common.h"
#include "util_filter.h"

#include "mod_memwatch_private.h"
#include "mod_memwatch_config.h"
#include "mod_memwatch_children.h"
#include "mod_memwatch_table.h"
#include "mod_memwatch_mapping.h"
#include "mod_memwatch_leave.h"
#include "mod_memwatch_retire.h"
#include "mod_memwatch_sample.h"
#include "mw_atomic.h"
#include "mw_attr.h"
#include "mw_budget.h"
#include "mw_clock.h"
#include "mw_hot.h"
#include "mw_key.h"
#include "mw_pool.h"
#include "mw_proc.h"

/* Per connection (its thread's alone): the connection pool as it was
 * after its first request, and the response being written, for the
 * streaming sampler. */
struct mw_sample_conn_t {
    apr_uint64_t requests;
    apr_uint32_t unmeasured;        /* since its last measured request */
    apr_size_t first_used;
    request_rec *current;
    int passes;                     /* brigades of it so far */
    apr_time_t next_sample;
    apr_size_t stream_base;         /* pools' size at its first sample */
};

/* A response still flowing after this long is sampled, and then no more
 * often than this, so a pool that grows while a client stays connected
 * shows before the request ends. Responses of up to STREAM_PASSES
 * brigades (nearly all: a small one takes four) do not look at the
 * clock. */
#define MW_STREAM_SAMPLE apr_time_from_msec(250)
#define STREAM_PASSES 8

/* The request path reads RSS (a pread of /proc/self/statm, about 1 us)
 * when some time has passed or some requests have ended since this child
 * last read it, whichever comes first: both bounds matter, as a fresh
 * child under a flat-out load can serve 20,000 requests a second, and a
 * server of hundreds of children pays the time bound in each. Once a
 * child has used more than half of what an RSS limit allows it, it reads
 * far more often, so a limit is noticed within 5 ms or 16 requests (or at
 * the next request of a quieter child). */
#define RSS_READ_INTERVAL apr_time_from_msec(100)
#define RSS_READ_REQUESTS 64
#define RSS_READ_NEAR_INTERVAL apr_time_from_msec(5)
#define RSS_READ_NEAR_REQUESTS 16
/* How often a child near a private-memory limit reads smaps_rollup
 * (watch_private). */
#define SMAPS_NEAR_REQUESTS 32
#define SMAPS_NEAR_INTERVAL apr_time_from_msec(100)

/* Attribution measures requests on their own: RSS before and after, two
 * reads. At most MEASURE_PER_SECOND requests a second are measured in the
 * whole server (with bursts of MEASURE_BURST; the bucket is in the shared
 * table), so a quiet server measures every request and a busy one spends
 * the same few reads a second on it whatever its rate and however many
 * children it has. A measured request stands for the requests of its
 * connection since the previous measured one, and for those no connection
 * holds any more (unmeasured_elsewhere). The time to the next measure
 * varies between half and one and a half times the mean (mw_budget.h). */
#define MEASURE_PER_SECOND 50
#define MEASURE_BURST 20
static const mw_budget_t measure_budget = {
    APR_USEC_PER_SEC / MEASURE_PER_SECOND, MEASURE_BURST
};
/* On worker and event, a measure the budget gives goes to the child's
 * request a random 0 to MEASURE_SKIP - 1 requests later, not always to
 * the first to begin after the due time: that one most often follows a
 * lull, the child's other requests begin after it rather than end during
 * it, and its quotient reads high (docs/design.md, "Attribution"). A
 * multiple of the common client counts, so each client's place in a round
 * is as likely. A request that finds the measure due a whole mean gap
 * late (a quiet server) is measured itself. */
#define MEASURE_SKIP 8

/* A request measured for attribution, from post_read_request to its end
 * (in r->request_config). */
typedef struct request_state_t {
    apr_uint64_t rss_before;
    apr_uint64_t ended_before;      /* the child's requests ended then */
    apr_uint32_t weight;            /* requests it stands for; 0: none */
} request_state_t;

static ap_filter_rec_t *stream_filter_handle;
/* What the request path reads or writes of this file's state on every
 * request, on one cache line: on prefork a request comes to a process
 * that has served others since, and finds its own lines cold. */
static struct {
    mw_slot_t *me;                          /* this child's slot */
    /* When the next measured request is due, server-wide (a GCRA bucket
     * in the shared table's header), and this process's copy of it, as
     * mw_budget_take() keeps it: on most requests the shared line is not
     * read. */
    volatile apr_uint64_t *measure_due;
    volatile apr_uint64_t measure_due_seen;
    /* Requests until the one to measure (MEASURE_SKIP); 0: none due. */
    volatile apr_uint32_t measure_countdown;
    int threaded;                           /* the MPM is worker or event */
    volatile apr_uint64_t last_read;        /* apr_time_t, this process */
    volatile apr_uint64_t last_read_requests;   /* its request count */
    volatile apr_uint32_t near_limit;       /* past half an RSS limit */
    /* The configuration logs %{memwatch-rss}n or %{memwatch-growth}n:
     * every request then reads RSS. */
    int log_notes_wanted;
    /* MemwatchSampleStreams: the filter above on every connection. */
    int sample_streams;
    /* A private-memory limit is set and smaps_rollup can be read. */
    int watch_private;
    /* MemwatchMaxTotalPrivate moved by MemwatchCeiling. */
    apr_uint64_t total_ceiling;
} hot MW_LINE_ALIGNED;
/* The state of every request not measured: nothing to keep per request.
 * Told apart by its address, so the request path reads it only on the
 * few requests that read RSS. */
static request_state_t counted_only;
/* A request that took a measure from the budget and passed it on
 * (MEASURE_SKIP): it reads RSS at its end, as the measured one would, so
 * a quiet child still checks its limits on the request that crossed
 * them. */
static request_state_t read_only;
static const mw_config_t *conf;
static volatile apr_uint64_t last_logged_rss;
/* Requests not measured whose connection ended before it had a measured
 * one, and those of mod_http2's secondary connections. */
static volatile apr_uint32_t unmeasured_elsewhere;
/* How many requests of this child end while a measured one runs, on
 * average (mw_attr_ended_mean). */
static volatile apr_uint64_t ended_mean;

static int history_due(mw_slot_t *sl, apr_time_t now)
{
    return mw_slot_history_due(sl, now,
                               apr_time_from_sec(conf->history_interval));
}

static int smaps_due(mw_slot_t *sl, apr_time_t now)
{
    return !mw_smaps_unavailable()
           && mw_slot_smaps_due(sl, now,
                                apr_time_from_sec(conf->smaps_interval));
}

/* Private memory between this child's smaps_rollup reads
 * (mw_policy_private_floor): what its last read said, and its anonymous
 * resident memory then. Written under the slot's lock. */
static struct {
    volatile apr_uint64_t private_bytes;
    volatile apr_uint64_t shared_bytes;
    volatile apr_uint64_t anon_bytes;
    volatile apr_uint64_t requests;     /* the child's count at the read */
} at_smaps = { MW_UNKNOWN, MW_UNKNOWN, 0, 0 };

static apr_uint64_t anon_of(const mw_statm_t *st)
{
    return st->rss_bytes > st->shared_bytes
           ? st->rss_bytes - st->shared_bytes : 0;
}

/* Read the private/shared split of the child in `sl` into it: the child
 * itself (pid 0; anon is its anonymous memory as just read) or the parent
 * for an idle child. Hold the slot's lock. */
static void read_smaps(mw_slot_t *sl, long pid, apr_time_t now,
                       apr_uint64_t anon)
{
    mw_smaps_t sm;

    if (mw_smaps_read_pid(pid, &sm) != APR_SUCCESS) {
        mw_slot_note_smaps(sl, now, NULL);
        return;
    }
    mw_slot_note_smaps(sl, now, &sm);
    if (!pid) {
        at_smaps.private_bytes = sm.private_bytes;
        at_smaps.shared_bytes = sm.shared_bytes;
        at_smaps.anon_bytes = anon;
    }
}

/* Take a history sample of the child in `sl` and, when due, its
 * private/shared split: from the child itself (pid 0) at the end of a
 * request, or from the parent for a child that has been idle. Skipped, not
 * waited for, when another thread or the parent holds the slot's lock. */
static void sample_slot(const mw_table_t *t, mw_slot_t *sl, long pid,
                        apr_time_t now, const mw_statm_t *st)
{
    /* Due again under the lock: another thread may just have sampled. */
    if (!mw_slot_trylock(sl)) {
        return;
    }
    if (smaps_due(sl, now)) {
        read_smaps(sl, pid, now, anon_of(st));
    }
    if (history_due(sl, now)) {
        mw_slot_sample(t, sl, now, st->rss_bytes);
    }
    mw_slot_unlock(sl);
}

/* The private-memory limits (MemwatchMaxPrivate, MemwatchMinShared,
 * MemwatchMaxTotalPrivate) on a fresh statm reading: once a child is near
 * one, every reading reads smaps_rollup too, so they hold as the RSS
 * limits do. Returns nonzero while near; sets f->largest_over_total. */
static int watch_private(const mw_statm_t *st, mw_request_figures_t *f,
                         const mw_limits_t *limits)
{
    apr_uint64_t anon = anon_of(st), floor;
    mw_private_total_t tot = { 0, 0, -1, 0 };
    int near;

    floor = mw_policy_private_floor(at_smaps.private_bytes,
                                    at_smaps.anon_bytes, anon);
    near = mw_policy_private_near(limits, floor, at_smaps.shared_bytes);
    /* The parent and the budget pick the largest child by private memory:
     * each child publishes its floor with every reading, so the pick is
     * not a stale smaps_rollup read. */
    mw_slot_raise_private(hot.me, floor);
    if (conf->max_total_private) {
        /* The children's private memory together: read smaps_rollup often
         * once the total nears the budget. */
        mw_table_private_total(mw_table(), &tot);
        near = near || tot.all > conf->max_total_private / 2;
    }
    /* A read costs about 30 us and 10 us per MiB resident: near a limit,
     * at most one every SMAPS_NEAR_REQUESTS requests of the child (the
     * RSS reading comes every 5 ms, which a busy child reaches in a few
     * requests) or SMAPS_NEAR_INTERVAL, so a large child spends a small
     * share of its time on it, and overshoots by a few requests' worth. */
    if (near && (f->requests - at_smaps.requests >= SMAPS_NEAR_REQUESTS
                 || mw_slot_smaps_due(hot.me, f->now, SMAPS_NEAR_INTERVAL))
        && mw_slot_trylock(hot.me)) {
        at_smaps.requests = f->requests;
        read_smaps(hot.me, 0, f->now, anon);
        mw_slot_unlock(hot.me);
        if (conf->max_total_private) {
            mw_table_private_total(mw_table(), &tot);
        }
    }
    /* Over the budget, the largest child still serving leaves, one at a
     * time (MemwatchMaxRetiring), counting what leaving children still
     * hold; past the ceiling it leaves regardless, counting only the
     * children that serve: those leaving free theirs soon, and counting
     * them would send every child at once. */
    if (conf->max_total_private && tot.all > conf->max_total_private
        && tot.largest >= 0) {
        int how = tot.serving > hot.total_ceiling ? 2 : 1;

        if (tot.largest == mw_my_slot_index()) {
            f->largest_over_total = how;
        }
        else {
            /* An idle child has no request to check it: its watcher
             * thread looks for this every tick (worker, event), the parent
             * every ten seconds (prefork). */
            mw_slot_request_retire(mw_table_slot(mw_table(),
                                                 (apr_uint32_t)tot.largest),
                                   tot.largest_pid, MW_REASON_TOTAL_PRIVATE,
                                   how == 2);
        }
    }
    return near;
}

/* The connection pool of a request's connection: its peak, and how much
 * it grew since the connection's first request. Only the thread serving a
 * connection may walk its pool (cs is NULL on mod_http2's secondary
 * connections, whose pool other threads use). A pool only grows until it
 * is destroyed, so the end of the connection sees its peak; in between it
 * is walked after the first request (the base of its growth) and on
 * measured requests, so a long keep-alive connection that grows shows
 * before it ends. */
static void note_connection_pool(struct mw_sample_conn_t *cs, conn_rec *c)
{
    mw_pool_size_t ps;

    if (mw_pool_measure(c->pool, &ps) != APR_SUCCESS) {
        return;
    }
    if (cs->requests == 1) {
        cs->first_used = ps.used;
    }
    mw_slot_note_connection_pool(hot.me, ps.held,
                                 ps.used > cs->first_used
                                 ? ps.used - cs->first_used : 0);
}

/* The request pool, on the requests that read RSS: a walk of its one to
 * three nodes and three atomics cost a small request 0.2 %. The mean of a
 * sample is the mean; its peak is the largest pool sampled (one request
 * in 64 of a busy child, ten a second of a moderately busy one, those
 * measured for attribution, and every request of a quiet one). */
static apr_uint64_t note_request_pool(request_rec *r)
{
    mw_pool_size_t ps;

    if (mw_pool_measure(r->pool, &ps) != APR_SUCCESS) {
        return 0;
    }
    mw_slot_note_request_pool(hot.me, ps.held);
    return ps.held;
}

/* rss_read_due() once a bound may be reached: `every_n` requests or
 * `every` microseconds since the last reading. One thread wins each
 * compare-and-swap. */
static MW_COLD int rss_read_claim(apr_uint64_t n, apr_time_t began,
                                  apr_uint64_t prev_n, apr_uint64_t prev,
                                  apr_uint64_t every_n,
                                  apr_interval_time_t every)
{
    return (n - prev_n >= every_n
            && mw_atomic_cas64(&hot.last_read_requests, n, prev_n) == prev_n)
           || (began - (apr_time_t)prev >= every
               && mw_atomic_cas64(&hot.last_read, (apr_uint64_t)began, prev)
                  == prev);
}

/* Is it this thread's turn to read RSS, for the n-th request of the
 * child, which began at `began`? The request's start time spares a clock
 * read on the many requests for which it is not. */
static APR_INLINE int rss_read_due(apr_uint64_t n, apr_time_t began)
{
    apr_uint64_t prev = mw_atomic_read64(&hot.last_read);
    apr_uint64_t prev_n = mw_atomic_read64(&hot.last_read_requests);

    if (MW_UNLIKELY(mw_atomic_read32(&hot.near_limit))) {
        return rss_read_claim(n, began, prev_n, prev, RSS_READ_NEAR_REQUESTS,
                              RSS_READ_NEAR_INTERVAL);
    }
    /* Most requests: neither bound reached. */
    if (n - prev_n < RSS_READ_REQUESTS
        && began - (apr_time_t)prev < RSS_READ_INTERVAL) {
        return 0;
    }
    return rss_read_claim(n, began, prev_n, prev, RSS_READ_REQUESTS,
                          RSS_READ_INTERVAL);
}

/* A fresh RSS in the slot; the end of warm-up takes the baseline, and
 * that of growth by mapping (one full smaps read in the child's life,
 * on this request's thread). */
static void record_rss(request_rec *r, apr_uint64_t n, apr_uint64_t rss)
{
    mw_slot_note_rss(hot.me, rss);
    if (mw_slot_state(hot.me) == MW_STATE_WARMING && n >= conf->warmup
        && mw_slot_warmed(hot.me, n, rss)) {
        mw_mapping_baseline();
        mw_retire_baseline(r, rss);
    }
}

/* The slot's trend and history, from a fresh statm reading. */
static void record_history(apr_uint64_t n, const mw_statm_t *st,
                           apr_time_t now)
{
    mw_slot_trend_note(hot.me, n, st->rss_bytes, now);
    if (history_due(hot.me, now) || smaps_due(hot.me, now)) {
        sample_slot(mw_table(), hot.me, 0, now, st);
    }
}

/* A measured request's own part of the RSS difference across it, when
 * `ended` requests of the child ended meanwhile (mw_attr.h). The mean is
 * this process's; measured requests are a few a second, and a lost
 * update between two of them costs nothing. */
static apr_uint64_t own_growth(apr_uint64_t delta, apr_uint64_t ended)
{
    apr_uint64_t mean = mw_attr_ended_mean(mw_atomic_read64(&ended_mean),
                                           ended);

    mw_atomic_set64(&ended_mean, mean);
    return mw_attr_own_growth(delta, mean);
}

/* A measured request's growth, for all the requests it stands for, to
 * its handler and URL prefix. */
static void attribute(request_rec *r, apr_uint32_t weight,
                      apr_uint64_t growth, apr_uint64_t pool_bytes,
                      apr_time_t now)
{
    char handler[MW_HANDLER_LEN], prefix[MW_PREFIX_LEN];
    const char *h = r->handler ? r->handler : "(none)";

    mw_key_clean(handler, sizeof(handler), h, strlen(h));
    mw_key_url_prefix(prefix, sizeof(prefix), r->parsed_uri.path,
                      conf->attribute_depth, conf->attribute_group_ids);
    mw_attr_add(mw_table(), handler, prefix, weight, growth * weight,
                pool_bytes * weight, now);
}

/* A number in the request pool, without printf's cost. */
static const char *log_number(apr_pool_t *p, apr_int64_t v)
{
    char *end = (char *)apr_palloc(p, 24) + 23, *s = end;
    apr_uint64_t u = v < 0 ? (apr_uint64_t)0 - (apr_uint64_t)v
                           : (apr_uint64_t)v;

    *end = '\0';
    do {
        *--s = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        *--s = '-';
    }
    return s;
}

/* %{memwatch-rss}n and %{memwatch-growth}n for the access log: the
 * child's RSS after the request and how it changed since the child's
 * previous request ended, or since it started (negative if it shrank),
 * in bytes. On the last
 * request of an internal redirect chain, the one mod_log_config reads. */
static void set_log_notes(request_rec *r, apr_uint64_t rss)
{
    apr_uint64_t prev = mw_atomic_xchg64(&last_logged_rss, rss);

    while (r->next) {
        r = r->next;
    }
    /* addn: nothing else sets these names, no need to search. */
    apr_table_addn(r->notes, "memwatch-rss",
                   log_number(r->pool, (apr_int64_t)rss));
    apr_table_addn(r->notes, "memwatch-growth",
                   log_number(r->pool, (apr_int64_t)rss - (apr_int64_t)prev));
}

/* A fresh RSS after request `r`: measure its pool, record both, attribute
 * the request if it was measured, and check the limits. */
static MW_COLD void request_read(request_rec *r, const request_state_t *st,
                                 apr_uint64_t n)
{
    mw_request_figures_t fig;
    apr_uint64_t pool_bytes = note_request_pool(r), rss;
    mw_statm_t statm;
    mw_limits_t limits;
    int near_private = 0;

    if (mw_own_statm(&statm) != APR_SUCCESS || !statm.rss_bytes) {
        return;
    }
    rss = statm.rss_bytes;
    fig.requests = n;
    fig.now = apr_time_now();
    fig.largest_over_total = 0;
    mw_atomic_set64(&hot.last_read, (apr_uint64_t)fig.now);
    mw_atomic_set64(&hot.last_read_requests, n);
    record_rss(r, n, rss);
    if (hot.log_notes_wanted) {
        set_log_notes(r, rss);
    }
    if (st->weight && mw_slot_state(hot.me) != MW_STATE_WARMING) {
        attribute(r, st->weight,
                  own_growth(rss > st->rss_before ? rss - st->rss_before : 0,
                             n - st->ended_before),
                  pool_bytes, fig.now);
    }
    mw_slot_limits(hot.me, &limits);
    if (hot.watch_private) {
        near_private = watch_private(&statm, &fig, &limits);
    }
    /* After watch_private, which may just have read smaps_rollup: one
     * copy of the figures for the cadence and the limit check. */
    mw_slot_figures(hot.me, rss, &fig.memory);
    mw_atomic_set32(&hot.near_limit,
                    mw_policy_near(&limits, &fig.memory) || near_private);
    mw_retire_check_request(r, &fig);
    /* malloc's figures, once a second at most: worker and event children
     * read them on their watcher thread instead, away from the requests
     * whose arenas mallinfo2 locks. */
    if (!hot.threaded) {
        mw_own_heap(fig.now);
    }
    record_history(n, &statm, fig.now);
    /* The child page's ask: worker and event answer on their watcher
     * thread, a prefork child here, after its own request. */
    if (!hot.threaded) {
        mw_mapping_answer();
    }
}

/* The end of a request, from the first log_transaction hook: after the
 * response, its pool still intact, and before mod_log_config writes the
 * access log (so the notes above can be logged). httpd runs
 * log_transaction for every request that reached post_read_request: from
 * the EOR bucket's cleanup of the request pool, also when the request
 * failed or the client went away. */
static MW_HOT int sample_log_transaction(request_rec *r)
{
    request_state_t *st = ap_get_module_config(r->request_config,
                                               &memwatch_module);
    mw_conn_t *conn;
    struct mw_sample_conn_t *cs;
    apr_uint64_t n;

    if (!st) {
        return DECLINED;
    }
    ap_set_module_config(r->request_config, &memwatch_module, NULL);
    n = mw_slot_count_request(hot.me);
    conn = mw_conn(r->connection);
    if (conn && (cs = conn->sample) != NULL) {
        /* A pipelined request may have begun already. */
        if (MW_UNLIKELY(cs->current == r)) {
            cs->current = NULL;
        }
        if (MW_UNLIKELY(++cs->requests == 1 || st != &counted_only)) {
            note_connection_pool(cs, r->connection);
        }
    }
    if (MW_UNLIKELY(st != &counted_only || hot.log_notes_wanted
                    || rss_read_due(n, r->request_time)
                    || (mw_slot_state(hot.me) == MW_STATE_WARMING
                        && n >= conf->warmup))) {
        request_read(r, st, n);
    }
    mw_leave_request_end(r, conn);
    return DECLINED;
}

static int mentions_log_notes(const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if ((d->args && ap_strstr_c(d->args, "{memwatch-"))
            || mentions_log_notes(d->first_child)) {
            return 1;
        }
    }
    return 0;
}

/* What a request gets of the measure budget. */
typedef enum {
    GETS_NOTHING,
    GETS_MEASURE,
    GETS_READ           /* took a measure and passed it on */
} measure_e;

/* Does the budget give the request beginning at `now` a measure, or is
 * it the one a measure given earlier waited for (MEASURE_SKIP)? One
 * thread takes each step of the count; the one that takes the last
 * measures. While a measure waits, what the budget gives is a read. */
static APR_INLINE int budget_take(apr_time_t now)
{
    return mw_budget_take(hot.measure_due, &hot.measure_due_seen, now,
                          &measure_budget);
}

static APR_INLINE measure_e measure_now(apr_time_t now)
{
    apr_uint32_t left = mw_atomic_read32(&hot.measure_countdown);

    if (MW_UNLIKELY(left)) {
        if (mw_atomic_cas32(&hot.measure_countdown, left - 1, left) == left
            && left == 1) {
            return GETS_MEASURE;
        }
        return budget_take(now) ? GETS_READ : GETS_NOTHING;
    }
    if (!budget_take(now)) {
        return GETS_NOTHING;
    }
    /* Taken: the copy holds the due time this request took. */
    if (!hot.threaded
        || mw_clock_since(now,
                          (apr_time_t)mw_atomic_read64(&hot.measure_due_seen))
           > measure_budget.mean) {
        return GETS_MEASURE;
    }
    left = mw_budget_skip(now, MEASURE_SKIP);
    if (!left) {
        return GETS_MEASURE;
    }
    mw_atomic_set32(&hot.measure_countdown, left);
    return GETS_READ;
}

/* Is the request beginning at `now` one to measure for attribution?
 * *unmeasured counts its connection's requests since the last measured
 * one (NULL on mod_http2's secondary connections: theirs are left to the
 * next measured request). Returns the number of requests it stands for,
 * or 0; *read says whether a request not measured reads RSS at its end
 * all the same (read_only). */
static APR_INLINE apr_uint32_t pick_for_measure(apr_uint32_t *unmeasured,
                                                apr_time_t now, int *read)
{
    apr_uint32_t weight = unmeasured ? ++*unmeasured : 1;
    measure_e gets = measure_now(now);

    if (gets != GETS_MEASURE) {
        *read = gets == GETS_READ;
        if (!unmeasured) {
            mw_atomic_inc32(&unmeasured_elsewhere);
        }
        return 0;
    }
    if (unmeasured) {
        *unmeasured = 0;
    }
    return weight + mw_atomic_xchg32(&unmeasured_elsewhere, 0);
}

static MW_HOT int sample_post_read_request(request_rec *r)
{
    mw_conn_t *conn;
    struct mw_sample_conn_t *cs;
    request_state_t *st = &counted_only;
    apr_uint32_t weight, *unmeasured = NULL;
    int read = 0;

    if (!hot.me || r->main || r->prev) {
        return DECLINED;
    }
    conn = mw_conn(r->connection);
    mw_leave_request_begin(r, conn);
    if (conn && (cs = conn->sample) != NULL) {
        if (MW_UNLIKELY(hot.sample_streams)) {
            cs->current = r;
            cs->passes = 0;
            cs->next_sample = r->request_time + MW_STREAM_SAMPLE;
            cs->stream_base = 0;
        }
        unmeasured = &cs->unmeasured;
    }
    weight = pick_for_measure(unmeasured, r->request_time, &read);
    if (MW_UNLIKELY(weight)) {
        st = apr_palloc(r->pool, sizeof(*st));
        st->weight = weight;
        st->ended_before = mw_slot_requests(hot.me);
        st->rss_before = mw_own_rss();
    }
    else if (MW_UNLIKELY(read)) {
        st = &read_only;
    }
    ap_set_module_config(r->request_config, &memwatch_module, st);
    return DECLINED;
}

static apr_status_t connection_done(void *data)
{
    conn_rec *c = data;
    mw_conn_t *conn = mw_conn(c);

    if (!conn) {
        return APR_SUCCESS;
    }
    if (conn->sample->requests) {
        note_connection_pool(conn->sample, c);
    }
    if (conn->sample->unmeasured) {
        mw_atomic_add32(&unmeasured_elsewhere, conn->sample->unmeasured);
    }
    return APR_SUCCESS;
}

/* A long response: how much the request and connection pools grew since
 * its first sample. Runs in the thread writing the response, which owns
 * both pools, and before the brigade is passed on (which may end the
 * request). */
static MW_COLD void sample_stream(struct mw_sample_conn_t *cs,
                                  conn_rec *c)
{
    apr_time_t now = apr_time_now();
    mw_pool_size_t rp, cp;

    if (now < cs->next_sample) {
        return;
    }
    cs->next_sample = now + MW_STREAM_SAMPLE;
    if (mw_pool_measure(cs->current->pool, &rp) != APR_SUCCESS
        || mw_pool_measure(c->pool, &cp) != APR_SUCCESS) {
        return;
    }
    if (!cs->stream_base) {
        cs->stream_base = rp.used + cp.used;
    }
    mw_slot_note_stream(hot.me, rp.held,
                        rp.used + cp.used > cs->stream_base
                        ? rp.used + cp.used - cs->stream_base : 0);
}

static MW_HOT apr_status_t stream_filter(ap_filter_t *f,
                                         apr_bucket_brigade *bb)
{
    struct mw_sample_conn_t *cs = f->ctx;

    if (cs->current && ++cs->passes > STREAM_PASSES) {
        sample_stream(cs, f->c);
    }
    return ap_pass_brigade(f->next, bb);
}

void mw_sample_conn_init(conn_rec *c, mw_conn_t *conn)
{
    mw_slot_count_connection(hot.me);
    conn->sample = apr_pcalloc(c->pool, sizeof(*conn->sample));
    if (hot.sample_streams) {
        ap_add_output_filter_handle(stream_filter_handle, conn->sample, NULL,
                                    c);
    }
    apr_pool_cleanup_register(c->pool, c, connection_done,
                              apr_pool_cleanup_null);
}

void mw_sample_post_config(server_rec *s)
{
    conf = mw_config(s);
    hot.log_notes_wanted = mentions_log_notes(ap_conftree);
    hot.sample_streams = conf->sample_streams
                         && mw_pool_method() != MW_POOL_UNAVAILABLE;
}

void mw_sample_child_init(apr_pool_t *pchild, server_rec *s)
{
    mw_statm_t statm;

    hot.me = mw_my_slot();
    if (!hot.me) {
        return;
    }
    hot.measure_due = mw_table_measure_due(mw_table());
    hot.threaded = mw_leave_threaded();
    if (!hot.sample_streams) {
        mw_slot_no_stream_figures(hot.me);
    }
    if (mw_own_statm(&statm) != APR_SUCCESS) {
        statm.rss_bytes = statm.shared_bytes = 0;
    }
    /* The first request's memwatch-growth is from the child's start, not
     * its whole RSS. */
    mw_atomic_set64(&last_logged_rss, statm.rss_bytes);
    if (conf->warmup == 0 && mw_slot_warmed(hot.me, 0, statm.rss_bytes)) {
        mw_mapping_baseline();
    }
    hot.total_ceiling = conf->ceiling == MW_CEILING_OFF ? APR_UINT64_MAX
        : conf->max_total_private + conf->max_total_private / 100
                                    * conf->ceiling;
    hot.watch_private = (conf->limits.max_private || conf->limits.min_shared
                         || conf->max_total_private || conf->pressure)
                        && !mw_smaps_unavailable();
    /* A first history point and the private/shared split from the start
     * (one smaps_rollup read), so a child that has served nothing yet is
     * not shown with unknown figures until the parent samples it. */
    if (statm.rss_bytes) {
        sample_slot(mw_table(), hot.me, 0, apr_time_now(), &statm);
    }
}

void mw_sample_idle(int index, pid_t pid, const mw_slot_copy_t *copy,
                    apr_time_t now)
{
    const mw_table_t *t = mw_table();
    mw_statm_t st = { 0, 0 };

    /* mw_children_rss reads only a live child of this parent: the slot's
     * pid is the child's word. */
    if (mw_clock_since(now, copy->history_time)
        > apr_time_from_sec(conf->history_interval + 1)
        && (st.rss_bytes = mw_children_rss(pid)) != 0) {
        sample_slot(t, mw_table_slot(t, (apr_uint32_t)index), (long)pid, now,
                    &st);
    }
}

void mw_sample_register_hooks(void)
{
    /* First, so later hooks that fail the request are still counted. */
    ap_hook_post_read_request(sample_post_read_request, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
    stream_filter_handle = ap_register_output_filter("MEMWATCH_STREAM",
        stream_filter, NULL, AP_FTYPE_CONNECTION);
    ap_hook_log_transaction(sample_log_transaction, NULL, NULL,
                            APR_HOOK_REALLY_FIRST);
}
