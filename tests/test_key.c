/* Licensed under the Apache License, Version 2.0. */

/* mw_key: attribution keys, cleaned and with identifiers grouped. */

#include <apr_general.h>

#include "tap.h"
#include "mw_key.h"

static const char *prefix(const char *path, apr_uint32_t depth, int ids)
{
    static char buf[96];

    mw_key_url_prefix(buf, sizeof(buf), path, depth, ids);
    return buf;
}

static void test_prefix(void)
{
    is_str(prefix("/app/api/v1", 2, 1), "/app/api", "two segments");
    is_str(prefix("/app/api/v1", 0, 1), "/", "depth 0: /");
    is_str(prefix("/", 2, 1), "/", "the root");
    is_str(prefix("", 2, 1), "/", "an empty path");
    is_str(prefix(NULL, 2, 1), "/", "no path");
    is_str(prefix("/app/", 2, 1), "/app", "a trailing slash is dropped");
    is_str(prefix("/app", 5, 1), "/app", "fewer segments than depth");
    is_str(prefix("/a/b?x=1/2", 3, 1), "/a/b", "a query string stays out");
    is_str(prefix("/a#frag/x", 3, 1), "/a", "a fragment stays out");
    is_str(prefix("/a b/\x01\xff", 2, 1), "/a?b/??",
           "bytes outside printable ASCII become ?");
}

static void test_ids(void)
{
    is_str(prefix("/user/12345", 2, 1), "/user/:id", "digits: :id");
    is_str(prefix("/user/67890/edit", 3, 1), "/user/:id/edit",
           "an id in the middle keeps the segments around it");
    is_str(prefix("/reset/0123456789abcdef0123", 2, 1), "/reset/:id",
           "long hex: :id");
    is_str(prefix("/o/123e4567-e89b-12d3-a456-426614174000", 2, 1),
           "/o/:id", "a UUID: :id");
    is_str(prefix("/o/123e4567-e89b-12d3-a456-42661417400", 2, 1),
           "/o/123e4567-e89b-12d3-a456-42661417400",
           "one hex digit short of a UUID: kept");
    is_str(prefix("/cafe/beef", 2, 1), "/cafe/beef",
           "short hex words are routes");
    is_str(prefix("/v2/api", 2, 1), "/v2/api", "letters and digits: kept");
    is_str(prefix("/user/12345", 2, 0), "/user/12345",
           "grouping off: the id is kept");
    is_int(mw_key_is_id("0", 1), 1, "a single digit is an id");
    is_int(mw_key_is_id("", 0), 0, "an empty segment is not");
    is_int(mw_key_is_id("deadbeefdeadbeef", 16), 1, "16 hex digits are");
    is_int(mw_key_is_id("deadbeefdeadbee", 15), 0, "15 are not");
}

static void test_bounds(void)
{
    char small[8], big[300];
    int i;

    for (i = 0; i < 299; i++) {
        big[i] = i % 10 ? 'a' : '/';
    }
    big[299] = '\0';
    mw_key_url_prefix(small, sizeof(small), big, 16, 1);
    is_str(small, "/aaaaaa", "cut to the buffer, NUL-terminated");
    mw_key_url_prefix(small, 1, "/abc", 2, 1);
    is_str(small, "", "a one-byte buffer holds the NUL only");
    mw_key_clean(small, sizeof(small), "abc\0def", 7);
    is_str(small, "abc", "clean stops at a NUL");
    mw_key_clean(small, sizeof(small), "abcdef", 3);
    is_str(small, "abc", "and at len");
}

int main(void)
{
    apr_initialize();
    test_prefix();
    test_ids();
    test_bounds();
    apr_terminate();
    return done();
}
