#!/bin/bash
# Build c-modules/memwatch_test (handlers that leak on purpose) outside
# Apache::Test, for the demo and the benchmark: DIR/mod_memwatch_test.so.
# Apache::Test normally generates apache_httpd_test.h; this writes the small
# part of it the module uses.
set -euo pipefail
dir=$1
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
cat > "$dir/apache_httpd_test.h" <<'H'
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_log.h"
#include "http_core.h"
#define APACHE_HTTPD_TEST_MODULE(name)                                    \
    static void name ## _register_hooks(apr_pool_t *p)                    \
    {                                                                     \
        ap_hook_handler(APACHE_HTTPD_TEST_HANDLER, NULL, NULL,            \
                        APR_HOOK_MIDDLE);                                 \
        ap_hook_child_init(APACHE_HTTPD_TEST_CHILD_INIT, NULL, NULL,      \
                           APR_HOOK_MIDDLE);                              \
    }                                                                     \
    module AP_MODULE_DECLARE_DATA name ## _module = {                     \
        STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL,            \
        name ## _register_hooks                                           \
    }
H
cp "$top/c-modules/memwatch_test/mod_memwatch_test.c" "$dir/"
(cd "$dir" && apxs -I. -c mod_memwatch_test.c >build.log 2>&1) || { cat "$dir/build.log"; exit 1; }
cp "$dir/.libs/mod_memwatch_test.so" "$dir/mod_memwatch_test.so"
