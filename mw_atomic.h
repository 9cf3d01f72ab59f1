/* Licensed under the Apache License, Version 2.0. */

/* mw_atomic: the module's one vocabulary of atomic operations.
 *
 * The names, arguments, results and ordering are APR's (apr_atomic.h):
 * cas returns the old value and takes (mem, with, cmp); every operation
 * is sequentially consistent. Only the call is gone: apr_atomic_* are
 * calls into libapr through the PLT, and on the request path of a busy
 * child they were a measurable part of the module's cost (perf: libapr's
 * share rose by half a point with the module loaded). The builtins
 * compile to the instructions APR's own builtin implementation uses.
 *
 * GCC or clang only: the module also needs their thread-local storage
 * and attributes (mw_hot.h), and /proc, so it builds where they do. */

#ifndef MW_ATOMIC_H
#define MW_ATOMIC_H

#include <apr.h>

#if !defined(__GNUC__)
#error "mod_memwatch needs GCC or clang (atomic builtins)"
#endif

#define MW_SEQ __ATOMIC_SEQ_CST

static APR_INLINE apr_uint32_t mw_atomic_read32(volatile apr_uint32_t *mem)
{
    return __atomic_load_n(mem, MW_SEQ);
}

static APR_INLINE apr_uint64_t mw_atomic_read64(volatile apr_uint64_t *mem)
{
    return __atomic_load_n(mem, MW_SEQ);
}

static APR_INLINE void mw_atomic_set32(volatile apr_uint32_t *mem,
                                       apr_uint32_t val)
{
    __atomic_store_n(mem, val, MW_SEQ);
}

static APR_INLINE void mw_atomic_set64(volatile apr_uint64_t *mem,
                                       apr_uint64_t val)
{
    __atomic_store_n(mem, val, MW_SEQ);
}

/* The add, inc and dec functions return the value before. */
static APR_INLINE apr_uint32_t mw_atomic_add32(volatile apr_uint32_t *mem,
                                               apr_uint32_t val)
{
    return __atomic_fetch_add(mem, val, MW_SEQ);
}

static APR_INLINE apr_uint64_t mw_atomic_add64(volatile apr_uint64_t *mem,
                                               apr_uint64_t val)
{
    return __atomic_fetch_add(mem, val, MW_SEQ);
}

static APR_INLINE apr_uint32_t mw_atomic_inc32(volatile apr_uint32_t *mem)
{
    return __atomic_fetch_add(mem, 1, MW_SEQ);
}

static APR_INLINE apr_uint64_t mw_atomic_inc64(volatile apr_uint64_t *mem)
{
    return __atomic_fetch_add(mem, 1, MW_SEQ);
}

/* Returns nonzero unless the value after is zero, as apr_atomic_dec32. */
static APR_INLINE int mw_atomic_dec32(volatile apr_uint32_t *mem)
{
    return __atomic_sub_fetch(mem, 1, MW_SEQ) != 0;
}

/* *mem = with if it was cmp; returns what it was. */
static APR_INLINE apr_uint32_t mw_atomic_cas32(volatile apr_uint32_t *mem,
                                               apr_uint32_t with,
                                               apr_uint32_t cmp)
{
    __atomic_compare_exchange_n(mem, &cmp, with, 0, MW_SEQ, MW_SEQ);
    return cmp;
}

static APR_INLINE apr_uint64_t mw_atomic_cas64(volatile apr_uint64_t *mem,
                                               apr_uint64_t with,
                                               apr_uint64_t cmp)
{
    __atomic_compare_exchange_n(mem, &cmp, with, 0, MW_SEQ, MW_SEQ);
    return cmp;
}

static APR_INLINE apr_uint32_t mw_atomic_xchg32(volatile apr_uint32_t *mem,
                                                apr_uint32_t val)
{
    return __atomic_exchange_n(mem, val, MW_SEQ);
}

static APR_INLINE apr_uint64_t mw_atomic_xchg64(volatile apr_uint64_t *mem,
                                                apr_uint64_t val)
{
    return __atomic_exchange_n(mem, val, MW_SEQ);
}

/* Raise *mem to val if val is larger: a read, and a compare-and-swap only
 * when val is a new maximum. */
static APR_INLINE void mw_atomic_max64(volatile apr_uint64_t *mem,
                                       apr_uint64_t val)
{
    apr_uint64_t cur = mw_atomic_read64(mem), seen;

    while (val > cur && (seen = mw_atomic_cas64(mem, val, cur)) != cur) {
        cur = seen;
    }
}

/* Fences, for the plain loads and stores of a record around the atomic
 * word that publishes it (mw_shm.h: publication): a writer's release
 * before that word, a reader's acquire after loading it. */
static APR_INLINE void mw_atomic_release(void)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static APR_INLINE void mw_atomic_acquire(void)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}

static APR_INLINE void mw_atomic_fence(void)
{
    __atomic_thread_fence(MW_SEQ);
}

#undef MW_SEQ

#endif /* MW_ATOMIC_H */
