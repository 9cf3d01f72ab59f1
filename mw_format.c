/* Licensed under the Apache License, Version 2.0. */

#include <stdarg.h>

#include <apr_lib.h>

#include "mw_format.h"

/* Larger than any size httpd could use, small enough that K/M/G
 * multiplication cannot overflow 64 bits. */
#define MW_SIZE_MAX ((apr_uint64_t)1 << 50)

const char *mw_parse_size(const char *arg, apr_uint64_t *bytes)
{
    const char *p = arg;
    apr_uint64_t whole = 0, frac = 0, frac_div = 1, mult = 1;
    int digits = 0;

    if (!arg) {
        return "missing value";
    }
    while (apr_isdigit(*p)) {
        whole = whole * 10 + (apr_uint64_t)(*p++ - '0');
        if (whole > MW_SIZE_MAX) {
            return "value too large";
        }
        digits++;
    }
    if (*p == '.') {
        p++;
        while (apr_isdigit(*p)) {
            if (frac_div < 1000000) {
                frac = frac * 10 + (apr_uint64_t)(*p - '0');
                frac_div *= 10;
            }
            p++;
            digits++;
        }
    }
    if (!digits) {
        return "not a number";
    }
    switch (apr_tolower(*p)) {
    case '\0': break;
    case 'k': mult = 1024; p++; break;
    case 'm': mult = 1024 * 1024; p++; break;
    case 'g': mult = 1024 * 1024 * 1024; p++; break;
    default: return "unknown unit (use K, M or G)";
    }
    if (mult > 1 && apr_tolower(*p) == 'b') {
        p++;    /* accept "64KB" and "64kb" as well as "64K" */
    }
    if (*p != '\0') {
        return "trailing characters after the size";
    }
    if (frac_div > 1 && mult == 1) {
        return "fractions need a unit (K, M or G)";
    }
    if (whole > MW_SIZE_MAX / mult
        || whole * mult + frac * mult / frac_div > MW_SIZE_MAX) {
        return "value too large";
    }
    *bytes = whole * mult + frac * mult / frac_div;
    return NULL;
}

const char *mw_format_size(apr_pool_t *p, apr_uint64_t bytes)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
    double v = (double)bytes;
    int u = -1;

    if (bytes < 1024) {
        return apr_psprintf(p, "%" APR_UINT64_T_FMT " B", bytes);
    }
    while (v >= 1024.0 && u < 3) {
        v /= 1024.0;
        u++;
    }
    /* 1048575 bytes would print as "1024 KiB". */
    if (v >= 1023.5 && u < 3) {
        v /= 1024.0;
        u++;
    }
    return apr_psprintf(p, v < 10.0 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

const char *mw_format_ssize(apr_pool_t *p, apr_int64_t bytes)
{
    if (bytes < 0) {
        /* Negated in unsigned arithmetic: -INT64_MIN does not exist. */
        return apr_pstrcat(p, "-", mw_format_size(
                               p, (apr_uint64_t)0 - (apr_uint64_t)bytes),
                           NULL);
    }
    return mw_format_size(p, (apr_uint64_t)bytes);
}

const char *mw_format_duration(apr_pool_t *p, apr_int64_t s)
{
    if (s < 0) {
        s = 0;
    }
    if (s < 60) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT "s", s);
    }
    if (s < 3600) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT "m %" APR_INT64_T_FMT "s",
                            s / 60, s % 60);
    }
    if (s < 86400) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT "h %" APR_INT64_T_FMT "m",
                            s / 3600, (s % 3600) / 60);
    }
    return apr_psprintf(p, "%" APR_INT64_T_FMT "d %" APR_INT64_T_FMT "h",
                        s / 86400, (s % 86400) / 3600);
}

void mw_puts(mw_out_t *out, const char *s)
{
    out->write(out->baton, s, strlen(s));
}

/* mw_printf's formatter state: a buffer flushed to the output whenever
 * it fills, so output of any length is written whole. */
typedef struct printf_buf_t {
    apr_vformatter_buff_t vbuff;    /* first: the flush gets its address */
    mw_out_t *out;
    char data[1024];
} printf_buf_t;

static int printf_flush(apr_vformatter_buff_t *vbuff)
{
    printf_buf_t *b = (printf_buf_t *)vbuff;

    b->out->write(b->out->baton, b->data, (apr_size_t)(vbuff->curpos
                                                       - b->data));
    vbuff->curpos = b->data;
    return 0;
}

void mw_printf(mw_out_t *out, const char *fmt, ...)
{
    printf_buf_t b;
    va_list ap;

    b.out = out;
    b.vbuff.curpos = b.data;
    b.vbuff.endpos = b.data + sizeof(b.data);
    va_start(ap, fmt);
    apr_vformatter(printf_flush, &b.vbuff, fmt, ap);
    va_end(ap);
    if (b.vbuff.curpos > b.data) {
        printf_flush(&b.vbuff);
    }
}

/* Write s, replacing each byte for which repl() returns a string. */
static void put_escaped(mw_out_t *out, const char *s,
                        const char *(*repl)(unsigned char c, char *tmp))
{
    const char *run = s;
    char tmp[8];

    for (; *s; s++) {
        const char *r = repl((unsigned char)*s, tmp);
        if (r) {
            if (s > run) {
                out->write(out->baton, run, (apr_size_t)(s - run));
            }
            mw_puts(out, r);
            run = s + 1;
        }
    }
    if (s > run) {
        out->write(out->baton, run, (apr_size_t)(s - run));
    }
}

static const char *html_repl(unsigned char c, char *tmp)
{
    switch (c) {
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '&': return "&amp;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    default: return NULL;
    }
}

static const char *json_repl(unsigned char c, char *tmp)
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '<': return "\\u003c"; /* safe to embed in a <script> or HTML */
    default:
        if (c >= 0x80) {
            return "\\ufffd";   /* never invalid UTF-8 in the output */
        }
        if (c < 0x20 || c == 0x7f) {
            apr_snprintf(tmp, 8, "\\u%04x", c);
            return tmp;
        }
        return NULL;
    }
}

apr_size_t mw_format_tenths(char *buf, double v)
{
    char digits[24], *q = digits + sizeof(digits);
    apr_uint64_t t;
    apr_size_t n = 0;

    /* Past 2^53 tenths a double has no tenths to write, and NaN none. */
    if (!(v > -1e15 && v < 1e15)) {
        return (apr_size_t)apr_snprintf(buf, MW_TENTHS_LEN, "%.1f", v);
    }
    t = (apr_uint64_t)((v < 0 ? -v : v) * 10 + 0.5);
    if (v < 0 && t) {
        buf[n++] = '-';
    }
    *--q = (char)('0' + t % 10);
    *--q = '.';
    t /= 10;
    do {
        *--q = (char)('0' + t % 10);
        t /= 10;
    } while (t);
    memcpy(buf + n, q, (apr_size_t)(digits + sizeof(digits) - q));
    return n + (apr_size_t)(digits + sizeof(digits) - q);
}

void mw_put_html(mw_out_t *out, const char *s)
{
    put_escaped(out, s ? s : "", html_repl);
}

void mw_put_json_string(mw_out_t *out, const char *s)
{
    if (!s) {
        mw_puts(out, "null");
        return;
    }
    mw_puts(out, "\"");
    put_escaped(out, s, json_repl);
    mw_puts(out, "\"");
}

int mw_utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];

    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    }
    if (c >= 0xe0 && c <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80
            || (c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f)) {
            return 0;
        }
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80
            || (s[3] & 0xc0) != 0x80 || (c == 0xf0 && s[1] < 0x90)
            || (c == 0xf4 && s[1] > 0x8f)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

/* Prometheus label values are UTF-8: escape backslash, " and newline,
 * keep valid sequences, and write U+FFFD for each byte that starts none. */
void mw_put_prom_label(mw_out_t *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    const unsigned char *run = s;

    while (*s) {
        const char *r = NULL;
        int n = mw_utf8_len(s);

        switch (n ? *s : 0x80) {
        case '"': r = "\\\""; break;
        case '\\': r = "\\\\"; break;
        case '\n': r = "\\n"; break;
        case 0x80: r = "\xef\xbf\xbd"; n = 1; break;
        default: break;
        }
        if (r) {
            if (s > run) {
                out->write(out->baton, (const char *)run,
                           (apr_size_t)(s - run));
            }
            mw_puts(out, r);
            run = s + n;
        }
        s += n;
    }
    if (s > run) {
        out->write(out->baton, (const char *)run, (apr_size_t)(s - run));
    }
}
