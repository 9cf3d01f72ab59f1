/* Licensed under the Apache License, Version 2.0. */

/* Growth by mapping (mod_memwatch_mapping.h): this child's
 * /proc/self/smaps summed by class and name (mw_smaps.c) against its
 * baseline from the end of warm-up. The baseline is the child's own
 * memory, never the shared table's: only the figures it reads are
 * published, in its slot and in its recycle event.
 *
 * A full smaps read walks the page tables of the whole process: half a
 * millisecond at 16 MiB, 16 to 30 at 1 GiB (docs/design.md). So it is
 * read only at the end of warm-up, when the child decides to retire (on
 * the deciding thread, once the child has stopped taking work: on prefork
 * its one request, on worker and event the thread that decided while the
 * others serve on), and when its page asks, at most every ASK_INTERVAL
 * (worker and event: on the watcher thread; prefork: at the end of the
 * child's next request that reads RSS). Never on every request. */

#include <pthread.h>

#include "httpd.h"
#include "http_config.h"

#include "mod_memwatch_private.h"
#include "mod_memwatch_table.h"
#include "mod_memwatch_mapping.h"
#include "mw_clock.h"

/* However often the page asks (any child may ask any other), a child
 * reads its mappings for it at most this often. */
#define ASK_INTERVAL apr_time_from_sec(5)

/* One reading at a time: the deciding thread, the watcher answering the
 * page, and the warm-up may meet. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Under the lock: the baseline, the scratch sum for a reading, and the
 * time (mw_clock_now) of the last reading made for the page. */
static mw_mappings_t *baseline;
static mw_mappings_t *reading;
static int have_baseline;
static apr_time_t answered;

void mw_mapping_baseline(void)
{
    if (!baseline) {
        return;
    }
    pthread_mutex_lock(&lock);
    have_baseline = mw_mappings_read(baseline, NULL, 0) == APR_SUCCESS;
    pthread_mutex_unlock(&lock);
}

/* Hold the lock. */
static int read_growth(mw_mapping_growth_t *top, apr_uint32_t max)
{
    apr_uint32_t n;

    /* Seeded with the baseline's names, so each compares with its own. */
    if (!have_baseline
        || mw_mappings_read(reading, baseline, 0) != APR_SUCCESS) {
        return -1;
    }
    n = mw_mappings_growth(baseline, reading, top, max);
    mw_slot_note_mapping(mw_my_slot(), apr_time_now(), top, n);
    return (int)n;
}

int mw_mapping_growth(mw_mapping_growth_t *top, apr_uint32_t max)
{
    int n;

    if (!baseline) {
        return -1;
    }
    pthread_mutex_lock(&lock);
    n = read_growth(top, max);
    pthread_mutex_unlock(&lock);
    return n;
}

/* A reading for the page, unless one was made within ASK_INTERVAL. */
static void answer(void)
{
    mw_mapping_growth_t top[MW_MAPPING_TOP];
    apr_time_t now = mw_clock_now();

    pthread_mutex_lock(&lock);
    if (!answered || mw_clock_since(now, answered) >= ASK_INTERVAL) {
        answered = now;
        read_growth(top, MW_MAPPING_TOP);
    }
    pthread_mutex_unlock(&lock);
}

void mw_mapping_ask(int index)
{
    mw_slot_t *slot;

    if (!mw_table() || index < 0
        || !(slot = mw_table_slot(mw_table(), (apr_uint32_t)index))) {
        return;
    }
    if (baseline && slot == mw_my_slot()) {
        answer();
    }
    else {
        mw_slot_ask_mapping(slot);
    }
}

void mw_mapping_answer(void)
{
    if (baseline && mw_slot_mapping_asked(mw_my_slot())) {
        answer();
    }
}

void mw_mapping_child_init(apr_pool_t *pchild, server_rec *s)
{
    if (!mw_my_slot()) {
        return;
    }
    /* Allocated and touched now, before the baseline, so that they are
     * not growth. */
    baseline = mw_mappings_make(pchild);
    reading = mw_mappings_make(pchild);
}
