/* Licensed under the Apache License, Version 2.0. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_errno.h>

#include "mw_cgroup.h"
#include "mw_names.h"

/* At or above this, v1's limit_in_bytes means "no limit": the kernel
 * shows PAGE_COUNTER_MAX pages, 2^63 rounded down to a page. */
#define NO_LIMIT (APR_UINT64_C(1) << 62)

/* Buffers for the files read whole. mountinfo grows with the mounts (a
 * container host has many); a longer one is read up to this and its last,
 * cut line dropped: the cgroup mounts are made at boot, near its start. */
#define MOUNTINFO_MAX 32768
#define SMALL_FILE_MAX 4096
/* /proc/PID/cgroup: a line per v1 hierarchy, each with a path up to
 * sizeof(mw_cgroup_t.path) */
#define CGROUP_FILE_MAX 8192

/* Decimal digits at p, saturated at APR_UINT64_MAX; NULL if none. */
static const char *parse_u64(const char *p, apr_uint64_t *v)
{
    apr_uint64_t n = 0;
    const char *start = p;

    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');

        n = n > (APR_UINT64_MAX - d) / 10 ? APR_UINT64_MAX : n * 10 + d;
    }
    *v = n;
    return p == start ? NULL : p;
}

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

/* Is `word` one of the comma-separated items of list[0..len)? */
static int list_has(const char *list, apr_size_t len, const char *word)
{
    apr_size_t n = strlen(word);
    const char *end = list + len;

    while (list < end) {
        const char *comma = memchr(list, ',', (apr_size_t)(end - list));
        const char *stop = comma ? comma : end;

        if ((apr_size_t)(stop - list) == n && memcmp(list, word, n) == 0) {
            return 1;
        }
        list = comma ? comma + 1 : end;
    }
    return 0;
}

/* The value after "key" at the start of a line (and a blank), or NULL. */
static const char *keyed_value(const char *text, const char *key)
{
    apr_size_t n = strlen(key);
    const char *line = text;

    while (line && *line) {
        if (strncmp(line, key, n) == 0
            && (line[n] == ' ' || line[n] == '\t')) {
            return skip_blanks(line + n);
        }
        line = strchr(line, '\n');
        if (line) {
            line++;
        }
    }
    return NULL;
}

/* Nothing but blanks and newlines from p on. */
static int only_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n') {
        p++;
    }
    return *p == '\0';
}

apr_status_t mw_cgroup_number(const char *text, apr_uint64_t *value)
{
    const char *p = skip_blanks(text);
    const char *end;
    apr_uint64_t v;

    if (strncmp(p, "max", 3) == 0 && only_space(p + 3)) {
        *value = MW_UNKNOWN;
        return APR_SUCCESS;
    }
    if (!(end = parse_u64(p, &v)) || !only_space(end)) {
        return APR_EINVAL;
    }
    *value = v >= NO_LIMIT ? MW_UNKNOWN : v;
    return APR_SUCCESS;
}

apr_status_t mw_cgroup_keyed(const char *text, const char *key,
                             apr_uint64_t *value)
{
    const char *p;
    apr_uint64_t v;

    if (!*key) {
        return APR_EINVAL;
    }
    if (!(p = keyed_value(text, key))) {
        return APR_ENOENT;
    }
    if (!(p = parse_u64(p, &v))) {
        return APR_EINVAL;
    }
    p = skip_blanks(p);
    if (*p && *p != '\n') {
        return APR_EINVAL;
    }
    *value = v;
    return APR_SUCCESS;
}

/* avg10's "12.34" in a PSI line (the text after "some" or "full"), as
 * 1234. Above 100 % is not a share of time: malformed. */
static int psi_avg10(const char *p, apr_uint32_t *out)
{
    apr_uint64_t whole, hundredths = 0;
    int digits = 0;

    /* to the word "avg10=", within the line */
    for (;;) {
        p = skip_blanks(p);
        if (strncmp(p, "avg10=", 6) == 0) {
            break;
        }
        p += strcspn(p, " \t\n");
        if (*p != ' ' && *p != '\t') {
            return 0;
        }
    }
    if (!(p = parse_u64(p + 6, &whole)) || whole > 100) {
        return 0;
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
            if (digits < 2) {
                hundredths = hundredths * 10 + (apr_uint64_t)(*p - '0');
            }
        }
        if (digits == 0) {
            return 0;
        }
        if (digits == 1) {
            hundredths *= 10;
        }
    }
    if ((*p != ' ' && *p != '\t' && *p != '\n' && *p != '\0')
        || whole * 100 + hundredths > 10000) {
        return 0;
    }
    *out = (apr_uint32_t)(whole * 100 + hundredths);
    return 1;
}

apr_status_t mw_psi_parse(const char *text, apr_uint32_t *some_avg10,
                          apr_uint32_t *full_avg10)
{
    const char *line = text;
    int found = 0;

    *some_avg10 = *full_avg10 = MW_PSI_UNKNOWN;
    while (line && *line) {
        if (strncmp(line, "some ", 5) == 0
            && *some_avg10 == MW_PSI_UNKNOWN) {
            found |= psi_avg10(line + 4, some_avg10);
        }
        else if (strncmp(line, "full ", 5) == 0
                 && *full_avg10 == MW_PSI_UNKNOWN) {
            found |= psi_avg10(line + 4, full_avg10);
        }
        line = strchr(line, '\n');
        if (line) {
            line++;
        }
    }
    return found ? APR_SUCCESS : APR_EINVAL;
}

/* ROOT + abs (+ "/" + name): the root's trailing slashes go, so "/" and
 * "tests/data/x/" both work. */
static apr_status_t under_root(char *out, apr_size_t size, const char *root,
                               const char *abs, const char *name)
{
    apr_size_t n = root ? strlen(root) : 0;
    int len;

    while (n > 0 && root[n - 1] == '/') {
        n--;
    }
    len = snprintf(out, size, "%.*s%s%s%s", (int)n, n ? root : "", abs,
                   name ? "/" : "", name ? name : "");
    return len < 0 || (apr_size_t)len >= size ? APR_ENAMETOOLONG
                                              : APR_SUCCESS;
}

/* Read a whole file into buf, NUL-terminated; a file longer than the
 * buffer is cut (*cut set). */
static apr_status_t read_whole(const char *path, char *buf, apr_size_t size,
                               int *cut)
{
    apr_size_t len = 0;
    apr_status_t rv = APR_SUCCESS;
    int fd;

    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return errno;
    }
    while (len < size - 1) {
        ssize_t n = read(fd, buf + len, size - 1 - len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rv = errno;
            break;
        }
        if (n == 0) {
            break;
        }
        len += (apr_size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    if (cut) {
        *cut = len == size - 1;
    }
    return rv;
}

/* ROOT/dir/name read whole; one longer than the buffer is an error. */
static apr_status_t read_small(const char *root, const char *dir,
                               const char *name, char *buf, apr_size_t size)
{
    char path[1024];
    apr_status_t rv;
    int cut;

    if ((rv = under_root(path, sizeof(path), root, dir, name))
        || (rv = read_whole(path, buf, size, &cut))) {
        return rv;
    }
    return cut ? APR_ENOSPC : APR_SUCCESS;
}

/* Drop a cut last line: only lines ending in a newline are whole. */
static void drop_cut_line(char *buf)
{
    char *nl = strrchr(buf, '\n');

    if (nl) {
        nl[1] = '\0';
    }
    else {
        buf[0] = '\0';
    }
}

/* Does the absolute path have a "." or ".." segment? */
static int has_dot_segment(const char *path)
{
    const char *p = path;

    while ((p = strchr(p, '/'))) {
        p++;
        if (p[0] == '.') {
            apr_size_t dots = p[1] == '.' ? 2 : 1;

            if (p[dots] == '/' || p[dots] == '\0') {
                return 1;
            }
        }
    }
    return 0;
}

/* The paths of the memory group from /proc/PID/cgroup text: v1's
 * "N:...,memory,...:/path" and v2's "0::/path". Empty if absent. */
static apr_status_t cgroup_paths(const char *text, char *v1, char *v2,
                                 apr_size_t size)
{
    const char *line = text, *next;

    v1[0] = v2[0] = '\0';
    for (; *line; line = next) {
        const char *eol = line + strcspn(line, "\n");
        const char *c1 = memchr(line, ':', (apr_size_t)(eol - line));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (apr_size_t)(eol - c1 - 1))
                            : NULL;
        apr_size_t len;
        char *to;

        next = *eol ? eol + 1 : eol;
        if (!c2) {
            continue;
        }
        if (c1 - line == 1 && line[0] == '0' && c2 == c1 + 1) {
            to = v2;
        }
        else if (list_has(c1 + 1, (apr_size_t)(c2 - c1 - 1), "memory")) {
            to = v1;
        }
        else {
            continue;
        }
        len = (apr_size_t)(eol - (c2 + 1));
        if (len >= size) {
            return APR_ENAMETOOLONG;
        }
        memcpy(to, c2 + 1, len);
        to[len] = '\0';
    }
    return APR_SUCCESS;
}

/* The next space-separated field of a mountinfo line, its octal escapes
 * ("\040" for a space) undone, into out. NULL at the line's end or if the
 * field does not fit. */
static const char *mount_field(const char *p, char *out, apr_size_t size)
{
    apr_size_t n = 0;

    while (*p == ' ') {
        p++;
    }
    if (*p == '\n' || *p == '\0') {
        return NULL;
    }
    for (; *p && *p != ' ' && *p != '\n'; p++) {
        char c = *p;

        if (c == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0'
            && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
            c = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        }
        if (n + 1 >= size) {
            return NULL;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return p;
}

/* From mountinfo text, the first mount of fstype "cgroup" with "memory"
 * among its super options (want_v1), or of fstype "cgroup2": its root in
 * the hierarchy and its mount point. */
static int find_mount(const char *text, int want_v1, char *mroot,
                      char *mpoint, apr_size_t size)
{
    const char *line = text, *next;

    for (; *line; line = next) {
        char field[256], fstype[16];
        const char *p = line;
        int i;

        next = line + strcspn(line, "\n");
        next += *next ? 1 : 0;

        /* ID, parent ID, major:minor, root, mount point, options */
        for (i = 1; p && i <= 6; i++) {
            p = mount_field(p, i == 4 ? mroot : i == 5 ? mpoint : field,
                            i == 4 || i == 5 ? size : sizeof(field));
        }
        /* optional fields up to "-", then fstype, source, super options */
        while (p && (p = mount_field(p, field, sizeof(field)))
               && strcmp(field, "-") != 0) {
        }
        if (!p || !(p = mount_field(p, fstype, sizeof(fstype)))
            || !(p = mount_field(p, field, sizeof(field)))) {
            continue;
        }
        if (want_v1 && strcmp(fstype, "cgroup") == 0
            && (p = mount_field(p, field, sizeof(field)))
            && list_has(field, strlen(field), "memory")) {
            return 1;
        }
        if (!want_v1 && strcmp(fstype, "cgroup2") == 0) {
            return 1;
        }
    }
    return 0;
}

/* The group's directory: the mount point and the group's path below the
 * mount's root. APR_ENOENT if the group is not under that root (the mount
 * shows another part of the hierarchy). */
static apr_status_t group_dir(const char *path, const char *mroot,
                              const char *mpoint, char *dir, apr_size_t size)
{
    apr_size_t rlen = strlen(mroot), plen = strlen(mpoint);
    int len;

    if (strcmp(mroot, "/") != 0) {
        while (rlen > 0 && mroot[rlen - 1] == '/') {
            rlen--;
        }
        if (strncmp(path, mroot, rlen) != 0
            || (path[rlen] != '/' && path[rlen] != '\0')) {
            return APR_ENOENT;
        }
        path += rlen;
    }
    while (plen > 0 && mpoint[plen - 1] == '/') {
        plen--;
    }
    if (strcmp(path, "/") == 0) {
        path = "";
    }
    len = snprintf(dir, size, "%.*s%s", (int)plen, mpoint, path);
    if (len < 0 || (apr_size_t)len >= size) {
        return APR_ENAMETOOLONG;
    }
    if (len == 0) {
        strcpy(dir, "/");
    }
    return APR_SUCCESS;
}

/* Fill cg for one hierarchy, if its mount is found. */
static apr_status_t find_on(const char *mountinfo, mw_cgroup_version_e v,
                            const char *path, mw_cgroup_t *cg)
{
    char mroot[512], mpoint[512];
    apr_status_t rv;

    if (path[0] != '/' || has_dot_segment(path)) {
        return APR_EINVAL;
    }
    if (!find_mount(mountinfo, v == MW_CGROUP_V1, mroot, mpoint,
                    sizeof(mroot))) {
        return APR_ENOENT;
    }
    if ((rv = group_dir(path, mroot, mpoint, cg->dir, sizeof(cg->dir)))) {
        return rv;
    }
    /* the mount's fields come from the file too */
    if (cg->dir[0] != '/' || has_dot_segment(cg->dir)) {
        return APR_EINVAL;
    }
    strcpy(cg->path, path);
    cg->version = v;
    return APR_SUCCESS;
}

apr_status_t mw_cgroup_find(const char *root, long pid, mw_cgroup_t *cg)
{
    char proc[64], path[1024], v1[sizeof(cg->path)], v2[sizeof(cg->path)];
    char cgroups[CGROUP_FILE_MAX], mountinfo[MOUNTINFO_MAX];
    char controllers[SMALL_FILE_MAX];
    apr_status_t rv;
    int cut;

    memset(cg, 0, sizeof(*cg));
    if (pid < 0) {
        return APR_EINVAL;
    }
    if (pid) {
        snprintf(proc, sizeof(proc), "/proc/%ld", pid);
    }
    else {
        strcpy(proc, "/proc/self");
    }
    if ((rv = read_small(root, proc, "cgroup", cgroups, sizeof(cgroups)))
        || (rv = cgroup_paths(cgroups, v1, v2, sizeof(v1)))) {
        return rv;
    }
    if (!v1[0] && !v2[0]) {
        return APR_ENOENT;
    }
    if ((rv = under_root(path, sizeof(path), root, proc, "mountinfo"))
        || (rv = read_whole(path, mountinfo, sizeof(mountinfo), &cut))) {
        return rv;
    }
    if (cut) {
        drop_cut_line(mountinfo);
    }
    if (v1[0]) {
        rv = find_on(mountinfo, MW_CGROUP_V1, v1, cg);
        if (rv != APR_ENOENT) {
            return rv;
        }
    }
    if (!v2[0]) {
        return APR_ENOENT;
    }
    if ((rv = find_on(mountinfo, MW_CGROUP_V2, v2, cg))) {
        return rv;
    }
    /* A group's cgroup.controllers lists what its parent enabled for it,
     * so the memory.* files are there exactly when it names "memory". */
    if (read_small(root, cg->dir, "cgroup.controllers", controllers,
                   sizeof(controllers)) == APR_SUCCESS) {
        char *nl = strchr(controllers, '\n');
        char *word;

        if (nl) {
            *nl = '\0';
        }
        for (word = controllers; *word; ) {
            apr_size_t n = strcspn(word, " ");

            if (n == 6 && memcmp(word, "memory", 6) == 0) {
                return APR_SUCCESS;
            }
            word += n;
            word += strspn(word, " ");
        }
    }
    memset(cg, 0, sizeof(*cg));
    return APR_ENOENT;
}

/* A group file read whole into buf. */
static int read_group_file(const char *root, const mw_cgroup_t *cg,
                           const char *name, char *buf, apr_size_t size)
{
    return read_small(root, cg->dir, name, buf, size) == APR_SUCCESS;
}

/* A group file holding one number. */
static int read_number(const char *root, const mw_cgroup_t *cg,
                       const char *name, apr_uint64_t *out)
{
    char buf[64];

    return read_group_file(root, cg, name, buf, sizeof(buf))
           && mw_cgroup_number(buf, out) == APR_SUCCESS;
}

/* A key's value from flat-keyed text already read. */
static int keyed(const char *text, const char *key, apr_uint64_t *out)
{
    return mw_cgroup_keyed(text, key, out) == APR_SUCCESS;
}

static int read_pressure(const char *root, const char *dir, const char *name,
                         mw_cgroup_figures_t *out)
{
    char buf[SMALL_FILE_MAX];

    return read_small(root, dir, name, buf, sizeof(buf)) == APR_SUCCESS
           && mw_psi_parse(buf, &out->pressure_some_avg10,
                           &out->pressure_full_avg10) == APR_SUCCESS;
}

apr_status_t mw_cgroup_read(const char *root, const mw_cgroup_t *cg,
                            mw_cgroup_figures_t *out)
{
    char buf[SMALL_FILE_MAX];
    int got = 0;

    out->limit_bytes = out->high_bytes = out->usage_bytes = MW_UNKNOWN;
    out->oom_kills = out->fail_count = MW_UNKNOWN;
    out->pressure_some_avg10 = out->pressure_full_avg10 = MW_PSI_UNKNOWN;
    out->pressure_of_group = 0;

    if (cg->version == MW_CGROUP_V2) {
        got |= read_number(root, cg, "memory.max", &out->limit_bytes);
        got |= read_number(root, cg, "memory.high", &out->high_bytes);
        got |= read_number(root, cg, "memory.current", &out->usage_bytes);
        if (read_group_file(root, cg, "memory.events", buf, sizeof(buf))) {
            got |= keyed(buf, "oom_kill", &out->oom_kills);
            got |= keyed(buf, "max", &out->fail_count);
        }
        out->pressure_of_group = read_pressure(root, cg->dir,
                                               "memory.pressure", out);
        got |= out->pressure_of_group;
    }
    else if (cg->version == MW_CGROUP_V1) {
        got |= read_number(root, cg, "memory.limit_in_bytes",
                           &out->limit_bytes);
        got |= read_number(root, cg, "memory.usage_in_bytes",
                           &out->usage_bytes);
        got |= read_number(root, cg, "memory.failcnt", &out->fail_count);
        if (read_group_file(root, cg, "memory.oom_control", buf,
                            sizeof(buf))) {
            got |= keyed(buf, "oom_kill", &out->oom_kills);
        }
    }
    if (!out->pressure_of_group) {
        got |= read_pressure(root, "/proc/pressure", "memory", out);
    }
    return got ? APR_SUCCESS : APR_ENOENT;
}

apr_status_t mw_meminfo_total(const char *root, apr_uint64_t *bytes)
{
    char buf[SMALL_FILE_MAX];
    char path[1024];
    const char *p;
    apr_uint64_t kb;
    apr_status_t rv;

    /* MemTotal is the first line: a cut file still holds it. */
    if ((rv = under_root(path, sizeof(path), root, "/proc/meminfo", NULL))
        || (rv = read_whole(path, buf, sizeof(buf), NULL))) {
        return rv;
    }
    if (!(p = keyed_value(buf, "MemTotal:")) || !(p = parse_u64(p, &kb))
        || strncmp(skip_blanks(p), "kB", 2) != 0
        || kb == 0 || kb > (MW_UNKNOWN - 1) / 1024) {
        return APR_EINVAL;
    }
    *bytes = kb * 1024;
    return APR_SUCCESS;
}

apr_uint64_t mw_cgroup_budget(const mw_cgroup_t *cg,
                              const mw_cgroup_figures_t *f,
                              apr_uint64_t total, unsigned percent,
                              const char **basis)
{
    apr_uint64_t of = total;

    /* The lowest of what is known: memory.high above memory.max, or a
     * limit above the machine's memory, is never reached first. */
    *basis = "MemTotal";
    if (cg && f && cg->version != MW_CGROUP_NONE) {
        if (f->limit_bytes != MW_UNKNOWN && f->limit_bytes <= of) {
            of = f->limit_bytes;
            *basis = cg->version == MW_CGROUP_V2 ? "memory.max"
                                                 : "memory.limit_in_bytes";
        }
        if (cg->version == MW_CGROUP_V2 && f->high_bytes != MW_UNKNOWN
            && f->high_bytes <= of) {
            of = f->high_bytes;
            *basis = "memory.high";
        }
    }
    if (of == MW_UNKNOWN) {
        return 0;
    }
    if (percent > 100) {
        percent = 100;
    }
    /* of * percent / 100 without overflow */
    return of / 100 * percent + of % 100 * percent / 100;
}
