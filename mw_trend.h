/* Licensed under the Apache License, Version 2.0. */

/* mw_trend: is a child leaking, did it grow and level off, or does its
 * heap fragment? Keeps a fixed number of (requests, RSS, time) points
 * taken every `step` requests after warm-up; when full, every other point
 * is dropped and the step doubles, so the points always span the child's
 * whole life since warm-up. A least-squares slope over the newer half
 * gives the current growth per request and per minute, and the verdict.
 * Each point also carries malloc's bytes in use and free as last read (on
 * an interval of its own, mw_heap.h), and when: RSS that climbs while in
 * use stays flat and free grows is memory the heap keeps, not a leak. */

#ifndef MW_TREND_H
#define MW_TREND_H

#include <apr_time.h>

#include "mw_names.h"

#define MW_TREND_POINTS     64
#define MW_TREND_MIN_POINTS 8
#define MW_TREND_FIRST_STEP 16

/* Fitted rise over the recent window that makes a child "leaking". */
#define MW_LEAK_MIN_RISE    (256 * 1024)

/* ...or "fragmented", when over the same time malloc's bytes in use rose
 * by less than MW_FRAG_MAX_SHARE of what RSS rose, and its free bytes by
 * MW_FRAG_MIN_FREE_SHARE of it or more. A leak keeps what it takes, so in
 * use rises with RSS (nearly all of it; a little more with malloc's own
 * headers); a rise under a quarter is mostly memory the heap holds free,
 * if malloc holds it at all: memory another allocator maps for itself
 * (Python's object arenas, a module's own mmap) shows in neither figure,
 * and a leak there is still a leak. Free rises with RSS on a fragmenting
 * heap (within a few percent on prefork; on worker and event, whose
 * readings and RSS come from different threads, down to 60 % of it in
 * t/allocator.t), and not at all with a leak elsewhere: a quarter tells
 * them apart with room either side. */
#define MW_FRAG_MAX_SHARE       0.25
#define MW_FRAG_MIN_FREE_SHARE  0.25
typedef struct mw_trend_point_t {
    apr_uint64_t requests;
    apr_uint64_t rss;
    apr_int64_t time;               /* apr_time_t */
    apr_uint64_t heap_in_use;       /* as last read; MW_UNKNOWN: never */
    apr_uint64_t heap_free;
    apr_int64_t heap_time;          /* apr_time_t of that reading */
} mw_trend_point_t;

/* malloc's bytes in use and free as last read, and when (0: never). */
typedef struct mw_trend_heap_t {
    apr_uint64_t in_use;
    apr_uint64_t free_bytes;
    apr_time_t time;
} mw_trend_heap_t;

typedef struct mw_trend_t {
    apr_uint32_t n;
    apr_uint32_t step;
    apr_uint64_t next_at;           /* request count of the next point */
    mw_trend_point_t pts[MW_TREND_POINTS];
} mw_trend_t;

typedef struct mw_trend_result_t {
    mw_verdict_e verdict;
    double per_request;             /* bytes per request, recent window */
    double per_minute;              /* bytes per minute, recent window */
    double recent_rise;             /* fitted growth over that window */
    /* What malloc's bytes in use and free did from the window's older
     * half to its newer half (the readings of each with the least in
     * use), and what the fit says RSS did in that time; all NAN without
     * readings enough. */
    double heap_rise;
    double heap_free_rise;
    double rss_rise_then;
    apr_uint64_t window_requests;   /* requests the window spans */
    apr_uint32_t points;
} mw_trend_result_t;

/* Start collecting at request count `requests` (warm-up is over). */
void mw_trend_start(mw_trend_t *t, apr_uint64_t requests);

/* Is a point due at this request count? (cheap, no writes) */
int mw_trend_due(const mw_trend_t *t, apr_uint64_t requests);

/* Record a point, with the heap's last reading (NULL: none); the caller
 * makes sure one thread at a time adds. */
void mw_trend_add(mw_trend_t *t, apr_uint64_t requests, apr_uint64_t rss,
                  apr_time_t now, const mw_trend_heap_t *heap);

/* Slope and verdict from a consistent copy of the points. */
void mw_trend_analyse(const mw_trend_t *t, mw_trend_result_t *out);

#endif /* MW_TREND_H */
