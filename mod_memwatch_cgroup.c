/* Licensed under the Apache License, Version 2.0. */

/* The server's memory cgroup, its limit as MemwatchMaxTotalPrivate's
 * basis, and memory pressure (docs/recycling.md, "Memory cgroups"). */

#include "httpd.h"
#include "http_core.h"
#include "http_log.h"

#include "mod_memwatch_private.h"
#include "mod_memwatch_config.h"
#include "mod_memwatch_cgroup.h"
#include "mw_format.h"
#include "mw_names.h"

static mw_cgroup_t group;
static apr_uint64_t mem_total;

const mw_cgroup_t *mw_cgroup_found(void)
{
    return &group;
}

apr_uint64_t mw_cgroup_mem_total(void)
{
    return mem_total;
}

void mw_cgroup_now(mw_cgroup_figures_t *out)
{
    mw_cgroup_read("/", &group, out);
}

static const char *version_name(mw_cgroup_version_e v)
{
    return v == MW_CGROUP_V2 ? "v2" : "v1";
}

int mw_cgroup_post_config(server_rec *s, apr_pool_t *ptemp)
{
    const mw_config_t *conf = mw_config(s);
    mw_cgroup_figures_t f;
    const char *basis;
    apr_uint64_t budget;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        || ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_NORMAL) {
        return OK;
    }
    if (mw_cgroup_find("/", 0, &group) != APR_SUCCESS) {
        group.version = MW_CGROUP_NONE;
    }
    if (mw_meminfo_total("/", &mem_total) != APR_SUCCESS) {
        mem_total = 0;
    }
    mw_cgroup_now(&f);
    if (group.version != MW_CGROUP_NONE) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "MW0022: memory cgroup "
                     "%s (%s), limit %s", group.path,
                     version_name(group.version),
                     f.limit_bytes == MW_UNKNOWN
                     ? "none" : mw_format_size(ptemp, f.limit_bytes));
    }
    if (conf->pressure && f.pressure_some_avg10 == MW_PSI_UNKNOWN) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MW0021: "
                     "MemwatchPressure is inactive: neither the memory "
                     "cgroup nor the machine reports memory pressure (PSI, "
                     "/proc/pressure/memory; CONFIG_PSI, psi=1)");
    }
    if (!conf->max_total_private_percent) {
        return OK;
    }
    budget = mw_cgroup_budget(&group, &f, mem_total,
                              conf->max_total_private_percent, &basis);
    if (!budget) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MW0021: "
                     "MemwatchMaxTotalPrivate %u%% is inactive: no memory "
                     "cgroup limit, and MemTotal cannot be read",
                     conf->max_total_private_percent);
    }
    return mw_config_settle_total(s, ptemp, budget, basis);
}
