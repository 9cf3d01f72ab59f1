/* Licensed under the Apache License, Version 2.0. */

/* mw_format: size parsing and formatting, output sinks and escaping.
 * APR only: no httpd types, so unit tests can drive it without a server. */

#ifndef MW_FORMAT_H
#define MW_FORMAT_H

#include <apr_pools.h>
#include <apr_strings.h>

/* Where a renderer's bytes go: ap_rwrite in the handler, a buffer in tests. */
typedef apr_status_t mw_write_fn(void *baton, const char *data,
                                 apr_size_t len);

typedef struct mw_out_t {
    mw_write_fn *write;
    void *baton;
} mw_out_t;

/* Parse "512", "64K", "1.5M", "2g" (powers of 1024, case-insensitive)
 * into bytes. Returns NULL on success or a static message on error. */
const char *mw_parse_size(const char *arg, apr_uint64_t *bytes);

/* Human-readable size, e.g. "1.5 MiB", "812 KiB", "940 B". */
const char *mw_format_size(apr_pool_t *p, apr_uint64_t bytes);

/* Same, for a signed quantity such as growth ("-4.0 KiB"). */
const char *mw_format_ssize(apr_pool_t *p, apr_int64_t bytes);

/* Human-readable duration in whole units, e.g. "3d 4h", "12m 5s". */
const char *mw_format_duration(apr_pool_t *p, apr_int64_t seconds);

void mw_puts(mw_out_t *out, const char *s);

/* Formatted output (apr_snprintf's formats), written whole however long:
 * in pieces of at most 1 KiB. */
void mw_printf(mw_out_t *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* v with one decimal ("12.3", "-0.5") into buf, which has room for
 * MW_TENTHS_LEN bytes; returns the length, no NUL. As "%.1f" but for the
 * rounding of an exact half, and without the formatter's cost: a chart
 * draws thousands of points. */
#define MW_TENTHS_LEN 32
apr_size_t mw_format_tenths(char *buf, double v);

/* Escaped output of untrusted text for HTML text and attributes. */
void mw_put_html(mw_out_t *out, const char *s);

/* A JSON string literal, quotes included; NULL becomes null. */
void mw_put_json_string(mw_out_t *out, const char *s);

/* A Prometheus label value, without the quotes. */
void mw_put_prom_label(mw_out_t *out, const char *s);

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if the bytes there
 * are not one: no overlong forms, no surrogates, nothing past U+10FFFF.
 * Reads no further than the first byte that does not fit, so a NUL ends
 * it. */
int mw_utf8_len(const unsigned char *s);

#endif /* MW_FORMAT_H */
