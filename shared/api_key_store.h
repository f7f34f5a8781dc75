/* api_key_store.h - the api_keys rows: the statements that create and change
 * keys.
 *
 * The keys responder (fcgi-apps/keys) and aigetctl both create, disable,
 * rotate and delete keys; they do it through these functions so that a key
 * made either way has the same format, hash, limits and semantics.  Callers
 * check who may act; this module only runs the statements.  Each function
 * takes the connection, an arena for the row's strings, and an err buffer
 * the caller owns.  shared/api_key.c reads keys to verify them; it writes
 * only last_used_at. */
#ifndef AIGET_API_KEY_STORE_H
#define AIGET_API_KEY_STORE_H

#include <stddef.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "arena.h"
#include "crypto.h"
#include "pg.h"

#define API_KEY_STORE_NAME_MAX 128         /* bytes; the column allows 128 characters */
#define API_KEY_STORE_OVERLAP_MAX_S 86400  /* a rotated-away key works at most a day longer */
#define API_KEY_STORE_PER_TENANT_MAX 100   /* keys that can still work, per tenant */

/* One api_keys row.  Strings live in the arena; times are RFC 3339 UTC,
 * NULL when the column is. */
struct api_key_store_row {
	const char *id, *tenant_id, *name, *prefix;
	const char *status;           /* the column: active, disabled or deleted */
	unsigned scopes;              /* enum api_key_scope bits */
	const char *created_at, *expires_at, *last_used_at, *revoke_at, *rotated_to;
	int expired, revoked;         /* expires_at, revoke_at have passed */
	unsigned char hash[CRYPTO_SHA256_LEN];
};

/* What a new key is made of; the secret itself is never stored. */
struct api_key_store_new {
	const char *tenant_id, *name, *prefix, *hash_hex;
	unsigned scopes;
	long long expires;            /* epoch seconds, 0: never */
	const char *created_by;       /* the user's id; NULL: an operator (aigetctl) */
};

/* Each returns 1 with k filled, 0 when no row matched, -1 on a database
 * error (message in err). */
int api_key_store_get(struct pg *db, struct arena *a, const char *key_id, struct api_key_store_row *k,
		      char *err, size_t errlen);
/* 0: the tenant already has API_KEY_STORE_PER_TENANT_MAX working keys. */
int api_key_store_insert(struct pg *db, struct arena *a, const struct api_key_store_new *n,
			 struct api_key_store_row *k, char *err, size_t errlen);
/* status "disabled", "active" or "deleted"; an enable skips a rotated-away
 * key, every change skips a deleted one. */
int api_key_store_set_status(struct pg *db, struct arena *a, const struct api_key_store_row *old,
			     const char *status, struct api_key_store_row *k, char *err, size_t errlen);
/* A new row with old's name, scopes and expiry, made by actor (NULL: an
 * operator); old stops overlap_s from now.  0: old was rotated or deleted
 * meanwhile.  API_KEY_STORE_FULL: overlap_s > 0 and the tenant already has
 * API_KEY_STORE_PER_TENANT_MAX working keys (the overlap would make one
 * more); nothing was changed, and a rotation without overlap would be
 * taken. */
#define API_KEY_STORE_FULL (-2)
int api_key_store_rotate(struct pg *db, struct arena *a, const struct api_key_store_row *old,
			 const char *prefix, const char *hash_hex, const char *actor, long long overlap_s,
			 struct api_key_store_row *k, char *err, size_t errlen);

/* Up to fetch (decimal text) of a tenant's keys (no deleted ones), newest
 * first, after the keyset position (after_key, after_id; NULL for the
 * first page).  Rows are read with api_key_store_read_row(); column
 * API_KEY_STORE_NCOLUMNS is the row's sort key for the next page.  NULL on
 * error. */
PGresult *api_key_store_list(struct pg *db, const char *tenant_id, const char *fetch, const char *after_key,
			     const char *after_id, char *err, size_t errlen);
#define API_KEY_STORE_NCOLUMNS 14
void api_key_store_read_row(struct arena *a, PGresult *r, int i, struct api_key_store_row *k);

/* What a client cares about: whether the key works, and if not, why
 * ("active", "disabled", "revoked", "expired", "deleted").  A rotated-away
 * key within its overlap is still "active" (revokeAt says until when). */
const char *api_key_store_effective_status(const struct api_key_store_row *k);

/* The key as the API shows it; secret (shown once) may be NULL. */
struct json_object *api_key_store_json(const struct api_key_store_row *k, const char *secret);

#endif
