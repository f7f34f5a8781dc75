/* limits.c - a tenant's limits: read them, set them (owners, and site admins).
 *
 * A limit the tenant has not set (its column NULL) is the configured default
 * (TENANT_DEFAULT_*), so a changed default reaches every such tenant.  PUT
 * changes only the limits it names: a number sets one, null resets one to
 * the default, an absent one stays as it is.  The bounds are the ones the
 * configuration allows for the defaults.  After the change is committed,
 * apikey_invalidate_tenant() drops every cached copy of the tenant's keys,
 * which carry its limits, so new limits apply within a second without a
 * restart. */
#include "tenants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_token.h"
#include "fields.h"
#include "log.h"

enum { L_QPS, L_BURST, L_CONCURRENCY, L_MONTHLY, L_MAX_MEMORIES, L__MAX };

static const struct {
	const char *field;
	long long max;
} limit_fields[L__MAX] = {
	[L_QPS]          = { "qps", 1000000 },
	[L_BURST]        = { "burst", 1000000 },
	[L_CONCURRENCY]  = { "concurrency", 100000 },
	[L_MONTHLY]      = { "monthlyRequests", 1000000000000LL },
	[L_MAX_MEMORIES] = { "maxMemories", 1000000000000LL },
};

#define LIMIT_COLUMNS "qps, burst, concurrency, monthly_requests, max_memories, " SQL_TIME("updated_at")

static const struct pg_statement st_get = {
	"limits_get", "SELECT " LIMIT_COLUMNS " FROM tenant_limits WHERE tenant_id = $1::uuid", 1, 1,
};
/* $7 is a bit mask of the limits the request names; the others keep their value. */
static const struct pg_statement st_put = {
	"limits_put",
	"INSERT INTO tenant_limits AS l (tenant_id, qps, burst, concurrency, monthly_requests, max_memories)"
	" VALUES ($1::uuid, $2::int, $3::int, $4::int, $5::bigint, $6::bigint)"
	" ON CONFLICT (tenant_id) DO UPDATE SET"
	" qps = CASE WHEN ($7::int & 1) <> 0 THEN EXCLUDED.qps ELSE l.qps END,"
	" burst = CASE WHEN ($7::int & 2) <> 0 THEN EXCLUDED.burst ELSE l.burst END,"
	" concurrency = CASE WHEN ($7::int & 4) <> 0 THEN EXCLUDED.concurrency ELSE l.concurrency END,"
	" monthly_requests = CASE WHEN ($7::int & 8) <> 0 THEN EXCLUDED.monthly_requests ELSE l.monthly_requests END,"
	" max_memories = CASE WHEN ($7::int & 16) <> 0 THEN EXCLUDED.max_memories ELSE l.max_memories END,"
	" updated_at = now()"
	" RETURNING " LIMIT_COLUMNS,
	7, 0,
};

struct limits_change {
	const char *value[L__MAX];    /* decimal text, NULL: reset or absent */
	unsigned mask;                /* the limits named */
};

/* The body of a PUT: 0, or -1 when answered 400. */
static int parse(struct request *req, struct limits_change *c)
{
	const char *allowed[L__MAX + 1];
	for (int i = 0; i < L__MAX; i++)
		allowed[i] = limit_fields[i].field;
	allowed[L__MAX] = NULL;
	memset(c, 0, sizeof *c);
	if (fields_only(req, allowed) != 0)
		return -1;
	for (int i = 0; i < L__MAX; i++) {
		struct json_object *v;
		if (!json_object_object_get_ex(req->json, limit_fields[i].field, &v))
			continue;
		c->mask |= 1u << i;
		if (v == NULL)                /* null: back to the default */
			continue;
		long long n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
		if (n < 1 || n > limit_fields[i].max) {
			response_error(req, 400, "invalid_request", "%s must be an integer from 1 to %lld, or null",
				       limit_fields[i].field, limit_fields[i].max);
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

/* {tenantId, limits: {...effective}, isDefault: {...}, updatedAt} from the
 * tenant's row (r NULL or empty: all defaults). */
static struct json_object *limits_json(struct request *req, const char *tenant_id, PGresult *r)
{
	struct tenant_limits d;
	apikey_default_limits(&req->ctx->cfg, &d);
	const long long defaults[L__MAX] = { d.qps, d.burst, d.concurrency, d.monthly_requests, d.max_memories };
	int row = r && PQntuples(r) == 1;
	struct json_object *lim = json_object_new_object(), *def = json_object_new_object();
	for (int i = 0; i < L__MAX; i++) {
		int is_default = !row || PQgetisnull(r, 0, i);
		long long v = is_default ? defaults[i] : atoll(PQgetvalue(r, 0, i));
		json_object_object_add(lim, limit_fields[i].field, json_object_new_int64(v));
		json_object_object_add(def, limit_fields[i].field, json_object_new_boolean(is_default));
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "tenantId", json_object_new_string(tenant_id));
	json_object_object_add(o, "limits", lim);
	json_object_object_add(o, "isDefault", def);
	json_object_object_add(o, "updatedAt",
			       row ? json_object_new_string(PQgetvalue(r, 0, L__MAX)) : NULL);
	return o;
}

static void answer(struct request *req, const char *tenant_id)
{
	const char *params[] = { tenant_id };
	PGresult *r = db_exec(req, &st_get, params);
	if (r == NULL)
		return;
	response_json(req, 200, limits_json(req, tenant_id, r));
	PQclear(r);
}

static void put(struct request *req, const char *tenant_id, const struct limits_change *c, int by_admin)
{
	if (db_begin(req) != 0)
		return;
	const char *mask = arena_printf(req->arena, "%u", c->mask);
	const char *params[] = { tenant_id, c->value[0], c->value[1], c->value[2], c->value[3], c->value[4], mask };
	PGresult *r = db_exec(req, &st_put, params);
	if (r == NULL) {
		db_rollback(req);
		return;
	}
	struct json_object *detail = json_object_new_object();
	json_object_object_add(detail, "changes", json_object_get(req->json));
	if (by_admin)
		json_object_object_add(detail, "by", json_object_new_string("admin"));
	if (audit_record(req, tenant_id, "limits.set", tenant_id, detail) != 0 || db_commit(req) != 0) {
		PQclear(r);
		db_rollback(req);
		return;
	}
	if (apikey_invalidate_tenant(req->ctx, tenant_id) != 0)
		log_warn("tenant %s: new limits apply when cached keys expire", tenant_id);
	response_json(req, 200, limits_json(req, tenant_id, r));
	PQclear(r);
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
		put(req, t.id, &c, 0);
}

void admin_limits_get(struct request *req)
{
	char id[37], status[16];
	if (admin_tenant_find(req, id, status) > 0)
		answer(req, id);
}

void admin_limits_put(struct request *req)
{
	struct limits_change c;
	char id[37], status[16];
	if (parse(req, &c) != 0 || admin_tenant_find(req, id, status) < 0)
		return;
	if (strcmp(status, "deleted") == 0) {
		response_error(req, 409, "conflict", "the tenant is deleted");
		return;
	}
	put(req, id, &c, 1);
}
