/* audit.c - tenant_audit: writing a change's row, and reading a tenant's log.
 *
 * Rows are written through shared/tenant_audit.c, as the keys responder's
 * key.* rows and aigetctl's are; this file writes tenant.*, member.*,
 * invitation.* and limits.* rows, and shows all of them, newest first, to
 * the tenant's owners and admins and to site admins.
 *
 * The back office's admin_audit_list() is here rather than in admin.c: it
 * reads the same log as audit_list(), for a tenant named without
 * membership. */
#include "tenants.h"

#include "auth_token.h"
#include "log.h"
#include "tenant_audit.h"

/* Ordered by the serial id: it grows with the insertion order, as `at` does
 * (both are taken at insertion), and is unique, so it alone is the cursor. */
static const struct pg_statement st_list = {
	"tenants_audit_list",
	"SELECT a.id, " SQL_TIME("a.at") ", a.actor_id, u.email, a.action, a.target, a.request_id, a.detail::text"
	" FROM tenant_audit a LEFT JOIN users u ON u.id = a.actor_id"
	" WHERE a.tenant_id = $1::uuid AND ($2::bigint IS NULL OR a.id < $2::bigint)"
	" ORDER BY a.id DESC LIMIT $3::int",
	3, 1, PG_PRIMARY,
};

int audit_record(struct request *req, const char *tenant_id, const char *action, const char *target,
		 struct json_object *detail)
{
	char err[256];
	int rc = tenant_audit_insert(req->ctx->db, tenant_id, req->user->id, action, target, req->request_id, detail,
				     err, sizeof err);
	if (rc != 0)
		response_unavailable(req, "tenant_audit_insert", err);
	json_object_put(detail);
	return rc;
}

static struct json_object *nullable(PGresult *r, int i, int col)
{
	return PQgetisnull(r, i, col) ? NULL : json_object_new_string(PQgetvalue(r, i, col));
}

static int parse(struct request *req, struct page *p)
{
	static const char *const allowed[] = { "limit", "cursor", NULL };
	return query_only(req, allowed) != 0 || page_parse(req, p, 1) != 0 ? -1 : 0;
}

static void list(struct request *req, const char *tenant_id, const struct page *pg)
{
	struct page p = *pg;
	const char *params[] = { tenant_id, p.after_key, p.fetch };
	PGresult *r = db_request_exec(req, &st_list, params);
	if (r == NULL)
		return;
	struct json_object *body = json_object_new_object();
	int n = page_finish(req, &p, r, 0, -1, body);
	struct json_object *entries = json_object_new_array();
	for (int i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();
		json_object_object_add(e, "id", json_object_new_string(PQgetvalue(r, i, 0)));
		json_object_object_add(e, "at", json_object_new_string(PQgetvalue(r, i, 1)));
		json_object_object_add(e, "actorId", nullable(r, i, 2));
		json_object_object_add(e, "actorEmail", nullable(r, i, 3));
		json_object_object_add(e, "action", json_object_new_string(PQgetvalue(r, i, 4)));
		json_object_object_add(e, "target", nullable(r, i, 5));
		json_object_object_add(e, "requestId", nullable(r, i, 6));
		json_object_object_add(e, "detail", PQgetisnull(r, i, 7) ? NULL : json_tokener_parse(PQgetvalue(r, i, 7)));
		json_object_array_add(entries, e);
	}
	json_object_object_add(body, "entries", entries);
	response_json(req, 200, body);
}

void audit_list(struct request *req)
{
	struct tenant_ref t;
	struct page p;
	if (parse(req, &p) != 0 || membership_require(req, path_id(req, "tenantId"), ACT_AUDIT_READ, &t) != 0)
		return;
	list(req, t.id, &p);
}

void admin_audit_list(struct request *req)
{
	char id[37], status[16];
	struct page p;
	if (parse(req, &p) != 0 || admin_tenant_find(req, id, status) < 0)
		return;
	list(req, id, &p);
}
