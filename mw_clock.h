/* Licensed under the Apache License, Version 2.0. */

/* mw_clock: the clock for intervals. The wall clock (apr_time_now) can
 * step, forward or back, and is only for what people are shown; an
 * interval (a deadline, an age, a wait) is measured on the monotonic
 * clock, which the kernel keeps the same in every process. */

#ifndef MW_CLOCK_H
#define MW_CLOCK_H

#include <time.h>

#include <apr_time.h>

/* Microseconds on the monotonic clock (its coarse variant: a read costs
 * no system call, and ticks of a few ms are plenty for intervals of 100 ms
 * and more). */
static APR_INLINE apr_time_t mw_clock_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (apr_time_t)ts.tv_sec * APR_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* later - earlier, or 0 when earlier is later (a clock stepped back, a
 * time a child wrote into the shared table), and saturated rather than
 * overflowing whatever the two hold. */
static APR_INLINE apr_interval_time_t mw_clock_since(apr_time_t later,
                                                     apr_time_t earlier)
{
    if (earlier >= later) {
        return 0;
    }
    if (earlier < 0 && later > APR_INT64_MAX + earlier) {
        return APR_INT64_MAX;
    }
    return later - earlier;
}

#endif /* MW_CLOCK_H */
