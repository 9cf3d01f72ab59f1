/* Licensed under the Apache License, Version 2.0. */

/* mw_atomic: the few atomic operations of the request path, inline.
 *
 * apr_atomic_* are calls into libapr through the PLT; on the request path
 * of a busy child they were a measurable part of the module's cost (perf:
 * libapr's share rose by half a point with the module loaded). GCC and
 * clang's builtins compile to one instruction each; other compilers get
 * APR's functions. Counters need no ordering (readers copy them one by
 * one), so the builtins are relaxed. */

#ifndef MW_ATOMIC_H
#define MW_ATOMIC_H

#include <apr.h>
#include <apr_atomic.h>

#if defined(__GNUC__)

static APR_INLINE apr_uint64_t mw_atomic_read64(volatile apr_uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static APR_INLINE apr_uint32_t mw_atomic_read32(volatile apr_uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Returns the value after adding. */
static APR_INLINE apr_uint64_t mw_atomic_add64(volatile apr_uint64_t *p,
                                               apr_uint64_t v)
{
    return __atomic_add_fetch(p, v, __ATOMIC_RELAXED);
}

static APR_INLINE int mw_atomic_cas64(volatile apr_uint64_t *p,
                                      apr_uint64_t expected,
                                      apr_uint64_t desired)
{
    return __atomic_compare_exchange_n(p, &expected, desired, 0,
                                       __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

#else

static APR_INLINE apr_uint64_t mw_atomic_read64(volatile apr_uint64_t *p)
{
    return apr_atomic_read64(p);
}

static APR_INLINE apr_uint32_t mw_atomic_read32(volatile apr_uint32_t *p)
{
    return apr_atomic_read32(p);
}

static APR_INLINE apr_uint64_t mw_atomic_add64(volatile apr_uint64_t *p,
                                               apr_uint64_t v)
{
    return apr_atomic_add64(p, v) + v;
}

static APR_INLINE int mw_atomic_cas64(volatile apr_uint64_t *p,
                                      apr_uint64_t expected,
                                      apr_uint64_t desired)
{
    return apr_atomic_cas64(p, desired, expected) == expected;
}

#endif

/* Raise *p to v if v is larger: a read, and a compare-and-swap only when
 * v is a new maximum. */
static APR_INLINE void mw_atomic_max64(volatile apr_uint64_t *p,
                                       apr_uint64_t v)
{
    apr_uint64_t cur = mw_atomic_read64(p);

    while (v > cur && !mw_atomic_cas64(p, cur, v)) {
        cur = mw_atomic_read64(p);
    }
}

#endif /* MW_ATOMIC_H */
