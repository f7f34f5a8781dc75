/* keystore.h - the api_keys rows: the statements that create and change keys.
 *
 * The keys responder (fcgi-apps/keys) and aigetctl both create, disable,
 * rotate and delete keys; they do it through these functions so that a key
 * made either way has the same format, hash, limits and semantics.  Callers
 * check who may act; this module only runs the statements.  Each function
 * takes the connection, an arena for the row's strings, and an err buffer
 * the caller owns.  shared/apikey.c reads keys to verify them; it writes
 * only last_used_at. */
#ifndef AIGET_KEYSTORE_H
#define AIGET_KEYSTORE_H

#include <stddef.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "arena.h"
#include "crypto.h"
#include "pg.h"

#define KEYSTORE_NAME_MAX 128         /* bytes; the column allows 128 characters */
#define KEYSTORE_OVERLAP_MAX_S 86400  /* a rotated-away key works at most a day longer */
#define KEYSTORE_PER_TENANT_MAX 100   /* keys that can still work, per tenant */

/* One api_keys row.  Strings live in the arena; times are RFC 3339 UTC,
 * NULL when the column is. */
struct keystore_row {
	const char *id, *tenant_id, *name, *prefix;
	const char *status;           /* the column: active, disabled or deleted */
	unsigned scopes;              /* enum apikey_scope bits */
	const char *created_at, *expires_at, *last_used_at, *revoke_at, *rotated_to;
	int expired, revoked;         /* expires_at, revoke_at have passed */
	unsigned char hash[CRYPTO_SHA256_LEN];
};

/* What a new key is made of; the secret itself is never stored. */
struct keystore_new {
	const char *tenant_id, *name, *prefix, *hash_hex;
	unsigned scopes;
	long long expires;            /* epoch seconds, 0: never */
	const char *created_by;       /* the user's id; NULL: an operator (aigetctl) */
};

/* Each returns 1 with k filled, 0 when no row matched, -1 on a database
 * error (message in err). */
int keystore_get(struct pg *db, struct arena *a, const char *key_id, struct keystore_row *k, char *err,
		 size_t errlen);
/* 0: the tenant already has KEYSTORE_PER_TENANT_MAX working keys. */
int keystore_insert(struct pg *db, struct arena *a, const struct keystore_new *n, struct keystore_row *k,
		    char *err, size_t errlen);
/* status "disabled", "active" or "deleted"; an enable skips a rotated-away
 * key, every change skips a deleted one. */
int keystore_set_status(struct pg *db, struct arena *a, const struct keystore_row *old, const char *status,
			struct keystore_row *k, char *err, size_t errlen);
/* A new row with old's name, scopes and expiry, made by actor (NULL: an
 * operator); old stops overlap_s from now.  0: old was rotated or deleted
 * meanwhile.  KEYSTORE_FULL: overlap_s > 0 and the tenant already has
 * KEYSTORE_PER_TENANT_MAX working keys (the overlap would make one more);
 * nothing was changed, and a rotation without overlap would be taken. */
#define KEYSTORE_FULL (-2)
int keystore_rotate(struct pg *db, struct arena *a, const struct keystore_row *old, const char *prefix,
		    const char *hash_hex, const char *actor, long long overlap_s, struct keystore_row *k,
		    char *err, size_t errlen);

/* Up to fetch (decimal text) of a tenant's keys (no deleted ones), newest
 * first, after the keyset position (after_key, after_id; NULL for the
 * first page).  Rows are read with keystore_read_row(); column
 * KEYSTORE_NCOLUMNS is the row's sort key for the next page.  NULL on error. */
PGresult *keystore_list(struct pg *db, const char *tenant_id, const char *fetch, const char *after_key,
			const char *after_id, char *err, size_t errlen);
#define KEYSTORE_NCOLUMNS 14
void keystore_read_row(struct arena *a, PGresult *r, int i, struct keystore_row *k);

/* What a client cares about: whether the key works, and if not, why
 * ("active", "disabled", "revoked", "expired", "deleted").  A rotated-away
 * key within its overlap is still "active" (revokeAt says until when). */
const char *keystore_effective_status(const struct keystore_row *k);

/* The key as the API shows it; secret (shown once) may be NULL. */
struct json_object *keystore_json(const struct keystore_row *k, const char *secret);

#endif
