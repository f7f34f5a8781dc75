/* password.h - password policy and scrypt hashing (libscrypt, MCF strings).
 *
 * Hashes are libscrypt's MCF strings ("$s1$NNrrpp$salt$hash"), which carry
 * their own N, r and p, so the parameters can change later: a login that
 * verifies against older parameters reports it, and the caller rehashes.
 * The defaults are N=16384, r=8, p=1 (about 50 ms here); libscrypt's own
 * default p=16 would cost about 650 ms a hash and is never used. */
#ifndef AIGET_PASSWORD_H
#define AIGET_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#define PASSWORD_MIN_BYTES 8
#define PASSWORD_MAX_BYTES 128
#define PASSWORD_HASH_MAX 128   /* SCRYPT_MCF_LEN */

struct password_params {
	uint32_t n;
	uint8_t r, p;
};

extern const struct password_params password_default_params;

/* 0 when acceptable, else -1 with a reason safe to show the user, to follow
 * the field's name ("must be at least 8 bytes"). */
int password_check_policy(const char *password, char *why, size_t whylen);

/* Hashes into out (PASSWORD_HASH_MAX bytes).  0 or -1. */
int password_hash(const char *password, const struct password_params *params, char out[PASSWORD_HASH_MAX]);

/* 1 when password matches mcf, 0 when not, -1 when mcf is malformed.
 * *outdated is set when mcf's parameters differ from params. */
int password_verify(const char *mcf, const char *password, const struct password_params *params, int *outdated);

/* Spends the time of one verification without a stored hash, so that an
 * unknown account answers as slowly as a wrong password. */
void password_verify_dummy(const char *password, const struct password_params *params);

/* The shipped list of common passwords (common_passwords.c). */
extern const char *const password_common_list[];
extern const size_t password_common_count;

#endif
