/* Licensed under the Apache License, Version 2.0. */

/* What every libFuzzer harness of mod_memwatch shares: APR set up once, a
 * pool per input, an output sink, and a NUL-terminated copy of the input. */

#ifndef MW_FUZZ_COMMON_H
#define MW_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "mw_format.h"

static apr_pool_t *fuzz_root;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&fuzz_root, NULL);
    return 0;
}

/* Output collected into a growing buffer (bounded: rendering a small
 * table never produces megabytes; more is a bug worth a crash). */
typedef struct fuzz_buf_t {
    char *data;
    apr_size_t len;
    apr_size_t cap;
} fuzz_buf_t;

#define FUZZ_OUT_MAX (64 * 1024 * 1024)

static APR_INLINE apr_status_t fuzz_write(void *baton, const char *data,
                                          apr_size_t len)
{
    fuzz_buf_t *b = baton;

    if (b->len + len + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1) {
            cap *= 2;
        }
        if (cap > FUZZ_OUT_MAX) {
            abort();
        }
        b->data = realloc(b->data, cap);
        if (!b->data) {
            abort();
        }
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return APR_SUCCESS;
}

static APR_INLINE mw_out_t *fuzz_out(fuzz_buf_t *b, mw_out_t *out)
{
    memset(b, 0, sizeof(*b));
    out->write = fuzz_write;
    out->baton = b;
    fuzz_write(b, "", 0);
    return out;
}

/* Empty the buffer for the next output. */
static APR_INLINE void fuzz_reset(fuzz_buf_t *b)
{
    b->len = 0;
    b->data[0] = '\0';
}

/* A NUL-terminated copy of the input (free it). */
static APR_INLINE char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s) {
        abort();
    }
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif /* MW_FUZZ_COMMON_H */
