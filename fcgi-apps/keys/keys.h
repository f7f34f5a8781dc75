/* keys.h - what the keys area's files share: the api_keys rows, their JSON, the audit.
 *
 * Handlers live in files named for what they handle: manage.c (a tenant's
 * owners and admins create, list, disable, enable, delete and rotate keys)
 * and verify.c (a key checks itself; internal services check a key).  The
 * api_keys statements are in shared/api_key_store.c, shared with aigetctl;
 * store.c runs them for a request (shared/api_key.c reads keys, and writes
 * only last_used_at, debounced); tenant_audit rows are written by audit.c. */
#ifndef AIGET_KEYS_AREA_H
#define AIGET_KEYS_AREA_H

#include "api_key.h"
#include "api_key_store.h"
#include "paging.h"
#include "request.h"

#define KEYS_NAME_MAX API_KEY_STORE_NAME_MAX
#define KEYS_OVERLAP_MAX_S API_KEY_STORE_OVERLAP_MAX_S
#define KEYS_PER_TENANT_MAX API_KEY_STORE_PER_TENANT_MAX

/* ------------------------------------------------------------- store.c */

/* shared/api_key_store.c's functions for a request: each returns 1 with k
 * filled (its strings in the request's arena), 0 when no row matched, -1 on
 * a database error (then the request is answered 503). */
int store_get(struct request *req, const char *key_id, struct api_key_store_row *k);
/* 0: the tenant already has KEYS_PER_TENANT_MAX working keys. */
int store_insert(struct request *req, const struct api_key_store_new *n, struct api_key_store_row *k);
int store_set_status(struct request *req, const struct api_key_store_row *old, const char *status,
		     struct api_key_store_row *k);
/* The caller made the new key; 0: old was rotated or deleted meanwhile;
 * API_KEY_STORE_FULL: an overlap at the cap (not answered). */
int store_rotate(struct request *req, const struct api_key_store_row *old, const char *prefix,
		 const char *hash_hex, long long overlap_s, struct api_key_store_row *k);
/* One page of a tenant's keys (no deleted ones), newest first: adds "keys"
 * and "nextCursor" to body.  0, or -1 when answered. */
int store_list(struct request *req, const char *tenant_id, const struct page *p, struct json_object *body);

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
