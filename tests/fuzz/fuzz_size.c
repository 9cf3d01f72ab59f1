/* Licensed under the Apache License, Version 2.0. */

/* mw_parse_size, the parser of the directives' sizes, and the size and
 * duration formatters. A parsed size is never above 2^50 bytes, plain
 * digits parse to their value, and a size formats and parses back to
 * within the rounding of its unit (up to GiB; the parser has no T). */

#include <apr_lib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    apr_uint64_t bytes = 0;
    apr_pool_t *p;
    const char *err = mw_parse_size(s, &bytes);
    size_t i, digits = 0;

    apr_pool_create(&p, fuzz_root);
    for (i = 0; i < size && apr_isdigit(s[i]); i++) {
        digits++;
    }
    if (!err) {
        const char *f;
        char num[32], unit = 0;
        apr_uint64_t back = 0;
        double v;

        if (bytes > ((apr_uint64_t)1 << 50)) {
            abort();
        }
        if (digits == size && digits && bytes != strtoull(s, NULL, 10)) {
            abort();
        }
        /* "1.5 MiB" -> "1.5M" parses back to within 5% (one decimal). */
        f = mw_format_size(p, bytes);
        if (sscanf(f, "%31[0-9.] %c", num, &unit) == 2 && unit != 'B'
            && unit != 'T') {
            const char *again = apr_pstrcat(p, num,
                                            apr_pstrndup(p, &unit, 1), NULL);
            if (mw_parse_size(again, &back) != NULL) {
                abort();
            }
            v = (double)back - (double)bytes;
            if (v < 0) {
                v = -v;
            }
            if (v > (double)bytes * 0.06 + 1) {
                abort();
            }
        }
        mw_format_ssize(p, -(apr_int64_t)(bytes / 2));
    }
    else if (!*err) {
        abort();
    }
    if (size >= 8) {
        apr_int64_t d;
        memcpy(&d, data, sizeof(d));
        mw_format_duration(p, d);
        mw_format_ssize(p, d);
        mw_format_size(p, (apr_uint64_t)d);
    }
    apr_pool_destroy(p);
    free(s);
    return 0;
}
