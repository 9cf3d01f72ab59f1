/* Licensed under the Apache License, Version 2.0. */

/* Attribution keys from any path and handler: always NUL-terminated
 * within the buffer, printable ASCII only, a prefix that starts with '/',
 * never a query string (nothing after a '?' in the path), and grouping
 * identifiers adds at most 3 bytes a segment (":id" for one digit). */

#include "fuzz_common.h"
#include "mw_key.h"

static void printable(const char *s, size_t size)
{
    size_t n = strnlen(s, size);

    if (n == size) {
        abort();
    }
    for (; *s; s++) {
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in, handler[48], grouped[96], raw[96];
    apr_uint32_t depth;
    const char *q;

    if (size < 1) {
        return 0;
    }
    depth = data[0] % 20;
    in = fuzz_string(data + 1, size - 1);
    mw_key_clean(handler, sizeof(handler), in, size - 1);
    printable(handler, sizeof(handler));
    mw_key_url_prefix(grouped, sizeof(grouped), in, depth, 1);
    mw_key_url_prefix(raw, sizeof(raw), in, depth, 0);
    printable(grouped, sizeof(grouped));
    printable(raw, sizeof(raw));
    if (grouped[0] != '/' || raw[0] != '/') {
        abort();
    }
    /* With no byte outside printable ASCII before it, a '?' in the key
     * would be the query string's. */
    q = strpbrk(in, "?#");
    if (q) {
        const char *c;
        int clean = 1;
        for (c = in; c < q; c++) {
            clean &= (unsigned char)*c > 0x20 && (unsigned char)*c < 0x7f;
        }
        if (clean && (strchr(raw, '?') || strchr(raw, '#'))) {
            abort();
        }
    }
    if (strlen(grouped) > strlen(raw) + 3 * depth) {
        abort();
    }
    free(in);
    return 0;
}
