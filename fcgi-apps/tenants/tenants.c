/* tenants.c - a user's tenants: create, list, get, rename, delete.
 *
 * The creator becomes the tenant's owner in the same statement that makes
 * the tenant, so a tenant never exists without an owner.  A user creates at
 * most TENANT_MAX_PER_USER tenants that are not deleted (409 beyond): each
 * is one more place to invite people from, and a tenant is cheap to make.
 * The count is of the tenants the user created, not of those they own, so
 * that handing tenants to another owner does not make room; a lock per
 * creator (an advisory one, for the transaction) makes two creates at the
 * same moment count one after the other.  Deletion is soft:
 * the row stays with status 'deleted' (hidden from its members, who get 404
 * like for any tenant they cannot see), every key of the tenant stops at once
 * through api_key_invalidate_tenant(), and the erasure of its data is queued
 * for the memox worker.  The tenants table's statements, the name rule and
 * the lock are shared/tenant_store.c's, which aigetctl uses too. */
#include "tenants.h"

#include <stdio.h>
#include <string.h>

#include "auth_token.h"
#include "fields.h"
#include "log.h"
#include "queue.h"
#include "redis.h"

static const struct pg_statement st_revoke_invitations = {
	"tenants_delete_invitations",
	"UPDATE tenant_invitations SET revoked_at = now()"
	" WHERE tenant_id = $1::uuid AND accepted_at IS NULL AND revoked_at IS NULL",
	1, 0, PG_PRIMARY,
};

static struct json_object *wrap(const char *name, struct json_object *v)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, name, v);
	return o;
}

/* name: a string that is a tenant's name once surrounding white space is
 * trimmed (tenant_store_name_check()).  The trimmed copy is in the arena. */
static int field_name(struct request *req, const char **out)
{
	const char *raw, *start;
	size_t n;
	if (field_string(req, "name", 1, (size_t)-1, &raw) != 0)
		return -1;
	switch (tenant_store_name_check(raw, &start, &n)) {
	case TENANT_NAME_BLANK:
		response_error(req, 400, "invalid_request", "name must not be blank");
		return -1;
	case TENANT_NAME_LONG:
		response_error(req, 400, "invalid_request", "name must be at most %d bytes", TENANT_STORE_NAME_MAX);
		return -1;
	case TENANT_NAME_CONTROL:
		response_error(req, 400, "invalid_request", "name must not contain control characters");
		return -1;
	case TENANT_NAME_OK:
		break;
	}
	*out = arena_strndup(req->arena, start, n);
	return 0;
}

/* ------------------------------------------------------------ handlers */

void tenants_create(struct request *req)
{
	static const char *const allowed[] = { "name", NULL };
	const char *name;
	if (fields_only(req, allowed) != 0 || field_name(req, &name) != 0)
		return;
	if (db_request_begin(req) != 0)
		return;
	long long max = req->ctx->cfg.tenant_max_per_user;
	char err[256];
	PGresult *r = db_request_row(req, tenant_store_create(req->ctx->db, name, req->user->id, max, err, sizeof err),
				     "tenant_store_create", err, 409, "you have created %lld tenants, the most an "
				     "account may have; delete one first", max);
	if (r == NULL) {
		db_request_rollback(req);
		return;
	}
	const char *id = PQgetvalue(r, 0, 0);
	struct json_object *detail = json_object_new_object();
	json_object_object_add(detail, "name", json_object_new_string(name));
	if (audit_record(req, id, "tenant.create", id, detail) != 0 || db_request_commit(req) != 0) {
		db_request_rollback(req);
		return;
	}
	log_info("tenant %s created", id);
	response_json(req, 201, wrap("tenant", tenant_store_json(r, 0, 0, "owner")));
}

void tenants_list(struct request *req)
{
	static const char *const allowed[] = { "limit", "cursor", NULL };
	struct page p;
	if (query_only(req, allowed) != 0 || page_parse(req, &p, 0) != 0)
		return;
	char err[256];
	PGresult *r = db_request_result(req, tenant_store_list_member(req->ctx->db, req->user->id, p.after_key,
								    p.after_id, p.fetch, err, sizeof err),
					"tenant_store_list_member", err);
	if (r == NULL)
		return;
	struct json_object *body = json_object_new_object();
	int n = page_finish(req, &p, r, TENANT_STORE_NCOLUMNS + 1, 0, body);
	struct json_object *list = json_object_new_array();
	for (int i = 0; i < n; i++)
		json_object_array_add(list, tenant_store_json(r, i, 0, PQgetvalue(r, i, TENANT_STORE_NCOLUMNS)));
	json_object_object_add(body, "tenants", list);
	response_json(req, 200, body);
}

void tenants_get(struct request *req)
{
	struct tenant_ref t;
	if (membership_require(req, path_id(req, "tenantId"), ACT_TENANT_READ, &t) != 0)
		return;
	char err[256];
	PGresult *r = db_request_row(req, tenant_store_get(req->ctx->db, t.id, err, sizeof err), "tenant_store_get", err,
				     404, "no such tenant");
	if (r != NULL)
		response_json(req, 200, wrap("tenant", tenant_store_json(r, 0, 0, membership_role_name(t.role))));
}

void tenants_rename(struct request *req)
{
	static const char *const allowed[] = { "name", NULL };
	const char *name;
	struct tenant_ref t;
	char status[16];
	if (fields_only(req, allowed) != 0 || field_name(req, &name) != 0 ||
	    membership_require(req, path_id(req, "tenantId"), ACT_TENANT_RENAME, &t) != 0 || db_request_begin(req) != 0)
		return;
	int found = db_lock_tenant(req, t.id, status);
	if (found <= 0 || strcmp(status, "deleted") == 0) {
		db_request_rollback(req);
		if (found >= 0)
			response_error(req, 404, "not_found", "no such tenant");
		return;
	}
	char err[256];
	PGresult *r = db_request_result(req, tenant_store_rename(req->ctx->db, t.id, name, err, sizeof err),
					"tenant_store_rename", err);
	if (r == NULL) {
		db_request_rollback(req);
		return;
	}
	int changed = strcmp(PQgetvalue(r, 0, TENANT_STORE_NCOLUMNS), name) != 0;
	struct json_object *detail = json_object_new_object();
	json_object_object_add(detail, "from", json_object_new_string(PQgetvalue(r, 0, TENANT_STORE_NCOLUMNS)));
	json_object_object_add(detail, "to", json_object_new_string(name));
	if (!changed)
		json_object_put(detail);
	if ((changed && audit_record(req, t.id, "tenant.rename", t.id, detail) != 0) || db_request_commit(req) != 0) {
		db_request_rollback(req);
		return;
	}
	response_json(req, 200, wrap("tenant", tenant_store_json(r, 0, 0, membership_role_name(t.role))));
}

/* Queues the erasure of a deleted tenant's data (memories, vectors, usage)
 * for the memox worker, which handles "tenant.erase" jobs.  The deletion is
 * committed first, so a job never erases a tenant that still exists; a job
 * lost because Redis is down now is logged with the tenant's id, and the
 * tenant stays findable by its status 'deleted' for a sweep to erase later. */
static void schedule_erase(struct request *req, const char *tenant_id)
{
	struct json_object *job = json_object_new_object();
	json_object_object_add(job, "type", json_object_new_string("tenant.erase"));
	json_object_object_add(job, "tenantId", json_object_new_string(tenant_id));
	json_object_object_add(job, "requestId", json_object_new_string(req->request_id));
	char err[256];
	redisReply *rep = redis_command(req->ctx->redis, err, sizeof err, "LPUSH %s %s", QUEUE_JOBS,
					json_object_to_json_string_ext(job, JSON_C_TO_STRING_PLAIN));
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
		log_error("tenant %s deleted but its erasure was not queued: %s", tenant_id,
			  rep ? rep->str : err);
	freeReplyObject(rep);
	json_object_put(job);
}

void tenants_delete(struct request *req)
{
	struct tenant_ref t;
	if (membership_require(req, path_id(req, "tenantId"), ACT_TENANT_DELETE, &t) != 0 || db_request_begin(req) != 0)
		return;
	const char *params[] = { t.id };
	char err[256];
	PGresult *r = db_request_row(req, tenant_store_delete(req->ctx->db, t.id, err, sizeof err), "tenant_store_delete",
				     err, 404, "no such tenant");
	if (r == NULL) {
		db_request_rollback(req);
		return;
	}
	struct json_object *detail = json_object_new_object();
	json_object_object_add(detail, "name", json_object_new_string(PQgetvalue(r, 0, 0)));
	if (db_request_run(req, &st_revoke_invitations, params) != 0 ||
	    audit_record(req, t.id, "tenant.delete", t.id, detail) != 0 || db_request_commit(req) != 0) {
		db_request_rollback(req);
		return;
	}
	/* After the commit, so that a key looked up again finds the tenant deleted. */
	if (api_key_invalidate_tenant(req->ctx, t.id) != 0)
		log_warn("tenant %s deleted; its cached keys work until they expire", t.id);
	schedule_erase(req, t.id);
	log_info("tenant %s deleted", t.id);
	response_no_content(req);
}
