/* Licensed under the Apache License, Version 2.0. */

/* A shared-memory table of random bytes, opened, written to and rendered
 * in every format. The first input byte picks the case:
 *   mode 0: the whole block is random, opened as an existing table;
 *   mode 1: a valid header, everything after it random (the input
 *           repeated to fill it);
 *   mode 2: a valid table, then the whole block (header included)
 *           overwritten while "open", as a stray write would;
 *   mode 3: a valid table in use (children, history, trend, rings,
 *           attribution), then patched at random offsets: (offset, byte)
 *           pairs.
 * The next bytes choose a small layout; the rest are the block's bytes.
 * Nothing may crash, read or write outside the block, overflow a signed
 * integer, or produce invalid UTF-8 in JSON or Prometheus output. */

#include <stddef.h>

#include "fuzz_common.h"
#include "mw_render.h"
#include "mw_attr.h"
#include "mw_shm.h"
#include "mw_view.h"

static int valid_utf8(const unsigned char *s, apr_size_t n)
{
    apr_size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        apr_size_t k, len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2
                            : (c & 0xf0) == 0xe0 ? 3
                            : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!len || i + len > n || (len == 2 && c < 0xc2)) {
            return 0;
        }
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return 0;
            }
        }
        i += len;
    }
    return 1;
}

static void render_all(apr_pool_t *p, const mw_table_t *t)
{
    mw_view_t v;
    mw_out_t out;
    fuzz_buf_t b;
    mw_html_opts_t o = { "/memwatch", 5, -1 };

    memset(&v, 0, sizeof(v));
    v.version = "fuzz";
    v.mpm = "event";
    v.server_name = "fuzz";
    v.history_interval = 10;
    v.attribute_depth = 2;
    v.limits.max_growth = 1024 * 1024;
    mw_view_collect(&v, p, t, apr_time_from_sec(1700000000), 1);

    fuzz_out(&b, &out);
    mw_render_json(&out, &v, p);
    if (!valid_utf8((unsigned char *)b.data, b.len)) {
        abort();
    }
    fuzz_reset(&b);
    mw_render_prometheus(&out, &v, p);
    if (!valid_utf8((unsigned char *)b.data, b.len)) {
        abort();
    }
    fuzz_reset(&b);
    mw_render_auto(&out, &v, p);
    mw_render_status_section(&out, &v, p, 1);
    mw_render_status_section(&out, &v, p, 0);
    mw_render_html(&out, &v, p, &o);
    if (v.children->nelts) {
        o.child = (int)APR_ARRAY_IDX(v.children, 0, mw_child_view_t).slot;
        mw_render_html(&out, &v, p, &o);
    }
    free(b.data);
}

/* What the writers do to a table they hold open. */
static void write_some(const mw_table_t *t, const uint8_t *data, size_t size)
{
    mw_sample_t smp;
    mw_recycle_t ev;
    apr_uint32_t pid = size ? data[0] + 1 : 1;
    int slot = mw_slot_claim(t, pid, 1, apr_time_from_sec(1000), 4096);
    mw_slot_t *s = slot >= 0 ? mw_table_slot(t, (apr_uint32_t)slot) : NULL;

    memset(&smp, 0, sizeof(smp));
    memset(&ev, 0, sizeof(ev));
    if (s) {
        mw_history_append(t, s, &smp);
        if (mw_trend_due(&s->trend, 1)) {
            mw_trend_add(&s->trend, 1, 4096, apr_time_from_sec(1001),
                         NULL);
        }
        s->state = MW_STATE_OK;
        mw_slot_retire(t, s, MW_STATE_OK, 1, MW_REASON_GROWTH, 0);
    }
    mw_attr_add(t, "h", "/x", 1, 4096, 1, apr_time_from_sec(1000));
    mw_attr_add(t, "h", "/y", 1, 0, 1, apr_time_from_sec(5000));
    ev.reason = size > 1 ? data[1] : 0;
    mw_recycle_add(t, &ev);
    mw_slot_reap(t, pid, 2, apr_time_from_sec(1002));
}

/* A table as a running server leaves it. */
static void populate(const mw_table_t *t)
{
    apr_time_t now = apr_time_from_sec(1700000000);
    mw_sample_t smp;
    mw_recycle_t ev;
    apr_uint32_t i, k;

    memset(&smp, 0, sizeof(smp));
    memset(&ev, 0, sizeof(ev));
    for (i = 0; i < mw_table_nslots(t); i++) {
        int n = mw_slot_claim(t, 100 + i, 1, now - apr_time_from_sec(600),
                              1 << 20);
        mw_slot_t *s = mw_table_slot(t, (apr_uint32_t)n);
        s->state = MW_STATE_OK;
        s->requests = 1000 * (i + 1);
        s->request_pool_count = 3;
        mw_trend_start(&s->trend, 0);
        for (k = 0; k < 20; k++) {
            mw_trend_add(&s->trend, 100 * k, (1 << 20) + 4096 * k * i,
                         now - apr_time_from_sec(200 - 10 * k), NULL);
            smp.time = now - apr_time_from_sec(200 - 10 * k);
            smp.rss = (1 << 20) + 4096 * k;
            mw_history_append(t, s, &smp);
        }
        ev.pid = 100 + i;
        ev.time = now - apr_time_from_sec(5);
        ev.reason = MW_REASON_GROWTH;
        mw_recycle_add(t, &ev);
        mw_attr_add(t, "handler", i % 2 ? "/a/:id" : "/b", 1, 4096, 100, now);
    }
    mw_slot_claim(t, 99, 0, now - apr_time_from_sec(900), 1 << 20);
    mw_slot_reap(t, 99, 1, now - apr_time_from_sec(60));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mw_layout_t l;
    mw_table_t t;
    apr_size_t total, n;
    apr_pool_t *p;
    char *block;
    int mode;

    if (size < 4) {
        return 0;
    }
    mode = data[0] % 4;
    l.nslots = 1 + data[1] % 6;
    l.history_len = data[2] % 12;
    l.attr_len = data[3] % 10;
    data += 4;
    size -= 4;
    total = mw_shm_size(&l);
    block = calloc(1, total);
    if (!block) {
        abort();
    }
    apr_pool_create(&p, fuzz_root);

    if (mode == 0) {
        memcpy(block, data, size < total ? size : total);
        if (mw_table_open(&t, block, total, &l, 0) != APR_SUCCESS) {
            goto done;
        }
    }
    else if (mode == 1) {
        apr_size_t from = offsetof(mw_shm_header_t, retiring);
        mw_table_open(&t, block, total, &l, 1);
        for (n = from; size && n < total; n += size) {
            memcpy(block + n, data, size < total - n ? size : total - n);
        }
    }
    else if (mode == 2) {
        mw_table_open(&t, block, total, &l, 1);
        memcpy(block, data, size < total ? size : total);
    }
    else {
        mw_table_open(&t, block, total, &l, 1);
        populate(&t);
        for (n = 0; n + 3 <= size; n += 3) {
            block[(data[n] | (apr_size_t)data[n + 1] << 8) % total]
                = (char)data[n + 2];
        }
    }
    render_all(p, &t);
    write_some(&t, data, size);
    render_all(p, &t);
done:
    apr_pool_destroy(p);
    free(block);
    return 0;
}
