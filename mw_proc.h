/* Licensed under the Apache License, Version 2.0. */

/* mw_proc: reading a process's memory figures from Linux /proc.
 * The parsers are pure; the readers take an open descriptor so a child can
 * keep /proc/self/statm open and pay one pread per request. */

#ifndef MW_PROC_H
#define MW_PROC_H

#include <apr_pools.h>

/* From /proc/PID/statm: resident set and its file-backed/shm part. */
typedef struct mw_statm_t {
    apr_uint64_t rss_bytes;
    apr_uint64_t shared_bytes;
} mw_statm_t;

/* From /proc/PID/smaps_rollup: the private/shared split. */
typedef struct mw_smaps_t {
    apr_uint64_t rss_bytes;
    apr_uint64_t pss_bytes;
    apr_uint64_t private_bytes;     /* Private_Clean + Private_Dirty +
                                     * swap: what the process costs */
    apr_uint64_t swap_bytes;        /* SwapPss (Swap where the kernel
                                     * has no SwapPss) */
    apr_uint64_t shared_bytes;      /* Shared_Clean + Shared_Dirty */
} mw_smaps_t;

/* Parse the text of statm ("size resident shared text lib data dt"). */
apr_status_t mw_statm_parse(const char *text, apr_size_t page_size,
                            mw_statm_t *out);

/* Only the resident set from statm text, in bytes, or 0 if malformed: the
 * part of mw_statm_parse the per-request path needs. */
apr_uint64_t mw_statm_rss(const char *text, apr_size_t page_size);

/* From /proc/PID/stat: who started a process, and when. */
typedef struct mw_stat_t {
    long ppid;
    apr_uint64_t start;             /* clock ticks after boot */
} mw_stat_t;

/* Parse the text of stat ("pid (comm) state ppid ... starttime(22)");
 * comm may hold spaces and parentheses. */
apr_status_t mw_stat_parse(const char *text, mw_stat_t *out);

/* Parse the text of smaps_rollup (lines "Name:  N kB"). */
apr_status_t mw_smaps_parse(const char *text, mw_smaps_t *out);

/* A line of smaps or smaps_rollup, "Name:   N kB": if it is the field
 * `name`, its figure in bytes into *bytes, saturated at MW_PROC_KB_MAX
 * (so that sums and differences of a few still fit an apr_int64_t), and
 * 1; else 0. */
#define MW_PROC_KB_MAX ((apr_uint64_t)1 << 62)
int mw_proc_kb_field(const char *line, const char *name,
                     apr_uint64_t *bytes);

/* pread() the whole of an open /proc file into buf (NUL-terminated). */
apr_status_t mw_proc_pread(int fd, char *buf, apr_size_t size);

/* Read /proc/PID/smaps_rollup of another process (pid 0: this one). */
apr_status_t mw_smaps_read_pid(long pid, mw_smaps_t *out);

/* Read /proc/PID/stat of another process (pid 0: this one). */
apr_status_t mw_stat_read_pid(long pid, mw_stat_t *out);

/* Read /proc/PID/statm of another process (pid 0: this one). */
apr_status_t mw_statm_read_pid(long pid, apr_size_t page_size,
                               mw_statm_t *out);

#endif /* MW_PROC_H */
