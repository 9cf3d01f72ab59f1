/* Licensed under the Apache License, Version 2.0. */

/* status_cost: what one scrape of /memwatch costs at N children with full
 * history, without a server. Fills a table in malloc'd memory (N slots,
 * every history ring full, every attribution entry used), then times
 * mw_view_collect + one renderer per format, as mw_status_handler calls
 * them, repeated; prints one line per format, as tab-separated key=value
 * fields: the process CPU time of one scrape (collect + render; median,
 * fastest, slowest ms: on a shared machine CPU time does not count the
 * time others had the core), the fastest wall-clock time, and the bytes
 * rendered.
 *
 *   status_cost [children [history [min_seconds]]]     (256 120 0.5)
 *
 * Only mw_view.h / mw_render.h calls: adapt fill() and the formats table
 * when those APIs change. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "../tests/buf.h"
#include "mw_render.h"
#include "mw_attr.h"
#include "mw_shm.h"

#define MIB (1024ULL * 1024)
#define SEC(s) apr_time_from_sec(s)

static apr_time_t now;

/* Every slot taken by a child with a full history ring and a full trend;
 * every attribution entry used. */
static void fill(mw_table_t *t, apr_uint32_t children, apr_uint32_t history,
                 apr_uint32_t attrs)
{
    apr_uint32_t i, k;
    char prefix[64];

    for (i = 0; i < children; i++) {
        int at = mw_slot_claim(t, 10000 + i, 1, now - SEC(3600), 40 * MIB);
        mw_slot_t *s;
        mw_sample_t smp;

        if (at < 0) {
            fprintf(stderr, "status_cost: slot claim failed\n");
            exit(1);
        }
        s = mw_table_slot(t, (apr_uint32_t)at);
        s->state = MW_STATE_OK;
        s->requests = 100000 + i;
        s->connections = 5000 + i;
        s->rss = 40 * MIB + i * 65536;
        s->rss_peak = s->rss + MIB;
        s->private_bytes = 20 * MIB + i * 4096;
        s->shared_bytes = 10 * MIB;
        s->request_pool_count = 1000;
        s->request_pool_sum = 8000000;
        s->request_pool_peak = 16384;
        s->connection_pool_peak = 32768;
        s->limits.max_growth = 256 * MIB;
        mw_trend_start(&s->trend, 0);
        for (k = 0; k < MW_TREND_POINTS; k++) {
            mw_trend_add(&s->trend, k * 100, 40 * MIB + k * 4096,
                         now - SEC(3600) + SEC(30 * k), NULL);
        }
        memset(&smp, 0, sizeof(smp));
        for (k = 0; k < history; k++) {
            smp.time = now - SEC(30 * (history - k));
            smp.rss = 40 * MIB + (apr_uint64_t)k * 40960 + i;
            smp.private_bytes = smp.rss / 2;
            smp.shared_bytes = smp.rss / 4;
            smp.requests = (apr_uint64_t)k * 1000;
            smp.request_pool_peak = 16384;
            smp.connection_pool_peak = 32768;
            mw_history_append(t, s, &smp);
        }
    }
    for (i = 0; i < attrs; i++) {
        apr_snprintf(prefix, sizeof(prefix), "/app/path%u", i);
        mw_attr_add(t, i % 2 ? "php-script" : "perl-script", prefix, 1,
                    MIB + i, 4096, now);
    }
}

typedef struct format_t {
    const char *name;
    int with_history;
    char which;                 /* j a p h */
    double target_ms;
} format_t;

static void render(char which, mw_out_t *out, const mw_view_t *v,
                   apr_pool_t *p)
{
    mw_html_opts_t opts = { "/memwatch", 0, -1 };

    switch (which) {
    case 'j': mw_render_json(out, v, p); break;
    case 'a': mw_render_auto(out, v, p); break;
    case 'p': mw_render_prometheus(out, v, p); break;
    default:  mw_render_html(out, v, p, &opts);
    }
}

/* CPU time of this process, in ms. */
static double cpu_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    apr_uint32_t children = argc > 1 ? (apr_uint32_t)atoi(argv[1]) : 256;
    apr_uint32_t history = argc > 2 ? (apr_uint32_t)atoi(argv[2]) : 120;
    double min_secs = argc > 3 ? atof(argv[3]) : 0.5;
    static const format_t formats[] = {
        { "json (no history)",   0, 'j', 2 },
        { "json with history",   1, 'j', 0 },
        { "prometheus",          0, 'p', 2 },
        { "auto",                0, 'a', 2 },
        { "html (charts)",       1, 'h', 5 },
    };
    mw_layout_t l;
    mw_table_t t;
    apr_pool_t *root, *p;
    void *block;
    apr_size_t size;
    test_buf_t buf;
    unsigned f;

    apr_initialize();
    apr_pool_create(&root, NULL);
    apr_pool_create(&p, root);
    now = apr_time_now();
    l.nslots = children;
    l.history_len = history;
    l.attr_len = 256;
    size = mw_shm_size(&l);
    block = calloc(1, size);
    if (!block || mw_table_open(&t, block, size, &l, 1) != APR_SUCCESS) {
        fprintf(stderr, "status_cost: no table\n");
        return 1;
    }
    fill(&t, children, history, l.attr_len);
    test_buf_init(&buf);
    printf("status_cost: %u children, %u history samples each, %u "
           "attribution entries, shared memory %.1f MiB\n", children,
           history, l.attr_len, size / (double)MIB);
    for (f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
        double ms[4096], wall_min = 1e9, spent = 0;
        int n = 0;

        /* At least 5 scrapes and min_secs, at most 4096 scrapes. */
        while ((n < 5 || spent < min_secs) && n < 4096) {
            mw_view_t v;
            apr_time_t t0 = apr_time_now();
            double c0 = cpu_ms(), wall;

            memset(&v, 0, sizeof(v));
            v.version = "bench";
            v.mpm = "prefork";
            v.server_name = "127.0.0.1";
            v.generation = 1;
            v.server_limit = children;
            v.limits.max_growth = 256 * MIB;
            v.max_retiring = 1;
            v.history_interval = 30;
            v.attribute_depth = 2;
            test_buf_reset(&buf);
            mw_view_collect(&v, p, &t, now, formats[f].with_history);
            render(formats[f].which, &buf.out, &v, p);
            ms[n] = cpu_ms() - c0;
            wall = (apr_time_now() - t0) / 1000.0;
            wall_min = wall < wall_min ? wall : wall_min;
            spent += wall / 1000.0;
            n++;
            apr_pool_clear(p);
        }
        qsort(ms, (size_t)n, sizeof(double), cmp_double);
        printf("format=%s\tcpu_ms_median=%.3f\tcpu_ms_min=%.3f\t"
               "cpu_ms_max=%.3f\twall_ms_min=%.3f\tbytes=%lu\tscrapes=%d\t"
               "target_ms=%g\n", formats[f].name, ms[n / 2], ms[0],
               ms[n - 1], wall_min, (unsigned long)buf.len, n,
               formats[f].target_ms);
    }
    test_buf_free(&buf);
    free(block);
    apr_pool_destroy(root);
    apr_terminate();
    return 0;
}
