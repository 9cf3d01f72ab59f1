/* Licensed under the Apache License, Version 2.0. */

/* The shared table and this process's place in it: the table (made in
 * the parent, kept across graceful restarts), a child's slot, its own
 * RSS, and the per-connection record each concern keeps its member in. */

#ifndef MOD_MEMWATCH_TABLE_H
#define MOD_MEMWATCH_TABLE_H

#include "httpd.h"

#include "mw_proc.h"
#include "mw_shm.h"

/* The shared table, or NULL where there is none (configtest, or it could
 * not be created). */
const mw_table_t *mw_table(void);

/* In a child: its slot in the table, or NULL when it is not watched. */
mw_slot_t *mw_my_slot(void);
int mw_my_slot_index(void);

/* In a child: its resident set size now (one pread of /proc/self/statm),
 * or 0 when it cannot be read; and the file-backed part of it too. */
apr_uint64_t mw_own_rss(void);
apr_status_t mw_own_statm(mw_statm_t *st);

/* In a child: malloc's figures into its slot, when MW_HEAP_INTERVAL has
 * passed since the last reading. mallinfo2 takes every arena's lock in
 * turn, so one thread reads: the watcher thread of a worker or event
 * child, the request path of a prefork child (on a request that read
 * RSS). */
#define MW_HEAP_INTERVAL apr_time_from_sec(1)
void mw_own_heap(apr_time_t now);

/* What this system cannot measure, and why (NULL: it can). */
const char *mw_smaps_unavailable(void);
const char *mw_pools_unavailable(void);

/* Per-connection state in c->conn_config, for each primary connection of
 * a watched child (mod_http2's secondary connections get none: other
 * threads use their pools). Each concern owns its member. */
typedef struct mw_conn_t {
    struct mw_sample_conn_t *sample;    /* mod_memwatch_sample.c */
    struct mw_leave_conn_t *leave;      /* mod_memwatch_leave.c */
} mw_conn_t;

/* The record of a connection, made for a primary connection of a watched
 * child (NULL otherwise). */
mw_conn_t *mw_conn_create(conn_rec *c);
mw_conn_t *mw_conn(conn_rec *c);

/* Attach the table (post_config, parent), and claim this child's slot
 * (child_init, before every other concern's). */
int mw_table_post_config(apr_pool_t *pconf, server_rec *s);
void mw_table_child_init(apr_pool_t *pchild, server_rec *s);

void mw_table_register_hooks(void);

#endif /* MOD_MEMWATCH_TABLE_H */
