/* Licensed under the Apache License, Version 2.0. */

/* The parent's own record of its children, kept from the MPM's
 * child_status hook in the parent's memory: the shared table is written
 * by children and names pids no one vouches for. Every signal the parent
 * sends and every /proc read it makes about a pid from the table goes
 * through here. Parent only, from its main thread (the monitor and
 * child_status hooks); in a child every pid is refused. */

#ifndef MOD_MEMWATCH_CHILDREN_H
#define MOD_MEMWATCH_CHILDREN_H

#include <sys/types.h>

#include "httpd.h"
#include "apr_errno.h"

/* Is pid a live child of this parent, one the MPM started (never the
 * parent itself, a piped logger, or a process that took a former child's
 * pid)? Nothing is logged. */
int mw_children_known(pid_t pid);

/* As mw_children_known, for a pid read from slot table_slot of the shared
 * table; a pid that is not a live child is logged (MW0018, warning) once
 * per table slot and pid. */
int mw_children_vouch(server_rec *s, int table_slot, pid_t pid);

/* Send sig to pid only if it is a live child of this parent (as
 * mw_children_vouch, which logs a refusal); otherwise APR_EINVAL. Else
 * APR_SUCCESS or the errno of kill(). */
apr_status_t mw_children_signal(server_rec *s, int table_slot, pid_t pid,
                                int sig);

/* A child's resident set size now, or 0: only a live child of this
 * parent is read (never another process's memory, published on the
 * page). */
apr_uint64_t mw_children_rss(pid_t pid);

/* post_config, from mod_memwatch.c: sized before the first child. */
void mw_children_post_config(server_rec *s);

/* child_status: the record follows the MPM's children. */
void mw_children_register_hooks(void);

#endif /* MOD_MEMWATCH_CHILDREN_H */
