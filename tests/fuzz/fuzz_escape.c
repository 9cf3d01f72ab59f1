/* Licensed under the Apache License, Version 2.0. */

/* The escapers for HTML, JSON strings and Prometheus label values, each
 * checked by a decoder: HTML and Prometheus (for valid UTF-8 input) give
 * back the input exactly; JSON gives back the input with every byte over
 * 0x7f as U+FFFD; JSON and Prometheus output is always valid UTF-8 and
 * never holds a raw '<' (JSON), quote or newline (both). */

#include "fuzz_common.h"

static char *html_decode(const char *s)
{
    static const struct { const char *ent; char c; } ents[] = {
        { "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' },
        { "&quot;", '"' }, { "&#39;", '\'' },
    };
    char *out = malloc(strlen(s) + 1), *o = out;
    size_t i;

    while (*s) {
        if (*s == '<' || *s == '>' || *s == '"' || *s == '\'') {
            abort();            /* must have been escaped */
        }
        if (*s == '&') {
            for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
                size_t n = strlen(ents[i].ent);
                if (!strncmp(s, ents[i].ent, n)) {
                    *o++ = ents[i].c;
                    s += n;
                    break;
                }
            }
            if (i == sizeof(ents) / sizeof(ents[0])) {
                abort();        /* a raw '&' */
            }
            continue;
        }
        *o++ = *s++;
    }
    *o = '\0';
    return out;
}

/* JSON string literal, quotes included, to bytes (U+FFFD as EF BF BD). */
static char *json_decode(const char *s)
{
    char *out = malloc(strlen(s) * 3 + 1), *o = out;

    if (*s++ != '"') {
        abort();
    }
    while (*s != '"') {
        if (!*s || (unsigned char)*s < 0x20 || *s == '<') {
            abort();
        }
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        s++;
        switch (*s++) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned v;
            if (sscanf(s, "%4x", &v) != 1) {
                abort();
            }
            s += 4;
            if (v == 0xfffd) {
                memcpy(o, "\xef\xbf\xbd", 3);
                o += 3;
            }
            else if (v < 0x80) {
                *o++ = (char)v;
            }
            else {
                abort();
            }
            break;
        }
        default:
            abort();
        }
    }
    if (s[1] != '\0') {
        abort();
    }
    *o = '\0';
    return out;
}

static char *prom_decode(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;

    while (*s) {
        if (*s == '"' || *s == '\n') {
            abort();
        }
        if (*s == '\\') {
            s++;
            switch (*s++) {
            case '\\': *o++ = '\\'; break;
            case '"': *o++ = '"'; break;
            case 'n': *o++ = '\n'; break;
            default: abort();
            }
            continue;
        }
        *o++ = *s++;
    }
    *o = '\0';
    return out;
}

static int valid_utf8(const unsigned char *s)
{
    while (*s) {
        unsigned char c = *s;
        int k, len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2
                     : c >= 0xe0 && c <= 0xef ? 3
                     : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (!len) {
            return 0;
        }
        for (k = 1; k < len; k++) {
            if ((s[k] & 0xc0) != 0x80) {
                return 0;
            }
        }
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f)
            || (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f)) {
            return 0;
        }
        s += len;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_string(data, size), *dec, *want, *w;
    const char *c;
    fuzz_buf_t b;
    mw_out_t out;

    fuzz_out(&b, &out);
    mw_put_html(&out, in);
    dec = html_decode(b.data);
    if (strcmp(dec, in)) {
        abort();
    }
    free(dec);

    fuzz_reset(&b);
    mw_put_json_string(&out, in);
    if (!valid_utf8((unsigned char *)b.data)) {
        abort();
    }
    dec = json_decode(b.data);
    want = malloc(strlen(in) * 3 + 1);
    for (c = in, w = want; *c; c++) {
        if ((unsigned char)*c >= 0x80) {
            memcpy(w, "\xef\xbf\xbd", 3);
            w += 3;
        }
        else {
            *w++ = *c;
        }
    }
    *w = '\0';
    if (strcmp(dec, want)) {
        abort();
    }
    free(dec);
    free(want);

    fuzz_reset(&b);
    mw_put_prom_label(&out, in);
    if (!valid_utf8((unsigned char *)b.data)) {
        abort();
    }
    dec = prom_decode(b.data);
    if (valid_utf8((unsigned char *)in) && strcmp(dec, in)) {
        abort();
    }
    free(dec);
    free(b.data);
    free(in);
    return 0;
}
