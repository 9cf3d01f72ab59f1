/* Licensed under the Apache License, Version 2.0. */

/* Handlers that use memory in known ways, for mod_memwatch's tests and
 * benchmarks. Built by Apache::Test from c-modules/ (never install it on a
 * real server: /mw/leak leaks on purpose).
 *
 *   /mw/leak?kb=N      malloc N KiB (default 8), touch it, never free it
 *   /mw/cache?mb=N     first request in a child: keep N MiB (default 32)
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
#include "apr_strings.h"
#include "util_filter.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *cache;
static volatile int hang_on_exit;

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
        long kb = arg(r, "kb", 8);
        touch(malloc((apr_size_t)kb * 1024), (apr_size_t)kb * 1024);
        ap_rprintf(r, "leaked %ld KiB pid=%ld\n", kb, (long)getpid());
    }
    else if (!strcmp(what, "cache")) {
        long mb = arg(r, "mb", 32);
        if (!cache) {
            cache = touch(malloc((apr_size_t)mb << 20), (apr_size_t)mb << 20);
        }
        ap_rputs("cached\n", r);
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
    else if (!strcmp(what, "info")) {
        ap_rprintf(r, "pid=%ld mpm=%s\n", (long)getpid(), ap_show_mpm());
    }
    else {
        return HTTP_NOT_FOUND;
    }
    return OK;
}

APACHE_HTTPD_TEST_MODULE(memwatch_test);
