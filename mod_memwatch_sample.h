/* Licensed under the Apache License, Version 2.0. */

/* The figures of every request and connection, history, trend and
 * attribution. */

#ifndef MOD_MEMWATCH_SAMPLE_H
#define MOD_MEMWATCH_SAMPLE_H

#include "httpd.h"

#include "mod_memwatch_table.h"

/* A connection's record was made (pre_connection). */
void mw_sample_conn_init(conn_rec *c, mw_conn_t *conn);

/* Parent: a history sample of the child `pid` in slot `index` (copied as
 * copy), if it has served nothing lately. */
void mw_sample_idle(int index, pid_t pid, const mw_slot_copy_t *copy,
                    apr_time_t now);

/* Lifecycle, called in order from mod_memwatch.c. */
void mw_sample_post_config(server_rec *s);
void mw_sample_child_init(apr_pool_t *pchild, server_rec *s);

/* The request path: post_read_request, log_transaction, and the stream
 * filter. */
void mw_sample_register_hooks(void);

#endif /* MOD_MEMWATCH_SAMPLE_H */
