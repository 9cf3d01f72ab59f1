/* Licensed under the Apache License, Version 2.0. */

/* mw_cgroup: the memory cgroup a process runs in, on either hierarchy,
 * and the machine's memory and pressure (PSI). Every path is under a
 * root directory ("/" on a live system, a recorded tree in the tests), and
 * every file is read whole with one open/read/close: the parent reads them
 * once a second, a page once per view. */

#ifndef MW_CGROUP_H
#define MW_CGROUP_H

#include <apr_pools.h>

typedef enum {
    MW_CGROUP_NONE = 0,             /* no memory controller found */
    MW_CGROUP_V1 = 1,
    MW_CGROUP_V2 = 2
} mw_cgroup_version_e;

/* Where a process's memory cgroup is. */
typedef struct mw_cgroup_t {
    mw_cgroup_version_e version;
    char path[256];                 /* as /proc/PID/cgroup names it, "/"
                                     * for the root group */
    char dir[512];                  /* its directory as the system names
                                     * it ("/sys/fs/cgroup/memory/x"); the
                                     * readers look under the root */
} mw_cgroup_t;

/* A group's figures. MW_UNKNOWN (mw_names.h) where a file is missing,
 * unreadable or says there is no limit ("max", or v1's near-2^63). */
typedef struct mw_cgroup_figures_t {
    apr_uint64_t limit_bytes;       /* memory.max; v1 memory.limit_in_bytes */
    apr_uint64_t high_bytes;        /* memory.high (v2 only) */
    apr_uint64_t usage_bytes;       /* memory.current; v1 usage_in_bytes */
    apr_uint64_t oom_kills;         /* memory.events oom_kill; v1
                                     * memory.oom_control oom_kill */
    apr_uint64_t fail_count;        /* v1 memory.failcnt; v2 memory.events
                                     * max (times usage hit the limit) */
    /* memory.pressure (v2) or, where the group has none, the machine's
     * /proc/pressure/memory: avg10 in hundredths of a percent (1234 is
     * 12.34 %), MW_PSI_UNKNOWN if neither can be read. */
    apr_uint32_t pressure_some_avg10;
    apr_uint32_t pressure_full_avg10;
    int pressure_of_group;          /* 1: the group's own, 0: the machine's */
} mw_cgroup_figures_t;

#define MW_PSI_UNKNOWN APR_UINT32_MAX

/* Find the memory cgroup of process `pid` (0: this one, "self") from
 * ROOT/proc/PID/cgroup and ROOT/proc/PID/mountinfo: the v1 "memory"
 * controller's line and mount if there is one, else the v2 ("0::") line
 * and the cgroup2 mount, if the memory controller is enabled for the group
 * (its cgroup.controllers, which its parent's subtree_control sets, lists
 * "memory"). APR_ENOENT with version MW_CGROUP_NONE when there is no
 * memory cgroup; APR_EINVAL (and MW_CGROUP_NONE) for a path with a "."
 * or ".." segment, which could leave the mount. */
apr_status_t mw_cgroup_find(const char *root, long pid, mw_cgroup_t *cg);

/* Read a found group's figures, and the pressure (the group's, or the
 * machine's from ROOT/proc/pressure/memory). Missing, unreadable or
 * malformed files leave their figures MW_UNKNOWN: returns APR_SUCCESS if
 * anything was read, else APR_ENOENT. With MW_CGROUP_NONE, only the
 * machine's pressure is read. */
apr_status_t mw_cgroup_read(const char *root, const mw_cgroup_t *cg,
                            mw_cgroup_figures_t *out);

/* MemTotal from ROOT/proc/meminfo, in bytes. */
apr_status_t mw_meminfo_total(const char *root, apr_uint64_t *bytes);

/* The parsers the readers use, on NUL-terminated text. */

/* "some avg10=1.23 avg60=... total=...\nfull avg10=..." into hundredths
 * of a percent. A line that is missing or malformed (avg10 above 100)
 * leaves its figure MW_PSI_UNKNOWN; APR_EINVAL if both are. */
apr_status_t mw_psi_parse(const char *text, apr_uint32_t *some_avg10,
                          apr_uint32_t *full_avg10);

/* A "key value" line's value from flat-keyed text (memory.events,
 * memory.oom_control, memory.stat): APR_ENOENT if no line has the key,
 * APR_EINVAL if its value is not a number. A value past 2^64 is
 * MW_UNKNOWN. */
apr_status_t mw_cgroup_keyed(const char *text, const char *key,
                             apr_uint64_t *value);

/* A single number, or "max" (MW_UNKNOWN), as memory.max or
 * memory.limit_in_bytes hold it, blanks and a newline around it; v1's
 * "no limit" (at or above 2^62, and so any longer number) is MW_UNKNOWN
 * too. APR_EINVAL for anything else. */
apr_status_t mw_cgroup_number(const char *text, apr_uint64_t *value);

/* The budget a percentage of memory means: of the group's memory.high
 * when that is set, else of its limit, else of MemTotal (`total`, or
 * MW_UNKNOWN). A high mark above the limit, or a limit above MemTotal, is
 * never reached first: the lowest of those known is taken. `percent` is 1
 * to 100 (more is taken as 100). *basis names what it was taken of:
 * "memory.high", "memory.max", "memory.limit_in_bytes" or "MemTotal";
 * 0 if nothing is known. `f` may be NULL (no group). */
apr_uint64_t mw_cgroup_budget(const mw_cgroup_t *cg,
                              const mw_cgroup_figures_t *f,
                              apr_uint64_t total, unsigned percent,
                              const char **basis);

#endif /* MW_CGROUP_H */
