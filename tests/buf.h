/* Licensed under the Apache License, Version 2.0. */

/* buf.h: a growable buffer behind an mw_out_t, for the unit tests. */

#ifndef MW_TEST_BUF_H
#define MW_TEST_BUF_H

#include <stdlib.h>
#include <string.h>

#include "mw_format.h"

typedef struct test_buf_t {
    char *data;         /* always NUL-terminated */
    apr_size_t len;
    apr_size_t cap;
    apr_size_t writes;  /* calls to the write function */
    mw_out_t out;
} test_buf_t;

static inline apr_status_t test_buf_write(void *baton, const char *data,
                                          apr_size_t len)
{
    test_buf_t *b = baton;

    if (b->len + len + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap : 256;
        char *n;
        while (b->len + len + 1 > cap) {
            cap *= 2;
        }
        n = realloc(b->data, cap);
        if (!n) {
            return APR_ENOMEM;
        }
        b->data = n;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    b->writes++;
    return APR_SUCCESS;
}

static inline mw_out_t *test_buf_init(test_buf_t *b)
{
    b->data = NULL;
    b->len = b->cap = b->writes = 0;
    b->out.write = test_buf_write;
    b->out.baton = b;
    test_buf_write(b, "", 0);      /* so data is "" rather than NULL */
    b->writes = 0;
    return &b->out;
}

static inline void test_buf_reset(test_buf_t *b)
{
    b->len = 0;
    b->writes = 0;
    if (b->data) {
        b->data[0] = '\0';
    }
}

static inline void test_buf_free(test_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

#endif /* MW_TEST_BUF_H */
