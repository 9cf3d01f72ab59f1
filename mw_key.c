/* Licensed under the Apache License, Version 2.0. */

#include <apr_lib.h>

#include "mw_key.h"

#define MW_ID_MIN_HEX 16

void mw_key_clean(char *dst, apr_size_t size, const char *src,
                  apr_size_t len)
{
    apr_size_t i;

    if (!size) {
        return;
    }
    for (i = 0; i + 1 < size && i < len && src[i]; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = (ch > 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    dst[i] = '\0';
}

/* 8-4-4-4-12 hex digits. */
static int is_uuid(const char *s, apr_size_t len)
{
    apr_size_t i;

    if (len != 36) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }
        }
        else if (!apr_isxdigit(s[i])) {
            return 0;
        }
    }
    return 1;
}

int mw_key_is_id(const char *seg, apr_size_t len)
{
    apr_size_t i, digits = 0, hex = 0;

    if (!len) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        digits += apr_isdigit(seg[i]) != 0;
        hex += apr_isxdigit(seg[i]) != 0;
    }
    return digits == len || (hex == len && len >= MW_ID_MIN_HEX)
           || is_uuid(seg, len);
}

/* Append len bytes of s, cleaned, to dst at *at; always NUL-terminated. */
static void append(char *dst, apr_size_t size, apr_size_t *at,
                   const char *s, apr_size_t len)
{
    if (*at + 1 < size) {
        mw_key_clean(dst + *at, size - *at, s, len);
        while (dst[*at]) {
            (*at)++;
        }
    }
}

void mw_key_url_prefix(char *dst, apr_size_t size, const char *path,
                       apr_uint32_t depth, int group_ids)
{
    const char *p = path ? path : "";
    apr_size_t at = 0;
    apr_uint32_t seg;

    if (!size) {
        return;
    }
    dst[0] = '\0';
    if (*p == '/') {
        p++;
    }
    for (seg = 0; seg < depth && *p && *p != '?' && *p != '#'; seg++) {
        const char *end = p;

        while (*end && *end != '/' && *end != '?' && *end != '#') {
            end++;
        }
        append(dst, size, &at, "/", 1);
        if (group_ids && mw_key_is_id(p, (apr_size_t)(end - p))) {
            append(dst, size, &at, ":id", 3);
        }
        else {
            append(dst, size, &at, p, (apr_size_t)(end - p));
        }
        p = *end == '/' ? end + 1 : end;
    }
    if (!at) {
        append(dst, size, &at, "/", 1);
    }
}
