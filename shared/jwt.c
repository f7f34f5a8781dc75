/* jwt.c - JWS compact tokens on OpenSSL 3 EVP keys: keys, JWKs, signing, verification.
 *
 * A key is an EVP_PKEY with its kid and the one algorithm it may be used
 * with; the algorithm is fixed when the key is made, never read from a token.
 * jwt_verify() works outside-in and stops at the first fault: the length cap,
 * the three-part shape, base64url of every part, the header as strict JSON
 * (body_json_parse), "crit", the pinned "alg", the key by "kid", and only then
 * the signature over the exact bytes received; the payload is parsed as JSON
 * only once it is known to be signed.  Claim types are checked before claim
 * values so that a malformed token is reported as malformed.  OpenSSL's error
 * queue is cleared after the failures we expect (bad input, bad signatures),
 * so that no later caller of OpenSSL finds a stale error there. */
#include "jwt.h"

#include "body.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#define P256_BYTES 32      /* a P-256 coordinate, and each of r and s */
#define RSA_MIN_BITS 2048  /* RFC 7518 section 3.3 */
#define RSA_MAX_BITS 8192  /* bounds the cost of a key someone else published */

struct jwt_key {
	EVP_PKEY *pkey;
	char *kid;
	enum jwt_alg alg;
	int has_private;
};

static const char *const alg_names[JWT_ALG__MAX] = {
	[JWT_ES256] = "ES256",
	[JWT_RS256] = "RS256",
};

static const char *const error_texts[JWT_ERROR__MAX] = {
	[JWT_OK]            = "valid token",
	[JWT_MALFORMED]     = "malformed token",
	[JWT_BAD_ALG]       = "token algorithm not accepted",
	[JWT_UNKNOWN_KID]   = "unknown signing key",
	[JWT_BAD_SIGNATURE] = "invalid token signature",
	[JWT_EXPIRED]       = "token expired",
	[JWT_NOT_YET_VALID] = "token not yet valid",
	[JWT_BAD_ISSUER]    = "wrong token issuer",
	[JWT_BAD_AUDIENCE]  = "wrong token audience",
	[JWT_MISSING_CLAIM] = "token lacks a required claim",
};

const char *jwt_alg_name(enum jwt_alg alg)
{
	return (unsigned)alg < JWT_ALG__MAX ? alg_names[alg] : NULL;
}

const char *jwt_error_text(enum jwt_error e)
{
	return (unsigned)e < JWT_ERROR__MAX ? error_texts[e] : "unknown token error";
}

/* ---------------------------------------------------------------- base64url */

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *jwt_b64url_encode(const unsigned char *data, size_t len)
{
	if (len > SIZE_MAX / 4 * 3 - 3)
		return NULL;
	char *out = malloc(len / 3 * 4 + len % 3 + (len % 3 != 0) + 1), *o = out;
	if (out == NULL)
		return NULL;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		acc = acc << 8 | data[i];
		for (bits += 8; bits >= 6; bits -= 6)
			*o++ = b64url_alphabet[acc >> (bits - 6) & 63];
	}
	if (bits > 0)
		*o++ = b64url_alphabet[acc << (6 - bits) & 63];
	*o = '\0';
	return out;
}

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

unsigned char *jwt_b64url_decode(const char *s, size_t len, size_t *outlen)
{
	/* 4n+1 characters cannot come from whole bytes. */
	if (s == NULL || len % 4 == 1)
		return NULL;
	unsigned char *out = malloc(len / 4 * 3 + 3), *o = out;
	if (out == NULL)
		return NULL;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value((unsigned char)s[i]);
		if (v < 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			*o++ = (unsigned char)(acc >> bits);
		}
	}
	/* Unused trailing bits must be zero, or several texts would decode to
	 * the same bytes and a signature could be re-encoded unnoticed. */
	if (acc & ((1u << bits) - 1))
		goto bad;
	*outlen = (size_t)(o - out);
	return out;
bad:
	free(out);
	return NULL;
}

/* --------------------------------------------------------------------- keys */

static int key_suits(EVP_PKEY *pkey, enum jwt_alg alg)
{
	char group[64];
	switch (alg) {
	case JWT_ES256:
		return EVP_PKEY_is_a(pkey, "EC") &&
		       EVP_PKEY_get_group_name(pkey, group, sizeof group, NULL) == 1 &&
		       strcmp(group, SN_X9_62_prime256v1) == 0;
	case JWT_RS256:
		return EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) >= RSA_MIN_BITS &&
		       EVP_PKEY_get_bits(pkey) <= RSA_MAX_BITS;
	default:
		return 0;
	}
}

/* Takes pkey (freed on failure) and checks it suits alg. */
static struct jwt_key *key_new(EVP_PKEY *pkey, const char *kid, enum jwt_alg alg, int has_private)
{
	struct jwt_key *key = NULL;
	if (pkey != NULL && kid != NULL && *kid != '\0' && key_suits(pkey, alg) &&
	    (key = calloc(1, sizeof *key)) != NULL && (key->kid = strdup(kid)) != NULL) {
		key->pkey = pkey;
		key->alg = alg;
		key->has_private = has_private;
		return key;
	}
	free(key);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return NULL;
}

void jwt_key_free(struct jwt_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key->kid);
	free(key);
}

const char *jwt_key_kid(const struct jwt_key *key)
{
	return key->kid;
}

enum jwt_alg jwt_key_alg(const struct jwt_key *key)
{
	return key->alg;
}

struct jwt_key *jwt_key_generate(enum jwt_alg alg, const char *kid)
{
	EVP_PKEY *pkey = NULL;
	if (kid == NULL || *kid == '\0')
		return NULL;
	if (alg == JWT_ES256)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (alg == JWT_RS256)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return key_new(pkey, kid, alg, 1);
}

/* Without a callback OpenSSL would prompt on the terminal for an encrypted
 * key; a daemon must fail instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

struct jwt_key *jwt_key_from_private_pem(const char *pem, const char *kid, enum jwt_alg alg)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio = pem != NULL ? BIO_new_mem_buf(pem, -1) : NULL;
	if (bio != NULL)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	return key_new(pkey, kid, alg, 1);
}

char *jwt_key_private_pem(const struct jwt_key *key)
{
	if (key == NULL || !key->has_private)
		return NULL;
	/* A secure-memory BIO wipes its buffer when freed, so the only copy
	 * left is the caller's. */
	BIO *bio = BIO_new(BIO_s_secmem());
	char *data, *out = NULL;
	long n;
	if (bio != NULL && PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (n = BIO_get_mem_data(bio, &data)) > 0 && (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(bio);
	return out;
}

/* ---------------------------------------------------------------------- JWK */

static const char *member_string(struct json_object *obj, const char *name)
{
	struct json_object *v;
	if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static unsigned char *member_bytes(struct json_object *obj, const char *name, size_t *len)
{
	struct json_object *v;
	if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return jwt_b64url_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v), len);
}

/* An optional member is absent or exactly want (a wrong type is not absent). */
static int member_absent_or(struct json_object *obj, const char *name, const char *want)
{
	const char *s = member_string(obj, name);
	return !json_object_object_get_ex(obj, name, NULL) || (s != NULL && strcmp(s, want) == 0);
}

/* A public key from parameters, checked the way OpenSSL checks a peer's key:
 * a point on the curve, an odd composite modulus, a sane exponent. */
static EVP_PKEY *public_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL), *check = NULL;
	EVP_PKEY *pkey = NULL;
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1 ||
	    (check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(check) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *ec_from_jwk(struct json_object *jwk)
{
	unsigned char point[1 + 2 * P256_BYTES];
	size_t xlen = 0, ylen = 0;
	unsigned char *x = member_bytes(jwk, "x", &xlen), *y = member_bytes(jwk, "y", &ylen);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *pkey = NULL;
	if (x != NULL && y != NULL && xlen == P256_BYTES && ylen == P256_BYTES && bld != NULL) {
		point[0] = POINT_CONVERSION_UNCOMPRESSED;
		memcpy(point + 1, x, P256_BYTES);
		memcpy(point + 1 + P256_BYTES, y, P256_BYTES);
		if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1, 0) &&
		    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point))
			pkey = public_from_params("EC", bld);
	}
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return pkey;
}

static EVP_PKEY *rsa_from_jwk(struct json_object *jwk)
{
	size_t nlen = 0, elen = 0;
	unsigned char *n = member_bytes(jwk, "n", &nlen), *e = member_bytes(jwk, "e", &elen);
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *pkey = NULL;
	/* Capped first: BN_bin2bn takes an int, and a modulus past the limit
	 * would only be refused after costly checks. */
	if (n != NULL && e != NULL && bld != NULL && nlen <= RSA_MAX_BITS / 8 + 1 && elen <= 64 &&
	    (bn_n = BN_bin2bn(n, (int)nlen, NULL)) != NULL && (bn_e = BN_bin2bn(e, (int)elen, NULL)) != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		pkey = public_from_params("RSA", bld);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	free(n);
	free(e);
	return pkey;
}

struct jwt_key *jwt_key_from_jwk(struct json_object *jwk)
{
	const char *kty = member_string(jwk, "kty"), *crv = member_string(jwk, "crv");
	enum jwt_alg alg;
	if (kty != NULL && strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0)
		alg = JWT_ES256;
	else if (kty != NULL && strcmp(kty, "RSA") == 0)
		alg = JWT_RS256;
	else
		return NULL;
	if (!member_absent_or(jwk, "alg", alg_names[alg]) || !member_absent_or(jwk, "use", "sig"))
		return NULL;
	return key_new(alg == JWT_ES256 ? ec_from_jwk(jwk) : rsa_from_jwk(jwk),
		       member_string(jwk, "kid"), alg, 0);
}

int jwt_keys_from_jwks(struct json_object *set, enum jwt_alg alg, struct jwt_key **keys, size_t max)
{
	struct json_object *list;
	if (!json_object_is_type(set, json_type_object) || !json_object_object_get_ex(set, "keys", &list) ||
	    !json_object_is_type(list, json_type_array))
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < json_object_array_length(list) && n < max; i++) {
		struct jwt_key *k = jwt_key_from_jwk(json_object_array_get_idx(list, i));
		if (k && k->alg == alg)
			keys[n++] = k;
		else
			jwt_key_free(k);
	}
	return (int)n;
}

static int add_string(struct json_object *obj, const char *name, const char *value)
{
	struct json_object *v = json_object_new_string(value);
	return v != NULL && json_object_object_add(obj, name, v) == 0;
}

/* Big-endian bytes of bn, left-padded to pad bytes, or minimal when pad is 0. */
static int add_bignum(struct json_object *obj, const char *name, const BIGNUM *bn, int pad)
{
	int len = pad ? pad : BN_num_bytes(bn);
	unsigned char *buf = malloc(len > 0 ? (size_t)len : 1);
	char *text = NULL;
	int ok = buf != NULL && BN_bn2binpad(bn, buf, len) == len &&
		 (text = jwt_b64url_encode(buf, (size_t)len)) != NULL && add_string(obj, name, text);
	free(buf);
	free(text);
	return ok;
}

struct json_object *jwt_key_public_jwk(const struct jwt_key *key)
{
	struct json_object *jwk = json_object_new_object();
	BIGNUM *a = NULL, *b = NULL;
	int ok = jwk != NULL;
	if (ok && key->alg == JWT_ES256)
		ok = EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &a) == 1 &&
		     EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &b) == 1 &&
		     add_string(jwk, "kty", "EC") && add_string(jwk, "crv", "P-256") &&
		     add_bignum(jwk, "x", a, P256_BYTES) && add_bignum(jwk, "y", b, P256_BYTES);
	else if (ok)
		ok = EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_N, &a) == 1 &&
		     EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_E, &b) == 1 &&
		     add_string(jwk, "kty", "RSA") && add_bignum(jwk, "n", a, 0) &&
		     add_bignum(jwk, "e", b, 0);
	ok = ok && add_string(jwk, "kid", key->kid) && add_string(jwk, "alg", alg_names[key->alg]) &&
	     add_string(jwk, "use", "sig");
	BN_free(a);
	BN_free(b);
	if (!ok) {
		json_object_put(jwk);
		ERR_clear_error();
		return NULL;
	}
	return jwk;
}

/* ------------------------------------------------------ signing, verifying */

/* OpenSSL's DER ECDSA signature as JWS r||s. */
static unsigned char *es256_from_der(const unsigned char *der, size_t len, size_t *siglen)
{
	const BIGNUM *r, *s;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &der, (long)len);
	unsigned char *sig = es != NULL ? malloc(2 * P256_BYTES) : NULL;
	if (sig != NULL) {
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, sig, P256_BYTES) != P256_BYTES ||
		    BN_bn2binpad(s, sig + P256_BYTES, P256_BYTES) != P256_BYTES) {
			free(sig);
			sig = NULL;
		}
	}
	ECDSA_SIG_free(es);
	*siglen = 2 * P256_BYTES;
	return sig;
}

static unsigned char *sign_input(const struct jwt_key *key, const char *input, size_t len, size_t *siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *raw = NULL, *sig = NULL;
	size_t n = 0;
	if (md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
	    EVP_DigestSign(md, NULL, &n, (const unsigned char *)input, len) == 1 &&
	    (raw = malloc(n)) != NULL &&
	    EVP_DigestSign(md, raw, &n, (const unsigned char *)input, len) == 1) {
		if (key->alg == JWT_ES256) {
			sig = es256_from_der(raw, n, siglen);
		} else {
			sig = raw;
			raw = NULL;
			*siglen = n;
		}
	}
	free(raw);
	EVP_MD_CTX_free(md);
	return sig;
}

static int verify_input(const struct jwt_key *key, const char *input, size_t len,
			const unsigned char *sig, size_t siglen)
{
	unsigned char *der = NULL;
	if (key->alg == JWT_ES256) {
		/* Only r||s: OpenSSL would take DER as is, a second encoding of
		 * one signature that no other JWS library produces. */
		if (siglen != 2 * P256_BYTES)
			return 0;
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(sig, P256_BYTES, NULL), *s = BN_bin2bn(sig + P256_BYTES, P256_BYTES, NULL);
		int derlen = -1;
		if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
			r = s = NULL; /* es owns them now */
			derlen = i2d_ECDSA_SIG(es, &der);
		}
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		if (derlen <= 0)
			return 0;
		sig = der;
		siglen = (size_t)derlen;
	} else if (siglen != (size_t)EVP_PKEY_get_size(key->pkey)) {
		return 0; /* PKCS#1 v1.5 signatures are exactly the modulus long */
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
		 EVP_DigestVerify(md, sig, siglen, (const unsigned char *)input, len) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return ok;
}

static char *b64url_json(struct json_object *obj)
{
	const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE);
	return text != NULL ? jwt_b64url_encode((const unsigned char *)text, strlen(text)) : NULL;
}

char *jwt_sign(const struct jwt_key *key, struct json_object *claims)
{
	if (key == NULL || !key->has_private || !json_object_is_type(claims, json_type_object))
		return NULL;
	struct json_object *header = json_object_new_object();
	char *h = NULL, *p = NULL, *s = NULL, *token = NULL;
	unsigned char *sig = NULL;
	size_t hlen, plen, siglen;
	if (header == NULL || !add_string(header, "alg", alg_names[key->alg]) ||
	    !add_string(header, "typ", "JWT") || !add_string(header, "kid", key->kid) ||
	    (h = b64url_json(header)) == NULL || (p = b64url_json(claims)) == NULL)
		goto done;
	hlen = strlen(h);
	plen = strlen(p);
	/* Never issue a token jwt_verify() would refuse for its size. */
	if (hlen + plen + 1 > JWT_MAX_TOKEN || (token = malloc(JWT_MAX_TOKEN + 1)) == NULL)
		goto done;
	memcpy(token, h, hlen);
	token[hlen] = '.';
	memcpy(token + hlen + 1, p, plen + 1);
	if ((sig = sign_input(key, token, hlen + 1 + plen, &siglen)) == NULL ||
	    (s = jwt_b64url_encode(sig, siglen)) == NULL ||
	    hlen + plen + strlen(s) + 2 > JWT_MAX_TOKEN) {
		free(token);
		token = NULL;
		goto done;
	}
	token[hlen + 1 + plen] = '.';
	strcpy(token + hlen + plen + 2, s);
done:
	json_object_put(header);
	free(h);
	free(p);
	free(s);
	free(sig);
	ERR_clear_error();
	return token;
}

/* Strict JSON that must be an object; NULL otherwise. */
static struct json_object *parse_object(const unsigned char *text, size_t len)
{
	char why[200];
	struct json_object *obj = body_json_parse((const char *)text, len, why, sizeof why);
	if (obj != NULL && !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

/* A NumericDate claim: 1 when absent, 0 with *out when a finite number, -1
 * otherwise (1e999 parses as infinity, which would never expire). */
static int numeric_date(struct json_object *claims, const char *name, double *out)
{
	struct json_object *v;
	if (!json_object_object_get_ex(claims, name, &v))
		return 1;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return -1;
	*out = json_object_get_double(v);
	return isfinite(*out) ? 0 : -1;
}

/* "aud": a string or an array of strings (RFC 7519 section 4.1.3). */
static int audience_well_formed(struct json_object *aud)
{
	if (json_object_is_type(aud, json_type_string))
		return 1;
	if (!json_object_is_type(aud, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(aud); i++)
		if (!json_object_is_type(json_object_array_get_idx(aud, i), json_type_string))
			return 0;
	return 1;
}

static int audience_matches(struct json_object *aud, const struct jwt_verify_opts *opts)
{
	int array = json_object_is_type(aud, json_type_array);
	size_t n = array ? json_object_array_length(aud) : 1;
	for (size_t i = 0; i < n; i++) {
		const char *a = json_object_get_string(array ? json_object_array_get_idx(aud, i) : aud);
		for (size_t j = 0; j < opts->naudiences; j++)
			if (opts->audiences[j] != NULL && strcmp(a, opts->audiences[j]) == 0)
				return 1;
	}
	return 0;
}

static enum jwt_error check_claims(struct json_object *claims, const struct jwt_verify_opts *opts)
{
	struct json_object *iss = NULL, *aud = NULL, *sub = NULL;
	double exp = 0, nbf = 0, iat = 0;
	int has_exp = numeric_date(claims, "exp", &exp), has_nbf = numeric_date(claims, "nbf", &nbf),
	    has_iat = numeric_date(claims, "iat", &iat);
	int has_iss = json_object_object_get_ex(claims, "iss", &iss),
	    has_aud = json_object_object_get_ex(claims, "aud", &aud);

	if (has_exp < 0 || has_nbf < 0 || has_iat < 0 ||
	    (has_iss && !json_object_is_type(iss, json_type_string)) ||
	    (has_aud && !audience_well_formed(aud)) ||
	    (json_object_object_get_ex(claims, "sub", &sub) && !json_object_is_type(sub, json_type_string)))
		return JWT_MALFORMED;
	if (has_exp != 0)
		return JWT_MISSING_CLAIM;

	double now = opts->now != 0 ? (double)opts->now : (double)time(NULL);
	double leeway = opts->leeway_s > 0 ? (double)opts->leeway_s : 0;
	if (now >= exp + leeway) /* RFC 7519: valid only before exp */
		return JWT_EXPIRED;
	if ((has_nbf == 0 && now + leeway < nbf) || (has_iat == 0 && iat > now + leeway))
		return JWT_NOT_YET_VALID;
	if (opts->issuer != NULL) {
		if (!has_iss)
			return JWT_MISSING_CLAIM;
		if (strcmp(json_object_get_string(iss), opts->issuer) != 0)
			return JWT_BAD_ISSUER;
	}
	if (opts->naudiences > 0) {
		if (!has_aud)
			return JWT_MISSING_CLAIM;
		if (!audience_matches(aud, opts))
			return JWT_BAD_AUDIENCE;
	}
	return JWT_OK;
}

static const struct jwt_key *find_key(const struct jwt_verify_opts *opts, const char *kid)
{
	for (size_t i = 0; i < opts->nkeys; i++)
		if (opts->keys[i] != NULL && opts->keys[i]->alg == opts->alg &&
		    strcmp(opts->keys[i]->kid, kid) == 0)
			return opts->keys[i];
	return NULL;
}

enum jwt_error jwt_verify(const char *token, const struct jwt_verify_opts *opts,
			  struct json_object **claims)
{
	struct { size_t len; unsigned char *raw; size_t rawlen; } part[3] = {{0}};
	struct json_object *header = NULL, *payload = NULL, *v;
	const struct jwt_key *key;
	const char *alg;
	enum jwt_error err = JWT_MALFORMED;
	size_t len = token != NULL ? strnlen(token, JWT_MAX_TOKEN + 1) : 0;

	if (claims != NULL)
		*claims = NULL;
	if (opts == NULL || (unsigned)opts->alg >= JWT_ALG__MAX)
		return JWT_BAD_ALG;
	if (len == 0 || len > JWT_MAX_TOKEN)
		return JWT_MALFORMED;

	/* Exactly three non-empty parts, each strict base64url. */
	const char *p = token, *end = token + len;
	for (int i = 0; i < 3; i++) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		if ((i < 2) != (dot != NULL))
			goto done;
		part[i].len = (size_t)((dot != NULL ? dot : end) - p);
		if (part[i].len == 0 ||
		    (part[i].raw = jwt_b64url_decode(p, part[i].len, &part[i].rawlen)) == NULL)
			goto done;
		if (dot != NULL)
			p = dot + 1;
	}

	if ((header = parse_object(part[0].raw, part[0].rawlen)) == NULL ||
	    json_object_object_get_ex(header, "crit", NULL))
		goto done; /* we implement no extension, so none can be critical */
	/* The pinned algorithm, compared before any key is touched: "none",
	 * HS256 keyed with a public key, or any other substitution ends here. */
	err = JWT_BAD_ALG;
	if ((alg = member_string(header, "alg")) == NULL || strcmp(alg, alg_names[opts->alg]) != 0)
		goto done;
	err = JWT_UNKNOWN_KID;
	if (!json_object_object_get_ex(header, "kid", &v))
		goto done;
	if (!json_object_is_type(v, json_type_string)) {
		err = JWT_MALFORMED;
		goto done;
	}
	if ((key = find_key(opts, json_object_get_string(v))) == NULL)
		goto done;

	err = JWT_BAD_SIGNATURE;
	if (!verify_input(key, token, part[0].len + 1 + part[1].len, part[2].raw, part[2].rawlen))
		goto done;
	err = JWT_MALFORMED;
	if ((payload = parse_object(part[1].raw, part[1].rawlen)) == NULL)
		goto done;
	if ((err = check_claims(payload, opts)) == JWT_OK && claims != NULL) {
		*claims = payload;
		payload = NULL;
	}
done:
	json_object_put(header);
	json_object_put(payload);
	for (int i = 0; i < 3; i++)
		free(part[i].raw);
	ERR_clear_error();
	return err;
}
