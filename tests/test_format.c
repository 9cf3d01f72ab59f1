/* Licensed under the Apache License, Version 2.0. */

/* mw_format: size parsing and formatting, escaping, mw_printf. */

#include <apr_general.h>

#include "tap.h"
#include "buf.h"
#include "mw_format.h"

#define SENTINEL 0xdeadbeefULL

static void parse_ok(const char *arg, apr_uint64_t want)
{
    apr_uint64_t got = SENTINEL;
    const char *err = mw_parse_size(arg, &got);

    if (!ok(err == NULL, "parse \"%s\" succeeds", arg)) {
        diag("error: %s", err);
    }
    is_u64(got, want, "parse \"%s\" = %llu", arg, (unsigned long long)want);
}

static void parse_err(const char *arg)
{
    apr_uint64_t got = SENTINEL;
    const char *err = mw_parse_size(arg, &got);

    if (ok(err != NULL, "parse \"%s\" is an error", arg ? arg : "(null)")) {
        diag("\"%s\": %s", arg ? arg : "(null)", err);
    }
    else {
        diag("\"%s\" parsed as %llu", arg, (unsigned long long)got);
    }
    is_u64(got, SENTINEL, "parse \"%s\" leaves the output alone",
           arg ? arg : "(null)");
}

static void test_parse(void)
{
    parse_ok("0", 0);
    parse_ok("512", 512);
    parse_ok("64K", 65536);
    parse_ok("64k", 65536);
    parse_ok("64KB", 65536);
    parse_ok("64kb", 65536);
    parse_ok("1.5M", 1572864);
    parse_ok("1.5m", 1572864);
    parse_ok("0.5K", 512);
    parse_ok("2G", 2147483648ULL);
    parse_ok("2g", 2147483648ULL);
    parse_ok("1.25G", 1342177280ULL);
    parse_ok("1048576G", 1ULL << 50);          /* exactly the maximum */
    parse_ok("1125899906842624", 1ULL << 50);

    parse_err("12Q");
    parse_err("");
    parse_err("-5");
    parse_err("K");
    parse_err("1.5");
    parse_err("64B");
    parse_err(" 64K");
    parse_err("64K ");
    parse_err("64KBx");
    parse_err("1125899906842625");              /* 2^50 + 1 */
    parse_err("1048577G");                      /* just over 2^50 */
    parse_err("99999999999999999999");
    parse_err("99999999999G");
    parse_err("18014398509481984K");            /* 2^54 K: caught early */
    parse_err(NULL);

    /* whole <= 2^50 passes the digit loop, then whole * mult wraps around
     * 2^64 before the range check compares it ("99999999999G" is only
     * rejected because its product happens to wrap to a large value). */
    parse_err("17179869184G");                  /* 2^34 G = 2^64: wraps to 0 */
    parse_err("17592186044416M");               /* 2^44 M = 2^64: wraps to 0 */
    parse_err("17179869185G");                  /* wraps to exactly 1 GiB */
}

static void test_format_size(apr_pool_t *p)
{
    is_str(mw_format_size(p, 0), "0 B", "0");
    is_str(mw_format_size(p, 940), "940 B", "940");
    is_str(mw_format_size(p, 1023), "1023 B", "1023");
    is_str(mw_format_size(p, 1024), "1.0 KiB", "1024");
    is_str(mw_format_size(p, 1536), "1.5 KiB", "1536");
    is_str(mw_format_size(p, 10 * 1024), "10 KiB", "10 KiB has no decimal");
    is_str(mw_format_size(p, 812 * 1024), "812 KiB", "812 KiB");
    is_str(mw_format_size(p, 1024 * 1024), "1.0 MiB", "1 MiB");
    is_str(mw_format_size(p, 1572864), "1.5 MiB", "1.5 MiB");
    is_str(mw_format_size(p, 1ULL << 30), "1.0 GiB", "1 GiB");
    is_str(mw_format_size(p, 1ULL << 40), "1.0 TiB", "1 TiB");
    is_str(mw_format_size(p, 1ULL << 50), "1024 TiB", "TiB is the top unit");
    is_str(mw_format_size(p, APR_UINT64_MAX), "16777216 TiB",
           "largest value");

    is_str(mw_format_size(p, 1024 * 1024 - 1), "1.0 MiB",
           "1 MiB - 1 byte");

    is_str(mw_format_ssize(p, 0), "0 B", "ssize 0");
    is_str(mw_format_ssize(p, -1), "-1 B", "ssize -1");
    is_str(mw_format_ssize(p, -4096), "-4.0 KiB", "ssize -4096");
    is_str(mw_format_ssize(p, 5 * 1024 * 1024), "5.0 MiB", "ssize 5 MiB");
    is_str(mw_format_ssize(p, -(apr_int64_t)(100 * 1024 * 1024)),
           "-100 MiB", "ssize -100 MiB");
    is_str(mw_format_ssize(p, APR_INT64_MAX), "8388608 TiB",
           "ssize INT64_MAX");
}

static void test_format_duration(apr_pool_t *p)
{
    is_str(mw_format_duration(p, -5), "0s", "negative is 0s");
    is_str(mw_format_duration(p, 0), "0s", "0");
    is_str(mw_format_duration(p, 59), "59s", "59");
    is_str(mw_format_duration(p, 60), "1m 0s", "60");
    is_str(mw_format_duration(p, 725), "12m 5s", "725");
    is_str(mw_format_duration(p, 3599), "59m 59s", "3599");
    is_str(mw_format_duration(p, 3600), "1h 0m", "3600");
    is_str(mw_format_duration(p, 86399), "23h 59m", "86399");
    is_str(mw_format_duration(p, 86400), "1d 0h", "86400");
    is_str(mw_format_duration(p, 3 * 86400 + 4 * 3600 + 59), "3d 4h",
           "3d 4h");
    is_str(mw_format_duration(p, 400 * 86400), "400d 0h", "400 days");
}

static void test_escaping(void)
{
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);

    mw_put_html(out, "<script>\"'&");
    is_str(b.data, "&lt;script&gt;&quot;&#39;&amp;", "HTML of <script>\"'&");
    test_buf_reset(&b);
    mw_put_html(out, "plain text/path?a=1");
    is_str(b.data, "plain text/path?a=1", "HTML leaves plain text alone");
    test_buf_reset(&b);
    mw_put_html(out, NULL);
    is_str(b.data, "", "HTML of NULL is empty");
    test_buf_reset(&b);
    mw_put_html(out, "</td><script>alert(1)</script>");
    is_str(b.data, "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
           "HTML of a hostile prefix");

    test_buf_reset(&b);
    mw_put_json_string(out, "\x01\n\"\\<");
    is_str(b.data, "\"\\u0001\\n\\\"\\\\\\u003c\"",
           "JSON of \\x01, newline, quote, backslash, <");
    test_buf_reset(&b);
    mw_put_json_string(out, "a\tb\rc\x1f\x7f" "d");
    is_str(b.data, "\"a\\tb\\rc\\u001f\\u007fd\"",
           "JSON of tab, CR, 0x1f, DEL");
    test_buf_reset(&b);
    mw_put_json_string(out, "caf\xc3\xa9 /x");
    is_str(b.data, "\"caf\\ufffd\\ufffd /x\"",
           "JSON turns bytes over 0x7f into U+FFFD: always valid UTF-8");
    test_buf_reset(&b);
    mw_put_json_string(out, NULL);
    is_str(b.data, "null", "JSON of NULL is null");
    test_buf_reset(&b);
    mw_put_json_string(out, "");
    is_str(b.data, "\"\"", "JSON of an empty string");

    test_buf_reset(&b);
    mw_put_prom_label(out, "a\"b\\c\nd");
    is_str(b.data, "a\\\"b\\\\c\\nd",
           "Prometheus label of quote, backslash, newline");
    test_buf_reset(&b);
    mw_put_prom_label(out, "</x>{}=,");
    is_str(b.data, "</x>{}=,", "Prometheus label leaves other bytes alone");
    test_buf_reset(&b);
    mw_put_prom_label(out, NULL);
    is_str(b.data, "", "Prometheus label of NULL is empty");
    /* Issue 11, finding 5: label values must be valid UTF-8. */
    test_buf_reset(&b);
    mw_put_prom_label(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    is_str(b.data, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
           "valid 2-, 3- and 4-byte UTF-8 is kept");
    test_buf_reset(&b);
    mw_put_prom_label(out, "a\xff" "b\x80" "c\xc3");
    is_str(b.data, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd",
           "stray bytes and a cut sequence become U+FFFD");
    test_buf_reset(&b);
    mw_put_prom_label(out, "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80");
    is_str(b.data, "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd"
           "\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
           "\xef\xbf\xbd",
           "overlong forms, surrogates and code points past U+10FFFF too");

    test_buf_reset(&b);
    mw_puts(out, "abc");
    mw_printf(out, "%d-%s", 42, "x");
    is_str(b.data, "abc42-x", "mw_puts and mw_printf append");
    test_buf_free(&b);
}

static void test_printf_long(void)
{
    test_buf_t b;
    mw_out_t *out = test_buf_init(&b);
    char big[5001];
    apr_size_t i;

    for (i = 0; i < sizeof(big) - 1; i++) {
        big[i] = (char)('a' + i % 26);
    }
    big[sizeof(big) - 1] = '\0';

    mw_printf(out, "%.1023s", big);
    is_u64(b.len, 1023, "1023 characters are written whole");
    ok(memcmp(b.data, big, 1023) == 0, "and unchanged");
    is_u64(b.writes, 1, "in one write");

    /* Issue 12: mw_printf used to cut output at 1 KiB without a word. */
    test_buf_reset(&b);
    mw_printf(out, "%s", big);
    is_u64(b.len, 5000, "5000 characters are written whole");
    ok(memcmp(b.data, big, 5000) == 0, "and unchanged");
    ok(b.writes >= 5, "in pieces of at most 1 KiB (%lu writes)",
       (unsigned long)b.writes);

    test_buf_reset(&b);
    mw_printf(out, "%s|%s|%d", big, big, 7);
    is_u64(b.len, 10003, "several long arguments are written whole");
    ok(!memcmp(b.data + 5000, "|", 1) && !memcmp(b.data + 10001, "|7", 2),
       "in order");
    test_buf_reset(&b);
    mw_printf(out, "%s", "");
    is_u64(b.writes, 0, "nothing to write: no write");
    test_buf_free(&b);
}

/* mw_format_tenths against "%.1f": the same text but where v * 10 lies
 * on a tie (printf rounds the exact binary value, this rounds half up),
 * and "0.0" where printf writes "-0.0". */
static void test_tenths(void)
{
    char got[MW_TENTHS_LEN + 1], want[64];
    int i, differ = 0, malformed = 0, off = 0;
    apr_size_t n;

    for (i = -200000; i <= 200000; i++) {
        double v = i * 0.0137;
        double f = v * 10 - (double)(apr_int64_t)(v * 10);

        n = mw_format_tenths(got, v);
        got[n] = '\0';
        apr_snprintf(want, sizeof(want), "%.1f", v);
        if (strcmp(got, want) && !(f > 0.4999 && f < 0.5001)
            && !(f < -0.4999 && f > -0.5001) && strcmp(want, "-0.0")) {
            if (!differ++) {
                diag("%.17g: \"%s\", printf \"%s\"", v, got, want);
            }
        }
        if (n < 3 || got[n - 2] != '.') {
            malformed++;
        }
        if (strtod(got, NULL) - v > 0.0500001 || v - strtod(got, NULL) > 0.0500001) {
            off++;
        }
    }
    is_int(differ, 0, "tenths as printf writes them, ties aside");
    is_int(malformed, 0, "always one decimal");
    is_int(off, 0, "never more than half a tenth off");

    n = mw_format_tenths(got, 0.0);
    got[n] = '\0';
    is_str(got, "0.0", "zero");
    n = mw_format_tenths(got, -0.04);
    got[n] = '\0';
    is_str(got, "0.0", "a negative value that rounds to zero has no sign");
    n = mw_format_tenths(got, -12.25);
    got[n] = '\0';
    is_str(got, "-12.3", "a negative tie rounds away from zero");
    n = mw_format_tenths(got, -3e16);
    got[n] = '\0';
    is_str(got, "-30000000000000000.0", "past 1e15, printf's own");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);

    test_parse();
    test_format_size(p);
    test_format_duration(p);
    test_escaping();
    test_printf_long();
    test_tenths();

    apr_pool_destroy(p);
    apr_terminate();
    return done();
}
