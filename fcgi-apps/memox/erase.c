/* erase.c - erasing one end user's memories (DELETE /memories?namespace=&externalUserId=).
 *
 * An end user may hold many memories, more than one request should delete,
 * so the request records an erasure and the worker does it in pages; the
 * erasure's row is its progress (GET /erasures/{id}: status and the count
 * deleted so far).  It erases what was written before it was asked for; a
 * memory written afterwards is a new one and stays. */
#include "memox.h"

#include <stdio.h>
#include <stdlib.h>

#include "api_key.h"
#include "log.h"
#include "membership.h"
#include "paging.h"

#define ERASURE_COLUMNS \
	"id, namespace, external_user_id, status, deleted, " \
	MEMOX_SQL_TIME("requested_at") ", " MEMOX_SQL_TIME("finished_at")

static const struct pg_statement st_create = {
	"memox_erasure_create",
	"INSERT INTO memox_erasures (tenant_id, namespace, external_user_id) VALUES ($1::uuid, $2, $3)"
	" RETURNING " ERASURE_COLUMNS,
	3, 0, PG_PRIMARY,
};

static const struct pg_statement st_undo = {
	"memox_erasure_undo", "DELETE FROM memox_erasures WHERE id = $1::uuid AND status = 'pending'", 1, 1, PG_PRIMARY,
};

static const struct pg_statement st_get = {
	"memox_erasure_get",
	"SELECT " ERASURE_COLUMNS " FROM memox_erasures WHERE id = $1::uuid AND tenant_id = $2::uuid",
	2, 1, PG_MAY_LAG,
};

static struct json_object *erasure_json(PGresult *r)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, 0, 0)));
	json_object_object_add(o, "namespace", json_object_new_string(PQgetvalue(r, 0, 1)));
	json_object_object_add(o, "externalUserId", json_object_new_string(PQgetvalue(r, 0, 2)));
	json_object_object_add(o, "status", json_object_new_string(PQgetvalue(r, 0, 3)));
	json_object_object_add(o, "deleted", json_object_new_int64(atoll(PQgetvalue(r, 0, 4))));
	json_object_object_add(o, "requestedAt", json_object_new_string(PQgetvalue(r, 0, 5)));
	json_object_object_add(o, "finishedAt", PQgetisnull(r, 0, 6) ? NULL
				: json_object_new_string(PQgetvalue(r, 0, 6)));
	return o;
}

void erase_scope(struct request *req)
{
	static const char *const allowed[] = { "namespace", "externalUserId", NULL };
	if (input_refuse_tenant(req, NULL) != 0 || query_only(req, allowed) != 0)
		return;
	const char *ns = request_query(req, "namespace"), *user = request_query(req, "externalUserId");
	if (input_scope_value(req, "namespace", ns) != 0 || input_scope_value(req, "externalUserId", user) != 0)
		return;
	const char *params[] = { req->key->tenant_id, ns, user };
	PGresult *r = db_request_exec(req, &st_create, params);
	if (r == NULL)
		return;
	const char *id = PQgetvalue(r, 0, 0);
	struct json_object *body = erasure_json(r);
	char err[256];
	if (enqueue_simple(req->ctx, "erase", id, err, sizeof err) != 0) {
		const char *undo[] = { id };
		char err2[256];
		db_request_keep(req, pg_exec(req->ctx->db, &st_undo, undo, err2, sizeof err2));
		json_object_put(body);
		response_unavailable(req, "erase job queue", err);
		return;
	}
	response_header(req, "Location", arena_printf(req->arena, "/api/v1/memox/erasures/%s", id));
	response_json(req, 202, body);
}

void erase_get(struct request *req)
{
	const char *id = request_param(req, "id");
	if (query_only(req, (const char *const[]){ NULL }) != 0)
		return;
	if (id == NULL || !membership_is_uuid(id)) {
		response_error(req, 404, "not_found", "no such erasure");
		return;
	}
	const char *params[] = { id, req->key->tenant_id };
	PGresult *r = db_request_one(req, &st_get, params, 404, "no such erasure");
	if (r != NULL)
		response_json(req, 200, erasure_json(r));
}
