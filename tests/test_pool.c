/* Licensed under the Apache License, Version 2.0. */

/* mw_pool: measuring an APR pool by walking its node ring (stock APR). */

#include <unistd.h>

#include <apr_allocator.h>
#include <apr_general.h>
#include <apr_time.h>

#include "tap.h"
#include "mw_pool.h"

static void print_size(const char *what, const mw_pool_size_t *s)
{
    diag("%-18s held=%lu used=%lu nodes=%lu", what, (unsigned long)s->held,
         (unsigned long)s->used, (unsigned long)s->nodes);
}

int main(void)
{
    apr_pool_t *root, *p, *sub, *own;
    apr_allocator_t *alloc;
    const char *why = "not touched";
    mw_pool_size_t fresh, big, cleared, m, parent_before, parent_after;
    apr_size_t page = (apr_size_t)sysconf(_SC_PAGESIZE);
    apr_time_t t0, t1;
    volatile apr_size_t sink = 0;
    int i, all_written = 1;
    const int walks = 100000;

    apr_initialize();
    apr_pool_create(&root, NULL);

    is_int(mw_pool_method(), MW_POOL_UNAVAILABLE,
           "no method before mw_pool_init");
    is_int(mw_pool_measure(root, &m), APR_ENOTIMPL,
           "mw_pool_measure before init is APR_ENOTIMPL");
    is_int(mw_pool_init(root, &why), MW_POOL_WALK,
           "mw_pool_init chooses the node walk on this APR");
    is_str(why, NULL, "with no reason given");
    if (why) {
        diag("why: %s", why);
    }
    is_int(mw_pool_method(), MW_POOL_WALK, "mw_pool_method agrees");

    /* A fresh pool: one node, page-sized, the pool struct in it. */
    apr_pool_create(&p, root);
    is_int(mw_pool_walk(p, &fresh), APR_SUCCESS, "walk a fresh pool");
    print_size("fresh:", &fresh);
    is_u64(fresh.nodes, 1, "a fresh pool has one node");
    ok(fresh.held >= 8192, "held >= 8 KiB (%lu)", (unsigned long)fresh.held);
    is_u64(fresh.held % page, 0, "held is a multiple of the page size");
    ok(fresh.used > 0 && fresh.used < 1024,
       "used is just the node header and pool struct (%lu)",
       (unsigned long)fresh.used);

    /* 1000 x 1 KiB. */
    for (i = 0; i < 1000; i++) {
        char *b = apr_palloc(p, 1024);
        if (!b) {
            all_written = 0;
            break;
        }
        memset(b, i & 0xff, 1024);
    }
    ok(all_written, "1000 x 1 KiB allocated and written");
    is_int(mw_pool_walk(p, &big), APR_SUCCESS, "walk after 1000 x 1 KiB");
    print_size("after 1000x1KiB:", &big);
    ok(big.used >= fresh.used + 1000 * 1024,
       "used grew by >= 1000 KiB (%lu -> %lu)", (unsigned long)fresh.used,
       (unsigned long)big.used);
    ok(big.used < fresh.used + 1000 * 1024 + 64 * 1024,
       "and by not much more (alignment and node headers only)");
    ok(big.held >= big.used, "held >= used");
    is_u64(big.held % page, 0, "held is still a multiple of the page size");
    ok(big.nodes > 1, "more than one node (%lu)", (unsigned long)big.nodes);

    /* mw_pool_measure goes through the chosen method. */
    is_int(mw_pool_measure(p, &m), APR_SUCCESS, "mw_pool_measure");
    ok(m.held == big.held && m.used == big.used && m.nodes == big.nodes,
       "mw_pool_measure gives the walk's figures");

    /* One large allocation gets a node of its own. */
    ok(apr_palloc(p, 1024 * 1024) != NULL, "allocate 1 MiB more");
    is_int(mw_pool_walk(p, &m), APR_SUCCESS, "walk after 1 MiB");
    ok(m.used >= big.used + 1024 * 1024, "used grew by >= 1 MiB");
    is_u64(m.nodes, big.nodes + 1, "in one more node");

    /* A subpool is not counted in its parent. */
    parent_before = m;
    apr_pool_create(&sub, p);
    for (i = 0; i < 100; i++) {
        apr_palloc(sub, 1024);
    }
    is_int(mw_pool_walk(p, &parent_after), APR_SUCCESS,
           "walk the parent of a busy subpool");
    is_u64(parent_after.used, parent_before.used,
           "the subpool's 100 KiB are not in the parent");
    is_int(mw_pool_walk(sub, &m), APR_SUCCESS, "walk the subpool");
    ok(m.used >= 100 * 1024, "the subpool holds them (%lu)",
       (unsigned long)m.used);

    /* Timing: not an assertion, just for the record. */
    t0 = apr_time_now();
    for (i = 0; i < walks; i++) {
        mw_pool_walk(p, &m);
        sink += m.used;
    }
    t1 = apr_time_now();
    diag("walk of %lu nodes: %.1f ns (%.2f ns a node)",
         (unsigned long)m.nodes, (double)(t1 - t0) * 1000.0 / walks,
         (double)(t1 - t0) * 1000.0 / walks / (double)m.nodes);
    (void)sink;

    /* Clearing gives every node but the first back. */
    apr_pool_clear(p);
    is_int(mw_pool_walk(p, &cleared), APR_SUCCESS, "walk after clear");
    print_size("cleared:", &cleared);
    is_u64(cleared.nodes, 1, "back to one node");
    is_u64(cleared.held, fresh.held, "held back to the fresh figure");
    is_u64(cleared.used, fresh.used, "used back to the fresh figure");

    /* A pool on its own allocator is measured the same way. */
    apr_allocator_create(&alloc);
    apr_pool_create_ex(&own, NULL, NULL, alloc);
    apr_allocator_owner_set(alloc, own);
    apr_palloc(own, 20000);
    is_int(mw_pool_walk(own, &m), APR_SUCCESS,
           "walk a pool with its own allocator");
    ok(m.used >= fresh.used + 20000, "used includes the 20000 bytes");
    ok(m.held >= m.used && m.held % page == 0, "held >= used, whole pages");
    apr_pool_destroy(own);

    apr_pool_destroy(root);
    apr_terminate();
    return done();
}
