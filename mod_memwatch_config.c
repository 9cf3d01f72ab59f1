/* Licensed under the Apache License, Version 2.0. */

/* Directives: parsing, defaults and the checks that stop configtest. */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "ap_mpm.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "mod_memwatch_private.h"
#include "mod_memwatch_config.h"
#include "mw_format.h"

void *mw_create_server_config(apr_pool_t *p, server_rec *s)
{
    mw_config_t *c = apr_pcalloc(p, sizeof(*c));

    c->warmup = 100;
    c->check_every = 1;
    c->jitter = 0;
    c->ceiling = 25;
    c->max_retiring = 1;
    c->min_lifetime = 0;
    c->exit_timeout = 30;
    c->trim = 1;
    c->history_len = 120;
    c->history_interval = 30;
    c->attribute_depth = 2;
    c->attribute_slots = 256;
    c->attribute_group_ids = 1;
    c->smaps_interval = 5;
    return c;
}

const mw_config_t *mw_config(server_rec *s)
{
    return ap_get_module_config(s->module_config, &memwatch_module);
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

int mw_config_may_retire(const mw_config_t *conf)
{
    /* After post_config: a percentage budget is settled into bytes by
     * then (0 where nothing gave it a basis, MW0021). */
    return mw_policy_active(&conf->limits) || conf->max_total_private
           || conf->pressure || conf->allow_recycle;
}

int mw_config_one_process(void)
{
    return ap_exists_config_define("ONE_PROCESS")
           || ap_exists_config_define("DEBUG");
}

static const char *global_only(cmd_parms *cmd)
{
    return ap_check_cmd_context(cmd, GLOBAL_ONLY);
}

static const char *set_size(cmd_parms *cmd, void *dummy, const char *arg)
{
    mw_config_t *c = ap_get_module_config(cmd->server->module_config,
                                          &memwatch_module);
    apr_uint64_t *field = (apr_uint64_t *)((char *)c
                                           + (apr_size_t)cmd->info);
    const char *err = global_only(cmd);

    if (err) {
        return err;
    }
    if ((err = mw_parse_size(arg, field)) != NULL || *field == 0) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a size above zero "
                            "(%s); use bytes or a number with K, M or G, "
                            "e.g. %s 64M", cmd->cmd->name, arg,
                            err ? err : "zero", cmd->cmd->name);
    }
    return NULL;
}

/* A whole number in [min, max] into an apr_uint32_t field. */
static const char *parse_number(cmd_parms *cmd, const char *arg,
                                apr_uint32_t *field, apr_int64_t min,
                                apr_int64_t max, const char *form)
{
    char *end;
    apr_int64_t v;
    const char *err = global_only(cmd);

    if (err) {
        return err;
    }
    v = apr_strtoi64(arg, &end, 10);
    if (end == arg || (*end && strcmp(end, "%")) || v < min || v > max
        || (*end && !strstr(form, "%"))) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not valid; expected %s",
                            cmd->cmd->name, arg, form);
    }
    *field = (apr_uint32_t)v;
    return NULL;
}

/* What a one-number directive accepts, passed as its cmd->info (which is
 * not const, hence neither are these). */
typedef struct number_spec_t {
    apr_size_t offset;              /* of the apr_uint32_t in mw_config_t */
    apr_int64_t min;
    apr_int64_t max;
    const char *form;               /* "%" in it: a trailing % is allowed */
} number_spec_t;

#define NUMBER(field, min, max, form) \
    { APR_OFFSETOF(mw_config_t, field), min, max, form }

static number_spec_t warmup = NUMBER(warmup, 0, 100000000,
    "a number of requests from 0 upwards");
static number_spec_t check_every = NUMBER(check_every, 1, 1000000,
    "a number of requests from 1 to 1000000");
static number_spec_t jitter = NUMBER(jitter, 0, 50,
    "a percentage from 0 to 50, e.g. 10 or 10%");
static number_spec_t max_retiring = NUMBER(max_retiring, 1, 100000,
    "a number of children from 1 upwards");
static number_spec_t min_lifetime = NUMBER(min_lifetime, 0, 86400 * 365,
    "a number of seconds from 0 upwards");
static number_spec_t ceiling = NUMBER(ceiling, 0, 1000,
    "a percentage over each limit from 0 to 1000, e.g. 25%, or off");
static number_spec_t exit_timeout = NUMBER(exit_timeout, 0, 86400,
    "a number of seconds from 0 (never) to 86400");
static number_spec_t attribute_depth = NUMBER(attribute_depth, 0, 16,
    "a number of URL path segments from 0 to 16");
static number_spec_t attribute_slots = NUMBER(attribute_slots, 8, 65536,
    "a number of table entries from 8 to 65536");
static number_spec_t smaps_interval = NUMBER(smaps_interval, 1, 3600,
    "a number of seconds from 1 to 3600");

static const char *set_number(cmd_parms *cmd, void *dummy, const char *arg)
{
    const number_spec_t *spec = cmd->info;
    mw_config_t *c = ap_get_module_config(cmd->server->module_config,
                                          &memwatch_module);

    return parse_number(cmd, arg,
                        (apr_uint32_t *)((char *)c + spec->offset),
                        spec->min, spec->max, spec->form);
}

#define CONF(cmd) ((mw_config_t *)ap_get_module_config( \
                       (cmd)->server->module_config, &memwatch_module))

static const char *set_ceiling(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = global_only(cmd);

    if (!err && !strcasecmp(arg, "off")) {
        CONF(cmd)->ceiling = MW_CEILING_OFF;
        return NULL;
    }
    return err ? err : set_number(cmd, dummy, arg);
}

/* Bytes, or a percentage from 1 to 100 (settled at post_config). */
static const char *set_total_private(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    const char *err = global_only(cmd);
    apr_size_t len = strlen(arg);

    if (err) {
        return err;
    }
    CONF(cmd)->max_total_private_percent = 0;
    if (!len || arg[len - 1] != '%') {
        return set_size(cmd, dummy, arg);
    }
    CONF(cmd)->max_total_private = 0;
    return parse_number(cmd, arg, &CONF(cmd)->max_total_private_percent, 1,
                        100, "a size (e.g. 2G) or a percentage from 1% to "
                        "100% of the memory cgroup's limit, or of the "
                        "machine's memory where there is none");
}

/* Up to `max` decimal digits at *s into *v (scaled on), moving *s on;
 * returns how many were read. */
static int read_digits(const char **s, int max, apr_uint32_t *v)
{
    int n = 0;

    for (; n < max && apr_isdigit(**s); n++, (*s)++) {
        *v = *v * 10 + (apr_uint32_t)(**s - '0');
    }
    return n;
}

/* some|full, and a percentage from 0 to 100 with up to two decimals. */
static const char *set_pressure(cmd_parms *cmd, void *dummy,
                                const char *kind, const char *arg)
{
    const char *err = global_only(cmd), *s = arg;
    apr_uint32_t hundredths = 0;
    int whole, decimals = 0;

    if (err) {
        return err;
    }
    if (strcasecmp(kind, "some") && strcasecmp(kind, "full")) {
        return apr_psprintf(cmd->pool, "MemwatchPressure: '%s' is not some "
                            "or full (the PSI line to watch)", kind);
    }
    whole = read_digits(&s, 3, &hundredths);
    if (*s == '.') {
        s++;
        decimals = read_digits(&s, 2, &hundredths);
    }
    for (; decimals < 2; decimals++) {
        hundredths *= 10;
    }
    if (!whole || (*s && strcmp(s, "%")) || hundredths > 10000) {
        return apr_psprintf(cmd->pool, "MemwatchPressure: '%s' is not a "
                            "percentage from 0 to 100, e.g. 10 or 2.5%%",
                            arg);
    }
    CONF(cmd)->pressure = strcasecmp(kind, "some") ? MW_PRESSURE_FULL
                                                   : MW_PRESSURE_SOME;
    CONF(cmd)->pressure_threshold = hundredths;
    return NULL;
}

/* An On|Off directive; cmd->info is the offset of its int in
 * mw_config_t. */
static const char *set_flag(cmd_parms *cmd, void *d, int on)
{
    const char *err = global_only(cmd);

    if (!err) {
        *(int *)((char *)CONF(cmd) + (apr_size_t)cmd->info) = on;
    }
    return err;
}

static const char *set_history(cmd_parms *cmd, void *d, const char *n,
                               const char *interval)
{
    const char *err;

    err = parse_number(cmd, n, &CONF(cmd)->history_len, 2, 10000,
                     "MemwatchHistory samples [seconds], samples from 2 to "
                     "10000");
    if (!err && interval) {
        err = parse_number(cmd, interval, &CONF(cmd)->history_interval, 1,
                         86400, "MemwatchHistory samples [seconds], "
                         "seconds from 1 to 86400");
    }
    return err;
}

#define FIELD(f) (void *)APR_OFFSETOF(mw_config_t, f)

const command_rec mw_cmds[] = {
    AP_INIT_TAKE1("MemwatchMaxGrowth", set_size, FIELD(limits.max_growth),
                  RSRC_CONF, "Recycle a child whose RSS grew by more than "
                  "this since its baseline (bytes, or with K, M, G)"),
    AP_INIT_TAKE1("MemwatchMaxRSS", set_size, FIELD(limits.max_rss),
                  RSRC_CONF, "Recycle a child whose RSS exceeds this"),
    AP_INIT_TAKE1("MemwatchMaxPrivate", set_size,
                  FIELD(limits.max_private), RSRC_CONF,
                  "Recycle a child whose private memory exceeds this"),
    AP_INIT_TAKE1("MemwatchMinShared", set_size,
                  FIELD(limits.min_shared), RSRC_CONF,
                  "Recycle a child whose shared memory falls below this"),
    AP_INIT_TAKE1("MemwatchMaxTotalPrivate", set_total_private,
                  FIELD(max_total_private), RSRC_CONF,
                  "Retire the largest children while their private memory "
                  "together exceeds this (bytes, or a percentage of the "
                  "memory cgroup's limit or of the machine's memory)"),
    AP_INIT_TAKE2("MemwatchPressure", set_pressure, NULL, RSRC_CONF,
                  "some|full and a percentage: retire the largest child "
                  "while memory pressure (PSI avg10) stays above it"),
    AP_INIT_TAKE1("MemwatchWarmup", set_number, &warmup, RSRC_CONF,
                  "Requests a child serves before its baseline is taken"),
    AP_INIT_TAKE1("MemwatchCheckEvery", set_number, &check_every, RSRC_CONF,
                  "Check the limits when a fresh RSS reading falls on "
                  "every n-th request"),
    AP_INIT_TAKE1("MemwatchJitter", set_number, &jitter, RSRC_CONF,
                  "Move each child's limits by up to +/- this percentage"),
    AP_INIT_TAKE1("MemwatchMaxRetiring", set_number, &max_retiring, RSRC_CONF,
                  "At most this many children retiring at once"),
    AP_INIT_TAKE1("MemwatchMinLifetime", set_number, &min_lifetime, RSRC_CONF,
                  "Never recycle a child younger than this many seconds "
                  "(below the ceiling)"),
    AP_INIT_TAKE1("MemwatchCeiling", set_ceiling, &ceiling, RSRC_CONF,
                  "Past each limit by this percentage, a child leaves "
                  "whatever MemwatchMaxRetiring and MemwatchMinLifetime say"),
    AP_INIT_TAKE1("MemwatchExitTimeout", set_number, &exit_timeout, RSRC_CONF,
                  "Kill a child still exiting this many seconds after it "
                  "stopped serving (0: never)"),
    AP_INIT_FLAG("MemwatchDryRun", set_flag, FIELD(dry_run), RSRC_CONF,
                 "On: decide and log, but recycle nothing"),
    AP_INIT_FLAG("MemwatchTrim", set_flag, FIELD(trim), RSRC_CONF,
                 "On: a child over an RSS limit first gives malloc's free "
                 "memory back (malloc_trim) and retires only if still "
                 "over"),
    AP_INIT_TAKE12("MemwatchHistory", set_history, NULL, RSRC_CONF,
                   "Samples of history per child, and seconds between them"),
    AP_INIT_TAKE1("MemwatchAttributeDepth", set_number, &attribute_depth,
                  RSRC_CONF,
                  "URL path segments that make a prefix for attribution"),
    AP_INIT_TAKE1("MemwatchAttributeSlots", set_number, &attribute_slots,
                  RSRC_CONF,
                  "Entries in the attribution table"),
    AP_INIT_FLAG("MemwatchAttributeGroupIds", set_flag,
                 FIELD(attribute_group_ids), RSRC_CONF,
                 "On: path segments that look like identifiers (digits, "
                 "long hex, UUIDs) are grouped as :id in attribution"),
    AP_INIT_FLAG("MemwatchSampleStreams", set_flag, FIELD(sample_streams),
                 RSRC_CONF, "On: measure the request and connection pools "
                 "while a long response is still flowing (a filter on "
                 "every connection)"),
    AP_INIT_TAKE1("MemwatchSmapsInterval", set_number, &smaps_interval,
                  RSRC_CONF, "Seconds between reads of the private/shared "
                  "split (smaps_rollup) while a child is far from every "
                  "private-memory limit"),
    AP_INIT_FLAG("MemwatchAllowRecycle", set_flag, FIELD(allow_recycle),
                 RSRC_CONF, "On: a POST to the memwatch handler, with the "
                 "token of the page's button, recycles that child"),
    { NULL }
};

/* MW0008, for a budget in bytes or settled from a percentage. */
static int total_below_private(server_rec *s, apr_pool_t *p,
                               const mw_config_t *c)
{
    if (c->max_total_private && c->limits.max_private
        && c->max_total_private < c->limits.max_private) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                     "MW0008: MemwatchMaxTotalPrivate (%s) must not "
                     "be below MemwatchMaxPrivate (%s)",
                     mw_format_size(p, c->max_total_private),
                     mw_format_size(p, c->limits.max_private));
        return 1;
    }
    return 0;
}

int mw_config_settle_total(server_rec *s, apr_pool_t *ptemp,
                           apr_uint64_t budget, const char *basis)
{
    mw_config_t *c = ap_get_module_config(s->module_config,
                                          &memwatch_module);

    c->max_total_private = budget;
    if (budget) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "MW0020: "
                     "MemwatchMaxTotalPrivate %u%% of %s is %s",
                     c->max_total_private_percent, basis,
                     mw_format_size(ptemp, budget));
    }
    return total_below_private(s, ptemp, c) ? !OK : OK;
}

/* Limits that cannot all hold stop the server, like a syntax error. */
static int mw_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                    server_rec *s)
{
    const mw_config_t *c = mw_config(s);
    const mw_limits_t *l = &c->limits;
    mw_layout_t layout;
    apr_size_t size;

    mw_layout_of(c, &layout);
    if (mw_shm_size_check(&layout, MW_SHM_MAX_SIZE, &size) != APR_SUCCESS) {
        int server_limit = 0;

        ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &server_limit);
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                     "MW0017: MemwatchHistory %u samples x %u children "
                     "(ServerLimit %d%s; + MemwatchAttributeSlots %u) needs "
                     "more than the %s of shared memory mod_memwatch allows: "
                     "lower MemwatchHistory (each sample is %"
                     APR_SIZE_T_FMT " bytes a child)", layout.history_len,
                     layout.nslots, server_limit,
                     (int)layout.nslots > server_limit
                     ? ", twice over on a threaded MPM" : "",
                     layout.attr_len,
                     mw_format_size(ptemp, MW_SHM_MAX_SIZE),
                     sizeof(mw_sample_t));
        return !OK;
    }
    if (l->max_rss && l->min_shared && l->min_shared >= l->max_rss) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                     "MW0006: MemwatchMinShared (%s) must be below "
                     "MemwatchMaxRSS (%s): shared memory is part of RSS, so "
                     "every child would be over one of them",
                     mw_format_size(ptemp, l->min_shared),
                     mw_format_size(ptemp, l->max_rss));
        return !OK;
    }
    if (l->max_rss && l->max_private && l->max_private > l->max_rss) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                     "MW0007: MemwatchMaxPrivate (%s) must not exceed "
                     "MemwatchMaxRSS (%s): private memory is part of RSS",
                     mw_format_size(ptemp, l->max_private),
                     mw_format_size(ptemp, l->max_rss));
        return !OK;
    }
    return total_below_private(s, ptemp, c) ? !OK : OK;
}

void mw_config_register_hooks(void)
{
    /* After the MPM's, which settles ServerLimit. */
    ap_hook_check_config(mw_check_config, NULL, NULL, APR_HOOK_LAST);
}
