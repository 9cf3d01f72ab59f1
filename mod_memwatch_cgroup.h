/* Licensed under the Apache License, Version 2.0. */

/* The memory cgroup the server runs in (mw_cgroup.h): found by the parent
 * at post_config and inherited by its children, its figures read when
 * wanted (by the parent's pass, every ten seconds, for MemwatchPressure; by
 * a page once per view), never on the request path. */

#ifndef MOD_MEMWATCH_CGROUP_H
#define MOD_MEMWATCH_CGROUP_H

#include "httpd.h"

#include "mw_cgroup.h"

/* Find the group; settle a percentage MemwatchMaxTotalPrivate from it;
 * log once what cannot work here (MW0021). OK, or !OK when the budget
 * cannot hold (MW0008). */
int mw_cgroup_post_config(server_rec *s, apr_pool_t *ptemp);

/* The group found (version MW_CGROUP_NONE: none). */
const mw_cgroup_t *mw_cgroup_found(void);

/* Its figures and the pressure now; the machine's memory (MemTotal). */
void mw_cgroup_now(mw_cgroup_figures_t *out);
apr_uint64_t mw_cgroup_mem_total(void);

#endif /* MOD_MEMWATCH_CGROUP_H */
