/* crypto.h - the few primitives the areas share, all through OpenSSL.
 *
 * Random tokens, SHA-256 and HMAC-SHA-256 digests, constant-time comparison
 * and authenticated encryption (AES-256-GCM) of short values.  Nothing here
 * keeps state; keys are the caller's. */
#ifndef AIGET_CRYPTO_H
#define AIGET_CRYPTO_H

#include <stddef.h>

#include "arena.h"

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_SEAL_OVERHEAD 28   /* 12-byte nonce + 16-byte tag */

/* Fills buf with n bytes from the kernel's CSPRNG.  0 or -1. */
int crypto_random(void *buf, size_t n);

/* nbytes of randomness as base64url (no padding), in the arena; NULL on failure. */
char *crypto_random_token(struct arena *a, size_t nbytes);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void crypto_hex(const unsigned char *in, size_t n, char *out);

void crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN]);
void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
			unsigned char out[CRYPTO_SHA256_LEN]);

/* 1 when the n bytes at a and b are equal, in time independent of where they differ. */
int crypto_equal(const void *a, const void *b, size_t n);

/* AES-256-GCM: out gets nonce || ciphertext || tag (len + CRYPTO_SEAL_OVERHEAD bytes). 0 or -1. */
int crypto_seal(const unsigned char key[32], const void *plain, size_t len, unsigned char *out);
/* The reverse; out gets len - CRYPTO_SEAL_OVERHEAD bytes.  0, or -1 when forged or truncated. */
int crypto_open(const unsigned char key[32], const unsigned char *sealed, size_t len, unsigned char *out);

#endif
