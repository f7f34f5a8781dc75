/* store.c - shared/keystore.c for a request: the caller is the actor, the
 * request's arena holds the rows, and a database error is answered 503. */
#include "keys.h"

#include <stdio.h>

#include "auth_token.h"
#include "db_request.h"
#include "pg.h"

int store_get(struct request *req, const char *key_id, struct keystore_row *k)
{
	char err[256];
	return db_request_rc(req, keystore_get(req->ctx->db, req->arena, key_id, k, err, sizeof err), "keys_get", err);
}

int store_insert(struct request *req, const struct keystore_new *n, struct keystore_row *k)
{
	char err[256];
	struct keystore_new by_caller = *n;
	by_caller.created_by = req->user->id;
	return db_request_rc(req, keystore_insert(req->ctx->db, req->arena, &by_caller, k, err, sizeof err),
			     "keys_insert", err);
}

int store_set_status(struct request *req, const struct keystore_row *old, const char *status,
		     struct keystore_row *k)
{
	char err[256];
	return db_request_rc(req, keystore_set_status(req->ctx->db, req->arena, old, status, k, err, sizeof err),
			     "keys_set_status", err);
}

int store_rotate(struct request *req, const struct keystore_row *old, const char *prefix, const char *hash_hex,
		 long long overlap_s, struct keystore_row *k)
{
	char err[256];
	return db_request_rc(req, keystore_rotate(req->ctx->db, req->arena, old, prefix, hash_hex, req->user->id,
						   overlap_s, k, err, sizeof err), "keys_rotate", err);
}

int store_list(struct request *req, const char *tenant_id, const struct page *p, struct json_object *body)
{
	char err[256];
	PGresult *r = db_request_result(req, keystore_list(req->ctx->db, tenant_id, p->fetch, p->after_key,
							   p->after_id, err, sizeof err), "keys_list", err);
	if (r == NULL)
		return -1;
	struct json_object *list = json_object_new_array();
	int n = page_finish(req, p, r, KEYSTORE_NCOLUMNS, 0, body);
	for (int i = 0; i < n; i++) {
		struct keystore_row k;
		keystore_read_row(req->arena, r, i, &k);
		json_object_array_add(list, keystore_json(&k, NULL));
	}
	json_object_object_add(body, "keys", list);
	return 0;
}
