/* history.c - GET /memories/{id}/history: a memory's versions, newest first.
 *
 * The current version is the memory's row; the versions its changes
 * replaced are memory_versions' rows, copied there by PATCH in the
 * statement that replaced them (memories.c, sql/main/0008).  One list,
 * newest first, in keyset pages by version number: a version never changes
 * once made, and a change made while a client pages only adds a version
 * above the first page, so the pages that follow neither repeat nor skip.
 * Each entry says when its version was made, when it was replaced (null
 * for the current one) and which key made it (null when unknown: a version
 * made before history was kept). */
#include "memox.h"

#include <stdlib.h>

#include "api_key.h"
#include "json_text.h"
#include "paging.h"

static const struct pg_statement st_exists = {
	"memox_history_exists", "SELECT 1 FROM memories WHERE id = $1::uuid AND tenant_id = $2::uuid",
	2, 1, PG_MAY_LAG,
};

/* The page: version, content, metadata, createdAt, replacedAt, keyId. */
static const struct pg_statement st_history = {
	"memox_history",
	"SELECT version, content, metadata::text, " MEMOX_SQL_TIME("made_at") ", " MEMOX_SQL_TIME("replaced_at") ","
	"       key_id FROM ("
	"  SELECT version, content, metadata, " MEMORY_VERSION_MADE_AT("m") " AS made_at,"
	"         NULL::timestamptz AS replaced_at, changed_by_key AS key_id"
	"    FROM memories m WHERE id = $1::uuid AND tenant_id = $2::uuid"
	"  UNION ALL"
	"  SELECT version, content, metadata, made_at, replaced_at, made_by_key"
	"    FROM memory_versions WHERE memory_id = $1::uuid AND tenant_id = $2::uuid) v"
	" WHERE $4::bigint IS NULL OR version < $4::bigint"
	" ORDER BY version DESC LIMIT $3::int",
	4, 1, PG_MAY_LAG,
};

const char *memory_key_id(struct request *req)
{
	return req->key && req->key->key_id[0] ? req->key->key_id : NULL;
}

static struct json_object *text_or_null(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : json_object_new_string(PQgetvalue(r, row, col));
}

static struct json_object *version_json(PGresult *r, int row)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int64(atoll(PQgetvalue(r, row, 0))));
	json_object_object_add(o, "content", json_object_new_string(PQgetvalue(r, row, 1)));
	struct json_object *meta = json_text_object(PQgetvalue(r, row, 2));
	json_object_object_add(o, "metadata", meta ? meta : json_object_new_object());
	json_object_object_add(o, "createdAt", text_or_null(r, row, 3));
	json_object_object_add(o, "replacedAt", text_or_null(r, row, 4));
	json_object_object_add(o, "keyId", text_or_null(r, row, 5));
	return o;
}

void memories_history(struct request *req)
{
	static const char *const allowed[] = { "limit", "cursor", NULL };
	const char *id;
	struct page p;
	if (input_refuse_tenant(req, NULL) != 0 || query_only(req, allowed) != 0 || page_parse(req, &p, 1) != 0 ||
	    (id = input_memory_id(req)) == NULL)
		return;
	const char *params[] = { id, req->key->tenant_id, p.fetch, p.after_key };
	/* Asked apart from the page: a cursor past the oldest version is an
	 * empty page of a memory that exists, not a 404. */
	if (db_request_one(req, &st_exists, params, 404, "no such memory") == NULL)
		return;
	PGresult *r = db_request_exec(req, &st_history, params);
	if (r == NULL)
		return;
	struct json_object *body = json_object_new_object(), *arr = json_object_new_array();
	int n = page_finish(req, &p, r, 0, -1, body);
	for (int i = 0; i < n; i++)
		json_object_array_add(arr, version_json(r, i));
	json_object_object_add(body, "versions", arr);
	response_json(req, 200, body);
}
