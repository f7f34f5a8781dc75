/* scopes.c - what a tenant holds: its namespaces, and a namespace's end users.
 *
 * GET /namespaces and GET /users?namespace= read memox_namespaces and
 * memox_scopes (sql/main/0009_memox_scopes.sql), which statement triggers
 * on memories keep counted, so a page is one range of a primary key: at
 * most limit + 1 rows, whatever the tenant holds, and no count(*) over
 * memories.  Rows are in byte order of the name (the columns are COLLATE
 * "C"), and a page starts after the name its cursor holds, so a name added
 * or removed meanwhile neither repeats nor hides another.
 *
 * The cursor is the page's last name in base64url: opaque to clients, as
 * the other cursors are, and checked on the way back like any name (it
 * reaches the statement only as a parameter). */
#include "memox.h"

#include <stdlib.h>
#include <string.h>

#include "api_key.h"
#include "jwt.h"
#include "paging.h"

#define SCOPE_CURSOR_MAX 172          /* base64url of MEMOX_SCOPE_MAX bytes, and one to spare */

static const struct pg_statement st_namespaces = {
	"memox_scopes_namespaces",
	"SELECT namespace, users, memories, " MEMOX_SQL_TIME("last_write_at") " FROM memox_namespaces"
	" WHERE tenant_id = $1::uuid AND ($3::text IS NULL OR namespace > $3)"
	" ORDER BY namespace LIMIT $2::int",
	3, 1, PG_MAY_LAG,
};

static const struct pg_statement st_users = {
	"memox_scopes_users",
	"SELECT external_user_id, memories, " MEMOX_SQL_TIME("last_write_at") " FROM memox_scopes"
	" WHERE tenant_id = $1::uuid AND namespace = $2 AND ($4::text IS NULL OR external_user_id > $4)"
	" ORDER BY external_user_id LIMIT $3::int",
	4, 1, PG_MAY_LAG,
};

/* ?limit=&cursor=: page_parse()'s limit, and a cursor that decodes to a
 * name of the scope alphabet (else 400, "cursor is not valid").  *after is
 * NULL on the first page.  0, or -1 answered. */
static int name_page(struct request *req, struct page *p, const char **after)
{
	*after = NULL;
	const char *cursor = request_query(req, "cursor");
	/* page_parse() would read the cursor as a time key: let it see none. */
	if (cursor && *cursor && strlen(cursor) > SCOPE_CURSOR_MAX) {
		response_error(req, 400, "invalid_request", "cursor is not valid");
		return -1;
	}
	int limit_ok = 1;
	const char *limit = request_query(req, "limit");
	if (limit) {
		char *end;
		long n = strtol(limit, &end, 10);
		limit_ok = *limit >= '0' && *limit <= '9' && *end == '\0' && n >= 1 && n <= PAGE_LIMIT_MAX &&
			   strlen(limit) <= 3;
		if (limit_ok)
			p->limit = (int)n;
	} else
		p->limit = PAGE_LIMIT_DEFAULT;
	if (!limit_ok) {
		response_error(req, 400, "invalid_request", "limit must be an integer from 1 to %d", PAGE_LIMIT_MAX);
		return -1;
	}
	p->fetch = arena_printf(req->arena, "%d", p->limit + 1);
	p->after_key = p->after_id = NULL;
	if (cursor == NULL || *cursor == '\0')
		return 0;
	size_t n = 0;
	unsigned char *name = jwt_b64url_decode(cursor, strlen(cursor), &n);
	int ok = name != NULL && n >= 1 && n <= MEMOX_SCOPE_MAX && memchr(name, '\0', n) == NULL;
	const char *text = ok ? arena_strndup(req->arena, (const char *)name, n) : NULL;
	free(name);
	if (!ok || !input_scope_ok(text)) {
		response_error(req, 400, "invalid_request", "cursor is not valid");
		return -1;
	}
	*after = text;
	return 0;
}

/* Adds nextCursor (the name in column 0 of the page's last row, or null);
 * the number of rows that belong to the page. */
static int name_page_finish(struct request *req, const struct page *p, PGresult *r, struct json_object *body)
{
	int n = PQntuples(r);
	struct json_object *next = NULL;
	if (n > p->limit) {
		n = p->limit;
		const char *last = PQgetvalue(r, n - 1, 0);
		char *enc = jwt_b64url_encode((const unsigned char *)last, strlen(last));
		if (enc) {
			next = json_object_new_string(enc);
			free(enc);
		}
	}
	json_object_object_add(body, "nextCursor", next);
	return n;
}

void scopes_namespaces(struct request *req)
{
	static const char *const allowed[] = { "limit", "cursor", NULL };
	struct page p;
	const char *after;
	if (input_refuse_tenant(req, NULL) != 0 || query_only(req, allowed) != 0 || name_page(req, &p, &after) != 0)
		return;
	const char *params[] = { req->key->tenant_id, p.fetch, after };
	PGresult *r = db_request_exec(req, &st_namespaces, params);
	if (r == NULL)
		return;
	struct json_object *body = json_object_new_object(), *arr = json_object_new_array();
	int n = name_page_finish(req, &p, r, body);
	for (int i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "namespace", json_object_new_string(PQgetvalue(r, i, 0)));
		json_object_object_add(o, "users", json_object_new_int64(atoll(PQgetvalue(r, i, 1))));
		json_object_object_add(o, "memories", json_object_new_int64(atoll(PQgetvalue(r, i, 2))));
		json_object_object_add(o, "lastWriteAt", json_object_new_string(PQgetvalue(r, i, 3)));
		json_object_array_add(arr, o);
	}
	json_object_object_add(body, "namespaces", arr);
	response_json(req, 200, body);
}

void scopes_users(struct request *req)
{
	static const char *const allowed[] = { "namespace", "limit", "cursor", NULL };
	struct page p;
	const char *after;
	if (input_refuse_tenant(req, NULL) != 0 || query_only(req, allowed) != 0)
		return;
	const char *ns = request_query(req, "namespace");
	if (input_scope_value(req, "namespace", ns) != 0 || name_page(req, &p, &after) != 0)
		return;
	const char *params[] = { req->key->tenant_id, ns, p.fetch, after };
	PGresult *r = db_request_exec(req, &st_users, params);
	if (r == NULL)
		return;
	struct json_object *body = json_object_new_object(), *arr = json_object_new_array();
	int n = name_page_finish(req, &p, r, body);
	for (int i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "externalUserId", json_object_new_string(PQgetvalue(r, i, 0)));
		json_object_object_add(o, "memories", json_object_new_int64(atoll(PQgetvalue(r, i, 1))));
		json_object_object_add(o, "lastWriteAt", json_object_new_string(PQgetvalue(r, i, 2)));
		json_object_array_add(arr, o);
	}
	json_object_object_add(body, "users", arr);
	response_json(req, 200, body);
}
