/* Licensed under the Apache License, Version 2.0. */

/* mw_view + mw_render: collect a table built in malloc'd memory and render
 * it in every format; JSON is checked with JSON::PP, Prometheus with
 * promtool. */

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_lib.h>

#include "tap.h"
#include "buf.h"
#include "mw_render.h"
#include "mw_attr.h"
#include "mw_shm.h"

#define MIB (1024ULL * 1024)
#define SEC(s) apr_time_from_sec(s)
#define NOW SEC(1700000000)

#define HOSTILE_PREFIX  "</td><script>alert(1)</script>"
#define HOSTILE_ESCAPED "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
#define QUOTY_HANDLER   "a\"b\\c'd"
#define QUOTY_PREFIX    "/q\"x\\y"
#define PROMTOOL        "/usr/bin/promtool"
/* A mapping's name as a hostile file name could make it: markup, a
 * control character and a byte that starts no UTF-8 sequence. */
#define HOSTILE_MAPPING "/x/</td><script>\x01\xff.so"

static char tmpdir[64];

/* Write data to tmpdir/name; return the path (allocated from p). */
static const char *write_file(apr_pool_t *p, const char *name,
                              const char *data, apr_size_t len)
{
    const char *path = apr_pstrcat(p, tmpdir, "/", name, NULL);
    FILE *f = fopen(path, "w");

    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        bail_out("cannot write a temporary file");
    }
    return path;
}

/* Exit status of a shell command, -1 if it did not exit normally. */
static int run(const char *cmd)
{
    int st;

    fflush(stdout);
    st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The first line of a command's output, into out. Returns exit status. */
static int run_capture(const char *cmd, char *out, apr_size_t size)
{
    FILE *f;
    int st;
    apr_size_t n;

    fflush(stdout);
    out[0] = '\0';
    if (!(f = popen(cmd, "r"))) {
        return -1;
    }
    n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    st = pclose(f);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    apr_size_t len = strlen(needle);

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += len;
    }
    return n;
}

static void add_history(const mw_table_t *t, mw_slot_t *s, int n,
                        apr_uint64_t rss0, int private_known)
{
    mw_sample_t smp;
    int k;

    memset(&smp, 0, sizeof(smp));
    for (k = 0; k < n; k++) {
        smp.time = NOW - SEC(10 * (n - k));
        smp.rss = rss0 + (apr_uint64_t)k * MIB;
        smp.private_bytes = private_known ? smp.rss / 2 : MW_UNKNOWN;
        smp.shared_bytes = private_known ? smp.rss / 4 : MW_UNKNOWN;
        smp.requests = (apr_uint64_t)k * 100;
        smp.request_pool_peak = private_known ? 16384 : MW_UNKNOWN;
        smp.connection_pool_peak = MW_UNKNOWN;
        mw_history_append(t, s, &smp);
    }
}

/* The table every format is rendered from. */
static void build_table(mw_table_t *t, void *block, apr_size_t size,
                        const mw_layout_t *l)
{
    mw_slot_t *s;
    mw_recycle_t ev;
    mw_mapping_growth_t growth[2];
    apr_uint32_t k;
    int i;

    mw_table_open(t, block, size, l, 1);

    /* Slot 0: an older child, leaking, figures all known. */
    s = mw_table_slot(t, (apr_uint32_t)mw_slot_claim(t, 1001, 2,
                                                     NOW - SEC(3600),
                                                     40 * MIB));
    s->state = MW_STATE_OK;
    s->requests = 1234;
    s->connections = 100;
    s->rss = 50 * MIB;
    s->rss_peak = 60 * MIB;
    s->private_bytes = 30 * MIB;
    s->shared_bytes = 20 * MIB;
    s->pss_bytes = 25 * MIB;
    s->smaps_last = NOW - SEC(7);
    s->request_pool_count = 10;
    s->request_pool_sum = 80000;
    s->request_pool_peak = 16384;
    s->connection_pool_peak = 32768;
    s->connection_pool_growth_peak = 8192;
    s->limits.max_growth = 250 * MIB;
    mw_trend_start(&s->trend, 0);
    for (k = 0; k < 16; k++) {
        mw_trend_add(&s->trend, k * 100, 40 * MIB + k * MIB,
                     NOW - SEC(160) + SEC(10 * k), NULL);
    }
    add_history(t, s, 5, 40 * MIB, 1);

    /* Slot 1: a young child, warming, nothing known about private. */
    s = mw_table_slot(t, (apr_uint32_t)mw_slot_claim(t, 1002, 2,
                                                     NOW - SEC(30),
                                                     30 * MIB));
    s->requests = 3;
    add_history(t, s, 3, 30 * MIB, 0);

    /* Slot 2: a child being reaped (free, pid not yet cleared); not
     * shown. */
    s = mw_table_slot(t, (apr_uint32_t)mw_slot_claim(t, 1003, 2,
                                                     NOW - SEC(100), MIB));
    s->state = MW_STATE_FREE;

    /* Slot 3: first a child that exited (recorded), then one retiring. */
    s = mw_table_slot(t, (apr_uint32_t)mw_slot_claim(t, 1005, 1,
                                                     NOW - SEC(7200),
                                                     35 * MIB));
    s->requests = 999;
    s->rss = 45 * MIB;
    mw_slot_reap(t, 1005, 2, NOW - SEC(600));
    s = mw_table_slot(t, (apr_uint32_t)mw_slot_claim(t, 1004, 2,
                                                     NOW - SEC(500),
                                                     40 * MIB));
    s->state = MW_STATE_RETIRING;
    s->reason = MW_REASON_GROWTH;
    s->retired = 1;
    s->rss = 300 * MIB;
    s->private_bytes = 200 * MIB;
    s->shared_bytes = 10 * MIB;
    s->requests = 5000;
    mw_trend_start(&s->trend, 0);
    for (k = 0; k < 16; k++) {
        mw_trend_add(&s->trend, k * 100, 300 * MIB + (k % 2) * 4096,
                     NOW - SEC(160) + SEC(10 * k), NULL);
    }
    add_history(t, s, 4, 290 * MIB, 1);

    /* Slot 0 read its growth by mapping 2 s ago. */
    s = mw_table_slot(t, 0);
    memset(growth, 0, sizeof(growth));
    growth[0].mclass = MW_MAPPING_ANONYMOUS;
    strcpy(growth[0].name, "[anon]");
    growth[0].rss = growth[0].private_bytes = 9 * MIB;
    growth[1].mclass = MW_MAPPING_FILE;
    strcpy(growth[1].name, HOSTILE_MAPPING);
    growth[1].rss = MIB;
    mw_slot_note_mapping(s, NOW - SEC(2), growth, 2);

    /* Recycles: a real one, with what grew, and a dry run without. */
    memset(&ev, 0, sizeof(ev));
    ev.pid = 1004;
    ev.slot = 3;
    ev.reason = MW_REASON_GROWTH;
    ev.time = NOW - SEC(20);
    ev.started = NOW - SEC(500);
    ev.rss = 300 * MIB;
    ev.growth = 260 * MIB;
    ev.private_bytes = MW_UNKNOWN;
    ev.shared_bytes = MW_UNKNOWN;
    ev.requests = 5000;
    ev.mapping_count = 2;
    ev.mapping[0].mclass = MW_MAPPING_HEAP;
    strcpy(ev.mapping[0].name, "[heap]");
    ev.mapping[0].rss = ev.mapping[0].private_bytes = 14 * MIB;
    ev.mapping[1] = growth[1];
    mw_recycle_add(t, &ev);
    ev.mapping_count = MW_MAPPING_UNREAD;
    ev.pid = 1001;
    ev.slot = 0;
    ev.reason = MW_REASON_RSS;
    ev.dry_run = 1;
    ev.time = NOW - SEC(5);
    mw_recycle_add(t, &ev);

    /* Attribution, hostile values included. */
    mw_attr_add(t, "php-script", HOSTILE_PREFIX, 1, 1 * MIB, 4000, NOW);
    mw_attr_add(t, QUOTY_HANDLER, QUOTY_PREFIX, 1, 2 * MIB, 4000, NOW);
    for (i = 0; i < 3; i++) {
        mw_attr_add(t, "default-handler", "/static", 1, 4096, 1000, NOW);
    }
    mw_attr_add(t, "none", "/nogrowth", 1, 0, 500, NOW);     /* to "other" */
}

static void fill_caller_fields(mw_view_t *v)
{
    memset(v, 0, sizeof(*v));
    v->version = "mod_memwatch/0.1";
    v->mpm = "event";
    v->server_name = "evil\"<b>host</b>";
    v->generation = 2;
    v->server_limit = 4;
    v->limits.max_growth = 256 * MIB;
    v->max_retiring = 1;
    v->history_interval = 10;
    v->attribute_depth = 2;
}

static void test_view(const mw_view_t *v)
{
    const mw_child_view_t *c0 = mw_view_child(v, 0);
    const mw_child_view_t *c1 = mw_view_child(v, 1);
    const mw_child_view_t *c3 = mw_view_child(v, 3);
    const mw_attr_view_t *a;
    int k, ordered = 1;

    is_int(v->children->nelts, 3, "three children (the one that left is "
           "not listed)");
    ok(mw_view_child(v, 2) == NULL, "no child in slot 2");
    ok(c0 && c1 && c3, "children in slots 0, 1 and 3");
    if (!c0 || !c1 || !c3) {
        bail_out("view incomplete");
    }
    is_int(c0->pid, 1001, "slot 0 pid");
    is_int(c0->growth, 10 * MIB, "slot 0 growth = rss - baseline");
    is_u64(c0->request_pool_mean, 8000, "slot 0 request pool mean");
    is_int(c0->trend.verdict, MW_VERDICT_LEAKING, "slot 0 leaking");
    is_int(c1->trend.verdict, MW_VERDICT_WARMING, "slot 1 warming");
    is_int(c3->trend.verdict, MW_VERDICT_PLATEAU, "slot 3 plateau");
    is_u64(c1->private_bytes, MW_UNKNOWN, "slot 1 private unknown");
    is_u64(c1->request_pool_peak, MW_UNKNOWN,
           "slot 1 request pool not measured");
    is_u64(c1->connection_pool_peak, MW_UNKNOWN,
           "nor its connection pool");
    is_int(c0->nhistory, 5, "slot 0 has 5 samples");
    for (k = 1; k < c0->nhistory; k++) {
        ordered &= c0->history[k].time > c0->history[k - 1].time;
    }
    ok(ordered, "history oldest first");
    is_int(c3->state, MW_STATE_RETIRING, "slot 3 retiring");
    is_int(c3->reason, MW_REASON_GROWTH, "for growth");
    is_u64(v->rss_total, (50 + 30 + 300) * MIB, "rss total");
    is_u64(v->rss_max, 300 * MIB, "rss max");
    is_u64(v->private_total, MW_UNKNOWN,
           "private total unknown while a child's is unknown");
    is_u64(v->requests_total, 1234 + 3 + 5000, "requests total");
    is_int(v->exited->nelts, 1, "one exited child");
    is_int(APR_ARRAY_IDX(v->exited, 0, mw_exit_view_t).pid, 1005,
           "pid 1005 exited");
    is_int(v->recycles->nelts, 2, "two recycle events");
    is_int(APR_ARRAY_IDX(v->recycles, 0, mw_recycle_view_t).pid, 1001,
           "newest first");
    is_u64(v->recycles_total[MW_REASON_GROWTH], 1, "one growth recycle");
    is_u64(v->would_recycle_total, 1, "one dry run");
    is_int(v->attribution->nelts, 3, "three attribution entries");
    a = &APR_ARRAY_IDX(v->attribution, 0, mw_attr_view_t);
    is_str(a->handler, QUOTY_HANDLER, "most growth first: the quoted one");
    a = &APR_ARRAY_IDX(v->attribution, 1, mw_attr_view_t);
    is_str(a->prefix, HOSTILE_PREFIX, "then the hostile prefix");
    a = &APR_ARRAY_IDX(v->attribution, 2, mw_attr_view_t);
    ok(a->requests == 3 && a->growth == 3 * 4096, "then /static: 3 requests");
    is_u64(v->attr_other.requests, 1, "the no-growth key is in other");
}

static const char json_check_pl[] =
    "use strict; use JSON::PP;\n"
    "local $/; my $j = decode_json(<STDIN>);\n"
    "my @c = @{$j->{children}};\n"
    "sub d { defined $_[0] ? $_[0] : 'null' }\n"
    "print join('|', scalar(@c), $c[0]{pid}, $c[0]{rss_bytes},\n"
    "  $c[0]{growth_bytes}, $c[0]{verdict}, d($c[1]{private_bytes}),\n"
    "  d($c[1]{request_pool_peak_bytes}), d($c[1]{growth_per_request_bytes}),\n"
    "  $c[2]{state}, $c[2]{reason}, d($c[0]{reason}),\n"
    "  scalar(@{$c[0]{history}}), d($c[1]{history}[0]{private_bytes}),\n"
    "  $j->{attribution}[0]{handler}, $j->{attribution}[0]{prefix},\n"
    "  $j->{attribution}[1]{prefix}, $j->{attribution_other}{requests},\n"
    "  $j->{totals}{rss_bytes}, d($j->{totals}{private_bytes}),\n"
    "  $j->{recycles_total}{growth}, $j->{would_recycle_total},\n"
    "  d($j->{recycles}[1]{private_bytes}), $j->{exited}[0]{reason},\n"
    "  $j->{mpm}, ($j->{dry_run} ? 'true' : 'false'),\n"
    "  $j->{limits}{max_growth_bytes}, d($j->{limits}{max_rss_bytes}),\n"
    "  ($j->{pools}{available} ? 'true' : 'false'),\n"
    "  $c[0]{limits}{max_growth_bytes}), \"\\n\";\n";

static void test_json(apr_pool_t *p, const mw_view_t *v)
{
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);
    const char *file, *script, *cmd;
    char got[2048], want[2048];

    mw_render_json(out, v, p);
    ok(b.len > 0 && b.data[b.len - 1] == '\n', "JSON rendered (%lu bytes)",
       (unsigned long)b.len);
    file = write_file(p, "status.json", b.data, b.len);
    cmd = apr_psprintf(p, "perl -MJSON::PP -0777 -ne 'decode_json($_)' %s",
                       file);
    is_int(run(cmd), 0, "JSON::PP decodes it");
    ok(!strstr(b.data, "<script>"), "no raw <script> in JSON");
    ok(strstr(b.data, "\\u003c/td>\\u003cscript>") != NULL,
       "'<' written as \\u003c");
    ok(strstr(b.data, "\"private_bytes\":null") != NULL,
       "an unknown figure is null");
    ok(strstr(b.data, "\"pid\":1001") != NULL, "pid 1001 present");
    ok(strstr(b.data, "\"mpm\":\"event\"") != NULL, "mpm present");
    ok(strstr(b.data, "\"max_retiring\":1}") != NULL, "max_retiring present");

    /* Decode and pick values out: the structure, not just the syntax. */
    script = write_file(p, "check.pl", json_check_pl,
                        sizeof(json_check_pl) - 1);
    cmd = apr_psprintf(p, "perl %s < %s", script, file);
    is_int(run_capture(cmd, got, sizeof(got)), 0, "perl check ran");
    snprintf(want, sizeof(want),
             "3|1001|%llu|%llu|leaking|null|null|null|retiring|growth|"
             "null|5|null|%s|%s|%s|1|%llu|null|1|1|null|restart|event|"
             "false|%llu|null|true|%llu\n",
             50 * MIB, 10 * MIB, QUOTY_HANDLER, QUOTY_PREFIX,
             HOSTILE_PREFIX, 380 * MIB, 256 * MIB, 250 * MIB);
    is_str(got, want, "decoded values round-trip, escapes included");

    /* The checker itself can fail: a cut document does not decode. */
    file = write_file(p, "cut.json", b.data, b.len / 2);
    cmd = apr_psprintf(p, "perl -MJSON::PP -0777 -ne 'decode_json($_)' "
                       "%s 2>/dev/null", file);
    ok(run(cmd) != 0, "(control) half the JSON does not decode");
    test_buf_free(&b);
}

/* Every line "Key: value" with Key in [A-Za-z0-9_]. */
static int auto_lines_ok(const char *s, char *bad, apr_size_t badlen)
{
    while (*s) {
        const char *line = s, *nl = strchr(s, '\n');
        apr_size_t len = nl ? (apr_size_t)(nl - s) : strlen(s);
        const char *q = line;

        while (q < line + len && (apr_isalnum(*q) || *q == '_')) {
            q++;
        }
        if (q == line || q + 2 > line + len || q[0] != ':' || q[1] != ' ') {
            apr_snprintf(bad, badlen, "%.*s", (int)len, line);
            return 0;
        }
        if (!nl) {
            break;
        }
        s = nl + 1;
    }
    return 1;
}

/* The line starting with key, without its newline, or "". */
static const char *auto_line(apr_pool_t *p, const char *s, const char *key)
{
    const char *l = strstr(s, key);

    return l ? apr_pstrndup(p, l, strcspn(l, "\n")) : "";
}

static void test_auto(apr_pool_t *p, const mw_view_t *v)
{
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);
    char bad[256] = "";

    mw_render_auto(out, v, p);
    ok(b.len > 0, "?auto rendered");
    if (!ok(auto_lines_ok(b.data, bad, sizeof(bad)),
            "every ?auto line matches ^[A-Za-z0-9_]+: ")) {
        diag("bad line: %s", bad);
    }
    ok(b.data[b.len - 1] == '\n', "ends with a newline");
    ok(strstr(b.data, "Children: 3\n") != NULL, "Children: 3");
    ok(strstr(b.data, apr_psprintf(p, "TotalRSS: %" APR_UINT64_T_FMT "\n",
                                   (apr_uint64_t)(380 * MIB)))
       != NULL, "TotalRSS");
    ok(!strstr(b.data, "TotalPrivate:"), "unknown TotalPrivate omitted");
    ok(strstr(b.data, "Recycles: 1\nWouldRecycle: 1\n") != NULL,
       "Recycles and WouldRecycle");
    ok(strstr(b.data, "Child1: pid=1002 ") != NULL
       && !strstr(auto_line(p, b.data, "Child1: "), "private=")
       && strstr(auto_line(p, b.data, "Child3: "), " private=209715200 "
                                                   "shared=10485760 "),
       "private= and shared= only where known");
    ok(strstr(b.data, "state=retiring verdict=plateau\n") != NULL,
       "slot 3 state and verdict");

    test_buf_reset(&b);
    mw_render_status_section(out, v, p, 1);
    ok(auto_lines_ok(b.data, bad, sizeof(bad)),
       "mod_status ?auto section lines match too");
    ok(strstr(b.data, "MemwatchLeaking: 1\n") != NULL, "one leaking");
    test_buf_reset(&b);
    mw_render_status_section(out, v, p, 0);
    ok(strstr(b.data, "<h2>Memory (mod_memwatch)</h2>") != NULL,
       "mod_status HTML section");
    test_buf_free(&b);
}

static int have_promtool(void)
{
    return access(PROMTOOL, X_OK) == 0;
}

/* promtool check metrics accepts the text in b (written to `name`), or a
 * skip where there is no promtool. */
static void promtool_accepts(apr_pool_t *p, const char *name,
                             const test_buf_t *b, const char *what)
{
    if (have_promtool()) {
        const char *file = write_file(p, name, b->data, b->len);

        is_int(run(apr_pstrcat(p, PROMTOOL " check metrics < ", file, NULL)),
               0, "%s", what);
    }
    else {
        ok(1, "# SKIP no " PROMTOOL);
    }
}

static void test_prometheus(apr_pool_t *p, const mw_view_t *v)
{
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);
    const char *file, *line;
    int lines_ok = 1;

    mw_render_prometheus(out, v, p);
    ok(b.len > 0, "Prometheus rendered");
    promtool_accepts(p, "metrics.txt", &b,
                     "promtool check metrics accepts it");
    if (have_promtool()) {
        file = write_file(p, "bad.txt", "# TYPE x counter\nx{a=\"1} 1\n", 25);
        ok(run(apr_pstrcat(p, PROMTOOL " check metrics < ", file,
                           " 2>/dev/null", NULL)) != 0,
           "(control) promtool rejects a broken label");
    }
    else {
        ok(1, "# SKIP no " PROMTOOL);
    }
    /* Sample lines: name{labels} value, or name value. */
    for (line = b.data; *line; line = strchr(line, '\n') + 1) {
        const char *sp = strchr(line, ' ');
        if (*line != '#') {
            lines_ok &= sp && sp < strchr(line, '\n')
                        && (apr_isdigit(sp[1]) || sp[1] == '-');
        }
        if (!strchr(line, '\n')) {
            break;
        }
    }
    ok(lines_ok, "every sample line ends in a number");
    ok(strstr(b.data, apr_psprintf(p, "memwatch_child_private_bytes"
                                   "{slot=\"0\"} %" APR_UINT64_T_FMT "\n",
                                   (apr_uint64_t)(30 * MIB))) != NULL,
       "known private is exported");
    ok(!strstr(b.data, "memwatch_child_private_bytes{slot=\"1\"}"),
       "unknown private is omitted");
    ok(!strstr(b.data, "memwatch_child_request_pool_peak_bytes{slot=\"1\"}"),
       "unmeasured pool is omitted");
    ok(!strstr(b.data, "memwatch_child_growth_per_request_bytes"
                       "{slot=\"1\"}"), "a warming child has no slope");
    ok(strstr(b.data, "memwatch_child_leaking{slot=\"0\"} 1\n") != NULL,
       "slot 0 leaking 1");
    ok(strstr(b.data, "memwatch_child_leaking{slot=\"3\"} 0\n") != NULL,
       "slot 3 leaking 0");
    ok(strstr(b.data, "memwatch_recycles_total{reason=\"growth\"} 1\n")
       != NULL, "recycles by reason");
    ok(strstr(b.data, "handler=\"a\\\"b\\\\c'd\",prefix=\"/q\\\"x\\\\y\"")
       != NULL, "quotes and backslashes escaped in labels");
    ok(strstr(b.data, "prefix=\"" HOSTILE_PREFIX "\"") != NULL,
       "other bytes kept as they are in labels");
    is_int(count(b.data, "# TYPE memwatch_child_rss_bytes gauge\n"), 1,
           "one TYPE line per metric");
    test_buf_free(&b);
}

static void test_html(apr_pool_t *p, const mw_view_t *v)
{
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);
    mw_html_opts_t o = { "/memwatch\"><script>x</script>", 30, -1 };

    mw_render_html(out, v, p, &o);
    ok(b.len > 0, "HTML overview rendered (%lu bytes)", (unsigned long)b.len);
    ok(!strstr(b.data, "<script"), "no raw <script> anywhere");
    ok(strstr(b.data, "<td class=\"l\">" HOSTILE_ESCAPED "</td>") != NULL,
       "the hostile prefix is shown escaped");
    ok(strstr(b.data, "a&quot;b\\c&#39;d") != NULL,
       "quotes in a handler escaped");
    ok(strstr(b.data, "evil&quot;&lt;b&gt;host&lt;/b&gt;") != NULL,
       "server name escaped");
    ok(strstr(b.data, "href=\"/memwatch%22%3E%3Cscript%3Ex%3C/script%3E"
                      "?child=0\"") != NULL, "self link percent-encoded");
    ok(strstr(b.data, "<svg") != NULL, "has an SVG chart");
    is_int(count(b.data, "<svg"), count(b.data, "</svg>"), "SVG closed");
    is_int(count(b.data, "<table"), count(b.data, "</table>"),
           "tables closed");
    is_int(count(b.data, "<tr"), count(b.data, "</tr>"), "rows closed");
    is_int(count(b.data, "<polyline class=\"series\""), 3,
           "one line per child");
    is_int(count(b.data, "<polyline class=\"series total\""), 1,
           "and one for the total");
    is_int(count(b.data, "<circle class=\"now total\""), 1,
           "with a dot on its newest point, seen from the first sample");
    ok(strstr(b.data, "<meta http-equiv=\"refresh\" content=\"30\">")
       != NULL, "refresh");
    ok(strstr(b.data, "</html>\n") != NULL, "complete document");
    ok(strstr(b.data, "(would recycle)") != NULL, "dry-run recycle listed");

    test_buf_reset(&b);
    o.child = 0;
    o.refresh = 0;
    mw_render_html(out, v, p, &o);
    ok(strstr(b.data, "<h1>Child in slot 0, pid 1001</h1>") != NULL,
       "detail view of slot 0");
    ok(strstr(b.data, "<svg") != NULL, "with a chart");
    ok(!strstr(b.data, "<script"), "no raw <script> in the detail view");
    ok(!strstr(b.data, "http-equiv"), "no refresh when 0");
    is_int(count(b.data, "<tr><td>"), 5, "one history row per sample");

    test_buf_reset(&b);
    o.child = 2;
    mw_render_html(out, v, p, &o);
    ok(strstr(b.data, "<h1>Memory of Apache children</h1>") != NULL,
       "detail of a slot with no child falls back to the overview");
    test_buf_free(&b);
}

/* Growth by mapping in the view, JSON and the page. */
static void test_mapping(apr_pool_t *p, const mw_view_t *v)
{
    const mw_recycle_view_t *real =
        &APR_ARRAY_IDX(v->recycles, 1, mw_recycle_view_t);
    const mw_recycle_view_t *dry =
        &APR_ARRAY_IDX(v->recycles, 0, mw_recycle_view_t);
    const mw_child_view_t *c0 = mw_view_child(v, 0);
    const mw_child_view_t *c1 = mw_view_child(v, 1);
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);
    mw_html_opts_t o = { "/memwatch", 0, -1 };
    const char *file;

    ok(real->mapping_read && real->nmapping == 2
       && real->mapping[0].mclass == MW_MAPPING_HEAP
       && real->mapping[0].rss_growth == (apr_int64_t)(14 * MIB),
       "the recycle's growers in the view, heap first");
    ok(!dry->mapping_read && !dry->nmapping, "the dry run read none");
    ok(c0->nmapping == 2 && c0->mapping_time == NOW - SEC(2)
       && !strcmp(c0->mapping[1].name, HOSTILE_MAPPING),
       "slot 0's reading in the view, its name as it was");
    ok(!c1->mapping_time && !c1->nmapping, "slot 1 has none");

    mw_render_json(out, v, p);
    ok(strstr(b.data, "\"growth_by_mapping\":[{\"class\":\"heap\","
                      "\"name\":\"[heap]\",\"rss_growth_bytes\":14680064,"
                      "\"private_growth_bytes\":14680064},{\"class\":"
                      "\"file\",\"name\":\"/x/\\u003c/td>\\u003cscript>"
                      "\\u0001\\ufffd.so\",\"rss_growth_bytes\":1048576,"
                      "\"private_growth_bytes\":0}]") != NULL,
       "JSON: growth_by_mapping on the recycle, the name escaped");
    ok(strstr(b.data, "\"growth_by_mapping\":null") != NULL,
       "JSON: null where the child read none");
    file = write_file(p, "mapping.json", b.data, b.len);
    is_int(run(apr_psprintf(p, "perl -MJSON::PP -0777 -ne '$j = "
                            "decode_json($_); exit !($j->{recycles}[1]"
                            "{growth_by_mapping}[0]{class} eq \"heap\" "
                            "&& !defined $j->{recycles}[0]"
                            "{growth_by_mapping})' %s", file)), 0,
           "JSON::PP reads the growers, and null");

    test_buf_reset(&b);
    mw_render_html(out, v, p, &o);
    ok(strstr(b.data, "\">heap +14 MiB</td>") != NULL,
       "the page: \"heap +14 MiB\" beside the recycle");
    ok(strstr(b.data, "title=\"heap [heap]: 14 MiB resident, 14 MiB "
                      "private; file /x/&lt;/td&gt;&lt;script&gt;\xef\xbf\xbd"
                      "\xef\xbf\xbd.so: 1.0 MiB resident, 0 B private\"")
       != NULL, "every grower in its title, names escaped");
    ok(strstr(b.data, "<td class=\"l\">&ndash;</td></tr>") != NULL,
       "a dash where the child read none");

    test_buf_reset(&b);
    o.child = 0;
    mw_render_html(out, v, p, &o);
    ok(strstr(b.data, "<h2>Growth by mapping since warm-up</h2>") != NULL
       && strstr(b.data, "read 2s ago") != NULL,
       "the child page: its reading and its age");
    ok(strstr(b.data, "<tr><td class=\"l\">anonymous</td><td class=\"l\">"
                      "[anon]</td><td>9.0 MiB</td><td>9.0 MiB</td></tr>")
       != NULL, "a row per grower");
    ok(strstr(b.data, "/x/&lt;/td&gt;&lt;script&gt;") != NULL
       && !strstr(b.data, "<script"), "the hostile name escaped");
    test_buf_reset(&b);
    o.child = 1;
    mw_render_html(out, v, p, &o);
    ok(strstr(b.data, "Not read yet. A child reads its mappings once it "
                      "has warmed up.") != NULL,
       "a warming child: not read yet");
    test_buf_free(&b);
}

/* Render one escaper's output for s into a pool string. */
static const char *escaped(apr_pool_t *p, void (*put)(mw_out_t *,
                                                       const char *),
                           const char *s)
{
    test_buf_t b;
    const char *r;

    put(test_buf_init(&b), s);
    r = apr_pstrdup(p, b.data);
    test_buf_free(&b);
    return r;
}

/* Does perl's strict UTF-8 decoder (no surrogates, nothing past
 * U+10FFFF, no overlong forms) take the whole file? */
static int perl_utf8_ok(apr_pool_t *p, const char *file)
{
    return run(apr_psprintf(p, "perl -MEncode=decode -0777 -ne "
                            "'decode(\"UTF-8\", $_, Encode::FB_CROAK)' %s",
                            file)) == 0;
}

static void test_html_text(apr_pool_t *p)
{
    const char *file, *all;

    is_str(escaped(p, mw_put_html_text, "a<b>&\"'c"),
           "a&lt;b&gt;&amp;&quot;&#39;c", "markup escaped");
    is_str(escaped(p, mw_put_html_text, NULL), "", "NULL is empty");
    is_str(escaped(p, mw_put_html_text, "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
           "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
           "valid 2-, 3- and 4-byte sequences kept");
    is_str(escaped(p, mw_put_html_text, "/x/\xff\xfe\x80"),
           "/x/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
           "each invalid byte becomes U+FFFD");
    is_str(escaped(p, mw_put_html_text, "\xc0\xaf"),
           "\xef\xbf\xbd\xef\xbf\xbd", "overlong '/' refused");
    is_str(escaped(p, mw_put_html_text, "\xed\xa0\x80"),
           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "surrogate refused");
    is_str(escaped(p, mw_put_html_text, "\xf4\x90\x80\x80"),
           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
           "past U+10FFFF refused");
    is_str(escaped(p, mw_put_html_text, "a\xe2\x82"),
           "a\xef\xbf\xbd\xef\xbf\xbd", "sequence cut by the end refused");
    is_str(escaped(p, mw_put_html_text, "\xe2\x82<"),
           "\xef\xbf\xbd\xef\xbf\xbd&lt;",
           "an escape after a cut sequence still escaped");
    is_str(escaped(p, mw_put_html_text, "a\x01\x7f\tb\r\n"),
           "a\xef\xbf\xbd\xef\xbf\xbd\tb\r\n",
           "controls but tab, CR, LF become U+FFFD");

    /* Every byte value after every lead byte: always valid UTF-8. */
    {
        char in[3 * 256 * 256 + 1], *q = in;
        int i, j;

        for (i = 1; i < 256; i++) {
            for (j = 1; j < 256; j++) {
                *q++ = (char)i;
                *q++ = (char)j;
                *q++ = (char)(j ^ 0x40);
            }
        }
        *q = '\0';
        all = escaped(p, mw_put_html_text, in);
        file = write_file(p, "text.html", all, strlen(all));
        ok(perl_utf8_ok(p, file),
           "all byte pairs: output is strict UTF-8 (%lu bytes)",
           (unsigned long)strlen(all));
        ok(!strpbrk(all, "<>\"'"), "and holds no raw markup");
    }
}

static void test_html_path(apr_pool_t *p)
{
    is_str(escaped(p, mw_put_html_path, "/memwatch/x?child=0#%"),
           "/memwatch/x%3Fchild=0%23%25", "'?', '#' and '%%' stay in the path");
    is_str(escaped(p, mw_put_html_path, "/memwatch/\xff\xfe\x80"),
           "/memwatch/%FF%FE%80", "invalid UTF-8 percent-encoded");
    is_str(escaped(p, mw_put_html_path, "/caf\xc3\xa9"), "/caf%C3%A9",
           "valid UTF-8 percent-encoded too");
    is_str(escaped(p, mw_put_html_path, "/a\"b c<d>\\e`f{g}|^\x01\x7f"),
           "/a%22b%20c%3Cd%3E%5Ce%60f%7Bg%7D%7C%5E%01%7F",
           "quotes, spaces, markup and controls percent-encoded");
    is_str(escaped(p, mw_put_html_path, "/x&y'z"), "/x&amp;y&#39;z",
           "'&' and quote kept in the path, HTML-escaped");
    is_str(escaped(p, mw_put_html_path, "/AZaz09-._~!$()*+,;=:@/"),
           "/AZaz09-._~!$()*+,;=:@/", "RFC 3986 path characters kept");
    is_str(escaped(p, mw_put_html_path, "//evil.example/memwatch"),
           "/.//evil.example/memwatch", "'//' cannot name another host");
    is_str(escaped(p, mw_put_html_path, "javascript:x"), "./javascript:x",
           "a relative path cannot become a scheme");
    is_str(escaped(p, mw_put_html_path, NULL), "./", "NULL: this folder");
}

/* Each href on the page: ASCII, the encoded own path, and a query from
 * the page's own set. Returns how many there are, -1 on the first bad. */
static int check_hrefs(const char *html, const char *path)
{
    const char *h = html;
    int n = 0;
    apr_size_t plen = strlen(path);

    while ((h = strstr(h, "href=\"")) != NULL) {
        const char *end, *q;

        h += 6;
        if (!(end = strchr(h, '"'))) {
            return -1;
        }
        for (q = h; q < end; q++) {
            if ((unsigned char)*q >= 0x80 || *q == '#' || *q == '<') {
                return -1;
            }
        }
        if ((apr_size_t)(end - h) < plen || strncmp(h, path, plen)) {
            return -1;
        }
        q = h + plen;
        if (q != end && strncmp(q, "?json\"", 6)
            && strncmp(q, "?auto\"", 6) && strncmp(q, "?prometheus\"", 12)
            && strncmp(q, "?child=", 7)) {
            return -1;
        }
        n++;
        h = end;
    }
    return n;
}

/* The two URLs of issue 24 through the whole page, on a table whose
 * attribution keys and a server name hold invalid UTF-8 (the table is
 * written by children, so it may hold anything). */
static void test_html_links(apr_pool_t *p)
{
    mw_layout_t l = { 2, 4, 4 };
    apr_size_t size = mw_shm_size(&l);
    void *block = calloc(1, size);
    mw_table_t t;
    mw_view_t v;
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);
    mw_html_opts_t o = { "/memwatch/x?child=0#%", 0, -1 };
    mw_slot_t *s;

    mw_table_open(&t, block, size, &l, 1);
    s = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 2001, 1,
                                                      NOW - SEC(60), MIB));
    s->rss = 2 * MIB;
    add_history(&t, s, 3, MIB, 1);
    mw_attr_add(&t, "h\xff\xfe", "/p\xc0\xaf\xed\xa0\x80<x>", 1, MIB, 4000,
                NOW);
    fill_caller_fields(&v);
    v.server_name = "host\xe2\x82";
    mw_view_collect(&v, p, &t, NOW, 1);

    mw_render_html(out, &v, p, &o);
    ok(strstr(b.data, "href=\"/memwatch/x%3Fchild=0%23%25?json\"") != NULL,
       "x%%3Fchild=0%%23%%25: ?json link keeps the path");
    ok(strstr(b.data, "href=\"/memwatch/x%3Fchild=0%23%25?child=0\"")
       != NULL, "and the child link too");
    is_int(check_hrefs(b.data, "/memwatch/x%3Fchild=0%23%25"), 4,
           "every href: the encoded path and a query of the page's own");
    ok(perl_utf8_ok(p, write_file(p, "links1.html", b.data, b.len)),
       "page with hostile keys and server name is strict UTF-8");
    ok(strstr(b.data, "h\xef\xbf\xbd\xef\xbf\xbd</td>") != NULL,
       "invalid bytes of a key shown as U+FFFD");

    test_buf_reset(&b);
    o.self = "/memwatch/\xff\xfe\x80";
    mw_render_html(out, &v, p, &o);
    is_int(check_hrefs(b.data, "/memwatch/%FF%FE%80"), 4,
           "%%ff%%fe%%80: every href percent-encoded");
    ok(perl_utf8_ok(p, write_file(p, "links2.html", b.data, b.len)),
       "and the page is strict UTF-8");

    test_buf_reset(&b);
    o.child = 0;
    mw_render_html(out, &v, p, &o);
    ok(strstr(b.data, "href=\"/memwatch/%FF%FE%80\">&larr;") != NULL,
       "detail view: the link back encoded");
    is_int(check_hrefs(b.data, "/memwatch/%FF%FE%80"), 4,
           "and every other href");
    ok(perl_utf8_ok(p, write_file(p, "links3.html", b.data, b.len)),
       "detail view is strict UTF-8");
    test_buf_free(&b);
    free(block);
}

static void test_empty(apr_pool_t *p)
{
    mw_layout_t l = { 2, 4, 4 };
    apr_size_t size = mw_shm_size(&l);
    void *block = calloc(1, size);
    mw_table_t t;
    mw_view_t v;
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);
    mw_html_opts_t o = { "/memwatch", 0, -1 };
    const char *file;

    mw_table_open(&t, block, size, &l, 1);
    fill_caller_fields(&v);
    v.pools_unavailable = "APR version outside 1.4-1.8 <x>";
    v.smaps_unavailable = "no /proc";
    mw_view_collect(&v, p, &t, NOW, 1);
    is_int(v.children->nelts, 0, "empty table: no children");
    is_u64(v.private_total, MW_UNKNOWN, "private total unknown");

    mw_render_json(out, &v, p);
    file = write_file(p, "empty.json", b.data, b.len);
    is_int(run(apr_psprintf(p, "perl -MJSON::PP -0777 -ne 'decode_json($_)' "
                            "%s", file)), 0, "empty JSON decodes");
    ok(strstr(b.data, "\"children\":[]") != NULL, "no children in JSON");
    ok(strstr(b.data, "\"pools\":{\"available\":false,\"reason\":"
                      "\"APR version outside 1.4-1.8 \\u003cx>\"}") != NULL,
       "pools unavailable with the reason");
    test_buf_reset(&b);
    mw_render_prometheus(out, &v, p);
    promtool_accepts(p, "empty.txt", &b,
                     "empty Prometheus output passes promtool");
    test_buf_reset(&b);
    mw_render_html(out, &v, p, &o);
    ok(strstr(b.data, "No samples yet") != NULL, "empty chart explained");
    ok(strstr(b.data, "APR version outside 1.4-1.8 &lt;x&gt;") != NULL,
       "pool note escaped");
    test_buf_reset(&b);
    mw_render_auto(out, &v, p);
    ok(strstr(b.data, "PoolSizes: unavailable\n") != NULL,
       "?auto says pools unavailable");
    test_buf_free(&b);
    free(block);
}

/* A token with markup in it, to show the page escapes what it is given. */
static const char *fake_token(apr_pool_t *p, apr_uint32_t slot,
                              apr_uint32_t pid)
{
    return apr_psprintf(p, "t%u-%u\"<x>", slot, pid);
}

/* MemwatchAllowRecycle: a recycle button for each child past its warm-up
 * that is not leaving yet, in the overview and on its own page; none at
 * all without the directive. */
static void test_html_recycle(apr_pool_t *p)
{
    mw_layout_t l = { 3, 4, 4 };
    apr_size_t size = mw_shm_size(&l);
    void *block = calloc(1, size);
    mw_table_t t;
    mw_view_t v;
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);
    mw_html_opts_t o = { "/memwatch", 0, -1 };
    mw_slot_t *ok_child, *leaving;

    mw_table_open(&t, block, size, &l, 1);
    ok_child = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 2001, 1,
                                                             NOW, MIB));
    mw_slot_warmed(ok_child, 0, MIB);
    mw_slot_claim(&t, 2002, 1, NOW, MIB);                  /* warming */
    leaving = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 2003, 1,
                                                            NOW, MIB));
    mw_slot_warmed(leaving, 0, MIB);
    mw_slot_retire(&t, leaving, MW_STATE_OK, 1, MW_REASON_MANUAL, NOW);
    fill_caller_fields(&v);
    mw_view_collect(&v, p, &t, NOW, 1);

    mw_render_html(out, &v, p, &o);
    ok(!strstr(b.data, "<form") && !strstr(b.data, "Recycle</th>"),
       "recycling off: no button, no column");

    test_buf_reset(&b);
    v.recycle_token = fake_token;
    mw_render_html(out, &v, p, &o);
    is_int(count(b.data, "<form"), 1,
           "recycling on: one button, for the one child past warm-up and "
           "not leaving");
    ok(strstr(b.data, "<th class=\"l\">Recycle</th>") != NULL,
       "and a column for it");
    ok(strstr(b.data, "<form class=\"recycle\" method=\"post\" "
                      "action=\"/memwatch\"><input type=\"hidden\" "
                      "name=\"recycle\" value=\"0\"><input type=\"hidden\" "
                      "name=\"pid\" value=\"2001\"><input type=\"hidden\" "
                      "name=\"token\" value=\"t0-2001&quot;&lt;x&gt;\">")
       != NULL, "the form posts slot, pid and the escaped token to the page");

    test_buf_reset(&b);
    o.child = 0;
    mw_render_html(out, &v, p, &o);
    ok(count(b.data, "<form") == 1
       && strstr(b.data, "action=\"/memwatch?child=0\"><input") != NULL,
       "the child's page has the button, posting back to itself");
    test_buf_reset(&b);
    o.child = 1;
    mw_render_html(out, &v, p, &o);
    ok(strstr(b.data, "Child in slot 1") && !strstr(b.data, "<form"),
       "a warming child's page has none");
    test_buf_reset(&b);
    o.child = 2;
    mw_render_html(out, &v, p, &o);
    ok(strstr(b.data, "Child in slot 2") && !strstr(b.data, "<form"),
       "nor has a retiring child's");
    test_buf_free(&b);
    free(block);
}

/* Two threads adding the same new key at once: the loser sees the entry
 * "being filled" and takes the next free one, so the key has two entries
 * (by design, the request path never waits). The view must not list the
 * key twice: a duplicate Prometheus series is dropped by the server. */
static void test_duplicate_key(apr_pool_t *p)
{
    mw_layout_t l = { 1, 0, 8 };
    apr_size_t size = mw_shm_size(&l);
    void *block = calloc(1, size);
    mw_table_t t;
    mw_view_t v;
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);
    apr_uint32_t home = 0, i;

    mw_table_open(&t, block, size, &l, 1);
    mw_attr_add(&t, "h", "/dup", 1, 100, 0, NOW);
    for (i = 0; i < 8; i++) {
        if (t.attr[i].state == MW_ATTR_READY) {
            home = i;
        }
    }
    /* Start again with the key's home entry "being filled". */
    mw_table_open(&t, block, size, &l, 1);
    t.attr[home].state = MW_ATTR_FILLING;
    mw_attr_add(&t, "h", "/dup", 1, 100, 0, NOW);           /* the loser */
    t.attr[home] = t.attr[(home + 1) % 8];          /* the winner done */
    t.attr[home].requests = 1;
    t.attr[home].growth = 50;
    mw_attr_add(&t, "h", "/dup", 1, 0, 0, NOW);             /* later request */

    fill_caller_fields(&v);
    mw_view_collect(&v, p, &t, NOW, 0);
    ok(v.attribution->nelts >= 1, "the key is listed");
    mw_render_prometheus(out, &v, p);
    is_int(v.attribution->nelts, 1, "listed once");
    is_int(count(b.data, "memwatch_attribution_requests_total{handler=\"h\","
                         "prefix=\"/dup\"}"), 1,
           "one Prometheus series for it");
    if (v.attribution->nelts >= 1) {
        apr_uint64_t req = 0, growth = 0;
        int k;
        for (k = 0; k < v.attribution->nelts; k++) {
            req += APR_ARRAY_IDX(v.attribution, k, mw_attr_view_t).requests;
            growth += APR_ARRAY_IDX(v.attribution, k, mw_attr_view_t).growth;
        }
        ok(req == 3 && growth == 150, "its entries hold 3 requests, 150 B");
    }
    test_buf_free(&b);
    free(block);
}

/* What alerts and dashboards need: build info, start times, each child's
 * own limits, PSS, the age of private, waiting/retiring/exiting. */
static void test_alerting(apr_pool_t *p, const mw_view_t *v,
                          const mw_table_t *t)
{
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);
    mw_view_t nohist;

    mw_render_prometheus(out, v, p);
    ok(strstr(b.data, "memwatch_build_info{version=\"mod_memwatch/0.1\","
                      "mpm=\"event\"} 1\n") != NULL, "build info");
    ok(strstr(b.data, "memwatch_child_start_time_seconds{slot=\"0\"} "
                      "1699996400\n") != NULL, "slot 0 start time");
    ok(strstr(b.data, apr_psprintf(p, "memwatch_child_max_growth_bytes"
                                   "{slot=\"0\"} %" APR_UINT64_T_FMT "\n",
                                   (apr_uint64_t)(250 * MIB))) != NULL,
       "slot 0's own growth limit (250 MiB, not the server's 256)");
    ok(!strstr(b.data, "memwatch_child_max_rss_bytes{"),
       "no series for a limit that is not set");
    ok(strstr(b.data, apr_psprintf(p, "memwatch_child_pss_bytes{slot=\"0\"} "
                                   "%" APR_UINT64_T_FMT "\n",
                                   (apr_uint64_t)(25 * MIB))) != NULL,
       "slot 0 PSS");
    ok(!strstr(b.data, "memwatch_pss_bytes ") && !strstr(b.data,
       "memwatch_private_bytes "), "no PSS or private total while a "
       "child's is unknown");
    ok(strstr(b.data, "memwatch_child_private_age_seconds{slot=\"0\"} 7\n")
       != NULL, "slot 0's private is 7 s old");
    ok(strstr(b.data, "memwatch_child_retiring_seconds{slot=\"3\"} ") != NULL
       && !strstr(b.data, "memwatch_child_retiring_seconds{slot=\"0\"}"),
       "retiring seconds for the retiring child only");
    is_int(count(b.data, "memwatch_child_exiting{slot="), 3,
           "memwatch_child_exiting for each of the 3 children");
    is_int(count(b.data, "memwatch_child_waiting{slot="), 3,
           "memwatch_child_waiting for each of the 3 children");
    test_buf_free(&b);

    /* JSON: history only when collected with it. */
    out = test_buf_init(&b);
    mw_render_json(out, v, p);
    is_int(count(b.data, "\"history\":["), 3, "with history: 3 children");
    ok(strstr(b.data, apr_psprintf(p, "\"pss_bytes\":%" APR_UINT64_T_FMT ",",
                                   (apr_uint64_t)(25 * MIB))) != NULL,
       "JSON pss_bytes");
    test_buf_free(&b);
    fill_caller_fields(&nohist);
    mw_view_collect(&nohist, p, t, NOW, 0);
    out = test_buf_init(&b);
    mw_render_json(out, &nohist, p);
    ok(b.len > 0 && !strstr(b.data, "\"history\""),
       "without history: no history key");
    test_buf_free(&b);

    /* HTML: a dot per child, each in a colour of its own. */
    {
        mw_html_opts_t o = { "/memwatch", 0, -1 };
        out = test_buf_init(&b);
        mw_render_html(out, v, p, &o);
        is_int(count(b.data, "<circle class=\"now\""), 3,
               "a dot per child at its current figures");
        ok(strstr(b.data, "background:#1f77b4") && strstr(b.data,
           "background:#ff7f0e") && strstr(b.data, "background:#2ca02c"),
           "three children, three colours");
        ok(strstr(b.data, "(7s old)") != NULL, "the age of private");
        ok(strstr(b.data, "Total PSS</dt>") != NULL, "the PSS total");
        test_buf_free(&b);
    }
}

/* The forecast in every format: slot 0 leaks 1 MiB per 100 requests and
 * per 10 s with 240 MiB left of its MemwatchMaxGrowth, so 2400 s and 24000
 * requests; slot 3 (plateau) and slot 1 (warming) have none. */
static void test_forecast(apr_pool_t *p, const mw_view_t *v)
{
    const mw_child_view_t *c0 = mw_view_child(v, 0);
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);
    mw_html_opts_t o = { "/memwatch", 0, -1 };

    ok(c0->forecast.limit == MW_REASON_GROWTH
       && c0->forecast.seconds == 2400 && c0->forecast.requests == 24000,
       "slot 0: growth limit in 2400 s, 24000 requests (%llu s, %llu)",
       (unsigned long long)c0->forecast.seconds,
       (unsigned long long)c0->forecast.requests);
    ok(mw_view_child(v, 1)->forecast.seconds == MW_UNKNOWN
       && mw_view_child(v, 3)->forecast.seconds == MW_UNKNOWN,
       "warming and plateau: no forecast");
    mw_render_json(out, v, p);
    ok(strstr(b.data, "\"seconds_to_limit\":2400,\"requests_to_limit\":"
                      "24000,") != NULL, "JSON: slot 0's forecast");
    is_int(count(b.data, "\"seconds_to_limit\":null,\"requests_to_limit\":"
                         "null,"), 2, "JSON: null for the other two");
    test_buf_reset(&b);
    mw_render_auto(out, v, p);
    ok(strstr(auto_line(p, b.data, "Child0: "), " seconds_to_limit=2400 "
              "requests_to_limit=24000 state=") != NULL,
       "?auto: on slot 0's line");
    is_int(count(b.data, "_to_limit="), 2, "?auto: on no other line");
    test_buf_reset(&b);
    mw_render_prometheus(out, v, p);
    ok(strstr(b.data, "# TYPE memwatch_child_seconds_to_limit gauge\n"
                      "memwatch_child_seconds_to_limit{slot=\"0\"} 2400\n#")
       != NULL, "Prometheus: slot 0 only");
    test_buf_reset(&b);
    mw_render_html(out, v, p, &o);
    ok(strstr(b.data, ">leaking, limit in about 40m 0s</td>") != NULL,
       "HTML overview: in slot 0's row");
    is_int(count(b.data, "limit in about"), 1, "and no other");
    test_buf_reset(&b);
    o.child = 0;
    mw_render_html(out, v, p, &o);
    ok(strstr(b.data, "<dt>Forecast</dt><dd>limit in about 40m 0s, 24000 "
                      "requests (growth)") != NULL, "HTML child page");
    test_buf_free(&b);
}

/* Finding 4: the view's arithmetic saturates instead of overflowing. */
static void test_view_arithmetic(void)
{
    is_int(mw_view_diff(5, 3), 2, "diff 5 - 3");
    is_int(mw_view_diff(3, 5), -2, "diff 3 - 5");
    ok(mw_view_diff(APR_UINT64_MAX, 0) == APR_INT64_MAX,
       "a difference above INT64_MAX saturates");
    ok(mw_view_diff(0, APR_UINT64_MAX) == -APR_INT64_MAX,
       "and below -INT64_MAX too");
    is_int(mw_view_seconds(SEC(100), SEC(40)), 60, "60 seconds");
    ok(mw_view_seconds(APR_INT64_MAX, APR_INT64_MIN)
       == apr_time_sec(APR_INT64_MAX), "times at both ends saturate");
    ok(mw_view_seconds(APR_INT64_MIN, APR_INT64_MAX)
       == apr_time_sec(-APR_INT64_MAX), "the other way round too");
    is_int(mw_view_double_i64(1e30), APR_INT64_MAX, "1e30 clamps");
    is_int(mw_view_double_i64(-1e30), -APR_INT64_MAX, "-1e30 clamps");
    is_int(mw_view_double_i64(0.0 / 0.0), 0, "NaN is 0");
    is_int(mw_view_double_i64(-12.7), -12, "in range: truncated");
}

/* Render v in every format; check JSON decodes and promtool accepts. */
static void render_all_checked(apr_pool_t *p, const mw_view_t *v,
                               const char *what, test_buf_t *html)
{
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);
    mw_html_opts_t o = { "/memwatch", 0, -1 };
    const char *file;

    mw_render_json(out, v, p);
    file = write_file(p, "damaged.json", b.data, b.len);
    is_int(run(apr_psprintf(p, "perl -MJSON::PP -0777 -ne 'decode_json($_)' "
                            "%s", file)), 0, "%s: JSON decodes", what);
    test_buf_reset(&b);
    mw_render_prometheus(out, v, p);
    promtool_accepts(p, "damaged.txt", &b,
                     apr_psprintf(p, "%s: promtool accepts the metrics", what));
    test_buf_reset(&b);
    mw_render_auto(out, v, p);
    mw_render_status_section(out, v, p, 1);
    mw_render_status_section(out, v, p, 0);
    ok(b.len > 0, "%s: ?auto and the mod_status section render", what);
    test_buf_free(&b);
    out = test_buf_init(html);
    mw_render_html(out, v, p, &o);
    o.child = 0;
    mw_render_html(out, v, p, &o);
    ok(html->len > 0, "%s: HTML overview and detail render", what);
}

/* Issue 11, findings 1, 3, 4, 5: a table written over by a stray
 * process. Under make asan any out-of-bounds access, signed overflow or
 * out-of-range cast here fails the run. */
static void test_damaged(apr_pool_t *p)
{
    mw_layout_t l = { 4, 8, 16 };
    apr_size_t size = mw_shm_size(&l);
    void *block = malloc(size);
    mw_table_t t;
    mw_view_t v;
    mw_slot_t *s;
    test_buf_t html;
    apr_uint32_t i;
    const char *poly;
    int commas = 0;

    build_table(&t, block, size, &l);

    /* Figures beyond any sense in every live slot. */
    for (i = 0; i < 4; i++) {
        s = mw_table_slot(&t, i);
        if (!s->pid) {
            continue;
        }
        s->state = 99;
        s->reason = 77;
        s->started = APR_INT64_MIN;
        s->rss = 0;
        s->baseline_rss = APR_UINT64_MAX;
        s->hist_seq = s->hist_writing = APR_UINT64_MAX;
        s->trend.n = 0xffffffffu;
        memset(s->trend.pts, 0xff, sizeof(s->trend.pts));
        s->trend.pts[0].rss = 0;
        s->heap_in_use = APR_UINT64_MAX - 1;
        s->heap_free = APR_UINT64_MAX - 1;
        s->heap_time = i % 2 ? APR_INT64_MAX : APR_INT64_MIN;
        s->trims = s->trim_reclaimed = APR_UINT64_MAX - 1;
        ((mw_sample_t *)(s + 1))[i].time = i % 2 ? APR_INT64_MAX
                                                 : APR_INT64_MIN;
    }
    /* A first sample at time 0 and the rest now: 2^31..2^32 sampling
     * intervals apart (finding 3: total_series asked for ~2^64 bytes). */
    ((mw_sample_t *)(mw_table_slot(&t, 0) + 1))[0].time = 0;
    t.hdr->recycles[0].time = APR_INT64_MIN;
    t.hdr->recycles[0].started = APR_INT64_MAX;
    t.hdr->exited[0].started = APR_INT64_MAX;
    t.hdr->exited[0].exited = APR_INT64_MIN;
    t.hdr->exited[0].baseline_rss = APR_UINT64_MAX;
    /* Bytes >= 0x80 in a key (finding 5: raw in Prometheus labels). */
    for (i = 0; i < 16; i++) {
        if (t.attr[i].state == MW_ATTR_READY) {
            t.attr[i].handler[0] = (char)0xff;
            t.attr[i].prefix[1] = (char)0xc3;
            memset(t.attr[i].prefix + 2, 0x80, 3);
        }
    }

    fill_caller_fields(&v);
    mw_view_collect(&v, p, &t, NOW, 1);
    ok(v.damaged == NULL, "a damaged slot is not a damaged header");
    is_int(v.children->nelts, 4, "every slot with a pid and a non-free "
           "state is listed");
    ok(mw_view_child(&v, 0)->nhistory <= 8, "history within its length");
    render_all_checked(p, &v, "garbage figures", &html);
    ok(strstr(html.data, "unknown") != NULL,
       "out-of-range states and reasons are named unknown");
    poly = strstr(html.data, "class=\"series total\"");
    ok(poly != NULL, "the total line is drawn");
    for (; poly && *poly && *poly != '/'; poly++) {
        commas += *poly == ',';
    }
    ok(commas > 0 && commas <= 4096,
       "with at most 4096 points (%d) over a huge time span", commas);
    test_buf_free(&html);

    /* The header itself: nothing more is read from such a table. */
    t.hdr->nslots = 0x7fffffff;
    t.hdr->attr_len = 0x7fffffff;
    fill_caller_fields(&v);
    mw_view_collect(&v, p, &t, NOW, 1);
    ok(v.damaged != NULL, "a damaged header is reported: %s",
       v.damaged ? v.damaged : "(none)");
    is_int(v.children->nelts + v.attribution->nelts + v.exited->nelts, 0,
           "and nothing is read from it");
    render_all_checked(p, &v, "damaged header", &html);
    ok(strstr(html.data, "shared memory table is damaged") != NULL,
       "the page says the table is damaged");
    test_buf_free(&html);
    free(block);
}

/* malloc's figures and the trims in every format: a fragmented child
 * (RSS climbs 1 MiB a point, in use flat) that trimmed twice, and one
 * whose heap was never read. */
static void test_heap_formats(apr_pool_t *p)
{
    mw_layout_t l = { 2, 4, 4 };
    apr_size_t size = mw_shm_size(&l);
    void *block = calloc(1, size);
    mw_table_t t;
    mw_view_t v;
    mw_slot_t *s;
    mw_heap_t heap = { 6 * MIB, 90 * MIB };
    mw_trend_heap_t last = { 6 * MIB, 0, 0 };
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);
    mw_html_opts_t o = { "/memwatch", 0, -1 };
    const char *file, *line;
    apr_uint32_t k;

    mw_table_open(&t, block, size, &l, 1);
    s = mw_table_slot(&t, (apr_uint32_t)mw_slot_claim(&t, 2001, 1,
                                                      NOW - SEC(600),
                                                      40 * MIB));
    mw_slot_warmed(s, 0, 40 * MIB);
    mw_trend_start(&s->trend, 0);
    for (k = 0; k < 16; k++) {
        last.time = NOW - SEC(160) + SEC(10 * k) - SEC(1);
        last.in_use = 6 * MIB + k * 1024;
        last.free_bytes = k * MIB;
        mw_trend_add(&s->trend, k * 100, 40 * MIB + k * MIB,
                     NOW - SEC(160) + SEC(10 * k), &last);
    }
    mw_slot_note_rss(s, 55 * MIB);
    mw_slot_note_heap(s, NOW - SEC(1), &heap);
    mw_slot_note_trim(&t, s, 30 * MIB, 1);
    mw_slot_note_trim(&t, s, 2 * MIB, 0);
    mw_slot_claim(&t, 2002, 1, NOW - SEC(60), 30 * MIB);
    fill_caller_fields(&v);
    v.trim = 1;
    mw_view_collect(&v, p, &t, NOW, 0);
    is_int(mw_view_child(&v, 0)->trend.verdict, MW_VERDICT_FRAGMENTED,
           "heap formats: the child is fragmented");

    mw_render_json(out, &v, p);
    file = write_file(p, "heap.json", b.data, b.len);
    is_int(run(apr_psprintf(p, "perl -MJSON::PP -0777 -ne 'decode_json($_)' "
                            "%s", file)), 0, "heap formats: JSON decodes");
    ok(strstr(b.data, apr_psprintf(p, "\"heap_in_use_bytes\":%"
                                   APR_UINT64_T_FMT ",\"heap_free_bytes\":%"
                                   APR_UINT64_T_FMT ",\"heap_time\":%"
                                   APR_INT64_T_FMT ",",
                                   (apr_uint64_t)(6 * MIB),
                                   (apr_uint64_t)(90 * MIB),
                                   apr_time_sec(NOW) - 1)) != NULL,
       "JSON: heap_in_use_bytes, heap_free_bytes and heap_time");
    ok(strstr(b.data, "\"heap_in_use_bytes\":null,\"heap_free_bytes\":null,"
                      "\"heap_time\":0,\"trend_heap_in_use_rise_bytes\":"
                      "null,\"trend_heap_free_rise_bytes\":null,"
                      "\"trend_rss_rise_bytes\":null,\"trims\":0,"
                      "\"trim_reclaimed_bytes\":0") != NULL,
       "JSON: null where the heap was never read");
    ok(strstr(b.data, "\"verdict\":\"fragmented\"") != NULL,
       "JSON: verdict fragmented");
    ok(strstr(b.data, apr_psprintf(p, "\"trims\":2,\"trim_reclaimed_bytes\""
                                   ":%" APR_UINT64_T_FMT "}",
                                   (apr_uint64_t)(32 * MIB))) != NULL,
       "JSON: the child's trims");
    ok(strstr(b.data, apr_psprintf(p, "\"trims\":2,\"trims_under_limit\":1,"
                                   "\"trim_reclaimed_bytes\":%"
                                   APR_UINT64_T_FMT ",",
                                   (apr_uint64_t)(32 * MIB))) != NULL,
       "JSON: the totals' trims");
    ok(strstr(b.data, "\"heap\":{\"available\":true,\"reason\":null},"
                      "\"trim\":true,") != NULL, "JSON: heap and trim");

    test_buf_reset(&b);
    mw_render_auto(out, &v, p);
    line = auto_line(p, b.data, "Child0: ");
    ok(strstr(line, apr_psprintf(p, " heap_in_use=%" APR_UINT64_T_FMT
                                 " heap_free=%" APR_UINT64_T_FMT
                                 " trims=2 trim_reclaimed=%" APR_UINT64_T_FMT
                                 " ", (apr_uint64_t)(6 * MIB),
                                 (apr_uint64_t)(90 * MIB),
                                 (apr_uint64_t)(32 * MIB))) != NULL
       && strstr(line, " verdict=fragmented") != NULL,
       "?auto: the child's heap, trims and verdict");
    ok(!strstr(auto_line(p, b.data, "Child1: "), "heap_in_use="),
       "?auto: no heap where it is unknown");
    ok(strstr(b.data, "Trims: 2\nTrimsUnderLimit: 1\nTrimReclaimed: ")
       != NULL, "?auto: Trims, TrimsUnderLimit, TrimReclaimed");

    test_buf_reset(&b);
    mw_render_prometheus(out, &v, p);
    promtool_accepts(p, "heap.txt", &b,
                     "heap formats: promtool accepts the metrics");
    ok(strstr(b.data, apr_psprintf(p, "memwatch_child_heap_in_use_bytes"
                                   "{slot=\"0\"} %" APR_UINT64_T_FMT "\n",
                                   (apr_uint64_t)(6 * MIB))) != NULL
       && strstr(b.data, apr_psprintf(p, "memwatch_child_heap_free_bytes"
                                      "{slot=\"0\"} %" APR_UINT64_T_FMT "\n",
                                      (apr_uint64_t)(90 * MIB))) != NULL,
       "Prometheus: the child's heap figures");
    ok(!strstr(b.data, "memwatch_child_heap_in_use_bytes{slot=\"1\"}"),
       "Prometheus: none where unknown");
    ok(strstr(b.data, "memwatch_child_fragmented{slot=\"0\"} 1\n") != NULL
       && strstr(b.data, "memwatch_child_leaking{slot=\"0\"} 0\n") != NULL,
       "Prometheus: fragmented 1, leaking 0");
    ok(strstr(b.data, "memwatch_trims_total{outcome=\"under_limit\"} 1\n"
                      "memwatch_trims_total{outcome=\"over_limit\"} 1\n")
       != NULL && strstr(b.data, apr_psprintf(
                      p, "memwatch_trim_reclaimed_bytes_total %"
                      APR_UINT64_T_FMT "\n", (apr_uint64_t)(32 * MIB)))
                  != NULL,
       "Prometheus: trims by outcome, bytes reclaimed");
    ok(strstr(b.data, "memwatch_child_trims_total{slot=\"0\"} 2\n") != NULL,
       "Prometheus: the child's trims");

    test_buf_reset(&b);
    mw_render_status_section(out, &v, p, 1);
    ok(strstr(b.data, "MemwatchFragmented: 1\n") != NULL,
       "mod_status: MemwatchFragmented");

    test_buf_reset(&b);
    mw_render_html(out, &v, p, &o);
    ok(strstr(b.data, "<td>6.0 MiB <span class=\"age\">(1s old)</span> / "
                      "90 MiB</td>") != NULL
       || strstr(b.data, "<td>6.0 MiB / 90 MiB</td>") != NULL,
       "HTML: heap in use / free in the child's row");
    ok(strstr(b.data, "<td class=\"l fragmented\">fragmented") != NULL,
       "HTML: the verdict, styled");
    ok(strstr(b.data, "<dt title=\"MemwatchTrim") != NULL,
       "HTML: the trims in the summary");
    test_buf_reset(&b);
    o.child = 0;
    mw_render_html(out, &v, p, &o);
    if (!ok(strstr(b.data, "Heap (malloc)</dt><dd>6.0 MiB") != NULL
            && strstr(b.data, "<dt>Heap over the trend</dt><dd>in use changed "
                      "by ")
               != NULL
            && strstr(b.data, "<dt>Trims</dt><dd>2, 32 MiB given back</dd>")
               != NULL, "HTML: the child's page has its heap and trims")) {
        diag("%.600s", strstr(b.data, "Heap (malloc)") ? strstr(b.data,
             "Heap (malloc)") : b.data);
    }
    test_buf_free(&b);
    free(block);
}

int main(void)
{
    apr_pool_t *p;
    mw_layout_t l = { 4, 8, 16 };
    apr_size_t size = mw_shm_size(&l);
    void *block;
    mw_table_t t;
    mw_view_t v;

    apr_initialize();
    apr_pool_create(&p, NULL);
    strcpy(tmpdir, "/tmp/mw-render-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        bail_out("mkdtemp failed");
    }

    block = malloc(size);
    memset(block, 0x5a, size);
    build_table(&t, block, size, &l);
    fill_caller_fields(&v);
    mw_view_collect(&v, p, &t, NOW, 1);

    test_view(&v);
    test_json(p, &v);
    test_auto(p, &v);
    test_prometheus(p, &v);
    test_alerting(p, &v, &t);
    test_html(p, &v);
    test_forecast(p, &v);
    test_mapping(p, &v);
    test_html_text(p);
    test_html_path(p);
    test_html_links(p);
    test_html_recycle(p);
    test_empty(p);
    test_duplicate_key(p);
    test_damaged(p);
    test_heap_formats(p);
    test_view_arithmetic();

    free(block);
    if (getenv("MW_TEST_KEEP")) {
        diag("outputs kept in %s", tmpdir);
    }
    else {
        run(apr_pstrcat(p, "rm -rf ", tmpdir, NULL));
    }
    apr_pool_destroy(p);
    apr_terminate();
    return done();
}
