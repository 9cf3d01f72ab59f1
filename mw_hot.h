/* Licensed under the Apache License, Version 2.0. */

/* mw_hot: where the request path's code goes.
 *
 * In a busy prefork server every request wakes another process, so the
 * module's code and data are rarely still in the caches; what a request
 * costs is mostly the cache lines and pages it touches. Functions run on
 * every request are marked MW_HOT: the linker groups them (.text.hot)
 * across the module's objects. The rare branches are MW_COLD: out of line
 * (.text.unlikely), so the common case pays for no stack frame of theirs;
 * MW_UNLIKELY keeps a rare branch's code off the common path's lines.
 * The data every request touches is kept together on one cache line
 * (MW_LINE_ALIGNED). */

#ifndef MW_HOT_H
#define MW_HOT_H

#if !defined(__GNUC__)
#error "mod_memwatch needs GCC or clang (attributes, mw_atomic.h)"
#endif

#define MW_HOT __attribute__((hot))
#define MW_COLD __attribute__((cold, noinline))
#define MW_LINE_ALIGNED __attribute__((aligned(64)))
#define MW_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif /* MW_HOT_H */
