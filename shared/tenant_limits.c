/* tenant_limits.c - the tenant_limits statements and their JSON.
 *
 * The bounds are the ones the configuration allows for the defaults. */
#include "tenant_limits.h"

#include <stdio.h>
#include <stdlib.h>

#include "apikey.h"

const struct tenant_limit_field tenant_limit_fields[TENANT_LIMIT__MAX] = {
	[TENANT_LIMIT_QPS]          = { "qps", "--qps", 1000000 },
	[TENANT_LIMIT_BURST]        = { "burst", "--burst", 1000000 },
	[TENANT_LIMIT_CONCURRENCY]  = { "concurrency", "--concurrency", 100000 },
	[TENANT_LIMIT_MONTHLY]      = { "monthlyRequests", "--monthly-requests", 1000000000000LL },
	[TENANT_LIMIT_MAX_MEMORIES] = { "maxMemories", "--max-memories", 1000000000000LL },
};

#define LIMIT_COLUMNS "qps, burst, concurrency, monthly_requests, max_memories, " \
	"to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const struct pg_statement st_get = {
	"limits_get", "SELECT " LIMIT_COLUMNS " FROM tenant_limits WHERE tenant_id = $1::uuid", 1, 1,
};
/* $7 is a bit mask of the limits named; the others keep their value. */
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

PGresult *tenant_limits_get(struct pg *db, const char *tenant_id, char *err, size_t errlen)
{
	const char *params[] = { tenant_id };
	return pg_exec(db, &st_get, params, err, errlen);
}

PGresult *tenant_limits_put(struct pg *db, const char *tenant_id, const char *const value[TENANT_LIMIT__MAX],
			    unsigned mask, char *err, size_t errlen)
{
	char m[16];
	snprintf(m, sizeof m, "%u", mask);
	const char *params[] = { tenant_id, value[0], value[1], value[2], value[3], value[4], m };
	return pg_exec(db, &st_put, params, err, errlen);
}

struct json_object *tenant_limits_json(const struct config *cfg, const char *tenant_id, PGresult *r)
{
	struct tenant_limits d;
	apikey_default_limits(cfg, &d);
	const long long defaults[TENANT_LIMIT__MAX] = { d.qps, d.burst, d.concurrency, d.monthly_requests,
							d.max_memories };
	int row = r && PQntuples(r) == 1;
	struct json_object *lim = json_object_new_object(), *def = json_object_new_object();
	for (int i = 0; i < TENANT_LIMIT__MAX; i++) {
		int is_default = !row || PQgetisnull(r, 0, i);
		long long v = is_default ? defaults[i] : atoll(PQgetvalue(r, 0, i));
		json_object_object_add(lim, tenant_limit_fields[i].field, json_object_new_int64(v));
		json_object_object_add(def, tenant_limit_fields[i].field, json_object_new_boolean(is_default));
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "tenantId", json_object_new_string(tenant_id));
	json_object_object_add(o, "limits", lim);
	json_object_object_add(o, "isDefault", def);
	json_object_object_add(o, "updatedAt",
			       row ? json_object_new_string(PQgetvalue(r, 0, TENANT_LIMIT__MAX)) : NULL);
	return o;
}
