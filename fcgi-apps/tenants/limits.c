/* limits.c - a tenant's limits: read them, set them (owners, and site admins),
 * and their ceilings (site admins).
 *
 * A limit the tenant has not set (its column NULL) is the configured default
 * (TENANT_DEFAULT_*), so a changed default reaches every such tenant.  PUT
 * changes only the limits it names: a number sets one, null resets one to
 * the default, an absent one stays as it is.  Names, bounds and statements
 * are shared/tenant_limits.c's, which aigetctl uses too.  After the change
 * is committed, api_key_invalidate_tenant() drops every cached copy of the
 * tenant's keys, which carry its limits, so new limits apply within a second
 * without a restart.
 *
 * Owners may set each limit up to its ceiling (the tenant's own, else
 * TENANT_CEILING_*), or to any value at most what it is now: lowering is
 * always theirs, raising above a ceiling is a site admin's (403 naming the
 * limit and the most it may be, and nothing changes).  The check reads the
 * limits and ceilings after the tenant's row is locked, as every change of
 * either does, so that it holds for what it is checked against.  Site
 * admins set limits within the bounds only, and the ceilings the same way
 * as the limits (null: back to TENANT_CEILING_*).
 *
 * The back office's handlers (admin_limits_*, admin_ceilings_*, under
 * /api/v1/admin/tenants/{tenantId}) are here rather than in admin.c: they
 * differ from the owners' only in how the tenant is found and in skipping
 * the ceilings check, and share the parsing and the locked change. */
#include "tenants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_token.h"
#include "fields.h"
#include "log.h"
#include "tenant_limits.h"

struct limits_change {
	const char *value[TENANT_LIMIT__MAX];   /* decimal text, NULL: reset or absent */
	unsigned mask;                          /* the limits named */
};

/* The body of a PUT: 0, or -1 when answered 400. */
static int parse(struct request *req, struct limits_change *c)
{
	const char *allowed[TENANT_LIMIT__MAX + 1];
	for (int i = 0; i < TENANT_LIMIT__MAX; i++)
		allowed[i] = tenant_limit_fields[i].field;
	allowed[TENANT_LIMIT__MAX] = NULL;
	memset(c, 0, sizeof *c);
	if (fields_only(req, allowed) != 0)
		return -1;
	for (int i = 0; i < TENANT_LIMIT__MAX; i++) {
		struct json_object *v;
		if (!json_object_object_get_ex(req->json, tenant_limit_fields[i].field, &v))
			continue;
		c->mask |= 1u << i;
		if (v == NULL)                /* null: back to the default */
			continue;
		long long n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
		if (n < 1 || n > tenant_limit_fields[i].max) {
			response_error(req, 400, "invalid_request", "%s must be an integer from 1 to %lld, or null",
				       tenant_limit_fields[i].field, tenant_limit_fields[i].max);
			return -1;
		}
		c->value[i] = arena_printf(req->arena, "%lld", n);
	}
	if (c->mask == 0) {
		response_error(req, 400, "invalid_request",
			       "name at least one limit: qps, burst, concurrency, monthlyRequests, maxMemories");
		return -1;
	}
	return 0;
}

static void answer(struct request *req, const char *tenant_id)
{
	char err[256];
	PGresult *r = db_request_result(req, tenant_limits_get(req->ctx->db, tenant_id, err, sizeof err),
					"limits_get", err);
	if (r != NULL)
		response_json(req, 200, tenant_limits_json(&req->ctx->cfg, tenant_id, r));
}

/* An owner's change, inside the transaction that holds the tenant's lock:
 * every limit named at most its ceiling or its value now.  0, or -1 when
 * answered (403, 503). */
static int within_ceilings(struct request *req, const char *tenant_id, const struct limits_change *c)
{
	char err[256];
	PGresult *r = db_request_result(req, tenant_limits_get_locked(req->ctx->db, tenant_id, err, sizeof err),
					"limits_get_locked", err);
	if (r == NULL)
		return -1;
	long long def[TENANT_LIMIT__MAX], now[TENANT_LIMIT__MAX], ceiling[TENANT_LIMIT__MAX];
	tenant_limits_effective(&req->ctx->cfg, NULL, def, ceiling);   /* def: what null resets one to */
	tenant_limits_effective(&req->ctx->cfg, r, now, ceiling);
	for (int i = 0; i < TENANT_LIMIT__MAX; i++) {
		if (!(c->mask & (1u << i)))
			continue;
		long long want = c->value[i] ? atoll(c->value[i]) : def[i];
		if (want <= ceiling[i] || want <= now[i])
			continue;
		const char *f = tenant_limit_fields[i].field;
		if (now[i] > ceiling[i])
			response_error(req, 403, "forbidden", "%s may be at most %lld, its value now (this tenant's ceiling "
				       "is %lld); a site administrator can set more", f, now[i], ceiling[i]);
		else
			response_error(req, 403, "forbidden", "%s may be at most %lld, this tenant's ceiling; a site "
				       "administrator can set more", f, ceiling[i]);
		return -1;
	}
	return 0;
}

/* Sets the limits (or, with ceilings, the ceilings) the body named, and
 * answers them; an owner's limits are checked against the ceilings first. */
static void put(struct request *req, const char *tenant_id, const struct limits_change *c, int by_admin,
		int ceilings)
{
	char err[256], status[16];
	if (db_request_begin(req) != 0)
		return;
	int found = db_lock_tenant(req, tenant_id, status);
	if (found <= 0 || (!by_admin && within_ceilings(req, tenant_id, c) != 0)) {
		db_request_rollback(req);
		if (found == 0)
			response_error(req, 404, "not_found", "no such tenant");
		return;
	}
	PGresult *r = db_request_result(req, (ceilings ? tenant_ceilings_put : tenant_limits_put)(req->ctx->db,
					tenant_id, c->value, c->mask, err, sizeof err),
					ceilings ? "limits_ceilings_put" : "limits_put", err);
	if (r == NULL) {
		db_request_rollback(req);
		return;
	}
	struct json_object *detail = json_object_new_object();
	json_object_object_add(detail, "changes", json_object_get(req->json));
	if (by_admin)
		json_object_object_add(detail, "by", json_object_new_string("admin"));
	if (audit_record(req, tenant_id, ceilings ? "ceilings.set" : "limits.set", tenant_id, detail) != 0 ||
	    db_request_commit(req) != 0) {
		db_request_rollback(req);
		return;
	}
	/* Ceilings bound what owners ask for; keys carry only the limits. */
	if (!ceilings && api_key_invalidate_tenant(req->ctx, tenant_id) != 0)
		log_warn("tenant %s: new limits apply when cached keys expire", tenant_id);
	response_json(req, 200, (ceilings ? tenant_ceilings_json : tenant_limits_json)(&req->ctx->cfg, tenant_id, r));
}

/* ------------------------------------------------------------ handlers */

void limits_get(struct request *req)
{
	struct tenant_ref t;
	if (membership_require(req, path_id(req, "tenantId"), ACT_LIMITS_READ, &t) == 0)
		answer(req, t.id);
}

void limits_put(struct request *req)
{
	struct limits_change c;
	struct tenant_ref t;
	if (parse(req, &c) == 0 && membership_require(req, path_id(req, "tenantId"), ACT_LIMITS_WRITE, &t) == 0)
		put(req, t.id, &c, 0, 0);
}

void admin_limits_get(struct request *req)
{
	char id[37], status[16];
	if (admin_tenant_find(req, id, status) > 0)
		answer(req, id);
}

/* An admin's change of the limits or the ceilings of any tenant not deleted. */
static void admin_put(struct request *req, int ceilings)
{
	struct limits_change c;
	char id[37], status[16];
	if (parse(req, &c) != 0 || admin_tenant_find(req, id, status) < 0)
		return;
	if (strcmp(status, "deleted") == 0) {
		response_error(req, 409, "conflict", "the tenant is deleted");
		return;
	}
	put(req, id, &c, 1, ceilings);
}

void admin_limits_put(struct request *req)
{
	admin_put(req, 0);
}

void admin_ceilings_get(struct request *req)
{
	char id[37], status[16], err[256];
	if (admin_tenant_find(req, id, status) < 0)
		return;
	PGresult *r = db_request_result(req, tenant_limits_get(req->ctx->db, id, err, sizeof err), "limits_get", err);
	if (r != NULL)
		response_json(req, 200, tenant_ceilings_json(&req->ctx->cfg, id, r));
}

void admin_ceilings_put(struct request *req)
{
	admin_put(req, 1);
}
