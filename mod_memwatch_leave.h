/* Licensed under the Apache License, Version 2.0. */

/* Leaving: how a child that decided to retire stops taking work (new
 * connections, and new HTTP/2 streams) and exits with status 0, on each
 * MPM, without dropping a request. docs/recycling.md has the httpd source
 * this relies on. */

#ifndef MOD_MEMWATCH_LEAVE_H
#define MOD_MEMWATCH_LEAVE_H

#include "httpd.h"

#include "mw_atomic.h"
#include "mw_hot.h"

/* What leaving needs to know on every request, on one cache line:
 * whether this child is leaving, and whether its MPM is threaded. Written
 * by mod_memwatch_leave.c only; read inline below. */
typedef struct mw_leave_hot_t {
    volatile apr_uint32_t leaving;
    int threaded;
} mw_leave_hot_t;
extern mw_leave_hot_t mw_leave_hot;

/* This child will leave soon (it is over a limit, held back): the
 * parent may start its replacement now. */
void mw_leave_soon(void);

/* This child stops taking new work now, in its MPM's own way, and leaves
 * once the work it has is done. c is the connection being served, or NULL
 * on a thread that serves none (the watcher). */
void mw_leave_start(conn_rec *c);

/* The longest a leaving worker or event child waits for its idle
 * keep-alive connections to end: the longest KeepAliveTimeout and a
 * second. */
apr_interval_time_t mw_leave_max_wait(void);

/* From the watcher thread of a leaving worker or event child, about every
 * 100 ms: an idle child's listener would never see that the child may go;
 * wake it. */
void mw_leave_tick(void);

/* The accounting of a threaded child's connections: on worker and event,
 * run on every request (conn is NULL on a mod_http2 secondary
 * connection). */
MW_HOT void mw_leave_track_begin(request_rec *r, struct mw_conn_t *conn,
                                 int leaving);
MW_HOT void mw_leave_track_end(request_rec *r, struct mw_conn_t *conn);

/* The first request that begins after the decision (cold). */
void mw_leave_request_begin_leaving(request_rec *r);

/* The begin and end of each request of a watched child, from the request
 * path (mod_memwatch_sample.c owns those hooks: a hook of its own would
 * cost each request its dispatch and the lookups again). Inline: on
 * prefork all they do is read a flag, cheaper than the call. */
static APR_INLINE void mw_leave_request_begin(request_rec *r,
                                              struct mw_conn_t *conn)
{
    int leaving = mw_atomic_read32(&mw_leave_hot.leaving) != 0;

    if (MW_UNLIKELY(leaving)) {
        mw_leave_request_begin_leaving(r);
    }
    if (mw_leave_hot.threaded) {
        mw_leave_track_begin(r, conn, leaving);
    }
}

static APR_INLINE void mw_leave_request_end(request_rec *r,
                                            struct mw_conn_t *conn)
{
    if (mw_leave_hot.threaded && conn) {
        mw_leave_track_end(r, conn);
    }
}

void mw_leave_register_hooks(void);

#endif /* MOD_MEMWATCH_LEAVE_H */
