/* Licensed under the Apache License, Version 2.0. */

/* The checks are the compiler's: glibc declares mallinfo2 from 2.33 on and
 * malloc_trim from long before; nothing else is assumed of the C library. */

#include "mw_heap.h"

#if defined(__GLIBC__) \
    && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#define MW_HAVE_MALLINFO2 1
#endif

#ifdef __GLIBC__
#include <malloc.h>
#endif

const char *mw_heap_unavailable(void)
{
#ifdef MW_HAVE_MALLINFO2
    return NULL;
#else
    return "this C library has no mallinfo2 (glibc 2.33 and later)";
#endif
}

const char *mw_heap_trim_unavailable(void)
{
#ifdef __GLIBC__
    return NULL;
#else
    return "this C library has no malloc_trim (glibc)";
#endif
}

apr_status_t mw_heap_read(mw_heap_t *out)
{
#ifdef MW_HAVE_MALLINFO2
    struct mallinfo2 mi = mallinfo2();

    out->in_use = (apr_uint64_t)mi.uordblks + (apr_uint64_t)mi.hblkhd;
    out->free_bytes = (apr_uint64_t)mi.fordblks;
    return APR_SUCCESS;
#else
    return APR_ENOTIMPL;
#endif
}

apr_status_t mw_heap_trim(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
    return APR_SUCCESS;
#else
    return APR_ENOTIMPL;
#endif
}
