/* admin.c - the back office under /api/v1/admin: find tenants and users,
 * suspend and resume a tenant.
 *
 * Every route has ROUTE_ADMIN: the dispatcher lets only users with the admin
 * role through.  Site admins are not members of the tenants they manage, so
 * these routes name a tenant through admin_tenant_find() rather than the
 * membership check, and see deleted tenants too (for their audit and usage);
 * changing a deleted tenant is a 409.  Their changes are audited in the
 * tenant's log with the admin as actor.
 *
 * Suspension stops the tenant's keys: api_key_invalidate_tenant() drops their
 * cached copies everywhere, and a key looked up again finds the tenant
 * suspended and gets 403 (shared/api_key.c).  Members still see and manage
 * the tenant; only its keys stop.
 *
 * The back office's routes for one tenant's limits, ceilings, usage and
 * audit log are not here: each sits beside the members' route it mirrors,
 * in limits.c, usage.c and audit.c, sharing its parsing and statements
 * (tenants.h lists all of the back office's functions in one section). */
#include "tenants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_token.h"
#include "log.h"
#include "user_store.h"

static struct json_object *wrap(const char *name, struct json_object *v)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, name, v);
	return o;
}

int admin_tenant_find(struct request *req, char id[37], char *status)
{
	const char *p = path_id(req, "tenantId");
	if (!membership_is_uuid(p)) {
		response_error(req, 404, "not_found", "no such tenant");
		return -1;
	}
	snprintf(id, 37, "%s", p);
	char err[256];
	int found = db_request_rc(req, tenant_store_status(req->ctx->db, id, status, err, sizeof err),
				  "tenant_store_status", err);
	if (found == 0)
		response_error(req, 404, "not_found", "no such tenant");
	return found > 0 ? 1 : -1;
}

/* ------------------------------------------------------------ handlers */

void admin_tenants(struct request *req)
{
	static const char *const allowed[] = { "query", "status", "limit", "cursor", NULL };
	static const char *const statuses[] = { "active", "suspended", "deleted" };
	struct page p;
	const char *query, *status;
	if (query_only(req, allowed) != 0 || query_search(req, &query) != 0 || page_parse(req, &p, 0) != 0)
		return;
	status = request_query(req, "status");
	if (status && *status == '\0')
		status = NULL;
	if (status && strcmp(status, statuses[0]) && strcmp(status, statuses[1]) && strcmp(status, statuses[2])) {
		response_error(req, 400, "invalid_request", "status must be one of: active, suspended, deleted");
		return;
	}
	char err[256];
	PGresult *r = db_request_result(req, tenant_store_admin_list(req->ctx->db, query, status, p.after_key, p.after_id,
								   p.fetch, err, sizeof err),
					"tenant_store_admin_list", err);
	if (r == NULL)
		return;
	struct json_object *body = json_object_new_object();
	int n = page_finish(req, &p, r, TENANT_STORE_ADMIN_NCOLUMNS, 0, body);
	struct json_object *list = json_object_new_array();
	for (int i = 0; i < n; i++)
		json_object_array_add(list, tenant_store_admin_json(r, i));
	json_object_object_add(body, "tenants", list);
	response_json(req, 200, body);
}

void admin_tenant_get(struct request *req)
{
	char id[37], status[16], err[256];
	if (admin_tenant_find(req, id, status) < 0)
		return;
	PGresult *r = db_request_row(req, tenant_store_admin_get(req->ctx->db, id, err, sizeof err),
				     "tenant_store_admin_get", err, 404, "no such tenant");
	if (r != NULL)
		response_json(req, 200, wrap("tenant", tenant_store_admin_json(r, 0)));
}

void admin_users(struct request *req)
{
	static const char *const allowed[] = { "query", "limit", "cursor", NULL };
	struct page p;
	const char *query;
	if (query_only(req, allowed) != 0 || query_search(req, &query) != 0 || page_parse(req, &p, 0) != 0)
		return;
	char err[256];
	PGresult *r = db_request_result(req, user_store_admin_list(req->ctx->db, query, p.after_key, p.after_id, p.fetch,
								 err, sizeof err),
					"user_store_admin_list", err);
	if (r == NULL)
		return;
	struct json_object *body = json_object_new_object();
	int n = page_finish(req, &p, r, USER_STORE_ADMIN_NCOLUMNS, 0, body);
	struct json_object *list = json_object_new_array();
	for (int i = 0; i < n; i++)
		json_object_array_add(list, user_store_admin_json(r, i));
	json_object_object_add(body, "users", list);
	response_json(req, 200, body);
}

/* Suspends or resumes: to is "suspended" or "active".  Asking for the state
 * the tenant is in already answers the tenant as it is, unchanged. */
static void set_status(struct request *req, const char *to, const char *action)
{
	char id[37], status[16];
	if (admin_tenant_find(req, id, status) < 0 || db_request_begin(req) != 0)
		return;
	int found = db_lock_tenant(req, id, status);
	if (found <= 0) {
		db_request_rollback(req);
		if (found == 0)
			response_error(req, 404, "not_found", "no such tenant");
		return;
	}
	if (strcmp(status, "deleted") == 0) {
		db_request_rollback(req);
		response_error(req, 409, "conflict", "the tenant is deleted");
		return;
	}
	if (strcmp(status, to) == 0) {
		db_request_rollback(req);
		admin_tenant_get(req);
		return;
	}
	char err[256];
	PGresult *r = db_request_result(req, tenant_store_set_status(req->ctx->db, id, to, err, sizeof err),
					"tenant_store_set_status", err);
	if (r == NULL) {
		db_request_rollback(req);
		return;
	}
	struct json_object *detail = json_object_new_object();
	json_object_object_add(detail, "by", json_object_new_string("admin"));
	json_object_object_add(detail, "from", json_object_new_string(status));
	if (audit_record(req, id, action, id, detail) != 0 || db_request_commit(req) != 0) {
		db_request_rollback(req);
		return;
	}
	/* After the commit: a key looked up again must find the new status. */
	if (api_key_invalidate_tenant(req->ctx, id) != 0)
		log_warn("tenant %s: %s; cached keys follow when they expire", id, action);
	log_info("tenant %s: %s by %s", id, action, req->user->id);
	response_json(req, 200, wrap("tenant", tenant_store_admin_json(r, 0)));
}

void admin_suspend(struct request *req)
{
	set_status(req, "suspended", "tenant.suspend");
}

void admin_resume(struct request *req)
{
	set_status(req, "active", "tenant.resume");
}
