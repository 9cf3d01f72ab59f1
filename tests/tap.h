/* Licensed under the Apache License, Version 2.0. */

/* tap.h: a tiny Test Anything Protocol helper for the C unit tests.
 * No dependencies beyond libc; everything is static inline so a test
 * program simply includes it.
 *
 *     plan(12);                      (or none, and done() prints it)
 *     ok(x > 1, "x is %d", x);
 *     is_int(got, 42, "answer");
 *     is_u64(bytes, 65536, "64K");
 *     is_str(s, "1.0 KiB", "1024 bytes");
 *     todo_start("known bug"); ... todo_end();
 *     skip("no memory cgroup here");
 *     return done();
 *
 * Failures inside a TODO block are reported as "# TODO" and do not fail
 * the run (prove lists them as "unexpectedly succeeded" once fixed).
 * done() returns the exit status: 0 if every non-TODO test passed and the
 * plan matched, 1 otherwise. */

#ifndef MW_TAP_H
#define MW_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_run_;
static int tap_failed_;
static int tap_planned_ = -1;
static const char *tap_todo_;

static inline void plan(int n)
{
    tap_planned_ = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

static inline void todo_start(const char *reason)
{
    tap_todo_ = reason;
}

static inline void todo_end(void)
{
    tap_todo_ = NULL;
}

/* A "# ..." line on stdout, which prove shows with -v. */
static inline void diag(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
    va_list ap;

    fputs("# ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputs("\n", stdout);
    fflush(stdout);
}

static inline int tap_vok_(int pass, const char *file, int line,
                           const char *fmt, va_list ap)
{
    tap_run_++;
    printf("%sok %d - ", pass ? "" : "not ", tap_run_);
    vprintf(fmt, ap);
    if (tap_todo_) {
        printf(" # TODO %s", tap_todo_);
    }
    printf("\n");
    if (!pass) {
        printf("#   Failed %stest at %s line %d.\n",
               tap_todo_ ? "(TODO) " : "", file, line);
        if (!tap_todo_) {
            tap_failed_++;
        }
    }
    fflush(stdout);
    return pass;
}

static inline int tap_ok_(int pass, const char *file, int line,
                          const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline int tap_ok_(int pass, const char *file, int line,
                          const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = tap_vok_(pass, file, line, fmt, ap);
    va_end(ap);
    return r;
}

static inline int tap_is_int_(long long got, long long want,
                              const char *file, int line,
                              const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static inline int tap_is_int_(long long got, long long want,
                              const char *file, int line,
                              const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = tap_vok_(got == want, file, line, fmt, ap);
    va_end(ap);
    if (!r) {
        printf("#          got: %lld\n#     expected: %lld\n", got, want);
    }
    return r;
}

static inline int tap_is_u64_(unsigned long long got,
                              unsigned long long want,
                              const char *file, int line,
                              const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static inline int tap_is_u64_(unsigned long long got,
                              unsigned long long want,
                              const char *file, int line,
                              const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = tap_vok_(got == want, file, line, fmt, ap);
    va_end(ap);
    if (!r) {
        printf("#          got: %llu\n#     expected: %llu\n", got, want);
    }
    return r;
}

static inline int tap_is_str_(const char *got, const char *want,
                              const char *file, int line,
                              const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static inline int tap_is_str_(const char *got, const char *want,
                              const char *file, int line,
                              const char *fmt, ...)
{
    va_list ap;
    int r, pass;

    pass = (got == NULL && want == NULL)
           || (got != NULL && want != NULL && strcmp(got, want) == 0);
    va_start(ap, fmt);
    r = tap_vok_(pass, file, line, fmt, ap);
    va_end(ap);
    if (!r) {
        printf("#          got: %s%s%s\n#     expected: %s%s%s\n",
               got ? "'" : "", got ? got : "NULL", got ? "'" : "",
               want ? "'" : "", want ? want : "NULL", want ? "'" : "");
    }
    return r;
}

#define ok(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) \
    tap_is_int_((long long)(got), (long long)(want), __FILE__, __LINE__, \
                __VA_ARGS__)
#define is_u64(got, want, ...) \
    tap_is_u64_((unsigned long long)(got), (unsigned long long)(want), \
                __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) \
    tap_is_str_((got), (want), __FILE__, __LINE__, __VA_ARGS__)

/* A test that cannot run here, counted as passed: "ok N # skip why". */
static inline void skip(const char *why)
{
    tap_run_++;
    printf("ok %d # skip %s\n", tap_run_, why);
    fflush(stdout);
}

/* Print the plan if none was given; the exit status for main(). */
static inline int done(void)
{
    if (tap_planned_ < 0) {
        printf("1..%d\n", tap_run_);
    }
    else if (tap_planned_ != tap_run_) {
        printf("# Planned %d tests but ran %d.\n", tap_planned_, tap_run_);
        fflush(stdout);
        return 1;
    }
    if (tap_failed_) {
        printf("# Failed %d of %d tests.\n", tap_failed_, tap_run_);
    }
    fflush(stdout);
    return tap_failed_ ? 1 : 0;
}

/* Stop at once: a test that cannot go on (setup failed). */
static inline void bail_out(const char *why)
{
    printf("Bail out! %s\n", why);
    fflush(stdout);
    exit(255);
}

#endif /* MW_TAP_H */
