/* Licensed under the Apache License, Version 2.0. */

/* mod_memwatch: per-child memory sampling, the /memwatch status page and
 * graceful memory-triggered recycling of children.
 *
 * This file: the module record, and the order of start-up. Each concern
 * registers its own hooks; post_config, child_init and pre_connection are
 * sequenced here by direct calls, from the bottom of the layering up:
 *   mod_memwatch_config.c    directives and their checks
 *   mod_memwatch_children.c  the parent's own record of its children
 *   mod_memwatch_table.c     the shared table, a child's slot and RSS
 *   mod_memwatch_mapping.c   a child's growth by mapping since warm-up
 *   mod_memwatch_leave.c     a retiring child leaving, per MPM
 *   mod_memwatch_retire.c    deciding that a child retires
 *   mod_memwatch_sample.c    the figures of each request and connection
 *   mod_memwatch_parent.c    the parent's pass over its children
 *   mod_memwatch_status.c    /memwatch and the mod_status section */

#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"

#include "mod_memwatch_private.h"
#include "mod_memwatch_config.h"
#include "mod_memwatch_cgroup.h"
#include "mod_memwatch_children.h"
#include "mod_memwatch_table.h"
#include "mod_memwatch_mapping.h"
#include "mod_memwatch_leave.h"
#include "mod_memwatch_retire.h"
#include "mod_memwatch_sample.h"
#include "mod_memwatch_parent.h"
#include "mod_memwatch_status.h"

static int mw_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    int rv = mw_table_post_config(pconf, s);

    if (rv != OK || (rv = mw_cgroup_post_config(s, ptemp)) != OK) {
        return rv;
    }
    mw_children_post_config(s);
    mw_leave_post_config(s);
    mw_retire_post_config(s);
    mw_sample_post_config(s);
    return mw_status_post_config(s);
}

/* Leaving first: its pchild cleanup, registered first, runs last of all.
 * Then the slot, which the other concerns find claimed. */
static void mw_child_init(apr_pool_t *pchild, server_rec *s)
{
    mw_leave_child_init(pchild, s);
    mw_table_child_init(pchild, s);
    mw_mapping_child_init(pchild, s);
    mw_retire_child_init(pchild, s);
    mw_sample_child_init(pchild, s);
}

static int mw_pre_connection(conn_rec *c, void *csd)
{
    mw_conn_t *conn = mw_conn_create(c);

    if (conn) {
        mw_leave_conn_init(c, conn);
        mw_sample_conn_init(c, conn);
    }
    return DECLINED;
}

static void mw_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(mw_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* Really first, for leaving's pchild cleanup (above). */
    ap_hook_child_init(mw_child_init, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_pre_connection(mw_pre_connection, NULL, NULL,
                           APR_HOOK_REALLY_FIRST);
    mw_config_register_hooks();
    mw_children_register_hooks();
    mw_table_register_hooks();
    mw_leave_register_hooks();
    mw_retire_register_hooks();
    mw_sample_register_hooks();
    mw_parent_register_hooks();
    mw_status_register_hooks();
}

module AP_MODULE_DECLARE_DATA memwatch_module = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* per-directory config creator */
    NULL,                       /* dir config merger */
    mw_create_server_config,    /* server config creator */
    NULL,                       /* server config merger */
    mw_cmds,                    /* command table */
    mw_register_hooks,          /* set up other request processing hooks */
    AP_MODULE_FLAG_NONE
};
