/* Licensed under the Apache License, Version 2.0. */

/* The recycle form as a client may post it, any bytes: parsed, it has a
 * slot below 2^31 and a pid from 1 to 2^31 - 1, or a reason why not; its
 * token holds no '&'; and it compares equal to the expected token only
 * when it is that token. */

#include "fuzz_common.h"
#include "mw_manual.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char secret[MW_MANUAL_SECRET_LEN];
    char expected[MW_MANUAL_TOKEN_LEN + 1];
    mw_manual_form_t form;
    apr_pool_t *p;
    const char *err;

    apr_pool_create(&p, fuzz_root);
    err = mw_manual_form_parse(p, (const char *)data, size, &form);
    if (!err) {
        if (form.slot > APR_INT32_MAX || form.pid < 1
            || form.pid > APR_INT32_MAX
            || (form.token && strchr(form.token, '&'))) {
            abort();
        }
        mw_manual_token(p, secret, 1, form.slot, form.pid, expected);
        if (mw_manual_token_equal(form.token, expected)
            != (form.token && !strcmp(form.token, expected))) {
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
