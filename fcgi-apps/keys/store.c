/* store.c - shared/api_key_store.c for a request: the caller is the actor, the
 * request's arena holds the rows, and a database error is answered 503. */
#include "keys.h"

#include <stdio.h>

#include "auth_token.h"
#include "db_request.h"
#include "pg.h"

int store_get(struct request *req, const char *key_id, struct api_key_store_row *k)
{
	char err[256];
	return db_request_rc(req, api_key_store_get(req->ctx->db, req->arena, key_id, k, err, sizeof err),
			     "keys_get", err);
}

int store_insert(struct request *req, const struct api_key_store_new *n, struct api_key_store_row *k)
{
	char err[256];
	struct api_key_store_new by_caller = *n;
	by_caller.created_by = req->user->id;
	return db_request_rc(req,
			     api_key_store_insert(req->ctx->db, req->arena, &by_caller, k, err, sizeof err),
			     "keys_insert", err);
}

int store_set_status(struct request *req, const struct api_key_store_row *old, const char *status,
		     struct api_key_store_row *k)
{
	char err[256];
	return db_request_rc(req,
			     api_key_store_set_status(req->ctx->db, req->arena, old, status, k, err, sizeof err),
			     "keys_set_status", err);
}

int store_rotate(struct request *req, const struct api_key_store_row *old, const char *prefix,
		 const char *hash_hex, long long overlap_s, struct api_key_store_row *k)
{
	char err[256];
	return db_request_rc(req,
			     api_key_store_rotate(req->ctx->db, req->arena, old, prefix, hash_hex,
						  req->user->id, overlap_s, k, err, sizeof err),
			     "keys_rotate", err);
}

int store_list(struct request *req, const char *tenant_id, const struct page *p, struct json_object *body)
{
	char err[256];
	PGresult *r = db_request_result(req,
					api_key_store_list(req->ctx->db, tenant_id, p->fetch, p->after_key,
							   p->after_id, err, sizeof err),
					"keys_list", err);
	if (r == NULL)
		return -1;
	struct json_object *list = json_object_new_array();
	int n = page_finish(req, p, r, API_KEY_STORE_NCOLUMNS, 0, body);
	for (int i = 0; i < n; i++) {
		struct api_key_store_row k;
		api_key_store_read_row(req->arena, r, i, &k);
		json_object_array_add(list, api_key_store_json(&k, NULL));
	}
	json_object_object_add(body, "keys", list);
	return 0;
}
