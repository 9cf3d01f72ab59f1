/* Licensed under the Apache License, Version 2.0. */

/* mw_clock: intervals that saturate whatever times they are given (a
 * stepped clock, a time a child forged into the shared table). */

#include <apr_general.h>

#include "tap.h"
#include "mw_clock.h"

static void test_since(void)
{
    ok(mw_clock_since(5000, 2000) == 3000, "an ordinary interval");
    ok(mw_clock_since(2000, 5000) == 0, "a time in the future: 0");
    ok(mw_clock_since(2000, 2000) == 0, "no time at all");
    ok(mw_clock_since(APR_INT64_MAX, APR_INT64_MIN) == APR_INT64_MAX,
       "from the earliest to the latest time: saturated, no overflow");
    ok(mw_clock_since(1, APR_INT64_MIN) == APR_INT64_MAX,
       "from the earliest time to now: saturated");
    ok(mw_clock_since(APR_INT64_MIN, APR_INT64_MAX) == 0,
       "from the latest to the earliest: 0");
    ok(mw_clock_since(-5, -10) == 5, "negative times in order");
    ok(mw_clock_since(0, 1) == 0 && mw_clock_since(1, 0) == 1,
       "around zero");
}

static void test_now(void)
{
    apr_time_t a = mw_clock_now(), b = mw_clock_now();

    ok(a > 0, "the monotonic clock reads a positive time");
    ok(b >= a, "and does not go back");
}

int main(void)
{
    apr_initialize();
    test_since();
    test_now();
    apr_terminate();
    return done();
}
