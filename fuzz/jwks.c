/* jwks.c - fuzzes a provider's JWK Set as the auth area reads it (jwt_keys_from_jwks, jwt_key_from_jwk).
 *
 * The input is the body of Google's or Apple's JWKS URL, parsed the way
 * http_client_get_json() parses it.  Properties:
 *  - jwt_keys_from_jwks() answers -1 exactly when the text is no
 *    {"keys": [...]}, and at most the cap of keys, each of the algorithm
 *    asked for, with a kid;
 *  - each key's public JWK is made again into an equal key (same kid, same
 *    algorithm, the same JWK once more), and holds no private part (but see
 *    check_keys() on RSA moduli);
 *  - a token we signed with a key of our own, under a kid the set may
 *    share, never verifies with the set's keys. */
#include <string.h>

#include "body.h"
#include "jwt.h"
#include "support/fuzz.h"

#define MAX_KEYS 8

static struct jwt_key *ours_rs, *ours_es;
static char *token_rs, *token_es;

static char *sign(const struct jwt_key *key)
{
	struct json_object *c = json_object_new_object();
	json_object_object_add(c, "exp", json_object_new_int64(4000000000LL));
	char *t = jwt_sign(key, c);
	json_object_put(c);
	return t;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init(NULL);
	ours_rs = jwt_key_generate(JWT_RS256, "k1");
	ours_es = jwt_key_generate(JWT_ES256, "k1");
	token_rs = ours_rs ? sign(ours_rs) : NULL;
	token_es = ours_es ? sign(ours_es) : NULL;
	FUZZ_CHECK(token_rs && token_es);
	return 0;
}

static void check_keys(struct json_object *set, enum jwt_alg alg, const char *token)
{
	struct jwt_key *keys[MAX_KEYS];
	int n = jwt_keys_from_jwks(set, alg, keys, MAX_KEYS);
	struct json_object *list;
	int is_set = json_object_is_type(set, json_type_object) && json_object_object_get_ex(set, "keys", &list) &&
		     json_object_is_type(list, json_type_array);
	FUZZ_CHECK(is_set ? n >= 0 && n <= MAX_KEYS : n == -1);
	for (int i = 0; i < n; i++) {
		FUZZ_CHECK(jwt_key_alg(keys[i]) == alg && *jwt_key_kid(keys[i]) != '\0');
		FUZZ_CHECK(jwt_key_private_pem(keys[i]) == NULL);
		struct json_object *jwk = jwt_key_public_jwk(keys[i]);
		FUZZ_CHECK(jwk != NULL);
		FUZZ_CHECK(!json_object_object_get_ex(jwk, "d", NULL) && !json_object_object_get_ex(jwk, "p", NULL));
		struct jwt_key *again = jwt_key_from_jwk(jwk);
		/* OpenSSL's check of an RSA modulus (composite, not a prime's
		 * power) tries random bases and may find a factor of a bogus
		 * one, refusing it, on one try out of many: only a P-256 point's
		 * check is certain. */
		FUZZ_CHECK(again != NULL || alg == JWT_RS256);
		if (again != NULL) {
			FUZZ_CHECK(jwt_key_alg(again) == alg && strcmp(jwt_key_kid(again), jwt_key_kid(keys[i])) == 0);
			struct json_object *jwk2 = jwt_key_public_jwk(again);
			FUZZ_CHECK(json_object_equal(jwk, jwk2));
			json_object_put(jwk2);
		}
		json_object_put(jwk);
		jwt_key_free(again);
	}
	struct jwt_verify_opts o = { .alg = alg, .keys = (const struct jwt_key *const *)keys, .nkeys = n > 0 ? (size_t)n : 0,
				     .now = 1800000000 };
	FUZZ_CHECK(jwt_verify(token, &o, NULL) != JWT_OK);
	for (int i = 0; i < n; i++)
		jwt_key_free(keys[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];
	struct json_object *set = body_json_parse((const char *)data, size, why, sizeof why);
	if (set == NULL)
		return 0;
	check_keys(set, JWT_RS256, token_rs);
	check_keys(set, JWT_ES256, token_es);
	json_object_put(set);
	fuzz_end();
	return 0;
}
