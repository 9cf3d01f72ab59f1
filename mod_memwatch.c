/* Licensed under the Apache License, Version 2.0. */

/* mod_memwatch: per-child memory sampling, the /memwatch status page and
 * graceful memory-triggered recycling of children.
 *
 * This file: the module record, and what every concern shares (declared
 * in mod_memwatch_private.h): the shared-memory table, this child's slot
 * in it and its own RSS. The concerns register their own hooks:
 * mod_memwatch_sample.c (figures of each request and connection),
 * mod_memwatch_retire.c (deciding and leaving), mod_memwatch_status.c
 * (the page); directives are in mod_memwatch_config.c. */

#include <fcntl.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "apr_shm.h"

#include "ap_mpm.h"
#include "http_connection.h"
#include "http_core.h"

#include "mod_memwatch_private.h"
#include "mod_memwatch_children.h"
#include "mod_memwatch_config.h"
#include "mod_memwatch_leave.h"
#include "mod_memwatch_retire.h"
#include "mod_memwatch_sample.h"
#include "mod_memwatch_status.h"
#include "mw_pool.h"
#include "mw_proc.h"

/* Set in post_config (parent, inherited by children) and child_init. */
static mw_table_t table;
static int have_table;
static const char *smaps_unavailable;
static const char *pools_unavailable;
static apr_size_t page_size;
static int statm_fd = -1;
static mw_slot_t *my_slot;
static int my_slot_index = -1;

/* Kept across graceful restarts so the table (and children's figures)
 * survive them and no segment is leaked per restart. */
typedef struct mw_retained_t {
    apr_shm_t *shm;
} mw_retained_t;

const mw_table_t *mw_table(void)
{
    return have_table ? &table : NULL;
}

mw_slot_t *mw_my_slot(void)
{
    return my_slot;
}

int mw_my_slot_index(void)
{
    return my_slot_index;
}

const char *mw_smaps_unavailable(void)
{
    return smaps_unavailable;
}

const char *mw_pools_unavailable(void)
{
    return pools_unavailable;
}

apr_uint64_t mw_own_rss(void)
{
    char buf[128];

    if (statm_fd < 0
        || mw_proc_pread(statm_fd, buf, sizeof(buf)) != APR_SUCCESS) {
        return 0;
    }
    return mw_statm_rss(buf, page_size);
}

apr_status_t mw_own_statm(mw_statm_t *st)
{
    char buf[128];
    apr_status_t rv;

    if (statm_fd < 0) {
        return APR_ENOENT;
    }
    rv = mw_proc_pread(statm_fd, buf, sizeof(buf));
    return rv == APR_SUCCESS ? mw_statm_parse(buf, page_size, st) : rv;
}

static int mw_pre_connection(conn_rec *c, void *csd)
{
    if (my_slot && !c->master) {
        ap_set_module_config(c->conn_config, &memwatch_module,
                             apr_pcalloc(c->pool, sizeof(mw_conn_t)));
    }
    return DECLINED;
}

void mw_layout_of(const mw_config_t *conf, mw_layout_t *layout)
{
    int hard_limit = 0, threaded = 0;

    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &hard_limit);
    ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded);
    layout->nslots = (apr_uint32_t)(hard_limit > 0 ? hard_limit : 1);
    /* worker starts a process in the scoreboard slot of one that is
     * still leaving: it may run more processes than ServerLimit. */
    if (threaded != AP_MPMQ_NOT_SUPPORTED) {
        layout->nslots *= 2;
    }
    layout->history_len = conf->history_len;
    layout->attr_len = conf->attribute_slots;
}

apr_uint64_t mw_rss_of(pid_t pid)
{
    mw_statm_t st;

    /* The pid comes from the shared table, which children write: read
     * only a child's memory, never publish another process's. */
    if (!mw_children_known(pid)) {
        return 0;
    }
    return mw_statm_read_pid((long)pid, page_size, &st) == APR_SUCCESS
           ? st.rss_bytes : 0;
}

static apr_status_t attach_table(server_rec *s, const mw_config_t *conf)
{
    mw_retained_t *ret;
    mw_layout_t layout;
    apr_status_t rv;
    const char *key = "mod_memwatch-shm";

    mw_layout_of(conf, &layout);

    ret = ap_retained_data_get(key);
    if (!ret) {
        ret = ap_retained_data_create(key, sizeof(*ret));
    }
    if (ret->shm) {
        rv = mw_table_open(&table, apr_shm_baseaddr_get(ret->shm),
                           apr_shm_size_get(ret->shm), &layout, 0);
        if (rv == APR_SUCCESS) {
            have_table = 1;
            return APR_SUCCESS;
        }
        /* ServerLimit, MemwatchHistory or MemwatchAttributeSlots changed:
         * old children keep their own mapping of the old segment. */
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "MW0001: layout changed, "
                     "starting a new table; figures of older children are "
                     "no longer shown");
        apr_shm_destroy(ret->shm);
        ret->shm = NULL;
    }
    rv = apr_shm_create(&ret->shm, mw_shm_size(&layout), NULL,
                        s->process->pool);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "MW0002: cannot create shared memory of %"
                     APR_SIZE_T_FMT
                     " bytes", mw_shm_size(&layout));
        return rv;
    }
    rv = mw_table_open(&table, apr_shm_baseaddr_get(ret->shm),
                       apr_shm_size_get(ret->shm), &layout, 1);
    have_table = rv == APR_SUCCESS;
    return rv;
}

static int mw_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    const mw_config_t *conf = mw_config(s);
    mw_smaps_t smaps;

    page_size = (apr_size_t)sysconf(_SC_PAGESIZE);
    /* Nothing to share on the first of the two start-up passes, nor for
     * -t / -D DUMP_*. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        || ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_NORMAL) {
        return OK;
    }

    if (mw_pool_init(pconf, &pools_unavailable) == MW_POOL_UNAVAILABLE) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MW0003: pool sizes "
                     "will not be reported: %s", pools_unavailable);
    }
    if (access("/proc/self/statm", R_OK) != 0) {
        /* RSS would read 0 on every request: nothing is measured, and no
         * limit is ever checked. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s, "MW0013: no "
                     "/proc/self/statm (mod_memwatch measures on Linux "
                     "only): RSS reads 0 and MemwatchMaxGrowth, "
                     "MemwatchMaxRSS, MemwatchMaxPrivate, MemwatchMinShared "
                     "and MemwatchMaxTotalPrivate are inactive");
    }
    smaps_unavailable = NULL;
    if (mw_smaps_read_pid(0, &smaps) != APR_SUCCESS) {
        smaps_unavailable = "this system has no "
                            "/proc/self/smaps_rollup (Linux 4.14+)";
        if (conf->limits.max_private || conf->limits.min_shared
            || conf->max_total_private) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "MW0004: MemwatchMaxPrivate, MemwatchMinShared and "
                         "MemwatchMaxTotalPrivate are inactive: %s",
                         smaps_unavailable);
        }
    }
    if (attach_table(s, conf) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static apr_status_t close_statm(void *data)
{
    if (statm_fd >= 0) {
        close(statm_fd);
        statm_fd = -1;
    }
    return APR_SUCCESS;
}

/* First of the module's child_init hooks: the concerns' own run after it
 * and find the slot claimed. */
static void mw_child_init(apr_pool_t *pchild, server_rec *s)
{
    int gen = 0;

    if (!have_table) {
        return;
    }
    statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (statm_fd < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s,
                     "MW0014: cannot open /proc/self/statm: the RSS of child %"
                     APR_PID_T_FMT " reads 0 and no limit applies to it",
                     getpid());
    }
    apr_pool_cleanup_register(pchild, NULL, close_statm,
                              apr_pool_cleanup_null);
    ap_mpm_query(AP_MPMQ_GENERATION, &gen);
    my_slot_index = mw_slot_claim(&table, (apr_uint32_t)getpid(),
                                  (apr_uint32_t)gen, apr_time_now(),
                                  mw_own_rss());
    if (my_slot_index < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MW0005: no free slot "
                     "for child %" APR_PID_T_FMT ", it is not watched",
                     getpid());
        return;
    }
    my_slot = mw_table_slot(&table, (apr_uint32_t)my_slot_index);
}

/* Parent: a child is gone (however it left); keep its figures. */
static void mw_child_status(server_rec *s, pid_t pid, ap_generation_t gen,
                            int slot, mpm_child_status status)
{
    int cur = 0;

    if (status != MPM_CHILD_EXITED || !have_table) {
        return;
    }
    ap_mpm_query(AP_MPMQ_GENERATION, &cur);
    mw_slot_reap(&table, (apr_uint32_t)pid, (apr_uint32_t)cur,
                 apr_time_now());
}

static void mw_register_hooks(apr_pool_t *p)
{
    /* After the MPM's, which settles ServerLimit. */
    ap_hook_check_config(mw_check_config, NULL, NULL, APR_HOOK_LAST);
    ap_hook_post_config(mw_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(mw_child_init, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_child_status(mw_child_status, NULL, NULL, APR_HOOK_MIDDLE);
    mw_children_register_hooks();
    ap_hook_pre_connection(mw_pre_connection, NULL, NULL,
                           APR_HOOK_REALLY_FIRST);
    mw_sample_register_hooks();
    mw_retire_register_hooks();
    mw_leave_register_hooks();
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
