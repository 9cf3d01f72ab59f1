/* Licensed under the Apache License, Version 2.0. */

/* mw_sample: one point of a child's history, as the shared table keeps it
 * (mw_shm.h) and the view hands it to the renderers (mw_view.h). */

#ifndef MW_SAMPLE_H
#define MW_SAMPLE_H

#include <apr.h>

typedef struct mw_sample_t {
    apr_int64_t time;               /* apr_time_t */
    apr_uint64_t rss;
    apr_uint64_t private_bytes;     /* MW_UNKNOWN where not known */
    apr_uint64_t shared_bytes;
    apr_uint64_t requests;
    apr_uint64_t request_pool_peak;
    apr_uint64_t connection_pool_peak;
} mw_sample_t;

#endif /* MW_SAMPLE_H */
