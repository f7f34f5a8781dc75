/* tenant_limits.c - the tenant_limits and tenant_limit_ceilings statements and their JSON.
 *
 * The bounds are the ones the configuration allows for the defaults.  Every
 * statement answers the same columns (COLUMNS): the five limits and their
 * time, then the five ceilings and theirs, from an outer join of the two
 * rows, so that a tenant with neither still has its one row of NULLs. */
#include "tenant_limits.h"

#include <stdio.h>
#include <stdlib.h>

#include "api_key.h"

const struct tenant_limit_field tenant_limit_fields[TENANT_LIMIT__MAX] = {
	[TENANT_LIMIT_QPS]          = { "qps", "--qps", 1000000 },
	[TENANT_LIMIT_BURST]        = { "burst", "--burst", 1000000 },
	[TENANT_LIMIT_CONCURRENCY]  = { "concurrency", "--concurrency", 100000 },
	[TENANT_LIMIT_MONTHLY]      = { "monthlyRequests", "--monthly-requests", 1000000000000LL },
	[TENANT_LIMIT_MAX_MEMORIES] = { "maxMemories", "--max-memories", 1000000000000LL },
};

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define COLUMNS "l.qps, l.burst, l.concurrency, l.monthly_requests, l.max_memories, " TS("l.updated_at") ", " \
	"c.qps, c.burst, c.concurrency, c.monthly_requests, c.max_memories, " TS("c.updated_at")
#define COL_LIMITS_AT   TENANT_LIMIT__MAX
#define COL_CEILINGS    (TENANT_LIMIT__MAX + 1)
#define COL_CEILINGS_AT (2 * TENANT_LIMIT__MAX + 1)
#define BOTH(id) "FROM (SELECT " id " AS tenant_id) x LEFT JOIN tenant_limits l ON l.tenant_id = x.tenant_id" \
	" LEFT JOIN tenant_limit_ceilings c ON c.tenant_id = x.tenant_id"

static const struct pg_statement st_get = {
	"limits_get", "SELECT " COLUMNS " " BOTH("$1::uuid"), 1, 1, PG_PRIMARY,
};
static const struct pg_statement st_get_locked = {
	"limits_get_locked", "SELECT " COLUMNS " " BOTH("$1::uuid"), 1, 0, PG_PRIMARY,
};
/* $7 is a bit mask of the values named; the others keep their value.  The
 * other table's row is joined to the new row itself: the main query of a
 * statement does not see what its WITH part wrote. */
#define UPSERT(table) \
	"WITH n AS (INSERT INTO " table " AS o (tenant_id, qps, burst, concurrency, monthly_requests, max_memories)" \
	" VALUES ($1::uuid, $2::int, $3::int, $4::int, $5::bigint, $6::bigint)" \
	" ON CONFLICT (tenant_id) DO UPDATE SET" \
	" qps = CASE WHEN ($7::int & 1) <> 0 THEN EXCLUDED.qps ELSE o.qps END," \
	" burst = CASE WHEN ($7::int & 2) <> 0 THEN EXCLUDED.burst ELSE o.burst END," \
	" concurrency = CASE WHEN ($7::int & 4) <> 0 THEN EXCLUDED.concurrency ELSE o.concurrency END," \
	" monthly_requests = CASE WHEN ($7::int & 8) <> 0 THEN EXCLUDED.monthly_requests ELSE o.monthly_requests END," \
	" max_memories = CASE WHEN ($7::int & 16) <> 0 THEN EXCLUDED.max_memories ELSE o.max_memories END," \
	" updated_at = now() RETURNING o.*)"
static const struct pg_statement st_put = {
	"limits_put",
	UPSERT("tenant_limits") " SELECT " COLUMNS " FROM n l LEFT JOIN tenant_limit_ceilings c ON c.tenant_id = l.tenant_id",
	7, 0, PG_PRIMARY,
};
static const struct pg_statement st_ceilings_put = {
	"limits_ceilings_put",
	UPSERT("tenant_limit_ceilings") " SELECT " COLUMNS " FROM n c LEFT JOIN tenant_limits l ON l.tenant_id = c.tenant_id",
	7, 0, PG_PRIMARY,
};

PGresult *tenant_limits_get(struct pg *db, const char *tenant_id, char *err, size_t errlen)
{
	const char *params[] = { tenant_id };
	return pg_exec(db, &st_get, params, err, errlen);
}

PGresult *tenant_limits_get_locked(struct pg *db, const char *tenant_id, char *err, size_t errlen)
{
	const char *params[] = { tenant_id };
	return pg_exec(db, &st_get_locked, params, err, errlen);
}

static PGresult *put(struct pg *db, const struct pg_statement *st, const char *tenant_id,
		     const char *const value[TENANT_LIMIT__MAX], unsigned mask, char *err, size_t errlen)
{
	char m[16];
	snprintf(m, sizeof m, "%u", mask);
	const char *params[] = { tenant_id, value[0], value[1], value[2], value[3], value[4], m };
	return pg_exec(db, st, params, err, errlen);
}

PGresult *tenant_limits_put(struct pg *db, const char *tenant_id, const char *const value[TENANT_LIMIT__MAX],
			    unsigned mask, char *err, size_t errlen)
{
	return put(db, &st_put, tenant_id, value, mask, err, errlen);
}

PGresult *tenant_ceilings_put(struct pg *db, const char *tenant_id, const char *const value[TENANT_LIMIT__MAX],
			      unsigned mask, char *err, size_t errlen)
{
	return put(db, &st_ceilings_put, tenant_id, value, mask, err, errlen);
}

/* Column col + i of the row, or fallback[i] where NULL (or no row);
 * own[i] says which when not NULL. */
static void read_five(PGresult *r, int col, const long long fallback[TENANT_LIMIT__MAX],
		      long long out[TENANT_LIMIT__MAX], int own[TENANT_LIMIT__MAX])
{
	int row = r && PQntuples(r) == 1;
	for (int i = 0; i < TENANT_LIMIT__MAX; i++) {
		int set = row && !PQgetisnull(r, 0, col + i);
		out[i] = set ? atoll(PQgetvalue(r, 0, col + i)) : fallback[i];
		if (own)
			own[i] = set;
	}
}

static void configured(const struct config *cfg, long long limits[TENANT_LIMIT__MAX],
		       long long ceilings[TENANT_LIMIT__MAX])
{
	struct tenant_limits d;
	api_key_default_limits(cfg, &d);
	const long long l[TENANT_LIMIT__MAX] = { d.qps, d.burst, d.concurrency, d.monthly_requests, d.max_memories };
	const long long c[TENANT_LIMIT__MAX] = { cfg->tenant_ceiling_qps, cfg->tenant_ceiling_burst,
						 cfg->tenant_ceiling_concurrency, cfg->tenant_ceiling_monthly,
						 cfg->tenant_ceiling_max_memories };
	for (int i = 0; i < TENANT_LIMIT__MAX; i++) {
		limits[i] = l[i];
		ceilings[i] = c[i];
	}
}

void tenant_limits_effective(const struct config *cfg, PGresult *r, long long limits[TENANT_LIMIT__MAX],
			     long long ceilings[TENANT_LIMIT__MAX])
{
	long long dl[TENANT_LIMIT__MAX], dc[TENANT_LIMIT__MAX];
	configured(cfg, dl, dc);
	read_five(r, 0, dl, limits, NULL);
	read_five(r, COL_CEILINGS, dc, ceilings, NULL);
}

/* {field: value} of five, and {field: !own} beside it when def is not NULL. */
static struct json_object *five(const long long v[TENANT_LIMIT__MAX], const int own[TENANT_LIMIT__MAX],
				struct json_object **def)
{
	struct json_object *o = json_object_new_object();
	if (def)
		*def = json_object_new_object();
	for (int i = 0; i < TENANT_LIMIT__MAX; i++) {
		json_object_object_add(o, tenant_limit_fields[i].field, json_object_new_int64(v[i]));
		if (def)
			json_object_object_add(*def, tenant_limit_fields[i].field, json_object_new_boolean(!own[i]));
	}
	return o;
}

static struct json_object *time_or_null(PGresult *r, int col)
{
	return r && PQntuples(r) == 1 && !PQgetisnull(r, 0, col) ? json_object_new_string(PQgetvalue(r, 0, col)) : NULL;
}

struct json_object *tenant_limits_json(const struct config *cfg, const char *tenant_id, PGresult *r)
{
	long long dl[TENANT_LIMIT__MAX], dc[TENANT_LIMIT__MAX], lim[TENANT_LIMIT__MAX], ceil[TENANT_LIMIT__MAX];
	int own[TENANT_LIMIT__MAX];
	configured(cfg, dl, dc);
	read_five(r, 0, dl, lim, own);
	read_five(r, COL_CEILINGS, dc, ceil, NULL);
	struct json_object *o = json_object_new_object(), *def;
	json_object_object_add(o, "tenantId", json_object_new_string(tenant_id));
	json_object_object_add(o, "limits", five(lim, own, &def));
	json_object_object_add(o, "isDefault", def);
	json_object_object_add(o, "ceilings", five(ceil, NULL, NULL));
	json_object_object_add(o, "updatedAt", time_or_null(r, COL_LIMITS_AT));
	return o;
}

struct json_object *tenant_ceilings_json(const struct config *cfg, const char *tenant_id, PGresult *r)
{
	long long dl[TENANT_LIMIT__MAX], dc[TENANT_LIMIT__MAX], ceil[TENANT_LIMIT__MAX];
	int own[TENANT_LIMIT__MAX];
	configured(cfg, dl, dc);
	read_five(r, COL_CEILINGS, dc, ceil, own);
	struct json_object *o = json_object_new_object(), *def;
	json_object_object_add(o, "tenantId", json_object_new_string(tenant_id));
	json_object_object_add(o, "ceilings", five(ceil, own, &def));
	json_object_object_add(o, "isDefault", def);
	json_object_object_add(o, "updatedAt", time_or_null(r, COL_CEILINGS_AT));
	return o;
}
