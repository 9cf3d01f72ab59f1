/* Licensed under the Apache License, Version 2.0. */

/* mw_manual: the recycle form's token (HMAC-SHA-256 against RFC 4231's
 * vectors, bound to generation, slot and pid), its comparison, and the
 * posted form. */

#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "tap.h"
#include "mw_manual.h"

static const char *hex(const unsigned char *b, apr_size_t n)
{
    static char buf[2 * 64 + 1];
    apr_size_t i;

    for (i = 0; i < n; i++) {
        snprintf(buf + 2 * i, 3, "%02x", b[i]);
    }
    buf[2 * n] = '\0';
    return buf;
}

static void test_hmac(apr_pool_t *p)
{
    unsigned char key[131], data[50], mac[MW_MANUAL_MAC_LEN];
    const char *msg;

    memset(key, 0x0b, 20);
    msg = "Hi There";
    mw_manual_hmac_sha256(p, key, 20, (const unsigned char *)msg,
                          strlen(msg), mac);
    is_str(hex(mac, sizeof(mac)),
           "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
           "RFC 4231 case 1");
    msg = "what do ya want for nothing?";
    mw_manual_hmac_sha256(p, (const unsigned char *)"Jefe", 4,
                          (const unsigned char *)msg, strlen(msg), mac);
    is_str(hex(mac, sizeof(mac)),
           "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
           "RFC 4231 case 2: a key shorter than the block");
    memset(key, 0xaa, 20);
    memset(data, 0xdd, 50);
    mw_manual_hmac_sha256(p, key, 20, data, 50, mac);
    is_str(hex(mac, sizeof(mac)),
           "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
           "RFC 4231 case 3: bytes that are not text");
    memset(key, 0xaa, 131);
    msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    mw_manual_hmac_sha256(p, key, 131, (const unsigned char *)msg,
                          strlen(msg), mac);
    is_str(hex(mac, sizeof(mac)),
           "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
           "RFC 4231 case 6: a key longer than the block is hashed first");
    /* The edge: a key of exactly one block is used as it is (from
     * Python's hmac module). */
    memset(key, 0x11, 64);
    msg = "a key of one block";
    mw_manual_hmac_sha256(p, key, 64, (const unsigned char *)msg,
                          strlen(msg), mac);
    is_str(hex(mac, sizeof(mac)),
           "e72d0d08a3208a6704dd612e3ecc7447e69ab2cc1b637e695700cfed9d946074",
           "a key of exactly 64 bytes is not hashed");
}

static void test_token(apr_pool_t *p)
{
    unsigned char secret[MW_MANUAL_SECRET_LEN], other[MW_MANUAL_SECRET_LEN];
    char t[MW_MANUAL_TOKEN_LEN + 1], u[MW_MANUAL_TOKEN_LEN + 1];
    static const unsigned char zero[MW_MANUAL_SECRET_LEN];

    ok(mw_manual_secret(secret) == APR_SUCCESS
       && mw_manual_secret(other) == APR_SUCCESS, "two secrets drawn");
    ok(memcmp(secret, other, sizeof(secret)) != 0
       && memcmp(secret, zero, sizeof(secret)) != 0,
       "they differ, and are not zero");

    mw_manual_token(p, secret, 7, 3, 4242, t);
    is_int((long long)strlen(t), MW_MANUAL_TOKEN_LEN, "64 characters");
    is_int((long long)strspn(t, "0123456789abcdef"), MW_MANUAL_TOKEN_LEN,
           "all lower-case hex");
    mw_manual_token(p, secret, 7, 3, 4242, u);
    is_str(u, t, "the same child on the same page: the same token");
    ok(mw_manual_token_equal(u, t), "and it compares equal");
    mw_manual_token(p, secret, 8, 3, 4242, u);
    ok(strcmp(u, t) && !mw_manual_token_equal(u, t),
       "another generation: another token");
    mw_manual_token(p, secret, 7, 4, 4242, u);
    ok(strcmp(u, t) && !mw_manual_token_equal(u, t),
       "another slot: another token");
    mw_manual_token(p, secret, 7, 3, 4243, u);
    ok(strcmp(u, t) && !mw_manual_token_equal(u, t),
       "another pid: another token");
    mw_manual_token(p, other, 7, 3, 4242, u);
    ok(strcmp(u, t) && !mw_manual_token_equal(u, t),
       "another secret (a restart): another token");

    /* Fields are fixed-width: slot 1, pid 23 is not slot 12, pid 3. */
    mw_manual_token(p, secret, 7, 1, 23, t);
    mw_manual_token(p, secret, 7, 12, 3, u);
    ok(strcmp(u, t) != 0, "fields do not run into each other");

    /* A known secret gives a known token: every child of a generation
     * computes it on its own, and must come to the same (the message:
     * "mod_memwatch recycle v1", its NUL, then generation, slot and pid
     * as 32-bit big-endian; from Python's hmac module). */
    memset(other, 0x42, sizeof(other));
    mw_manual_token(p, other, 1, 0, 1, t);
    is_str(t,
           "118d8f7e6c4250c24ee75220455df4c8090824cf37bf0adcfc309815788537f6",
           "a known secret, generation 1, slot 0, pid 1: a known token");
    mw_manual_token(p, other, 7, 3, 4242, t);
    is_str(t,
           "b049654f5e465ac93054ed5a58cef809508b7f89dc1ac8351603b66a7f09b1be",
           "generation 7, slot 3, pid 4242: another known token");
}

static void test_equal(apr_pool_t *p)
{
    unsigned char secret[MW_MANUAL_SECRET_LEN];
    char t[MW_MANUAL_TOKEN_LEN + 1], u[MW_MANUAL_TOKEN_LEN + 1];

    memset(secret, 1, sizeof(secret));
    mw_manual_token(p, secret, 1, 2, 3, t);
    strcpy(u, t);
    ok(mw_manual_token_equal(u, t), "equal");
    u[0] = u[0] == 'a' ? 'b' : 'a';
    ok(!mw_manual_token_equal(u, t), "the first character differs");
    strcpy(u, t);
    u[MW_MANUAL_TOKEN_LEN - 1] = u[MW_MANUAL_TOKEN_LEN - 1] == 'a' ? 'b'
                                                                   : 'a';
    ok(!mw_manual_token_equal(u, t), "the last character differs");
    u[MW_MANUAL_TOKEN_LEN - 1] = '\0';
    ok(!mw_manual_token_equal(u, t), "one character short");
    {
        char longer[MW_MANUAL_TOKEN_LEN + 2];

        strcpy(longer, t);
        strcat(longer, "0");
        ok(!mw_manual_token_equal(longer, t), "one character more");
    }
    ok(!mw_manual_token_equal("", t), "empty");
    ok(!mw_manual_token_equal(NULL, t), "none sent");
}

static void test_form(apr_pool_t *p)
{
    mw_manual_form_t f;
    const char *err;
    static const char with_nul[] = "recycle=1&pid=2\0&token=ab";

    err = mw_manual_form_parse(p, "recycle=3&pid=4242&token=ab12", 29, &f);
    ok(!err && f.slot == 3 && f.pid == 4242 && f.token
       && !strcmp(f.token, "ab12"), "the form the page posts");
    err = mw_manual_form_parse(p, "token=x&x=1&pid=9&recycle=0&submit",
                               34, &f);
    ok(!err && f.slot == 0 && f.pid == 9 && !strcmp(f.token, "x"),
       "any order; other fields, and one without a value, ignored");
    err = mw_manual_form_parse(p, "recycle=3&pid=4242", 18, &f);
    ok(!err && !f.token, "no token: parsed, token NULL (a 403, not a 400)");
    err = mw_manual_form_parse(p, "recycle=3&pid=4242&token=", 25, &f);
    ok(!err && f.token && !*f.token, "an empty token is an empty string");
    err = mw_manual_form_parse(p, "recycle=3&pid=4242&tokenXYZ", 21, &f);
    ok(!err && !f.token, "the body is taken to len only");

    ok(mw_manual_form_parse(p, "pid=4242&token=ab", 17, &f) != NULL,
       "no recycle: refused");
    ok(mw_manual_form_parse(p, "recycle=3&token=ab", 18, &f) != NULL,
       "no pid: refused");
    ok(mw_manual_form_parse(p, "recycle=x&pid=1", 15, &f) != NULL,
       "a slot that is not a number");
    ok(mw_manual_form_parse(p, "recycle=+1&pid=1", 16, &f) != NULL,
       "a sign is not a digit");
    ok(mw_manual_form_parse(p, "recycle=&pid=1", 14, &f) != NULL,
       "an empty slot");
    ok(mw_manual_form_parse(p, "recycle=2147483648&pid=1", 24, &f) != NULL,
       "a slot of 2^31");
    ok(mw_manual_form_parse(p, "recycle=99999999999999999999&pid=1", 34,
                            &f) != NULL, "a slot that overflows 64 bits");
    ok(mw_manual_form_parse(p, "recycle=1&pid=0", 15, &f) != NULL,
       "pid 0");
    ok(mw_manual_form_parse(p, "recycle=1&pid=2147483648", 24, &f) != NULL,
       "a pid of 2^31");
    ok(mw_manual_form_parse(p, "recycle=1&recycle=2&pid=3", 25, &f) != NULL,
       "recycle twice");
    ok(mw_manual_form_parse(p, "recycle=1&pid=3&pid=3", 21, &f) != NULL,
       "pid twice");
    ok(mw_manual_form_parse(p, "recycle=1&pid=3&token=a&token=a", 31, &f)
       != NULL, "token twice");
    ok(mw_manual_form_parse(p, with_nul, sizeof(with_nul) - 1, &f) != NULL,
       "a NUL byte inside");
    ok(mw_manual_form_parse(p, "", 0, &f) != NULL, "an empty body");
    err = mw_manual_form_parse(p, "recycle=2147483647&pid=2147483647", 33,
                               &f);
    ok(!err && f.slot == 2147483647u && f.pid == 2147483647u,
       "the largest slot and pid");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_hmac(p);
    test_token(p);
    test_equal(p);
    test_form(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done();
}
