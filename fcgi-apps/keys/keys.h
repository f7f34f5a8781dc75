/* keys.h - what the keys area's files share: the api_keys rows, their JSON, the audit.
 *
 * Handlers live in files named for what they handle: manage.c (a tenant's
 * owners and admins create, list, disable, enable, delete and rotate keys)
 * and verify.c (a key checks itself; internal services check a key).  The
 * api_keys statements are in store.c, the one module that creates and
 * changes keys (shared/apikey.c reads them, and writes only last_used_at,
 * debounced); tenant_audit rows are written by audit.c. */
#ifndef AIGET_KEYS_AREA_H
#define AIGET_KEYS_AREA_H

#include "apikey.h"
#include "paging.h"
#include "request.h"

#define KEYS_NAME_MAX 128             /* bytes; the column allows 128 characters */
#define KEYS_OVERLAP_MAX_S 86400      /* a rotated-away key works at most a day longer */
#define KEYS_PER_TENANT_MAX 100       /* keys that can still work, per tenant */

/* One api_keys row as the API shows it.  Strings live in the request's
 * arena; times are RFC 3339 UTC, NULL when the column is. */
struct key_row {
	const char *id, *tenant_id, *name, *prefix;
	const char *status;           /* the column: active, disabled or deleted */
	unsigned scopes;              /* enum apikey_scope bits */
	const char *created_at, *expires_at, *last_used_at, *revoke_at, *rotated_to;
	int expired, revoked;         /* expires_at, revoke_at have passed */
	unsigned char hash[CRYPTO_SHA256_LEN];
};

/* What a new key is made of; the secret itself is never stored. */
struct key_new {
	const char *tenant_id, *name, *prefix, *hash_hex;
	unsigned scopes;
	long long expires;            /* epoch seconds, 0: never */
};

/* ------------------------------------------------------------- store.c */

/* Each returns 1 with k filled, 0 when no row matched, -1 on a database
 * error (then the request is answered 503). */
int store_get(struct request *req, const char *key_id, struct key_row *k);
/* 0: the tenant already has KEYS_PER_TENANT_MAX working keys. */
int store_insert(struct request *req, const struct key_new *n, struct key_row *k);
/* status "disabled", "active" or "deleted"; an enable skips a rotated-away
 * key, every change skips a deleted one. */
int store_set_status(struct request *req, const struct key_row *old, const char *status, struct key_row *k);
/* A new row with old's name, scopes and expiry; old stops overlap_s from now.
 * 0: old was rotated or deleted meanwhile. */
int store_rotate(struct request *req, const struct key_row *old, const char *prefix, const char *hash_hex,
		 long long overlap_s, struct key_row *k);
/* One page of a tenant's keys (no deleted ones), newest first: adds "keys"
 * and "nextCursor" to body.  0, or -1 when answered. */
int store_list(struct request *req, const char *tenant_id, const struct page *p, struct json_object *body);

/* The key as the API shows it; secret (shown once) may be NULL. */
struct json_object *store_key_json(const struct key_row *k, const char *secret);

/* ------------------------------------------------------------- audit.c */

/* Records a change to a key in tenant_audit (actor, request id); detail is
 * taken over.  Failures are logged, never fatal: the change has happened. */
void audit_key(struct request *req, const char *tenant_id, const char *action, const char *key_id,
	       struct json_object *detail);

/* ---------------------------------------------------------- handlers */

/* manage.c */
void manage_create(struct request *req);
void manage_list(struct request *req);
void manage_get(struct request *req);
void manage_disable(struct request *req);
void manage_enable(struct request *req);
void manage_delete(struct request *req);
void manage_rotate(struct request *req);
/* verify.c */
void verify_key(struct request *req);
void verify_self(struct request *req);

#endif
