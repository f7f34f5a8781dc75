/* signing_keys.c - loading, rotating and publishing signing keys. */
#include "signing_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "crypto.h"

#define SIGNING_KEYS_MAX 4

struct signing_keys {
	int with_private;
	struct jwt_key *keys[SIGNING_KEYS_MAX];
	time_t created[SIGNING_KEYS_MAX];
	size_t n;
	time_t loaded_at, missed_at;
};

static const struct pg_statement st_public = {
	"signing_keys_public",
	"SELECT kid, public_jwk::text, extract(epoch FROM created_at)::bigint FROM signing_keys"
	" WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 4",
	0, 1, PG_PRIMARY,
};
static const struct pg_statement st_private = {
	"signing_keys_private",
	"SELECT kid, private_pem, extract(epoch FROM created_at)::bigint FROM signing_keys"
	" WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 4",
	0, 1, PG_PRIMARY,
};
static const struct pg_statement st_insert = {
	"signing_keys_insert",
	"INSERT INTO signing_keys (kid, alg, private_pem, public_jwk) VALUES ($1, 'ES256', $2, $3::jsonb)",
	3, 0, PG_PRIMARY,
};
/* Keeps the two newest published: the current and the previous. */
static const struct pg_statement st_retire = {
	"signing_keys_retire",
	"UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL AND kid NOT IN"
	" (SELECT kid FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 2)",
	0, 0, PG_PRIMARY,
};
static const struct pg_statement st_lock = {
	"signing_keys_lock", "SELECT pg_advisory_xact_lock(1095321414)", 0, 0, PG_PRIMARY,
};
static const struct pg_statement st_count = {
	"signing_keys_count", "SELECT count(*) FROM signing_keys WHERE retired_at IS NULL", 0, 0, PG_PRIMARY,
};

struct signing_keys *signing_keys_new(int with_private)
{
	struct signing_keys *sk = calloc(1, sizeof *sk);
	if (sk)
		sk->with_private = with_private;
	return sk;
}

static void clear(struct signing_keys *sk)
{
	for (size_t i = 0; i < sk->n; i++)
		jwt_key_free(sk->keys[i]);
	sk->n = 0;
}

void signing_keys_free(struct signing_keys *sk)
{
	if (sk == NULL)
		return;
	clear(sk);
	free(sk);
}

int signing_keys_load(struct signing_keys *sk, struct pg *db, int force, char *err, size_t errlen)
{
	time_t now = time(NULL);
	if (sk->loaded_at && now - sk->loaded_at < SIGNING_KEYS_TTL_S && !force)
		return 0;
	if (force && sk->missed_at && now - sk->missed_at < SIGNING_KEYS_MISS_S)
		return 0;
	if (force)
		sk->missed_at = now;

	PGresult *r = pg_exec(db, sk->with_private ? &st_private : &st_public, NULL, err, errlen);
	if (r == NULL)
		return -1;
	struct jwt_key *loaded[SIGNING_KEYS_MAX];
	time_t created[SIGNING_KEYS_MAX];
	size_t n = 0;
	for (int i = 0; i < PQntuples(r) && n < SIGNING_KEYS_MAX; i++) {
		const char *kid = PQgetvalue(r, i, 0), *text = PQgetvalue(r, i, 1);
		struct jwt_key *k = NULL;
		if (sk->with_private) {
			k = jwt_key_from_private_pem(text, kid, JWT_ES256);
		} else {
			struct json_object *jwk = json_tokener_parse(text);
			k = jwk ? jwt_key_from_jwk(jwk) : NULL;
			json_object_put(jwk);
		}
		if (k) {
			created[n] = (time_t)atoll(PQgetvalue(r, i, 2));
			loaded[n++] = k;
		}
		else
			snprintf(err, errlen, "signing key %s could not be read", kid);
	}
	PQclear(r);
	clear(sk);
	/* The first n of each are set (the rest are never copied), and the
	 * elements of loaded are meant to be pointers. */
	/* cppcheck-suppress uninitvar ; NOLINTNEXTLINE(bugprone-sizeof-expression) */
	memcpy(sk->keys, loaded, n * sizeof loaded[0]);
	/* cppcheck-suppress uninitvar */
	memcpy(sk->created, created, n * sizeof created[0]);
	sk->n = n;
	sk->loaded_at = now;
	return 0;
}

const struct jwt_key *signing_keys_current(const struct signing_keys *sk)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < sk->n; i++)
		if (now - sk->created[i] >= SIGNING_KEYS_ACTIVATE_S)
			return sk->keys[i];
	return sk->n ? sk->keys[sk->n - 1] : NULL;
}

const struct jwt_key *const *signing_keys_all(const struct signing_keys *sk, size_t *n)
{
	*n = sk->n;
	return (const struct jwt_key *const *)sk->keys;
}

int signing_keys_has(const struct signing_keys *sk, const char *kid)
{
	for (size_t i = 0; i < sk->n; i++)
		if (strcmp(jwt_key_kid(sk->keys[i]), kid) == 0)
			return 1;
	return 0;
}

struct json_object *signing_keys_jwks(const struct signing_keys *sk)
{
	struct json_object *keys = json_object_new_array();
	for (size_t i = 0; i < sk->n; i++)
		json_object_array_add(keys, jwt_key_public_jwk(sk->keys[i]));
	struct json_object *root = json_object_new_object();
	json_object_object_add(root, "keys", keys);
	return root;
}

static int run(struct pg *db, const struct pg_statement *st, const char *const *params, char *err, size_t errlen)
{
	PGresult *r = pg_exec(db, st, params, err, errlen);
	PQclear(r);
	return r ? 0 : -1;
}

/* Inserts a new key and retires all but the two newest, in the caller's
 * transaction. */
static int add_key(struct pg *db, char kid[33], char *err, size_t errlen)
{
	unsigned char raw[16];
	if (crypto_random(raw, sizeof raw) != 0)
		return -1;
	crypto_hex(raw, sizeof raw, kid);
	struct jwt_key *k = jwt_key_generate(JWT_ES256, kid);
	char *pem = k ? jwt_key_private_pem(k) : NULL;
	struct json_object *jwk = k ? jwt_key_public_jwk(k) : NULL;
	int rc = -1;
	if (pem && jwk) {
		const char *params[] = { kid, pem, json_object_to_json_string_ext(jwk, JSON_C_TO_STRING_PLAIN) };
		rc = run(db, &st_insert, params, err, errlen) == 0 ? run(db, &st_retire, NULL, err, errlen) : -1;
	} else {
		snprintf(err, errlen, "could not generate a signing key");
	}
	if (pem) {
		OPENSSL_cleanse(pem, strlen(pem));
		free(pem);
	}
	json_object_put(jwk);
	jwt_key_free(k);
	return rc;
}

static int in_transaction(struct pg *db, int only_if_none, char kid[33], char *err, size_t errlen)
{
	if (run(db, &pg_begin, NULL, err, errlen) != 0)
		return -1;
	int rc = run(db, &st_lock, NULL, err, errlen);
	int needed = 1;
	if (rc == 0 && only_if_none) {
		PGresult *r = pg_exec(db, &st_count, NULL, err, errlen);
		rc = r ? 0 : -1;
		needed = r && strcmp(PQgetvalue(r, 0, 0), "0") == 0;
		PQclear(r);
	}
	if (rc == 0 && needed)
		rc = add_key(db, kid, err, errlen);
	if (rc == 0 && run(db, &pg_commit, NULL, err, errlen) == 0)
		return 0;
	char ignored[64];
	run(db, &pg_rollback, NULL, ignored, sizeof ignored);
	return -1;
}

int signing_keys_rotate(struct pg *db, char kid_out[33], char *err, size_t errlen)
{
	return in_transaction(db, 0, kid_out, err, errlen);
}

int signing_keys_ensure(struct pg *db, char *err, size_t errlen)
{
	char kid[33];
	return in_transaction(db, 1, kid, err, errlen);
}
