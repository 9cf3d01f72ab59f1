/* Licensed under the Apache License, Version 2.0. */

/* Recycling by hand: the form's token and the posted form. */

#include <string.h>

#include <apr_general.h>
#include <apr_random.h>
#include <apr_strings.h>

#include "mw_manual.h"

#define SHA256_BLOCK 64

apr_status_t mw_manual_secret(unsigned char secret[MW_MANUAL_SECRET_LEN])
{
    return apr_generate_random_bytes(secret, MW_MANUAL_SECRET_LEN);
}

void mw_manual_hmac_sha256(apr_pool_t *p, const unsigned char *key,
                           apr_size_t key_len, const unsigned char *msg,
                           apr_size_t msg_len,
                           unsigned char mac[MW_MANUAL_MAC_LEN])
{
    apr_crypto_hash_t *h = apr_crypto_sha256_new(p);
    unsigned char k[SHA256_BLOCK], pad[SHA256_BLOCK];
    unsigned char inner[MW_MANUAL_MAC_LEN];
    int i;

    memset(k, 0, sizeof(k));
    if (key_len > SHA256_BLOCK) {
        h->init(h);
        h->add(h, key, key_len);
        h->finish(h, k);
    }
    else {
        memcpy(k, key, key_len);
    }
    for (i = 0; i < SHA256_BLOCK; i++) {
        pad[i] = k[i] ^ 0x36;
    }
    h->init(h);
    h->add(h, pad, SHA256_BLOCK);
    h->add(h, msg, msg_len);
    h->finish(h, inner);
    for (i = 0; i < SHA256_BLOCK; i++) {
        pad[i] = k[i] ^ 0x5c;
    }
    h->init(h);
    h->add(h, pad, SHA256_BLOCK);
    h->add(h, inner, sizeof(inner));
    h->finish(h, mac);
}

static void put_u32(unsigned char *b, apr_uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

void mw_manual_token(apr_pool_t *p,
                     const unsigned char secret[MW_MANUAL_SECRET_LEN],
                     apr_uint32_t generation, apr_uint32_t slot,
                     apr_uint32_t pid, char token[MW_MANUAL_TOKEN_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    /* A purpose, so that a MAC made with this secret for anything else
     * one day is never a token; then fixed-width fields. */
    static const char purpose[] = "mod_memwatch recycle v1";
    unsigned char msg[sizeof(purpose) + 12], mac[MW_MANUAL_MAC_LEN];
    int i;

    memcpy(msg, purpose, sizeof(purpose));
    put_u32(msg + sizeof(purpose), generation);
    put_u32(msg + sizeof(purpose) + 4, slot);
    put_u32(msg + sizeof(purpose) + 8, pid);
    mw_manual_hmac_sha256(p, secret, MW_MANUAL_SECRET_LEN, msg, sizeof(msg),
                          mac);
    for (i = 0; i < MW_MANUAL_MAC_LEN; i++) {
        token[2 * i] = hex[mac[i] >> 4];
        token[2 * i + 1] = hex[mac[i] & 0xf];
    }
    token[MW_MANUAL_TOKEN_LEN] = '\0';
}

int mw_manual_token_equal(const char *given,
                          const char expected[MW_MANUAL_TOKEN_LEN + 1])
{
    unsigned char diff = 0;
    int i;

    if (!given || strlen(given) != MW_MANUAL_TOKEN_LEN) {
        return 0;
    }
    for (i = 0; i < MW_MANUAL_TOKEN_LEN; i++) {
        diff |= (unsigned char)(given[i] ^ expected[i]);
    }
    return diff == 0;
}

/* A whole number in [min, max] into *v: 1, else 0. */
static int number(const char *s, apr_uint32_t min, apr_uint32_t max,
                  apr_uint32_t *v)
{
    apr_uint64_t n = 0;

    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || (n = n * 10 + (apr_uint64_t)(*s - '0'))
                                    > max) {
            return 0;
        }
    }
    if (n < min) {
        return 0;
    }
    *v = (apr_uint32_t)n;
    return 1;
}

const char *mw_manual_form_parse(apr_pool_t *p, const char *body,
                                 apr_size_t len, mw_manual_form_t *form)
{
    char *copy = apr_pstrmemdup(p, body, len), *tok, *last;
    int have_slot = 0, have_pid = 0;

    form->slot = 0;
    form->pid = 0;
    form->token = NULL;
    if (strlen(copy) != len) {
        return "a NUL byte in the form";
    }
    for (tok = apr_strtok(copy, "&", &last); tok;
         tok = apr_strtok(NULL, "&", &last)) {
        char *val = strchr(tok, '=');

        if (!val) {
            continue;
        }
        *val++ = '\0';
        if (!strcmp(tok, "recycle")) {
            if (have_slot++ || !number(val, 0, APR_INT32_MAX, &form->slot)) {
                return "recycle takes one slot number";
            }
        }
        else if (!strcmp(tok, "pid")) {
            if (have_pid++ || !number(val, 1, APR_INT32_MAX, &form->pid)) {
                return "pid takes one process id";
            }
        }
        else if (!strcmp(tok, "token")) {
            if (form->token) {
                return "token given twice";
            }
            form->token = val;
        }
    }
    if (!have_slot || !have_pid) {
        return "recycle and pid are needed";
    }
    return NULL;
}
