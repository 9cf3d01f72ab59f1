/* Licensed under the Apache License, Version 2.0. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_errno.h>

#include "mw_proc.h"

/* Parse one decimal field and the spaces after it. Hand-rolled: this
 * runs on every request, and strtoull's generality costs several times
 * more. */
static const char *statm_field(const char *p, apr_uint64_t *v)
{
    apr_uint64_t n = 0;
    const char *start = p;

    while (*p >= '0' && *p <= '9') {
        n = n * 10 + (apr_uint64_t)(*p++ - '0');
    }
    if (p == start || p - start > 19) {
        return NULL;
    }
    while (*p == ' ') {
        p++;
    }
    *v = n;
    return p;
}

apr_status_t mw_statm_parse(const char *text, apr_size_t page_size,
                            mw_statm_t *out)
{
    apr_uint64_t size, resident, shared;

    if (!(text = statm_field(text, &size))
        || !(text = statm_field(text, &resident))
        || !(text = statm_field(text, &shared))
        || resident > size || shared > resident) {
        return APR_EINVAL;
    }
    out->rss_bytes = resident * page_size;
    out->shared_bytes = shared * page_size;
    return APR_SUCCESS;
}

apr_uint64_t mw_statm_rss(const char *text, apr_size_t page_size)
{
    apr_uint64_t size, resident;

    if (!(text = statm_field(text, &size))
        || !statm_field(text, &resident) || resident > size) {
        return 0;
    }
    return resident * page_size;
}

int mw_proc_kb_field(const char *line, const char *name,
                     apr_uint64_t *bytes)
{
    apr_size_t n = strlen(name);
    apr_uint64_t kb = 0;
    const char *p;

    if (strncmp(line, name, n) || line[n] != ':') {
        return 0;
    }
    for (p = line + n + 1; *p == ' ' || *p == '\t'; p++) {
    }
    if (*p < '0' || *p > '9') {
        return 0;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        kb = kb > MW_PROC_KB_MAX / 1024 / 10
             ? MW_PROC_KB_MAX / 1024 : kb * 10 + (apr_uint64_t)(*p - '0');
    }
    *bytes = kb > MW_PROC_KB_MAX / 1024 ? MW_PROC_KB_MAX : kb * 1024;
    return 1;
}

apr_status_t mw_smaps_parse(const char *text, mw_smaps_t *out)
{
    apr_uint64_t rss = 0, pss = 0, pc = 0, pd = 0, sc = 0, sd = 0;
    apr_uint64_t swap = 0, swap_pss = 0;
    int seen = 0;
    const char *line = text;

    while (line && *line) {
        seen |= mw_proc_kb_field(line, "Rss", &rss) << 0;
        seen |= mw_proc_kb_field(line, "Pss", &pss) << 1;
        seen |= mw_proc_kb_field(line, "Private_Clean", &pc) << 2;
        seen |= mw_proc_kb_field(line, "Private_Dirty", &pd) << 3;
        seen |= mw_proc_kb_field(line, "Shared_Clean", &sc) << 4;
        seen |= mw_proc_kb_field(line, "Shared_Dirty", &sd) << 5;
        seen |= mw_proc_kb_field(line, "Swap", &swap) << 6;
        seen |= mw_proc_kb_field(line, "SwapPss", &swap_pss) << 7;
        line = strchr(line, '\n');
        if (line) {
            line++;
        }
    }
    /* Rss and the four Private/Shared lines are required; Pss optional. */
    if ((seen & 0x3d) != 0x3d) {
        return APR_EINVAL;
    }
    out->rss_bytes = rss;
    out->pss_bytes = pss;
    /* A child's share of swap: shared pages swapped out count once over
     * the processes sharing them, as in PSS. */
    out->swap_bytes = seen & 0x80 ? swap_pss : swap;
    out->private_bytes = pc + pd + out->swap_bytes;
    out->shared_bytes = sc + sd;
    return APR_SUCCESS;
}

apr_status_t mw_stat_parse(const char *text, mw_stat_t *out)
{
    const char *p = strrchr(text, ')');
    char *end;
    int field;

    /* The fields follow the last ')'. */
    if (!p) {
        return APR_EINVAL;
    }
    for (field = 3, p++; field <= 22; field++) {
        while (*p == ' ') {
            p++;
        }
        if (field == 4 || field == 22) {
            unsigned long long v;

            if (*p < '0' || *p > '9') {
                return APR_EINVAL;
            }
            errno = 0;
            v = strtoull(p, &end, 10);
            if (errno || (field == 4 && v > (unsigned long long)LONG_MAX)) {
                return APR_EINVAL;
            }
            if (field == 4) {
                out->ppid = (long)v;
            }
            else {
                out->start = (apr_uint64_t)v;
            }
            p = end;
        }
        while (*p && *p != ' ') {
            p++;
        }
        if (!*p && field < 22) {
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t mw_proc_pread(int fd, char *buf, apr_size_t size)
{
    ssize_t n;

    do {
        n = pread(fd, buf, size - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno;
    }
    buf[n] = '\0';
    return n > 0 ? APR_SUCCESS : APR_EOF;
}

static apr_status_t read_proc_file(long pid, const char *name,
                                   char *buf, apr_size_t size)
{
    char path[64];
    int fd;
    apr_status_t rv;

    if (pid) {
        snprintf(path, sizeof(path), "/proc/%ld/%s", pid, name);
    }
    else {
        snprintf(path, sizeof(path), "/proc/self/%s", name);
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    rv = mw_proc_pread(fd, buf, size);
    close(fd);
    return rv;
}

apr_status_t mw_smaps_read_pid(long pid, mw_smaps_t *out)
{
    char buf[4096];
    apr_status_t rv = read_proc_file(pid, "smaps_rollup", buf, sizeof(buf));

    return rv == APR_SUCCESS ? mw_smaps_parse(buf, out) : rv;
}

apr_status_t mw_stat_read_pid(long pid, mw_stat_t *out)
{
    char buf[1024];
    apr_status_t rv = read_proc_file(pid, "stat", buf, sizeof(buf));

    return rv == APR_SUCCESS ? mw_stat_parse(buf, out) : rv;
}

apr_status_t mw_statm_read_pid(long pid, apr_size_t page_size,
                               mw_statm_t *out)
{
    char buf[256];
    apr_status_t rv = read_proc_file(pid, "statm", buf, sizeof(buf));

    return rv == APR_SUCCESS ? mw_statm_parse(buf, page_size, out) : rv;
}
