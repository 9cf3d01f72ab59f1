/* Licensed under the Apache License, Version 2.0. */

/* The /proc parsers: statm (every request), smaps_rollup and stat.
 * Whatever the text, they return a status; the per-request shortcut
 * agrees with the full statm parser whenever that succeeds. */

#include "fuzz_common.h"
#include "mw_proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    mw_statm_t st;
    mw_smaps_t sm;
    mw_stat_t pst;
    apr_size_t page = 4096;

    if (mw_statm_parse(s, page, &st) == APR_SUCCESS) {
        if (mw_statm_rss(s, page) != st.rss_bytes
            || st.shared_bytes > st.rss_bytes) {
            abort();
        }
    }
    if (mw_smaps_parse(s, &sm) == APR_SUCCESS) {
        /* figures are kB * 1024: multiples of 1024 unless they wrapped */
        (void)sm;
    }
    /* /proc/PID/stat: a ppid is never negative. */
    if (mw_stat_parse(s, &pst) == APR_SUCCESS && pst.ppid < 0) {
        abort();
    }
    free(s);
    return 0;
}
