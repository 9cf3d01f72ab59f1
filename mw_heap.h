/* Licensed under the Apache License, Version 2.0. */

/* mw_heap: the allocator's own view of this process's heap, and giving
 * its free memory back. glibc only: mallinfo2() (2.33 and later) for the
 * figures, malloc_trim() to return them. Built elsewhere, or against an
 * older glibc, the figures are unknown and nothing is trimmed.
 *
 * Both walk every arena under its lock, one arena at a time: other
 * threads that allocate from the arena being walked wait. Call them on
 * an interval, never on every request. */

#ifndef MW_HEAP_H
#define MW_HEAP_H

#include <apr.h>
#include <apr_errno.h>

/* What malloc holds, over all its arenas. */
typedef struct mw_heap_t {
    apr_uint64_t in_use;        /* handed out and not freed (uordblks),
                                 * and mmapped blocks (hblkhd) */
    apr_uint64_t free_bytes;    /* free but kept (fordblks): resident or
                                 * not, as malloc cannot tell */
} mw_heap_t;

/* NULL when the figures can be read, or a trim made, else why not (for
 * the page and the start-up log). */
const char *mw_heap_unavailable(void);
const char *mw_heap_trim_unavailable(void);

/* The figures now: APR_SUCCESS, or APR_ENOTIMPL where they cannot be read. */
apr_status_t mw_heap_read(mw_heap_t *out);

/* Give free memory back to the system (malloc_trim(0): the top of each
 * arena and every whole free page within it). APR_SUCCESS when called,
 * whatever it released, APR_ENOTIMPL where it cannot be. */
apr_status_t mw_heap_trim(void);

#endif /* MW_HEAP_H */
