/* Licensed under the Apache License, Version 2.0. */

/* mw_key: the key a request's growth is attributed to, a handler and a
 * URL-path prefix, made safe to store and show. APR only, so it can be
 * unit-tested and fuzzed without a server. */

#ifndef MW_KEY_H
#define MW_KEY_H

#include <apr.h>

/* Copy at most len bytes of src (stopping at a NUL) into dst of size
 * bytes, printable ASCII only: any other byte becomes '?'. */
void mw_key_clean(char *dst, apr_size_t size, const char *src,
                  apr_size_t len);

/* Does this path segment look like an identifier rather than a route:
 * all digits, 16 or more hex digits, or a UUID? */
int mw_key_is_id(const char *seg, apr_size_t len);

/* The first `depth` segments of an already normalised URL path, cleaned,
 * e.g. "/app/api" for depth 2 (depth 0: "/"). A query string or fragment
 * is never included. With group_ids, segments that look like identifiers
 * become ":id", so "/user/12345" and "/user/67890" share one key. */
void mw_key_url_prefix(char *dst, apr_size_t size, const char *path,
                       apr_uint32_t depth, int group_ids);

#endif /* MW_KEY_H */
