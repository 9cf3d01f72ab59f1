/* Licensed under the Apache License, Version 2.0. */

/* mw_budget: the shared rate that picks requests to measure. */

#include <apr_general.h>

#include "tap.h"
#include "mw_budget.h"

#define MS 1000

static const mw_budget_t fifty = { 20 * MS, 20 };  /* 50/s, bursts of 20 */

static void test_gap(void)
{
    apr_interval_time_t lo = fifty.mean, hi = 0;
    apr_time_t t;
    int in_range = 1;

    for (t = 1700000000000000; t < 1700000000000000 + 100000 * 37; t += 37) {
        apr_interval_time_t g = mw_budget_gap(t, fifty.mean);

        in_range &= g >= fifty.mean / 2 && g < fifty.mean + fifty.mean / 2;
        lo = g < lo ? g : lo;
        hi = g > hi ? g : hi;
    }
    ok(in_range, "every gap is from half to one and a half times the mean");
    ok(lo < fifty.mean * 6 / 10 && hi > fifty.mean * 14 / 10,
       "and they spread over that range (%" APR_TIME_T_FMT "..%"
       APR_TIME_T_FMT " us)", lo, hi);
}

/* Request start times as a burst of clients sends them: microseconds
 * apart in a round, rounds about 2 ms apart. Every count from 0 to 7 comes
 * up, each about as often, whatever the time's low bits. */
static void test_skip(void)
{
    int seen[8] = { 0 }, in_range = 1, lo = 1 << 30, hi = 0, i;
    apr_time_t t = 1700000000000000;

    for (i = 0; i < 8000; i++) {
        apr_uint32_t k = mw_budget_skip(t, 8);

        in_range &= k < 8;
        seen[k < 8 ? k : 0]++;
        t += i % 4 == 3 ? 2100 : 3;
    }
    for (i = 0; i < 8; i++) {
        lo = seen[i] < lo ? seen[i] : lo;
        hi = seen[i] > hi ? seen[i] : hi;
    }
    ok(in_range, "every skip is from 0 to span - 1");
    ok(lo > 1000 * 8 / 10 && hi < 1000 * 12 / 10,
       "and each is drawn about as often (%d..%d of 1000)", lo, hi);
}

static void test_burst(void)
{
    volatile apr_uint64_t due = 0, seen = 0;
    apr_time_t now = 1700000000000000;
    int taken = 0, i;

    ok(mw_budget_take(&due, &seen, now, &fifty),
       "a fresh budget takes an event");
    ok(due >= (apr_uint64_t)(now + fifty.mean / 2)
       && due < (apr_uint64_t)(now + fifty.mean * 3 / 2),
       "and moves the due time on by one gap");
    for (i = 0; i < 100; i++) {
        taken += mw_budget_take(&due, &seen, now, &fifty);
    }
    ok(taken >= 10 && taken <= (int)fifty.burst + 1,
       "at one instant a burst of at most %u more is taken (%d)",
       fifty.burst + 1, taken);
    ok(!mw_budget_take(&due, &seen, now, &fifty), "and then nothing");
    ok(mw_budget_take(&due, &seen,
                      now + (apr_time_t)fifty.burst * fifty.mean * 2, &fifty),
       "until time has passed");
}

static void test_rate(void)
{
    volatile apr_uint64_t due = 0, seen = 0;
    apr_time_t t0 = 1700000000000000, t;
    int taken = 0;

    /* 1000 events a second for 10 s against 50 a second. */
    for (t = t0; t < t0 + 10 * APR_USEC_PER_SEC; t += MS) {
        taken += mw_budget_take(&due, &seen, t, &fifty);
    }
    ok(taken >= 450 && taken <= 550 + (int)fifty.burst + 1,
       "a flood takes 50 a second within 10 %%, plus one burst (%d in 10 s)",
       taken);

    /* 10 events a second: all fit. */
    taken = 0;
    for (t = t0 + 100 * APR_USEC_PER_SEC;
         t < t0 + 110 * APR_USEC_PER_SEC; t += 100 * MS) {
        taken += mw_budget_take(&due, &seen, t, &fifty);
    }
    ok(taken == 100, "a quiet stream is taken whole (%d of 100)", taken);
}

static void test_untrusted(void)
{
    apr_time_t now = 1700000000000000;
    apr_time_t window = (apr_time_t)fifty.burst * fifty.mean;
    volatile apr_uint64_t due = (apr_uint64_t)(now + window + 1), seen = 0;

    ok(!mw_budget_take(&due, &seen, now, &fifty),
       "a due time just past a burst is over budget");
    ok(due == (apr_uint64_t)(now + window + 1), "and is left as it was");
    due = (apr_uint64_t)(now + apr_time_from_sec(3600));
    seen = 0;       /* a process that has not read it yet */
    ok(mw_budget_take(&due, &seen, now, &fifty),
       "a due time an hour ahead (no process set it) is not trusted");
    ok(due < (apr_uint64_t)(now + fifty.mean * 3 / 2),
       "and the budget starts again from now");
    due = ~(apr_uint64_t)0;
    seen = 0;
    ok(mw_budget_take(&due, &seen, now, &fifty), "nor is one at the end of time");
    due = (apr_uint64_t)1 << 63;    /* now minus it overflows, signed */
    seen = 0;
    ok(mw_budget_take(&due, &seen, now, &fifty),
       "nor one far behind as a signed time");
    ok(due < (apr_uint64_t)(now + fifty.mean * 3 / 2),
       "and the budget starts again from now");
    ok(mw_budget_take(&due, &seen, now, &fifty),
       "the copy that kept it is read without overflow (a burst goes on)");
}

static void test_copy(void)
{
    apr_time_t now = 1700000000000000, t;
    apr_time_t window = (apr_time_t)fifty.burst * fifty.mean;
    volatile apr_uint64_t due = 0, seen = (apr_uint64_t)(now + window + 1);
    volatile apr_uint64_t copies[4] = { 0, 0, 0, 0 };
    int taken = 0, i = 0;

    ok(!mw_budget_take(&due, &seen, now, &fifty),
       "while its copy says the budget is spent, a process takes nothing");
    ok(due == 0, "and the shared due time is left as it was");
    ok(mw_budget_take(&due, &seen, now + 2, &fifty),
       "once the copy no longer says so, the shared one is read and fits");
    ok(seen == 0, "and the copy holds what was read");

    /* Four processes, each with its own copy, flooding one budget. */
    due = 0;
    for (t = now; t < now + 10 * APR_USEC_PER_SEC; t += MS / 4) {
        taken += mw_budget_take(&due, &copies[i++ % 4], t, &fifty);
    }
    ok(taken >= 450 && taken <= 550 + (int)fifty.burst + 1,
       "four processes with copies of their own still take 50 a second "
       "within 10 %%, plus one burst (%d in 10 s)", taken);
}

int main(void)
{
    apr_initialize();
    test_gap();
    test_skip();
    test_burst();
    test_rate();
    test_untrusted();
    test_copy();
    apr_terminate();
    return done();
}
