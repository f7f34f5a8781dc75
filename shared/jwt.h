/* jwt.h - JSON Web Tokens (JWS compact form) signed with ES256 or RS256.
 *
 * Verification is pinned: the caller names the one algorithm it accepts and
 * the keys it trusts, and a token is refused before any cryptography unless
 * its header names exactly that algorithm and one of those keys by "kid".
 * That rules out "none", HMAC with a public key as the secret, and algorithm
 * substitution in one place.  Parsing is strict (base64url without padding,
 * strict JSON, typed claims) and every token is capped at JWT_MAX_TOKEN bytes
 * before it is decoded.  ES256 signatures are the JWS r||s form (RFC 7518
 * section 3.4), not OpenSSL's DER.  Keys are OpenSSL EVP keys; nothing here
 * keeps global state. */
#ifndef AIGET_JWT_H
#define AIGET_JWT_H

#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

/* Longest token jwt_verify() decodes and jwt_sign() produces. */
#define JWT_MAX_TOKEN 8192

enum jwt_alg { JWT_ES256, JWT_RS256, JWT_ALG__MAX };

struct jwt_key; /* an EVP key with its kid and algorithm */

/* A new key: ES256 on P-256, RS256 with 2048 bits (for tests).  kid is copied
 * and must be non-empty.  NULL on failure. */
struct jwt_key *jwt_key_generate(enum jwt_alg alg, const char *kid);

/* A private key from PEM (PKCS#8, or SEC1/PKCS#1).  Refused (NULL) when it is
 * encrypted or does not suit alg: ES256 needs P-256, RS256 RSA of 2048 to
 * 8192 bits. */
struct jwt_key *jwt_key_from_private_pem(const char *pem, const char *kid, enum jwt_alg alg);

/* A public key from a JWK: kty "EC" with crv "P-256", x and y, or kty "RSA"
 * with n and e.  kid is required; "alg", when present, must be ES256 or RS256
 * to match the key type, and "use", when present, "sig".  Anything else
 * (oct keys, other curves) is refused: NULL. */
struct jwt_key *jwt_key_from_jwk(struct json_object *jwk);

/* The keys for alg of a JWK Set ({"keys": [jwk, ...]}, RFC 7517 section 5)
 * into keys, at most max of them: those jwt_key_from_jwk() takes, the
 * others skipped.  Returns how many, or -1 when set is not a key set. */
int jwt_keys_from_jwks(struct json_object *set, enum jwt_alg alg, struct jwt_key **keys, size_t max);

/* The private key as malloc'd PKCS#8 PEM; the caller wipes and frees it.
 * NULL for a public-only key. */
char *jwt_key_private_pem(const struct jwt_key *key);

/* The public JWK {"kty","crv","x","y" | "n","e", "kid","alg","use":"sig"}:
 * never private parts.  The caller json_object_put()s it. */
struct json_object *jwt_key_public_jwk(const struct jwt_key *key);

const char *jwt_key_kid(const struct jwt_key *key);
enum jwt_alg jwt_key_alg(const struct jwt_key *key);
const char *jwt_alg_name(enum jwt_alg alg); /* "ES256", "RS256"; NULL if out of range */
void jwt_key_free(struct jwt_key *key);

/* Signs a claims object under the header {"alg","typ":"JWT","kid"}.  Returns
 * the malloc'd compact JWS, or NULL (no private key, not an object, longer
 * than JWT_MAX_TOKEN, OpenSSL failure). */
char *jwt_sign(const struct jwt_key *key, struct json_object *claims);

enum jwt_error {
	JWT_OK,
	JWT_MALFORMED,      /* not three base64url parts of JSON objects; wrong claim types; "crit" */
	JWT_BAD_ALG,        /* header alg is not the pinned one */
	JWT_UNKNOWN_KID,    /* no kid, or none of the keys for the pinned alg has it */
	JWT_BAD_SIGNATURE,
	JWT_EXPIRED,
	JWT_NOT_YET_VALID,  /* nbf, or iat, later than now plus leeway */
	JWT_BAD_ISSUER,
	JWT_BAD_AUDIENCE,
	JWT_MISSING_CLAIM,  /* exp; iss or aud when required */
	JWT_ERROR__MAX
};

struct jwt_verify_opts {
	enum jwt_alg alg;                   /* pinned: the header's alg must be exactly this */
	const struct jwt_key *const *keys;  /* chosen by the header's kid among those of alg */
	size_t nkeys;
	const char *issuer;                 /* when non-NULL, "iss" must equal it */
	const char *const *audiences;       /* when naudiences > 0, "aud" (string or */
	size_t naudiences;                  /* array) must contain one of them */
	long leeway_s;                      /* clock skew allowed on exp, nbf and iat */
	time_t now;                         /* 0: time(NULL) */
};

/* Verifies a token.  On JWT_OK, and only then, *claims (when claims is not
 * NULL) is the payload object, which the caller json_object_put()s. */
enum jwt_error jwt_verify(const char *token, const struct jwt_verify_opts *opts,
			  struct json_object **claims);

/* Short English, safe to show to a client. */
const char *jwt_error_text(enum jwt_error e);

/* base64url without padding (RFC 4648 section 5), for JWKs, PKCE and opaque
 * tokens.  Both return malloc'd memory (the encoding NUL-terminated) or NULL.
 * Decoding refuses padding, '+', '/', whitespace, a length of 4n+1 and
 * non-zero unused trailing bits, so each value has exactly one encoding. */
char *jwt_b64url_encode(const unsigned char *data, size_t len);
unsigned char *jwt_b64url_decode(const char *s, size_t len, size_t *outlen);

#endif
