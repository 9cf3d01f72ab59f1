/* Licensed under the Apache License, Version 2.0. */

/* mw_manual: recycling a child by hand (MemwatchAllowRecycle), the parts
 * that need no server: the token a page's form carries, and the form as
 * it is posted back. APR only, so it is unit-tested without a server.
 *
 * The token is HMAC-SHA-256 (RFC 2104, over the SHA-256 APR has for its
 * random generator, apr_random.h), keyed with a secret the parent draws
 * at every start and restart, over the generation, the slot and the pid
 * of the child the form would recycle: a page's form is good for that
 * child only, and for no later generation. */

#ifndef MW_MANUAL_H
#define MW_MANUAL_H

#include <apr.h>
#include <apr_errno.h>
#include <apr_pools.h>

#define MW_MANUAL_SECRET_LEN 32
#define MW_MANUAL_MAC_LEN 32
/* The token: the MAC in lower-case hex. */
#define MW_MANUAL_TOKEN_LEN (2 * MW_MANUAL_MAC_LEN)
/* The longest form body taken: the three fields need under 100 bytes. */
#define MW_MANUAL_FORM_MAX 1024

/* A fresh secret from the system's random source. */
apr_status_t mw_manual_secret(unsigned char secret[MW_MANUAL_SECRET_LEN]);

/* HMAC-SHA-256 of key over msg (RFC 2104), for the token and its tests;
 * the hash's state is allocated from p. */
void mw_manual_hmac_sha256(apr_pool_t *p, const unsigned char *key,
                           apr_size_t key_len, const unsigned char *msg,
                           apr_size_t msg_len,
                           unsigned char mac[MW_MANUAL_MAC_LEN]);

/* The token for the form that recycles the child in slot with pid, on a
 * page of generation: MW_MANUAL_TOKEN_LEN hex digits and a NUL. */
void mw_manual_token(apr_pool_t *p,
                     const unsigned char secret[MW_MANUAL_SECRET_LEN],
                     apr_uint32_t generation, apr_uint32_t slot,
                     apr_uint32_t pid, char token[MW_MANUAL_TOKEN_LEN + 1]);

/* Is the token a client sent (NULL: none) the one expected? In time that
 * depends on its length only, never on where it differs. */
int mw_manual_token_equal(const char *given,
                          const char expected[MW_MANUAL_TOKEN_LEN + 1]);

/* The posted form: "recycle=SLOT&pid=PID&token=HEX", in any order;
 * other fields are ignored. */
typedef struct mw_manual_form_t {
    apr_uint32_t slot;
    apr_uint32_t pid;
    const char *token;              /* NULL: none sent */
} mw_manual_form_t;

/* Parse an application/x-www-form-urlencoded body of len bytes (it need
 * not end in a NUL; it is copied into p). Returns NULL, or why it is not
 * such a form: a NUL byte, a field repeated, recycle or pid missing or
 * not a number (slot below 2^31, pid from 1 to 2^31 - 1). The token is
 * taken as it is, none or anything: mw_manual_token_equal judges it. */
const char *mw_manual_form_parse(apr_pool_t *p, const char *body,
                                 apr_size_t len, mw_manual_form_t *form);

#endif /* MW_MANUAL_H */
