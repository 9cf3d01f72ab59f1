/* Licensed under the Apache License, Version 2.0. */

/* What the bench's load clients (turns.c, rate.c) share. Each defines
 * CLIENT_NAME, the prefix of its error messages, before including this. */

#ifndef BENCH_CLIENT_H
#define BENCH_CLIENT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(CLIENT_NAME ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* Nanoseconds on the monotonic clock. */
static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif /* BENCH_CLIENT_H */
