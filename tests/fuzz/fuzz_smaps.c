/* Licensed under the Apache License, Version 2.0. */

/* The full smaps parser (mw_smaps.c). Whatever the text, and however it
 * is cut into pieces (the first byte picks their size), the sums come
 * out the same, within MW_MAPPING_MAX, with at most MW_MAPPING_NAMES
 * names and an "[other]" per class; the growth from its first half to
 * the whole (seeded, as the module reads it) is sorted, within bounds,
 * and its names are NUL-terminated. */

#include "fuzz_common.h"
#include "mw_smaps.h"

static mw_mappings_t *whole, *pieces, *half;

static void parse(mw_mappings_t *m, const mw_mappings_t *seed,
                  const char *text, size_t len, size_t piece)
{
    size_t off;

    mw_mappings_begin(m, seed);
    for (off = 0; off < len; off += piece) {
        mw_mappings_feed(m, text + off, len - off < piece ? len - off : piece);
    }
    mw_mappings_end(m);
}

static apr_int64_t larger(const mw_mapping_growth_t *g)
{
    return g->rss > g->private_bytes ? g->rss : g->private_bytes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data + 1;
    mw_mapping_growth_t g[MW_MAPPING_TOP + 1];
    size_t len, piece;
    apr_uint32_t n, k;
    int c;

    if (!whole) {
        whole = mw_mappings_make(fuzz_root);
        pieces = mw_mappings_make(fuzz_root);
        half = mw_mappings_make(fuzz_root);
    }
    if (size < 1) {
        return 0;
    }
    len = size - 1;
    piece = data[0] % 64 + 1;
    parse(whole, NULL, text, len, len ? len : 1);
    parse(pieces, NULL, text, len, piece);
    if (mw_mappings_count(whole) != mw_mappings_count(pieces)
        || mw_mappings_count(whole)
           > MW_MAPPING_NAMES + MW_MAPPING_CLASS_COUNT) {
        abort();
    }
    for (c = 0; c < MW_MAPPING_CLASS_COUNT; c++) {
        apr_uint64_t r1, p1, r2, p2;

        mw_mappings_class_sum(whole, (mw_mapping_class_e)c, &r1, &p1);
        mw_mappings_class_sum(pieces, (mw_mapping_class_e)c, &r2, &p2);
        if (r1 != r2 || p1 != p2 || r1 > MW_MAPPING_MAX
            || p1 > MW_MAPPING_MAX) {
            abort();
        }
    }

    parse(half, NULL, text, len / 2, piece);
    parse(pieces, half, text, len, piece);
    n = mw_mappings_growth(half, pieces, g, MW_MAPPING_TOP);
    if (n > MW_MAPPING_TOP) {
        abort();
    }
    for (k = 0; k < n; k++) {
        if (larger(&g[k]) <= 0 || g[k].mclass >= MW_MAPPING_CLASS_COUNT
            || strnlen(g[k].name, MW_MAPPING_NAME_LEN)
               >= MW_MAPPING_NAME_LEN
            || (k && larger(&g[k]) > larger(&g[k - 1]))) {
            abort();
        }
    }
    return 0;
}
