/* Licensed under the Apache License, Version 2.0. */

#include <string.h>

#include <apr_strings.h>

#include "mw_atomic.h"
#include "mw_attr.h"

/* An average over about the last 16 measured requests. */
#define ENDED_WEIGHT 16

apr_uint64_t mw_attr_ended_mean(apr_uint64_t mean, apr_uint64_t ended)
{
    /* At least the request itself; the count comes from a slot any child
     * may write: bounded. */
    if (ended < 1 || ended > 1000000) {
        ended = 1;
    }
    ended *= MW_ATTR_ONE;
    if (mean < MW_ATTR_ONE || mean > 1000000 * MW_ATTR_ONE) {
        return ended;
    }
    return mean - mean / ENDED_WEIGHT + ended / ENDED_WEIGHT;
}

apr_uint64_t mw_attr_own_growth(apr_uint64_t delta, apr_uint64_t mean)
{
    if (mean <= MW_ATTR_ONE || mean > 1000000 * MW_ATTR_ONE) {
        return delta;
    }
    return (apr_uint64_t)((long double)delta * MW_ATTR_ONE
                          / (long double)mean);
}

apr_uint32_t mw_attr_len(const mw_table_t *t)
{
    return t->layout.attr_len;
}

static void attr_copy(const mw_attr_t *a, mw_attr_copy_t *out)
{
    memcpy(out->handler, a->handler, MW_HANDLER_LEN);
    memcpy(out->prefix, a->prefix, MW_PREFIX_LEN);
    out->handler[MW_HANDLER_LEN - 1] = '\0';
    out->prefix[MW_PREFIX_LEN - 1] = '\0';
    out->requests = mw_atomic_read64((volatile apr_uint64_t *)&a->requests);
    out->growth = mw_atomic_read64((volatile apr_uint64_t *)&a->growth);
    out->pool_bytes =
        mw_atomic_read64((volatile apr_uint64_t *)&a->pool_bytes);
}

int mw_attr_copy(const mw_table_t *t, apr_uint32_t i, mw_attr_copy_t *out)
{
    if (i >= t->layout.attr_len
        || mw_atomic_read32(&t->attr[i].state) != MW_ATTR_READY) {
        return 0;
    }
    mw_atomic_acquire();
    attr_copy(&t->attr[i], out);
    return 1;
}

void mw_attr_other_copy(const mw_table_t *t, mw_attr_copy_t *out)
{
    attr_copy(&t->hdr->attr_other, out);
}

/* FNV-1a over handler and prefix. */
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
    return h;
}

static void attr_count(mw_attr_t *a, apr_uint64_t requests,
                       apr_uint64_t growth, apr_uint64_t pool_bytes,
                       apr_time_t now)
{
    mw_atomic_add64(&a->requests, requests);
    if (growth) {
        mw_atomic_add64(&a->growth, growth);
        mw_atomic_set64((volatile apr_uint64_t *)&a->last_growth,
                         (apr_uint64_t)now);
    }
    mw_atomic_add64(&a->pool_bytes, pool_bytes);
}

/* Write a key into an entry this thread holds in MW_ATTR_FILLING, then
 * publish it. */
static void attr_fill(mw_attr_t *a, apr_uint32_t hash, const char *handler,
                      const char *prefix, apr_time_t now)
{
    a->hash = hash;
    apr_cpystrn(a->handler, handler, MW_HANDLER_LEN);
    apr_cpystrn(a->prefix, prefix, MW_PREFIX_LEN);
    mw_atomic_set64((volatile apr_uint64_t *)&a->last_growth,
                     (apr_uint64_t)now);
    mw_atomic_release();
    mw_atomic_set32(&a->state, MW_ATTR_READY);
}

/* Take over an entry idle for MW_ATTR_IDLE: its figures go to "other"
 * (so totals stay exact), its place to the new key. A request that found
 * the old key just before may still land in the new one. */
static int attr_evict(const mw_table_t *t, mw_attr_t *a, apr_uint32_t hash,
                      const char *handler, const char *prefix,
                      apr_time_t now)
{
    mw_attr_t *other = &t->hdr->attr_other;

    if (mw_atomic_cas32(&a->state, MW_ATTR_FILLING, MW_ATTR_READY)
        != MW_ATTR_READY) {
        return 0;
    }
    mw_atomic_add64(&other->requests, mw_atomic_xchg64(&a->requests, 0));
    mw_atomic_add64(&other->growth, mw_atomic_xchg64(&a->growth, 0));
    mw_atomic_add64(&other->pool_bytes,
                     mw_atomic_xchg64(&a->pool_bytes, 0));
    attr_fill(a, hash, handler, prefix, now);
    return 1;
}

/* Linear probing; an entry is never emptied, only refilled, so a key's
 * place stays on its probe path. */
void mw_attr_add(const mw_table_t *t, const char *handler,
                 const char *prefix, apr_uint64_t requests,
                 apr_uint64_t growth, apr_uint64_t pool_bytes,
                 apr_time_t now)
{
    apr_uint32_t len = t->layout.attr_len;
    apr_uint32_t hash = attr_hash(handler, prefix);
    apr_uint32_t probe;
    mw_attr_t *idlest = NULL;
    apr_int64_t idlest_time = now - MW_ATTR_IDLE;

    for (probe = 0; probe < len; probe++) {
        mw_attr_t *a = &t->attr[(hash + probe) % len];
        apr_uint32_t st = mw_atomic_read32(&a->state);

        if (st == MW_ATTR_FREE) {
            if (!growth) {
                break;      /* no growth: not worth a new entry */
            }
            if (mw_atomic_cas32(&a->state, MW_ATTR_FILLING, MW_ATTR_FREE)
                != MW_ATTR_FREE) {
                probe--;    /* lost the race: look at this entry again */
                continue;
            }
            attr_fill(a, hash, handler, prefix, now);
            attr_count(a, requests, growth, pool_bytes, now);
            return;
        }
        if (st == MW_ATTR_READY) {
            apr_int64_t last;
            if (a->hash == hash
                && strncmp(a->handler, handler, MW_HANDLER_LEN - 1) == 0
                && strncmp(a->prefix, prefix, MW_PREFIX_LEN - 1) == 0) {
                attr_count(a, requests, growth, pool_bytes, now);
                return;
            }
            last = (apr_int64_t)mw_atomic_read64(
                       (volatile apr_uint64_t *)&a->last_growth);
            if (growth && last < idlest_time) {
                idlest = a;
                idlest_time = last;
            }
        }
        /* MW_ATTR_FILLING: its key is not known yet, so move on rather
         * than wait on the request path. */
    }
    if (growth && idlest
        && attr_evict(t, idlest, hash, handler, prefix, now)) {
        attr_count(idlest, requests, growth, pool_bytes, now);
        return;
    }
    attr_count(&t->hdr->attr_other, requests, growth, pool_bytes, now);
}
