/* Licensed under the Apache License, Version 2.0. */

/* Leaving: how a child that decided to retire stops taking work (new
 * connections, and new HTTP/2 streams) and exits with status 0, on each
 * MPM, without dropping a request. docs/recycling.md has the httpd source
 * this relies on. */

#ifndef MOD_MEMWATCH_LEAVE_H
#define MOD_MEMWATCH_LEAVE_H

#include "httpd.h"

#include "mod_memwatch_table.h"

/* This child will leave soon (it is over a limit, held back): the
 * parent may start its replacement now. */
void mw_leave_soon(void);

/* This child stops taking new work now, in its MPM's own way, and leaves
 * once the work it has is done. c is the connection being served, or NULL
 * on a thread that serves none (the watcher). */
void mw_leave_start(conn_rec *c);

/* Has this child begun to leave? */
int mw_leave_leaving(void);

/* Is the MPM threaded (worker, event)? Known after post_config. */
int mw_leave_threaded(void);

/* The longest a leaving worker or event child waits for its idle
 * keep-alive connections to end: the longest KeepAliveTimeout and a
 * second. */
apr_interval_time_t mw_leave_max_wait(void);

/* From the watcher thread of a leaving worker or event child, about every
 * 10 ms: an idle child's listener would never see that the child may go;
 * wake it. */
void mw_leave_tick(void);

/* The begin and end of each request of a watched child (conn is NULL on
 * a mod_http2 secondary connection), from the request path
 * (mod_memwatch_sample.c owns those hooks: a hook of its own would cost
 * each request its dispatch and the lookups again). */
void mw_leave_request_begin(request_rec *r, mw_conn_t *conn);
void mw_leave_request_end(request_rec *r, mw_conn_t *conn);

/* A connection's record was made (pre_connection). */
void mw_leave_conn_init(conn_rec *c, mw_conn_t *conn);

/* Lifecycle, called in order from mod_memwatch.c. */
void mw_leave_post_config(server_rec *s);
void mw_leave_child_init(apr_pool_t *pchild, server_rec *s);

/* mpm_query: a leaving child is stopping. */
void mw_leave_register_hooks(void);

#endif /* MOD_MEMWATCH_LEAVE_H */
