/* Licensed under the Apache License, Version 2.0. */

/* Handlers that use memory in known ways, for mod_memwatch's tests and
 * benchmarks. Built by Apache::Test from c-modules/ (never install it on a
 * real server: /mw/leak leaks on purpose).
 *
 *   /mw/leak?kb=N      malloc N KiB (default 8), touch it, never free it
 *     &ms=M            then take M ms more (default 0)
 *   /mw/cache?mb=N     first request in a child: keep N MiB (default 32)
 *   /mw/frag?kb=N&keep=K  malloc N KiB (default 1024) in blocks of 1 KiB,
 *                      touch them, keep one in every K (default 64), the
 *                      last one included, free the rest, then free the
 *                      blocks the previous call (any thread's) kept: malloc
 *                      holds about N/K KiB in use whatever the calls, and
 *                      the heap cannot shrink at its top. Calls of growing
 *                      N fragment the heap: RSS climbs, in use does not
 *   /mw/rpool?kb=N     allocate N KiB from r->pool
 *   /mw/cpool?kb=N     allocate N KiB from c->pool (grows per keep-alive
 *                      request on one connection)
 *   /mw/slow?ms=N      sleep N ms, then answer
 *   /mw/stream?chunks=N&ms=M&kb=K   N chunks, M ms apart, flushed one by
 *                      one, each after allocating K KiB from r->pool
 *   /mw/hello          a tiny answer (benchmarks)
 *   /mw/info           pid and MPM of the child that answered
 *   /mw/hang-on-exit   this child's pchild cleanup will never return, as
 *                      embedded mod_wsgi's does on Python 3.11 (mod_wsgi
 *                      issue 730): the child hangs once it stops serving
 *   /mw/forge?pid=N    what a compromised child can do (t/forge.t): find
 *                      mod_memwatch's table in its own memory and claim a
 *                      free slot naming pid N as a child stuck in its exit
 *                      since 1970
 *   /mw/forge-times?t=N write time N (microseconds, any apr_int64_t) into
 *                      every time of every claimed slot, this child's own
 *                      included, as a compromised child could (t/times.t)
 */

#define HTTPD_TEST_REQUIRE_APACHE 2

#if CONFIG_FOR_HTTPD_TEST

<Location /mw>
    SetHandler memwatch_test
</Location>

#endif

#define APACHE_HTTPD_TEST_HANDLER memwatch_test_handler
#define APACHE_HTTPD_TEST_CHILD_INIT memwatch_test_child_init

#include "apache_httpd_test.h"
#include "ap_mpm.h"
#include "apr_atomic.h"
#include "apr_pools.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"
#include "apr_time.h"
#include "util_filter.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* mod_memwatch's table code (the layout and its validation), built in
 * for /mw/forge (with the trend code the slot's writers call): a child
 * finds the table the way any code running in it could, with no help
 * from the module. Hidden, so it never stands in for mod_memwatch's own;
 * the system headers it uses are included here, outside. */
#include <math.h>
#include <time.h>
#pragma GCC visibility push(hidden)
#include "../../mw_shm.c"
#include "../../mw_trend.c"
#pragma GCC visibility pop

static char *cache;
static volatile int hang_on_exit;

/* /mw/frag: the blocks the last call kept, for the next call to free. */
static apr_thread_mutex_t *frag_mutex;
static void **frag_kept;
static long frag_nkept;

static apr_status_t hang(void *data)
{
    while (hang_on_exit) {
        pause();
    }
    return APR_SUCCESS;
}

static void memwatch_test_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_pool_cleanup_register(pchild, NULL, hang, apr_pool_cleanup_null);
    apr_thread_mutex_create(&frag_mutex, APR_THREAD_MUTEX_DEFAULT, pchild);
}

/* The value of name=N in the query, or dflt. */
static long arg(request_rec *r, const char *name, long dflt)
{
    const char *p = r->args;
    apr_size_t n = strlen(name);

    while (p && *p) {
        if (!strncmp(p, name, n) && p[n] == '=') {
            return atol(p + n + 1);
        }
        p = strchr(p, '&');
        p = p ? p + 1 : NULL;
    }
    return dflt;
}

static void *touch(void *mem, apr_size_t size)
{
    if (mem) {
        memset(mem, 0x5a, size);
    }
    return mem;
}

/* Fragment the heap (the comment at the top): allocate kb KiB in 1 KiB
 * blocks, keep every keep-th counting back from the last, free the rest,
 * then what the previous call kept. Returns how many blocks it kept. */
static long frag(long kb, long keep)
{
    long i, n = kb > 0 ? kb : 1, nkept = 0, nold;
    void **blocks = malloc(sizeof(*blocks) * (apr_size_t)n);
    void **kept = malloc(sizeof(*kept) * (apr_size_t)(n / keep + 1));
    void **old;

    if (!blocks || !kept) {
        free(blocks);
        free(kept);
        return 0;
    }
    for (i = 0; i < n; i++) {
        blocks[i] = touch(malloc(1024), 1024);
    }
    for (i = 0; i < n; i++) {
        if ((n - 1 - i) % keep == 0) {
            kept[nkept++] = blocks[i];
        }
        else {
            free(blocks[i]);
        }
    }
    free(blocks);
    apr_thread_mutex_lock(frag_mutex);
    old = frag_kept;
    nold = frag_nkept;
    frag_kept = kept;
    frag_nkept = nkept;
    apr_thread_mutex_unlock(frag_mutex);
    for (i = 0; i < nold; i++) {
        free(old[i]);
    }
    free(old);
    return nkept;
}

/* mod_memwatch's table, if one of this process's shared mappings holds
 * it: the header validated by mw_table_open against the layout the
 * header itself gives (APR's anonymous segments begin with a size word,
 * so the start of each mapping and a few words in are tried). */
static apr_status_t find_table(mw_table_t *t)
{
    char line[512];
    FILE *maps = fopen("/proc/self/maps", "r");
    apr_status_t rv = APR_ENOENT;

    if (!maps) {
        return errno;
    }
    while (rv != APR_SUCCESS && fgets(line, sizeof(line), maps)) {
        unsigned long start, end;
        char perms[5], path[256] = "";
        apr_size_t off;

        if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %255[^\n]", &start, &end,
                   perms, path) < 3
            || strcmp(perms, "rw-s")
            || (*path && strncmp(path, "/dev/zero", 9)
                && strncmp(path, "/SYSV", 5))) {
            continue;
        }
        for (off = 0; off <= 64 && rv != APR_SUCCESS; off += 8) {
            mw_shm_header_t *h = (mw_shm_header_t *)(start + off);
            mw_layout_t layout;

            if (end - start - off < sizeof(*h)) {
                break;
            }
            layout.nslots = h->nslots;
            layout.history_len = h->history_len;
            layout.attr_len = h->attr_len;
            rv = mw_table_open(t, h, end - start - off, &layout, 0) ==
                 APR_SUCCESS ? APR_SUCCESS : APR_ENOENT;
        }
    }
    fclose(maps);
    return rv;
}

/* Every time field of every claimed slot set to one value: the extremes
 * of apr_int64_t are what make an interval overflow. */
static int forge_times(request_rec *r)
{
    apr_int64_t when;
    const char *v;
    mw_table_t t;
    apr_uint32_t i, n = 0;

    v = r->args ? strstr(r->args, "t=") : NULL;
    if (!v) {
        return HTTP_BAD_REQUEST;
    }
    when = apr_atoi64(v + 2);
    if (find_table(&t) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (i = 0; i < mw_table_nslots(&t); i++) {
        mw_slot_t *sl = mw_table_slot(&t, i);

        if (!apr_atomic_read32(&sl->pid)) {
            continue;
        }
        sl->started = when;
        sl->retire_time = when;
        sl->exiting_since = when;
        sl->hist_last = when;
        sl->smaps_last = when;
        n++;
    }
    ap_rprintf(r, "forged times=%" APR_INT64_T_FMT " in %u slots pid=%ld\n",
               when, n, (long)getpid());
    return OK;
}

/* Claim a free slot for pid and make it a child that stopped serving in
 * 1970 and was never killed, with no figures: the slot a compromised
 * child would write to have the parent SIGKILL pid. */
static int forge(request_rec *r)
{
    long pid = arg(r, "pid", 0);
    mw_table_t t;
    apr_uint32_t i;
    apr_status_t rv;

    if (pid <= 0) {
        return HTTP_BAD_REQUEST;
    }
    if ((rv = find_table(&t)) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "forge: no table found");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (i = 0; i < mw_table_nslots(&t); i++) {
        mw_slot_t *sl = mw_table_slot(&t, i);

        if (apr_atomic_cas32(&sl->pid, (apr_uint32_t)pid, 0) != 0) {
            continue;
        }
        memset((char *)sl + offsetof(mw_slot_t, generation), 0,
               t.slot_size - offsetof(mw_slot_t, generation));
        sl->started = apr_time_now();
        sl->private_bytes = sl->shared_bytes = sl->pss_bytes = MW_UNKNOWN;
        sl->exiting_since = 1;      /* 1 us after the epoch */
        apr_atomic_set32(&sl->state, MW_STATE_EXITING);
        ap_rprintf(r, "forged slot=%u pid=%ld by pid=%ld uid=%ld\n", i, pid,
                   (long)getpid(), (long)getuid());
        return OK;
    }
    ap_rputs("no free slot\n", r);
    return HTTP_SERVICE_UNAVAILABLE;
}

static int memwatch_test_handler(request_rec *r)
{
    const char *what;

    if (strcmp(r->handler, "memwatch_test")) {
        return DECLINED;
    }
    what = strrchr(r->uri, '/');
    what = what ? what + 1 : "";
    ap_set_content_type(r, "text/plain");

    if (!strcmp(what, "leak")) {
        long kb = arg(r, "kb", 8), ms = arg(r, "ms", 0);
        touch(malloc((apr_size_t)kb * 1024), (apr_size_t)kb * 1024);
        if (ms > 0) {
            apr_sleep(apr_time_from_msec(ms));
        }
        ap_rprintf(r, "leaked %ld KiB pid=%ld\n", kb, (long)getpid());
    }
    else if (!strcmp(what, "cache")) {
        long mb = arg(r, "mb", 32);
        if (!cache) {
            cache = touch(malloc((apr_size_t)mb << 20), (apr_size_t)mb << 20);
        }
        ap_rputs("cached\n", r);
    }
    else if (!strcmp(what, "frag")) {
        long kb = arg(r, "kb", 1024), keep = arg(r, "keep", 64);
        long kept = frag(kb, keep > 0 ? keep : 1);
        ap_rprintf(r, "fragmented %ld KiB, kept %ld blocks pid=%ld\n", kb,
                   kept, (long)getpid());
    }
    else if (!strcmp(what, "rpool")) {
        long kb = arg(r, "kb", 64);
        touch(apr_palloc(r->pool, (apr_size_t)kb * 1024),
              (apr_size_t)kb * 1024);
        ap_rprintf(r, "r->pool +%ld KiB\n", kb);
    }
    else if (!strcmp(what, "cpool")) {
        long kb = arg(r, "kb", 16);
        touch(apr_palloc(r->connection->pool, (apr_size_t)kb * 1024),
              (apr_size_t)kb * 1024);
        ap_rprintf(r, "c->pool +%ld KiB\n", kb);
    }
    else if (!strcmp(what, "slow")) {
        apr_sleep(apr_time_from_msec(arg(r, "ms", 1000)));
        ap_rputs("slow done\n", r);
    }
    else if (!strcmp(what, "stream")) {
        long i, chunks = arg(r, "chunks", 10), ms = arg(r, "ms", 100);
        long kb = arg(r, "kb", 0);
        for (i = 0; i < chunks; i++) {
            touch(apr_palloc(r->pool, (apr_size_t)kb * 1024 + 1),
                  (apr_size_t)kb * 1024);
            ap_rprintf(r, "chunk %ld\n", i);
            ap_rflush(r);
            apr_sleep(apr_time_from_msec(ms));
        }
        ap_rprintf(r, "stream done pid=%ld\n", (long)getpid());
    }
    else if (!strcmp(what, "hello")) {
        ap_rputs("hello\n", r);
    }
    else if (!strcmp(what, "hang-on-exit")) {
        hang_on_exit = 1;
        ap_rprintf(r, "will hang on exit pid=%ld\n", (long)getpid());
    }
    else if (!strcmp(what, "forge")) {
        return forge(r);
    }
    else if (!strcmp(what, "forge-times")) {
        return forge_times(r);
    }
    else if (!strcmp(what, "info")) {
        ap_rprintf(r, "pid=%ld mpm=%s\n", (long)getpid(), ap_show_mpm());
    }
    else {
        return HTTP_NOT_FOUND;
    }
    return OK;
}

APACHE_HTTPD_TEST_MODULE(memwatch_test);
