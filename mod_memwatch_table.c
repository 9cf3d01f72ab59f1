/* Licensed under the Apache License, Version 2.0. */

/* The shared table and this process's place in it (mod_memwatch_table.h).
 * The table is made by the parent in post_config and kept across graceful
 * restarts; each child claims a slot in child_init, and frees it as it
 * exits (mod_memwatch_leave.c), or the parent does when it reaps it. */

#include <fcntl.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "apr_shm.h"

#include "ap_mpm.h"
#include "http_core.h"
#include "http_main.h"

#include "mod_memwatch_private.h"
#include "mod_memwatch_config.h"
#include "mod_memwatch_table.h"
#include "mw_pool.h"

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

void mw_own_heap(apr_time_t now)
{
    mw_heap_t heap;

    if (!my_slot || mw_heap_unavailable()
        || !mw_slot_heap_due(my_slot, now, MW_HEAP_INTERVAL)) {
        return;
    }
    mw_slot_note_heap(my_slot, now, mw_heap_read(&heap) == APR_SUCCESS
                                    ? &heap : NULL);
}

mw_conn_t *mw_conn_create(conn_rec *c)
{
    mw_conn_t *conn;

    if (!my_slot || c->master) {
        return NULL;
    }
    conn = apr_pcalloc(c->pool, sizeof(*conn));
    ap_set_module_config(c->conn_config, &memwatch_module, conn);
    return conn;
}

mw_conn_t *mw_conn(conn_rec *c)
{
    return c->master ? NULL
           : ap_get_module_config(c->conn_config, &memwatch_module);
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

int mw_table_post_config(apr_pool_t *pconf, server_rec *s)
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

void mw_table_child_init(apr_pool_t *pchild, server_rec *s)
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
static void table_child_status(server_rec *s, pid_t pid, ap_generation_t gen,
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

void mw_table_register_hooks(void)
{
    ap_hook_child_status(table_child_status, NULL, NULL, APR_HOOK_MIDDLE);
}
