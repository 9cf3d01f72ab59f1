/* Licensed under the Apache License, Version 2.0. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "mw_proc.h"
#include "mw_smaps.h"

/* Sums: every name kept apart, and an MW_MAPPING_OTHER per class. */
#define SUMS_LEN    (MW_MAPPING_NAMES + MW_MAPPING_CLASS_COUNT)
/* The hash index over the sums: a power of two, more than twice as many
 * places as sums, so a probe always ends on an empty one, soon. */
#define INDEX_LEN   1024
/* glibc's guard below a thread's stack is a page by default; a larger one
 * is still small. */
#define GUARD_MAX   ((apr_uint64_t)1024 * 1024)
/* glibc's thread arenas begin on a multiple of HEAP_MAX_SIZE (64 MiB on
 * 64-bit systems), their unused part above them without access: a
 * mapping on a 32 MiB boundary is never taken for a stack. */
#define ARENA_ALIGN ((apr_uint64_t)32 * 1024 * 1024)
#define READ_LEN    8192

typedef struct sum_t {
    apr_uint32_t mclass;
    char name[MW_MAPPING_NAME_LEN];
    apr_uint64_t rss;
    apr_uint64_t private_bytes;
} sum_t;

/* The mapping whose lines are being read. */
typedef struct mapping_t {
    int valid;                      /* its header parsed */
    apr_uint32_t sum;               /* index of its sum */
    int has_rss;
    int has_swap_pss;
    apr_uint64_t rss;
    apr_uint64_t private_dirty;
    apr_uint64_t private_clean;
    apr_uint64_t swap;
    apr_uint64_t swap_pss;
} mapping_t;

/* The mapping before it, for a thread's stack: was it a guard page? */
typedef struct guard_t {
    int valid;
    apr_uint64_t end;
} guard_t;

struct mw_mappings_t {
    apr_uint32_t nsums;
    apr_uint32_t nnamed;            /* sums but MW_MAPPING_OTHER ones */
    apr_uint32_t seen;              /* mappings with an Rss line */
    apr_uint16_t index[INDEX_LEN];  /* sum + 1; 0: empty */
    sum_t sums[SUMS_LEN];
    mapping_t cur;
    guard_t guard;
    apr_size_t line_len;
    int line_cut;                   /* the rest of this line is dropped */
    char line[MW_SMAPS_LINE_LEN];
};

static apr_uint64_t add_sat(apr_uint64_t a, apr_uint64_t b)
{
    return b > MW_MAPPING_MAX - a ? MW_MAPPING_MAX : a + b;
}

static apr_uint32_t hash_key(apr_uint32_t mclass, const char *name)
{
    apr_uint32_t h = 2166136261u ^ mclass;

    for (; *name; name++) {
        h = (h ^ (unsigned char)*name) * 16777619u;
    }
    return h;
}

/* The index place of (mclass, name): its sum's, or the empty one where it
 * would go. */
static apr_uint32_t index_place(const mw_mappings_t *m, apr_uint32_t mclass,
                                const char *name)
{
    apr_uint32_t i = hash_key(mclass, name) & (INDEX_LEN - 1);

    while (m->index[i]) {
        const sum_t *s = &m->sums[m->index[i] - 1];

        if (s->mclass == mclass && !strcmp(s->name, name)) {
            break;
        }
        i = (i + 1) & (INDEX_LEN - 1);
    }
    return i;
}

static const sum_t *find_sum(const mw_mappings_t *m, apr_uint32_t mclass,
                             const char *name)
{
    apr_uint32_t i = index_place(m, mclass, name);

    return m->index[i] ? &m->sums[m->index[i] - 1] : NULL;
}

/* The sum of (mclass, name cut to its room), made if new: past
 * MW_MAPPING_NAMES names, its class's MW_MAPPING_OTHER, which always has
 * room. */
static apr_uint32_t sum_of(mw_mappings_t *m, apr_uint32_t mclass,
                           const char *name)
{
    char cut[MW_MAPPING_NAME_LEN];
    apr_uint32_t i;
    int other = !strcmp(name, MW_MAPPING_OTHER);
    sum_t *s;

    /* Names that differ only past the cut share one sum. Zeroed first:
     * all of it is copied, into the shared table too. */
    memset(cut, 0, sizeof(cut));
    apr_cpystrn(cut, name, sizeof(cut));
    i = index_place(m, mclass, cut);
    if (m->index[i]) {
        return m->index[i] - 1u;
    }
    if (!other && m->nnamed >= MW_MAPPING_NAMES) {
        return sum_of(m, mclass, MW_MAPPING_OTHER);
    }
    s = &m->sums[m->nsums];
    s->mclass = mclass;
    memcpy(s->name, cut, sizeof(s->name));
    s->rss = s->private_bytes = 0;
    m->index[i] = (apr_uint16_t)++m->nsums;
    m->nnamed += !other;
    return m->nsums - 1;
}

/* A hexadecimal number of at most 16 digits, or NULL. */
static const char *parse_hex(const char *p, apr_uint64_t *v)
{
    const char *start = p;

    *v = 0;
    for (;; p++) {
        int d = *p >= '0' && *p <= '9' ? *p - '0'
                : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;

        if (d < 0) {
            break;
        }
        *v = *v << 4 | (apr_uint64_t)d;
    }
    return p == start || p - start > 16 ? NULL : p;
}

/* A field: one or more characters other than space, then spaces. */
static const char *skip_field(const char *p)
{
    const char *start = p;

    while (*p && *p != ' ') {
        p++;
    }
    if (p == start || *p != ' ') {
        return NULL;
    }
    while (*p == ' ') {
        p++;
    }
    return p;
}

static int starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static mw_mapping_class_e classify(const char *perms, const char *name,
                                   int thread_stack, const char **as)
{
    *as = name;
    if (!strcmp(name, "[heap]")) {
        return MW_MAPPING_HEAP;
    }
    if (!strcmp(name, "[stack]")) {
        return MW_MAPPING_STACK;
    }
    if (perms[3] == 's' || starts_with(name, "/SYSV")
        || starts_with(name, "/dev/zero") || starts_with(name, "/dev/shm/")
        || starts_with(name, "/memfd:") || starts_with(name, "[anon_shmem:")) {
        return MW_MAPPING_SHARED;
    }
    if (name[0] == '/') {
        return MW_MAPPING_FILE;
    }
    /* Kernels before 4.5 named each thread's stack "[stack:TID]", and
     * glibc names them itself with glibc.mem.decorate_maps (2.39). */
    if (thread_stack || starts_with(name, "[stack:")
        || starts_with(name, "[anon: glibc: pthread stack")) {
        *as = "[thread stacks]";
        return MW_MAPPING_STACK;
    }
    if (!name[0]) {
        *as = "[anon]";
    }
    return MW_MAPPING_ANONYMOUS;
}

/* The mapping read so far goes to its sum. */
static void end_mapping(mw_mappings_t *m)
{
    mapping_t *c = &m->cur;
    sum_t *s;

    if (!c->valid) {
        return;
    }
    s = &m->sums[c->sum];
    s->rss = add_sat(s->rss, c->rss);
    /* A process's share of swapped-out pages, as mw_proc.c counts it. */
    s->private_bytes = add_sat(s->private_bytes,
                               add_sat(add_sat(c->private_clean,
                                               c->private_dirty),
                                       c->has_swap_pss ? c->swap_pss
                                                       : c->swap));
    m->seen += c->has_rss;
    c->valid = 0;
}

/* "start-end perms offset dev inode   name": the name may be empty or
 * hold spaces. A header that does not parse starts a mapping whose lines
 * are not counted. */
static void begin_mapping(mw_mappings_t *m, const char *line)
{
    mapping_t *c = &m->cur;
    apr_uint64_t start, end;
    const char *p = line, *as;
    char perms[5];
    int stack, guard;
    mw_mapping_class_e mclass;

    end_mapping(m);
    memset(c, 0, sizeof(*c));
    if (!(p = parse_hex(p, &start)) || *p++ != '-'
        || !(p = parse_hex(p, &end)) || *p++ != ' ' || end < start
        || strlen(p) < 5 || p[4] != ' ') {
        m->guard.valid = 0;
        return;
    }
    memcpy(perms, p, 4);
    perms[4] = '\0';
    p += 5;
    /* offset, device and inode; the name is what follows. */
    if (!(p = skip_field(p)) || !(p = skip_field(p))) {
        m->guard.valid = 0;
        return;
    }
    while (*p && *p != ' ') {
        p++;
    }
    while (*p == ' ') {
        p++;
    }
    stack = !*p && !strcmp(perms, "rw-p") && m->guard.valid
            && m->guard.end == start && start % ARENA_ALIGN != 0;
    guard = !*p && !strcmp(perms, "---p") && end - start <= GUARD_MAX;
    m->guard.valid = guard;
    m->guard.end = end;
    mclass = classify(perms, p, stack, &as);
    c->sum = sum_of(m, mclass, as);
    c->valid = 1;
}

static void parse_line(mw_mappings_t *m, const char *line)
{
    mapping_t *c = &m->cur;

    /* Headers begin with an address in lower-case hexadecimal, fields
     * with a capital letter. */
    if ((*line >= '0' && *line <= '9') || (*line >= 'a' && *line <= 'f')) {
        begin_mapping(m, line);
        return;
    }
    if (!c->valid) {
        return;
    }
    c->has_rss |= mw_proc_kb_field(line, "Rss", &c->rss);
    mw_proc_kb_field(line, "Private_Clean", &c->private_clean);
    mw_proc_kb_field(line, "Private_Dirty", &c->private_dirty);
    mw_proc_kb_field(line, "Swap", &c->swap);
    c->has_swap_pss |= mw_proc_kb_field(line, "SwapPss", &c->swap_pss);
}

mw_mappings_t *mw_mappings_make(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(mw_mappings_t));
}

void mw_mappings_begin(mw_mappings_t *m, const mw_mappings_t *seed)
{
    apr_uint32_t i;

    if (seed && seed != m) {
        memcpy(m->index, seed->index, sizeof(m->index));
        memcpy(m->sums, seed->sums, seed->nsums * sizeof(sum_t));
        m->nsums = seed->nsums;
        m->nnamed = seed->nnamed;
    }
    else if (!seed) {
        memset(m->index, 0, sizeof(m->index));
        m->nsums = m->nnamed = 0;
    }
    for (i = 0; i < m->nsums; i++) {
        m->sums[i].rss = m->sums[i].private_bytes = 0;
    }
    m->seen = 0;
    memset(&m->cur, 0, sizeof(m->cur));
    m->guard.valid = 0;
    m->line_len = 0;
    m->line_cut = 0;
}

void mw_mappings_feed(mw_mappings_t *m, const char *text, apr_size_t len)
{
    while (len) {
        const char *nl = memchr(text, '\n', len);
        apr_size_t n = nl ? (apr_size_t)(nl - text) : len;
        apr_size_t room = sizeof(m->line) - 1 - m->line_len;

        if (!m->line_cut) {
            apr_size_t keep = n < room ? n : room;

            /* A NUL in the text ends the line there: parse what precedes. */
            memcpy(m->line + m->line_len, text, keep);
            m->line_len += keep;
            m->line_cut = n > room;
        }
        if (!nl) {
            return;
        }
        m->line[m->line_len] = '\0';
        parse_line(m, m->line);
        m->line_len = 0;
        m->line_cut = 0;
        text = nl + 1;
        len -= n + 1;
    }
}

apr_status_t mw_mappings_end(mw_mappings_t *m)
{
    if (m->line_len) {
        m->line[m->line_len] = '\0';
        parse_line(m, m->line);
        m->line_len = 0;
    }
    end_mapping(m);
    return m->seen ? APR_SUCCESS : APR_EINVAL;
}

apr_status_t mw_mappings_read(mw_mappings_t *m, const mw_mappings_t *seed,
                              long pid)
{
    char path[64], buf[READ_LEN];
    ssize_t n;
    int fd;

    if (pid) {
        apr_snprintf(path, sizeof(path), "/proc/%ld/smaps", pid);
    }
    else {
        apr_cpystrn(path, "/proc/self/smaps", sizeof(path));
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    mw_mappings_begin(m, seed);
    do {
        n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            mw_mappings_feed(m, buf, (apr_size_t)n);
        }
    } while (n > 0 || (n < 0 && errno == EINTR));
    if (n < 0) {
        apr_status_t rv = errno;

        close(fd);
        return rv;
    }
    close(fd);
    return mw_mappings_end(m);
}

void mw_mappings_class_sum(const mw_mappings_t *m, mw_mapping_class_e mclass,
                           apr_uint64_t *rss, apr_uint64_t *private_bytes)
{
    apr_uint32_t i;

    *rss = *private_bytes = 0;
    for (i = 0; i < m->nsums; i++) {
        if (m->sums[i].mclass == (apr_uint32_t)mclass) {
            *rss = add_sat(*rss, m->sums[i].rss);
            *private_bytes = add_sat(*private_bytes,
                                     m->sums[i].private_bytes);
        }
    }
}

int mw_mappings_find(const mw_mappings_t *m, mw_mapping_class_e mclass,
                     const char *name, apr_uint64_t *rss,
                     apr_uint64_t *private_bytes)
{
    const sum_t *s = find_sum(m, (apr_uint32_t)mclass, name);

    *rss = s ? s->rss : 0;
    *private_bytes = s ? s->private_bytes : 0;
    return s != NULL;
}

apr_uint32_t mw_mappings_count(const mw_mappings_t *m)
{
    return m->nsums;
}

apr_int64_t mw_mapping_growth_size(const mw_mapping_growth_t *g)
{
    return g->rss > g->private_bytes ? g->rss : g->private_bytes;
}

apr_uint32_t mw_mappings_growth(const mw_mappings_t *base,
                                const mw_mappings_t *now,
                                mw_mapping_growth_t *out, apr_uint32_t max)
{
    apr_uint32_t i, n = 0;

    for (i = 0; i < now->nsums; i++) {
        const sum_t *s = &now->sums[i];
        const sum_t *b = find_sum(base, s->mclass, s->name);
        mw_mapping_growth_t g;
        apr_int64_t size;
        apr_uint32_t k;

        /* Both at most MW_MAPPING_MAX: the differences fit. */
        g.rss = (apr_int64_t)s->rss - (apr_int64_t)(b ? b->rss : 0);
        g.private_bytes = (apr_int64_t)s->private_bytes
                          - (apr_int64_t)(b ? b->private_bytes : 0);
        size = mw_mapping_growth_size(&g);
        if (size <= 0) {
            continue;
        }
        for (k = n; k > 0 && mw_mapping_growth_size(&out[k - 1]) < size;
             k--) {
        }
        if (k >= max) {
            continue;
        }
        if (n < max) {
            n++;
        }
        memmove(&out[k + 1], &out[k], (n - 1 - k) * sizeof(*out));
        g.mclass = s->mclass;
        memcpy(g.name, s->name, sizeof(g.name));
        out[k] = g;
    }
    return n;
}
