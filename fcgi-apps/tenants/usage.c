/* usage.c - a tenant's usage this month, for its members and for site admins.
 *
 * Cheap to read: the request counts are the Redis hash that the admission
 * script of shared/quota.c increments on every key-authenticated request, so
 * no request ever writes the database to be counted.
 *
 * The back office's admin_usage_get() is here rather than in admin.c: it
 * answers the same as usage_get(), for a tenant named without membership. */
#include "tenants.h"

#include <stdlib.h>

#include "log.h"
#include "quota.h"

static const struct pg_statement st_memories = {
	"tenants_usage_memories", "SELECT memories FROM tenant_memory_counts WHERE tenant_id = $1::uuid",
	1, 1, PG_PRIMARY,
};

static void answer(struct request *req, const char *tenant_id)
{
	char err[256] = "no answer";
	struct json_object *o = quota_usage(req->ctx, tenant_id, err, sizeof err);
	if (o == NULL) {
		response_unavailable(req, "usage", err);
		return;
	}
	json_object_object_add(o, "tenantId", json_object_new_string(tenant_id));
	/* Kept by triggers on memories (sql/main/0004_memox.sql), not counted per read. */
	const char *params[] = { tenant_id };
	PGresult *r = db_request_exec(req, &st_memories, params);
	if (r == NULL) {
		json_object_put(o);
		return;
	}
	json_object_object_add(o, "memoriesStored", json_object_new_int64(PQntuples(r) ? atoll(PQgetvalue(r, 0, 0)) : 0));
	response_json(req, 200, o);
}

void usage_get(struct request *req)
{
	struct tenant_ref t;
	if (membership_require(req, path_id(req, "tenantId"), ACT_USAGE_READ, &t) == 0)
		answer(req, t.id);
}

void admin_usage_get(struct request *req)
{
	char id[37], status[16];
	if (admin_tenant_find(req, id, status) > 0)
		answer(req, id);
}
