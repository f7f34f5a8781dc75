/* jwt.c - fuzzes JWT verification (shared/jwt.c jwt_verify) and its base64url.
 *
 * The first byte's low three bits choose what the rest is:
 *  0, 1  edits of a valid token (ES256, RS256; signed once at start):
 *        groups of three bytes, an operation (replace, xor, insert, delete)
 *        and a position in two; a token changed in any byte never verifies,
 *        and the unchanged one does;
 *  2     a token of its own, verified with ES256 and RS256 pinned: it never
 *        verifies (no key of ours signed it), and nothing but JWT_OK hands
 *        out claims;
 *  3     claims, signed by our ES256 key and verified: JWT_OK exactly when a
 *        reference check of exp, nbf, iat, iss, aud and sub written here says
 *        so, at a fixed now;
 *  4     base64url: what decodes encodes back to the same text (one
 *        encoding per value), and any bytes encode and decode back. */
#include <math.h>
#include <string.h>

#include "body.h"
#include "json_check.h"
#include "jwt.h"
#include "support/fuzz.h"

#define NOW 1800000000L
#define ISSUER "aiget"
#define LEEWAY 30

static struct jwt_key *es, *rs;
static char *es_token, *rs_token;
static const char *const audiences[] = { "aiget-api", "other-api" };

static struct jwt_verify_opts opts_for(enum jwt_alg alg, const struct jwt_key *const *keys, size_t n)
{
	struct jwt_verify_opts o = {
		.alg = alg, .keys = keys, .nkeys = n, .issuer = ISSUER, .audiences = audiences, .naudiences = 2,
		.leeway_s = LEEWAY, .now = NOW,
	};
	return o;
}

static char *sign_claims(const struct jwt_key *key)
{
	struct json_object *c = json_object_new_object();
	json_object_object_add(c, "iss", json_object_new_string(ISSUER));
	json_object_object_add(c, "aud", json_object_new_string("aiget-api"));
	json_object_object_add(c, "sub", json_object_new_string("0b9f6a7e-2f4c-4a8e-9d3b-6c1e2f3a4b5c"));
	json_object_object_add(c, "iat", json_object_new_int64(NOW - 10));
	json_object_object_add(c, "exp", json_object_new_int64(NOW + 900));
	char *t = jwt_sign(key, c);
	json_object_put(c);
	return t;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init(NULL);
	es = jwt_key_generate(JWT_ES256, "k1");
	rs = jwt_key_generate(JWT_RS256, "r1");
	es_token = es ? sign_claims(es) : NULL;
	rs_token = rs ? sign_claims(rs) : NULL;
	FUZZ_CHECK(es_token != NULL && rs_token != NULL);
	return 0;
}

static enum jwt_error verify(const char *token, const struct jwt_key *key, struct json_object **claims)
{
	const struct jwt_key *keys[] = { key };
	struct jwt_verify_opts o = opts_for(jwt_key_alg(key), keys, 1);
	return jwt_verify(token, &o, claims);
}

static void mutated(const char *original, const struct jwt_key *key, const uint8_t *data, size_t size)
{
	size_t len = strlen(original), cap = len + size / 3 + 1;
	char *t = arena_alloc(fuzz_arena(), cap + 1);
	memcpy(t, original, len + 1);
	for (size_t i = 0; i + 3 <= size && i < 3 * 16; i += 3) {
		size_t at = ((size_t)data[i + 1] << 8 | data[i + 2]) % (len + 1);
		unsigned char v = data[i] >> 2;
		switch (data[i] & 3) {
		case 0: /* replace with a base64url character or a dot */
			if (at < len)
				t[at] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."[v % 65];
			break;
		case 1: /* flip bits */
			if (at < len)
				t[at] = (char)(t[at] ^ (v ? v : 1));
			break;
		case 2: /* insert */
			memmove(t + at + 1, t + at, len - at + 1);
			t[at] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."[v % 65];
			len++;
			break;
		default: /* delete */
			if (at < len) {
				memmove(t + at, t + at + 1, len - at);
				len--;
			}
		}
	}
	struct json_object *claims = (struct json_object *)1;
	enum jwt_error e = verify(t, key, &claims);
	if (strcmp(t, original) == 0) {
		FUZZ_CHECK(e == JWT_OK && claims != NULL);
		json_object_put(claims);
	} else {
		if (e == JWT_OK)
			fprintf(stderr, "a changed token verified:\n  %s\n  %s\n", original, t);
		FUZZ_CHECK(e != JWT_OK && claims == NULL);
	}
}

static int number(struct json_object *c, const char *name, double *out)
{
	struct json_object *v;
	if (!json_object_object_get_ex(c, name, &v))
		return 1;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return -1;
	*out = json_object_get_double(v);
	return isfinite(*out) ? 0 : -1;
}

/* The claims' verdict, the plain way. */
static int reference_ok(struct json_object *c)
{
	double exp, nbf, iat;
	int has_exp = number(c, "exp", &exp), has_nbf = number(c, "nbf", &nbf), has_iat = number(c, "iat", &iat);
	struct json_object *v;
	if (has_exp != 0 || has_nbf < 0 || has_iat < 0)
		return 0;
	if (!(NOW < exp + LEEWAY) || (has_nbf == 0 && NOW + LEEWAY < nbf) || (has_iat == 0 && iat > NOW + LEEWAY))
		return 0;
	if (json_object_object_get_ex(c, "sub", &v) && !json_object_is_type(v, json_type_string))
		return 0;
	if (!json_object_object_get_ex(c, "iss", &v) || !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), ISSUER) != 0)
		return 0;
	if (!json_object_object_get_ex(c, "aud", &v))
		return 0;
	int found = 0;
	if (json_object_is_type(v, json_type_string)) {
		found = strcmp(json_object_get_string(v), audiences[0]) == 0 ||
			strcmp(json_object_get_string(v), audiences[1]) == 0;
	} else if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *a = json_object_array_get_idx(v, i);
			if (!json_object_is_type(a, json_type_string))
				return 0;
			found |= strcmp(json_object_get_string(a), audiences[0]) == 0 ||
				 strcmp(json_object_get_string(a), audiences[1]) == 0;
		}
	} else {
		return 0;
	}
	return found;
}

static void claims_signed(const uint8_t *data, size_t size)
{
	char why[256];
	struct json_object *c = body_json_parse((const char *)data, size, why, sizeof why);
	if (c == NULL)
		return;
	char *token = jwt_sign(es, c);
	if (token != NULL) {
		struct json_object *out = NULL;
		enum jwt_error e = verify(token, es, &out);
		/* What verify reads is what json-c wrote: JSON, unless a number
		 * was not finite (json-c writes Infinity, and verify refuses it). */
		const char *text = json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN);
		const struct json_limits lim = { 32, 0, 0, 0 };
		int ok = json_check(text, strlen(text), &lim, why, sizeof why) == 0 && reference_ok(c);
		FUZZ_CHECK((e == JWT_OK) == ok);
		FUZZ_CHECK((out != NULL) == (e == JWT_OK));
		json_object_put(out);
		free(token);
	}
	json_object_put(c);
}

static void base64url(const uint8_t *data, size_t size)
{
	size_t n;
	unsigned char *raw = jwt_b64url_decode((const char *)data, size, &n);
	if (raw != NULL) {
		char *again = jwt_b64url_encode(raw, n);
		FUZZ_CHECK(again != NULL && strlen(again) == size && memcmp(again, data, size) == 0);
		free(again);
		free(raw);
	}
	char *text = jwt_b64url_encode(data, size);
	FUZZ_CHECK(text != NULL);
	raw = jwt_b64url_decode(text, strlen(text), &n);
	FUZZ_CHECK(raw != NULL && n == size && memcmp(raw, data, size) == 0);
	free(raw);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned mode = data[0] & 7;
	data++;
	size--;
	switch (mode) {
	case 0:
		mutated(es_token, es, data, size);
		break;
	case 1:
		mutated(rs_token, rs, data, size);
		break;
	case 2: {
		const char *token = fuzz_take(&data, &size, '\0', NULL);
		for (int k = 0; k < 2; k++) {
			struct json_object *claims = (struct json_object *)1;
			enum jwt_error e = verify(token, k ? rs : es, &claims);
			FUZZ_CHECK(e != JWT_OK && e < JWT_ERROR__MAX && claims == NULL);
			FUZZ_CHECK(jwt_error_text(e) != NULL);
		}
		break;
	}
	case 3:
		claims_signed(data, size);
		break;
	default:
		base64url(data, size);
	}
	fuzz_end();
	return 0;
}
