/* Licensed under the Apache License, Version 2.0. */

#include <dlfcn.h>
#include <unistd.h>

#include <apr_allocator.h>
#include <apr_version.h>

#include "mw_pool.h"

/* A pool of more nodes than this is treated as a broken ring. */
#define MW_POOL_MAX_NODES 1000000

typedef apr_size_t (*num_bytes_fn)(apr_pool_t *pool, int recurse);

static mw_pool_method_e method = MW_POOL_UNAVAILABLE;
static num_bytes_fn num_bytes;

apr_status_t mw_pool_walk(apr_pool_t *pool, mw_pool_size_t *out)
{
    /* apr_pool_create_ex() puts the pool struct at the start of its first
     * node's free space, so the node header sits just before it. */
    apr_memnode_t *first = (apr_memnode_t *)((char *)pool - APR_MEMNODE_T_SIZE);
    apr_memnode_t *node = first;
    apr_size_t held = 0, used = 0, n = 0;

    do {
        char *start = (char *)node;
        if (node->endp <= start || node->first_avail < start
            || node->first_avail > node->endp || ++n > MW_POOL_MAX_NODES) {
            return APR_EGENERAL;
        }
        held += (apr_size_t)(node->endp - start);
        used += (apr_size_t)(node->first_avail - start);
        node = node->next;
    } while (node && node != first);
    if (!node) {
        return APR_EGENERAL;
    }
    out->held = held;
    out->used = used;
    out->nodes = n;
    return APR_SUCCESS;
}

/* Prove the walk on a fresh pool: the ring closes, node sizes are page
 * multiples, and "used" grows by at least what we allocate. */
static const char *walk_selfcheck(apr_pool_t *p)
{
    apr_pool_t *scratch;
    mw_pool_size_t before, after;
    long page = sysconf(_SC_PAGESIZE);
    apr_memnode_t *first;
    int i;

    if (apr_pool_create(&scratch, p) != APR_SUCCESS) {
        return "cannot create a scratch pool";
    }
    first = (apr_memnode_t *)((char *)scratch - APR_MEMNODE_T_SIZE);
    if (first->first_avail <= (char *)scratch
        || first->first_avail > first->endp) {
        apr_pool_destroy(scratch);
        return "pool struct is not at the start of its first node";
    }
    if (mw_pool_walk(scratch, &before) != APR_SUCCESS) {
        apr_pool_destroy(scratch);
        return "node ring of a fresh pool does not close";
    }
    for (i = 0; i < 64; i++) {
        apr_palloc(scratch, 1024);
    }
    apr_palloc(scratch, 256 * 1024);
    if (mw_pool_walk(scratch, &after) != APR_SUCCESS) {
        apr_pool_destroy(scratch);
        return "node ring does not close after allocations";
    }
    apr_pool_destroy(scratch);
    if (page <= 0 || before.held % (apr_size_t)page
        || after.held % (apr_size_t)page) {
        return "node sizes are not multiples of the page size";
    }
    if (after.used < before.used + 64 * 1024 + 256 * 1024
        || after.held < after.used || after.nodes <= before.nodes) {
        return "measured sizes do not follow known allocations";
    }
    return NULL;
}

mw_pool_method_e mw_pool_init(apr_pool_t *p, const char **why)
{
    int major = 0, minor = 0;
    apr_version_t v;

    *why = NULL;
    num_bytes = (num_bytes_fn)dlsym(RTLD_DEFAULT, "apr_pool_num_bytes");
    if (num_bytes) {
        return method = MW_POOL_NUM_BYTES;
    }
    apr_version(&v);
    major = v.major;
    minor = v.minor;
    if (major != 1 || minor < 4 || minor > 8) {
        *why = "APR version outside 1.4-1.8, pool layout not verified";
        return method = MW_POOL_UNAVAILABLE;
    }
    *why = walk_selfcheck(p);
    return method = (*why ? MW_POOL_UNAVAILABLE : MW_POOL_WALK);
}

mw_pool_method_e mw_pool_method(void)
{
    return method;
}

apr_status_t mw_pool_measure(apr_pool_t *pool, mw_pool_size_t *out)
{
    switch (method) {
    case MW_POOL_WALK:
        return mw_pool_walk(pool, out);
    case MW_POOL_NUM_BYTES:
        out->used = out->held = num_bytes(pool, 0);
        out->nodes = 0;
        return APR_SUCCESS;
    default:
        return APR_ENOTIMPL;
    }
}
