/* jwt.c - unit tests of JWT keys, JWKs, signing, pinned verification and base64url.
 *
 * Hostile tokens are built by hand: header and payload text are encoded here
 * and signed with OpenSSL directly (or HMAC), so that each test reaches the
 * check it is about with everything else valid. */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "jwt.h"
#include "tap.h"

#define NOW 1700000000L

static const char *member(struct json_object *obj, const char *name)
{
	struct json_object *v;
	return json_object_object_get_ex(obj, name, &v) ? json_object_get_string(v) : "";
}

static char *b64(const char *text)
{
	return jwt_b64url_encode((const unsigned char *)text, strlen(text));
}

static char *join(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
	char *s = malloc(n);
	snprintf(s, n, "%s.%s%s%s", a, b, *c ? "." : "", c);
	return s;
}

/* "header.payload" from JSON text, without a signature. */
static char *signing_input(const char *header, const char *payload)
{
	char *h = b64(header), *p = b64(payload), *s = join(h, p, "");
	free(h);
	free(p);
	return s;
}

static char *with_signature(char *input, const unsigned char *sig, size_t len)
{
	char *s = jwt_b64url_encode(sig, len);
	size_t n = strlen(input) + strlen(s) + 2;
	char *token = malloc(n);
	snprintf(token, n, "%s.%s", input, s);
	free(input);
	free(s);
	return token;
}

static EVP_PKEY *pkey_of(const struct jwt_key *key)
{
	char *pem = jwt_key_private_pem(key);
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(pem);
	return pkey;
}

/* Signed by OpenSSL as it comes: DER for ECDSA, PKCS#1 v1.5 for RSA. */
static char *evp_token(const struct jwt_key *key, const char *header, const char *payload)
{
	EVP_PKEY *pkey = pkey_of(key);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char *input = signing_input(header, payload);
	unsigned char sig[1024];
	size_t len = sizeof sig;
	EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey);
	EVP_DigestSign(md, sig, &len, (const unsigned char *)input, strlen(input));
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return with_signature(input, sig, len);
}

static char *hmac_token(const char *header, const char *payload, const void *secret, size_t slen)
{
	char *input = signing_input(header, payload);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	HMAC(EVP_sha256(), secret, (int)slen, (const unsigned char *)input, strlen(input), mac, &len);
	return with_signature(input, mac, len);
}

static char *sign_text(const struct jwt_key *key, const char *claims_json)
{
	struct json_object *claims = json_tokener_parse(claims_json);
	char *token = jwt_sign(key, claims);
	json_object_put(claims);
	return token;
}

static enum jwt_error verify(const char *token, const struct jwt_verify_opts *opts)
{
	struct json_object *claims = (void *)1;
	enum jwt_error e = jwt_verify(token, opts, &claims);
	if ((e == JWT_OK) != (claims != NULL))
		printf("# claims %s on %s\n", claims ? "returned" : "missing", jwt_error_text(e));
	json_object_put(claims);
	return e;
}

/* Verifies the token made from claims text, then frees it. */
static enum jwt_error verify_claims(const struct jwt_key *key, const char *claims_json,
				    const struct jwt_verify_opts *opts)
{
	char *token = sign_text(key, claims_json);
	enum jwt_error e = token ? verify(token, opts) : JWT_ERROR__MAX;
	free(token);
	return e;
}

static void test_b64url(void)
{
	unsigned char all[256], *back;
	size_t len = 0;
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	int good = 1;
	for (size_t n = 0; n <= 256; n++) {
		char *s = jwt_b64url_encode(all + 256 - n, n);
		back = jwt_b64url_decode(s, strlen(s), &len);
		good &= back != NULL && len == n && memcmp(back, all + 256 - n, n) == 0 &&
			strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(s);
		free(s);
		free(back);
	}
	ok(good, "base64url round trip of every byte value at every length 0-256");

	char *s;
	is_str(s = jwt_b64url_encode((const unsigned char *)"foo", 3), "Zm9v", "encodes foo"), free(s);
	is_str(s = jwt_b64url_encode((const unsigned char *)"fo", 2), "Zm8", "no padding"), free(s);
	is_str(s = jwt_b64url_encode((const unsigned char *)"\xfb\xff", 2), "-_8", "url alphabet"), free(s);
	is_str(s = jwt_b64url_encode(NULL, 0), "", "empty"), free(s);

	static const char *const bad[] = { "Zm8=", "Zg==", "Zm+v", "Zm/v", "Zm 9v", "Zm9v\n", "Z", "Zh", "Zm9", "Zm.v" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "base64url refuses \"%s\"", bad[i]);
		for (char *c = name; *c; c++)
			if (*c == '\n')
				*c = '~'; /* keeps the TAP line whole */
		back = jwt_b64url_decode(bad[i], strlen(bad[i]), &len);
		ok(back == NULL, name);
		free(back);
	}
	back = jwt_b64url_decode("-_8", 3, &len);
	ok(back && len == 2 && back[0] == 0xfb && back[1] == 0xff, "decodes the url alphabet");
	free(back);
}

static void test_keys(struct jwt_key *es, struct jwt_key *rs)
{
	is_str(jwt_key_kid(es), "es1", "kid kept");
	ok(jwt_key_alg(es) == JWT_ES256 && jwt_key_alg(rs) == JWT_RS256, "alg kept");
	ok(jwt_key_generate(JWT_ES256, "") == NULL, "empty kid refused");

	char *pem = jwt_key_private_pem(es);
	ok(pem && strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0, "private PEM is PKCS#8");
	ok(jwt_key_from_private_pem(pem, "x", JWT_RS256) == NULL, "EC PEM refused for RS256");
	free(pem);
	pem = jwt_key_private_pem(rs);
	ok(jwt_key_from_private_pem(pem, "x", JWT_ES256) == NULL, "RSA PEM refused for ES256");
	free(pem);
	ok(jwt_key_from_private_pem("not a key", "x", JWT_ES256) == NULL, "garbage refused");

	/* SEC1 ("EC PRIVATE KEY"), as `openssl ecparam -genkey` writes it. */
	static const char sec1[] =
		"-----BEGIN EC PRIVATE KEY-----\n"
		"MHcCAQEEICGPVUI/UwcuVOhQ1oxfO/GV2Z0Jak316SyenAK+uMtIoAoGCCqGSM49\n"
		"AwEHoUQDQgAE6dAnYHa7kFUMfuHTmpNQ1Ml2CxQRlAXJVMarRwkCCx7vEAgL89D2\n"
		"QKrGdA+wzSgU5lZTjoH1wHbWJatDt+4YTg==\n"
		"-----END EC PRIVATE KEY-----\n";
	struct jwt_key *k = jwt_key_from_private_pem(sec1, "sec1", JWT_ES256);
	ok(k != NULL, "SEC1 PEM accepted");
	jwt_key_free(k);

	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	PEM_write_bio_PrivateKey(bio, p384, NULL, NULL, 0, NULL, NULL);
	BIO_write(bio, "", 1);
	BIO_get_mem_data(bio, &data);
	ok(jwt_key_from_private_pem(data, "x", JWT_ES256) == NULL, "P-384 PEM refused for ES256");
	BIO_free(bio);

	/* An encrypted key fails at once instead of prompting on the terminal. */
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(bio, p384, EVP_aes_128_cbc(), NULL, 0, NULL, (void *)"secret");
	BIO_write(bio, "", 1);
	BIO_get_mem_data(bio, &data);
	ok(strstr(data, "ENCRYPTED") && jwt_key_from_private_pem(data, "x", JWT_ES256) == NULL,
	   "encrypted PEM refused without a prompt");
	BIO_free(bio);
	EVP_PKEY_free(p384);
}

static struct jwt_key *jwk_from_text(const char *text)
{
	struct json_object *jwk = json_tokener_parse(text);
	struct jwt_key *k = jwt_key_from_jwk(jwk);
	json_object_put(jwk);
	return k;
}

/* Exports the key's JWK, edits one member, imports it again. */
static struct jwt_key *jwk_edited(const struct jwt_key *key, const char *name, const char *value)
{
	struct json_object *jwk = jwt_key_public_jwk(key);
	if (value != NULL)
		json_object_object_add(jwk, name, json_object_new_string(value));
	else
		json_object_object_del(jwk, name);
	struct jwt_key *k = jwt_key_from_jwk(jwk);
	json_object_put(jwk);
	return k;
}

static void test_jwk(struct jwt_key *es, struct jwt_key *rs, const struct jwt_verify_opts *es_opts,
		     const struct jwt_verify_opts *rs_opts, const char *claims)
{
	struct json_object *jwk = jwt_key_public_jwk(es), *v;
	ok(jwk != NULL, "EC JWK exported");
	is_str(member(jwk, "kty"), "EC", "kty EC");
	is_str(member(jwk, "crv"), "P-256", "crv P-256");
	is_str(member(jwk, "kid"), "es1", "kid");
	is_str(member(jwk, "alg"), "ES256", "alg");
	is_str(member(jwk, "use"), "sig", "use sig");
	ok(strlen(member(jwk, "x")) == 43 && strlen(member(jwk, "y")) == 43, "x and y are 32 bytes");
	ok(!json_object_object_get_ex(jwk, "d", &v), "no private part");

	char *token = sign_text(es, claims);
	struct jwt_key *pub = jwt_key_from_jwk(jwk);
	const struct jwt_key *keys[] = { pub };
	struct jwt_verify_opts o = *es_opts;
	o.keys = keys;
	o.nkeys = 1;
	ok(pub != NULL, "EC JWK imported");
	is_int(verify(token, &o), JWT_OK, "imported EC JWK verifies the original's token");
	ok(jwt_key_private_pem(pub) == NULL, "a public key has no private PEM");
	ok(sign_text(pub, claims) == NULL, "a public key does not sign");
	jwt_key_free(pub);
	free(token);
	json_object_put(jwk);

	jwk = jwt_key_public_jwk(rs);
	is_str(member(jwk, "kty"), "RSA", "kty RSA");
	is_str(member(jwk, "e"), "AQAB", "e is 65537");
	ok(strlen(member(jwk, "n")) == 342, "n is 256 bytes");
	ok(!json_object_object_get_ex(jwk, "d", &v) && !json_object_object_get_ex(jwk, "p", &v),
	   "no private parts");
	token = sign_text(rs, claims);
	pub = jwt_key_from_jwk(jwk);
	keys[0] = pub;
	o = *rs_opts;
	o.keys = keys;
	is_int(verify(token, &o), JWT_OK, "imported RSA JWK verifies the original's token");
	jwt_key_free(pub);
	free(token);
	json_object_put(jwk);

	ok(jwk_from_text("{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"kid\":\"h\",\"alg\":\"HS256\"}") == NULL,
	   "oct JWK refused");
	ok(jwk_from_text("[1]") == NULL, "non-object refused");
	ok(jwk_edited(es, "kid", NULL) == NULL, "JWK without kid refused");
	ok(jwk_edited(es, "alg", "RS256") == NULL, "EC JWK with alg RS256 refused");
	ok(jwk_edited(rs, "alg", "ES256") == NULL, "RSA JWK with alg ES256 refused");
	ok(jwk_edited(es, "alg", "HS256") == NULL, "JWK with alg HS256 refused");
	ok(jwk_edited(es, "crv", "P-384") == NULL, "other curve refused");
	ok(jwk_edited(es, "use", "enc") == NULL, "use enc refused");
	ok(jwk_edited(es, "x", "AAAA") == NULL, "short x refused");
	ok(jwk_edited(es, "y", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") == NULL, "point off the curve refused");
	ok(jwk_edited(rs, "n", "AQAB") == NULL, "tiny RSA modulus refused");
	pub = jwk_edited(es, "alg", NULL);
	ok(pub != NULL && jwt_key_alg(pub) == JWT_ES256, "alg inferred when absent");
	jwt_key_free(pub);
}

/* Replaces part i (0-2) of token with text (already encoded). */
static char *replace_part(const char *token, int i, const char *text)
{
	char *copy = strdup(token), *parts[3], *save = NULL;
	parts[0] = strtok_r(copy, ".", &save);
	parts[1] = strtok_r(NULL, ".", &save);
	parts[2] = strtok_r(NULL, ".", &save);
	parts[i] = (char *)text;
	char *out = join(parts[0], parts[1], parts[2]);
	free(copy);
	return out;
}

/* The token with its signature cut or zero-padded to len bytes. */
static char *sig_resized(const char *token, size_t len)
{
	const char *dot = strrchr(token, '.');
	size_t n = 0;
	unsigned char *sig = jwt_b64url_decode(dot + 1, strlen(dot + 1), &n), buf[512] = {0};
	memcpy(buf, sig, n < len ? n : len);
	free(sig);
	char *input = strndup(token, (size_t)(dot - token));
	return with_signature(input, buf, len);
}

static void test_tokens(struct jwt_key *es, struct jwt_key *rs, struct jwt_key *es_other,
			const struct jwt_verify_opts *es_opts, const struct jwt_verify_opts *rs_opts,
			const char *claims)
{
	char *token = sign_text(es, claims), *bad, *h, *p;
	struct json_object *got = NULL;
	ok(token != NULL && strlen(token) - (size_t)(strrchr(token, '.') - token) - 1 == 86,
	   "ES256 signature is 64 bytes of r||s");
	is_int(jwt_verify(token, es_opts, &got), JWT_OK, "ES256 round trip");
	ok(got && strcmp(json_object_get_string(json_object_object_get(got, "sub")), "u1") == 0,
	   "claims returned");
	json_object_put(got);
	is_int(verify_claims(rs, claims, rs_opts), JWT_OK, "RS256 round trip");

	char *pem = jwt_key_private_pem(es);
	struct jwt_key *again = jwt_key_from_private_pem(pem, "es1", JWT_ES256);
	free(pem);
	is_int(verify_claims(again, claims, es_opts), JWT_OK, "key from exported PEM signs for the original");
	jwt_key_free(again);

	/* Tampering. */
	p = b64("{\"sub\":\"admin\",\"exp\":1700000600}");
	bad = replace_part(token, 1, p);
	is_int(verify(bad, es_opts), JWT_BAD_SIGNATURE, "tampered payload");
	free(bad), free(p);
	h = b64("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"es1\",\"x\":1}");
	bad = replace_part(token, 0, h);
	is_int(verify(bad, es_opts), JWT_BAD_SIGNATURE, "tampered header");
	free(bad), free(h);
	bad = sig_resized(token, 63);
	is_int(verify(bad, es_opts), JWT_BAD_SIGNATURE, "truncated signature");
	free(bad);
	bad = sig_resized(token, 65);
	is_int(verify(bad, es_opts), JWT_BAD_SIGNATURE, "lengthened signature");
	free(bad);
	is_int(verify_claims(es_other, claims, es_opts), JWT_BAD_SIGNATURE, "another key under the same kid");
	bad = evp_token(es, "{\"alg\":\"ES256\",\"kid\":\"es1\"}", claims);
	is_int(verify(bad, es_opts), JWT_BAD_SIGNATURE, "DER-form ECDSA signature refused");
	free(bad);

	/* Algorithm confusion: refused on the header, before any key is used. */
	bad = with_signature(signing_input("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims), NULL, 0);
	is_int(verify(bad, es_opts), JWT_MALFORMED, "alg none with empty signature");
	free(bad);
	bad = with_signature(signing_input("{\"alg\":\"none\",\"kid\":\"es1\"}", claims), (const unsigned char *)"x", 1);
	is_int(verify(bad, es_opts), JWT_BAD_ALG, "alg none with a signature");
	free(bad);
	bad = with_signature(signing_input("{\"kid\":\"es1\"}", claims), (const unsigned char *)"x", 1);
	is_int(verify(bad, es_opts), JWT_BAD_ALG, "no alg");
	free(bad);

	EVP_PKEY *pkey = pkey_of(es);
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, pkey);
	char *pub_pem;
	long pub_len = BIO_get_mem_data(bio, &pub_pem);
	bad = hmac_token("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"es1\"}", claims, pub_pem, (size_t)pub_len);
	is_int(verify(bad, es_opts), JWT_BAD_ALG, "HS256 keyed with the public PEM");
	free(bad);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	struct json_object *jwk = jwt_key_public_jwk(es);
	const char *x = json_object_get_string(json_object_object_get(jwk, "x"));
	bad = hmac_token("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"es1\"}", claims, x, strlen(x));
	is_int(verify(bad, es_opts), JWT_BAD_ALG, "HS256 keyed with the JWK's x");
	free(bad);
	json_object_put(jwk);

	bad = sign_text(rs, claims);
	is_int(verify(bad, es_opts), JWT_BAD_ALG, "RS256 token when ES256 is pinned");
	free(bad);
	bad = evp_token(rs, "{\"alg\":\"ES256\",\"kid\":\"rs1\"}", claims);
	is_int(verify(bad, es_opts), JWT_UNKNOWN_KID, "kid of a key of another alg");
	free(bad);
	struct jwt_verify_opts o = *es_opts;
	o.alg = JWT_ALG__MAX;
	is_int(verify(token, &o), JWT_BAD_ALG, "pinned alg out of range");

	/* Key selection and the header. */
	bad = evp_token(rs, "{\"alg\":\"RS256\",\"kid\":\"nobody\"}", claims);
	is_int(verify(bad, rs_opts), JWT_UNKNOWN_KID, "unknown kid");
	free(bad);
	bad = evp_token(rs, "{\"alg\":\"RS256\"}", claims);
	is_int(verify(bad, rs_opts), JWT_UNKNOWN_KID, "missing kid");
	free(bad);
	bad = evp_token(rs, "{\"alg\":\"RS256\",\"kid\":7}", claims);
	is_int(verify(bad, rs_opts), JWT_MALFORMED, "kid not a string");
	free(bad);
	bad = evp_token(rs, "{\"alg\":\"RS256\",\"kid\":\"rs1\"}", claims);
	is_int(verify(bad, rs_opts), JWT_OK, "hand-made RS256 token verifies (control)");
	free(bad);
	bad = evp_token(rs, "{\"alg\":\"RS256\",\"kid\":\"rs1\",\"crit\":[\"exp\"],\"exp\":1}", claims);
	is_int(verify(bad, rs_opts), JWT_MALFORMED, "crit refused");
	free(bad);
	bad = evp_token(rs, "{\"alg\":\"RS256\",\"kid\":\"rs1\"}", "[1]");
	is_int(verify(bad, rs_opts), JWT_MALFORMED, "payload not an object");
	free(bad);
	bad = evp_token(rs, "{\"alg\":\"RS256\",\"kid\":\"rs1\"}", "{\"exp\":1700000600,}");
	is_int(verify(bad, rs_opts), JWT_MALFORMED, "payload not strict JSON");
	free(bad);

	/* Shape. */
	h = b64("not json");
	bad = replace_part(token, 0, h);
	is_int(verify(bad, es_opts), JWT_MALFORMED, "non-JSON header");
	free(bad), free(h);
	h = b64("[\"ES256\"]");
	bad = replace_part(token, 0, h);
	is_int(verify(bad, es_opts), JWT_MALFORMED, "header not an object");
	free(bad), free(h);
	bad = join(token, "e30", "");
	is_int(verify(bad, es_opts), JWT_MALFORMED, "four parts");
	free(bad);
	bad = strdup(token);
	*strrchr(bad, '.') = '\0';
	is_int(verify(bad, es_opts), JWT_MALFORMED, "two parts");
	free(bad);
	bad = replace_part(token, 1, "");
	is_int(verify(bad, es_opts), JWT_MALFORMED, "empty payload part");
	free(bad);
	bad = strdup(token);
	*strrchr(bad, '.') = '\0';
	strcat(bad, ".");
	is_int(verify(bad, es_opts), JWT_MALFORMED, "empty signature part");
	free(bad);
	h = malloc(strlen(token) + 3);
	sprintf(h, "%s==", token);
	is_int(verify(h, es_opts), JWT_MALFORMED, "padding on the signature");
	free(h);
	p = b64("{\"sub\":\"u12\"}"); /* 13 bytes: 18 characters, padded 20 */
	h = malloc(strlen(p) + 3);
	sprintf(h, "%s==", p);
	bad = replace_part(token, 1, h);
	is_int(verify(bad, es_opts), JWT_MALFORMED, "padding on the payload");
	free(bad), free(h), free(p);
	bad = strdup(token);
	strrchr(bad, '.')[1] = '+';
	is_int(verify(bad, es_opts), JWT_MALFORMED, "'+' in the signature");
	free(bad);
	ok(jwt_verify(NULL, es_opts, NULL) == JWT_MALFORMED && jwt_verify("", es_opts, NULL) == JWT_MALFORMED,
	   "NULL and empty tokens");
	is_int(jwt_verify(token, es_opts, NULL), JWT_OK, "claims may be NULL");

	char big[JWT_MAX_TOKEN + 2];
	memset(big, 'A', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	big[10] = big[20] = '.';
	is_int(verify(big, es_opts), JWT_MALFORMED, "oversized token");
	char claims_big[JWT_MAX_TOKEN + 64];
	snprintf(claims_big, sizeof claims_big, "{\"exp\":1700000600,\"pad\":\"%0*d\"}", JWT_MAX_TOKEN - 200, 0);
	bad = sign_text(es, claims_big);
	ok(bad == NULL, "no token signed over the cap");
	free(bad);
	free(token);
}

static void test_claims(struct jwt_key *es, const struct jwt_verify_opts *es_opts)
{
	struct jwt_verify_opts o = *es_opts;
	char c[256];
#define CLAIMS(...) (snprintf(c, sizeof c, __VA_ARGS__), c)

	o.leeway_s = 60;
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld}", NOW - 30), &o), JWT_OK, "expired within leeway");
	o.leeway_s = 10;
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld}", NOW - 30), &o), JWT_EXPIRED, "expired beyond leeway");
	o.leeway_s = 0;
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld}", NOW), &o), JWT_EXPIRED, "exp equal to now is expired");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld.5}", NOW), &o), JWT_OK, "fractional exp");
	o.leeway_s = 60;
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"nbf\":%ld}", NOW + 600, NOW + 100), &o),
	       JWT_NOT_YET_VALID, "nbf in the future");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"nbf\":%ld}", NOW + 600, NOW + 30), &o),
	       JWT_OK, "nbf within leeway");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"iat\":%ld}", NOW + 600, NOW + 100), &o),
	       JWT_NOT_YET_VALID, "iat in the future");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"iat\":%ld}", NOW + 600, NOW - 100), &o),
	       JWT_OK, "iat in the past");
	is_int(verify_claims(es, "{\"sub\":\"u1\"}", &o), JWT_MISSING_CLAIM, "missing exp");
	is_int(verify_claims(es, CLAIMS("{\"exp\":\"%ld\"}", NOW + 600), &o), JWT_MALFORMED, "exp as string");
	is_int(verify_claims(es, "{\"exp\":null}", &o), JWT_MALFORMED, "exp null");
	is_int(verify_claims(es, "{\"exp\":true}", &o), JWT_MALFORMED, "exp boolean");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"nbf\":\"0\"}", NOW + 600), &o), JWT_MALFORMED, "nbf as string");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"sub\":1}", NOW + 600), &o), JWT_MALFORMED, "sub as number");

	time_t real = time(NULL);
	o.now = 0;
	is_int(verify_claims(es, CLAIMS("{\"exp\":%lld}", (long long)real + 600), &o), JWT_OK, "now 0 is the clock");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%lld}", (long long)real - 600), &o), JWT_EXPIRED, "and the clock expires");
	o.now = NOW;

	o.issuer = "https://auth.example";
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"iss\":\"https://auth.example\"}", NOW + 600), &o), JWT_OK, "right issuer");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"iss\":\"https://evil.example\"}", NOW + 600), &o), JWT_BAD_ISSUER, "wrong issuer");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld}", NOW + 600), &o), JWT_MISSING_CLAIM, "missing issuer");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"iss\":1}", NOW + 600), &o), JWT_MALFORMED, "issuer not a string");
	o.issuer = NULL;

	static const char *const auds[] = { "memox", "keys" };
	o.audiences = auds;
	o.naudiences = 2;
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"aud\":\"keys\"}", NOW + 600), &o), JWT_OK, "audience string matches");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"aud\":\"tenants\"}", NOW + 600), &o), JWT_BAD_AUDIENCE, "audience string does not match");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"aud\":[\"x\",\"memox\"]}", NOW + 600), &o), JWT_OK, "audience array matches");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"aud\":[\"x\",\"y\"]}", NOW + 600), &o), JWT_BAD_AUDIENCE, "audience array does not match");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"aud\":[]}", NOW + 600), &o), JWT_BAD_AUDIENCE, "empty audience array");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"aud\":[\"memox\",1]}", NOW + 600), &o), JWT_MALFORMED, "audience array with a number");
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld}", NOW + 600), &o), JWT_MISSING_CLAIM, "missing audience");
	o.naudiences = 0;
	is_int(verify_claims(es, CLAIMS("{\"exp\":%ld,\"aud\":\"anything\"}", NOW + 600), &o), JWT_OK, "audience not checked when none given");
#undef CLAIMS
}

int main(void)
{
	struct jwt_key *es = jwt_key_generate(JWT_ES256, "es1"), *rs = jwt_key_generate(JWT_RS256, "rs1");
	struct jwt_key *es2 = jwt_key_generate(JWT_ES256, "es2"), *es_other = jwt_key_generate(JWT_ES256, "es1");
	ok(es && rs && es2 && es_other, "keys generated");
	/* Both algorithms' keys offered each time: the pin, not the key list, decides. */
	const struct jwt_key *keys[] = { rs, es2, es };
	struct jwt_verify_opts es_opts = { .alg = JWT_ES256, .keys = keys, .nkeys = 3, .now = NOW };
	struct jwt_verify_opts rs_opts = es_opts;
	rs_opts.alg = JWT_RS256;
	const char *claims = "{\"sub\":\"u1\",\"exp\":1700000600,\"iat\":1700000000}";

	test_b64url();
	test_keys(es, rs);
	test_jwk(es, rs, &es_opts, &rs_opts, claims);
	test_tokens(es, rs, es_other, &es_opts, &rs_opts, claims);
	test_claims(es, &es_opts);

	int distinct = 1;
	for (int i = 0; i < JWT_ERROR__MAX; i++)
		for (int j = 0; j < i; j++)
			distinct &= strcmp(jwt_error_text(i), jwt_error_text(j)) != 0;
	ok(distinct, "every error has its own text");

	jwt_key_free(es);
	jwt_key_free(rs);
	jwt_key_free(es2);
	jwt_key_free(es_other);
	return done_testing();
}
