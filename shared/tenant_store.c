/* tenant_store.c - see tenant_store.h. */
#include "tenant_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paging.h"

/* As the back office reads a tenant: its row, its creator, its member count. */
#define ADMIN_COLUMNS TENANT_STORE_COLUMNS ", t.created_by," \
	" (SELECT count(*) FROM tenant_members m WHERE m.tenant_id = t.id)"

/* As an operator lists a tenant (tenant_store_summary()). */
#define SUMMARY_COLUMNS "t.id, t.name, t.status, " TENANT_STORE_TIME("t.created_at") ", " \
	TENANT_STORE_TIME("t.suspended_at") ", " \
	"(SELECT count(*) FROM tenant_members m WHERE m.tenant_id = t.id), " \
	"(SELECT string_agg(u.email, ',' ORDER BY u.email) FROM tenant_members m JOIN users u ON u.id = m.user_id" \
	" WHERE m.tenant_id = t.id AND m.role = 'owner')"

static const struct pg_statement st_status = {
	"tenant_store_status", "SELECT status FROM tenants WHERE id = $1::uuid", 1, 1, PG_PRIMARY,
};
static const struct pg_statement st_lock = {
	"tenant_store_lock", "SELECT status FROM tenants WHERE id = $1::uuid FOR NO KEY UPDATE", 1, 0, PG_PRIMARY,
};
static const struct pg_statement st_member = {
	"tenant_store_member",
	"SELECT t.status, m.role FROM tenants t JOIN tenant_members m ON m.tenant_id = t.id"
	" WHERE t.id = $1::uuid AND m.user_id = $2::uuid AND t.status <> 'deleted'",
	2, 1, PG_PRIMARY,
};
/* The lock's first key names what it serialises, the second whose. */
static const struct pg_statement st_lock_creator = {
	"tenant_store_lock_creator", "SELECT pg_advisory_xact_lock(hashtext('tenants_create'), hashtext($1))",
	1, 0, PG_PRIMARY,
};
/* No row when $3 is set and the creator has $3 tenants that are not deleted already. */
static const struct pg_statement st_create = {
	"tenant_store_create",
	"WITH t AS (INSERT INTO tenants (name, created_by) SELECT $1, $2::uuid"
	"  WHERE $3::int IS NULL"
	"   OR (SELECT count(*) FROM tenants WHERE created_by = $2::uuid AND status <> 'deleted') < $3::int"
	"  RETURNING *),"
	" m AS (INSERT INTO tenant_members (tenant_id, user_id, role) SELECT id, $2::uuid, 'owner' FROM t)"
	" SELECT " TENANT_STORE_COLUMNS " FROM t",
	3, 0, PG_PRIMARY,
};
static const struct pg_statement st_get = {
	"tenant_store_get", "SELECT " TENANT_STORE_COLUMNS " FROM tenants t WHERE t.id = $1::uuid", 1, 1, PG_PRIMARY,
};
static const struct pg_statement st_rename = {
	"tenant_store_rename",
	"WITH old AS (SELECT name FROM tenants WHERE id = $1::uuid)"
	" UPDATE tenants t SET name = $2, updated_at = now() FROM old WHERE t.id = $1::uuid"
	" RETURNING " TENANT_STORE_COLUMNS ", old.name",
	2, 0, PG_PRIMARY,
};
static const struct pg_statement st_delete = {
	"tenant_store_delete",
	"UPDATE tenants SET status = 'deleted', deleted_at = now(), updated_at = now()"
	" WHERE id = $1::uuid AND status <> 'deleted' RETURNING name",
	1, 0, PG_PRIMARY,
};
static const struct pg_statement st_set_status = {
	"tenant_store_set_status",
	"UPDATE tenants t SET status = $2,"
	" suspended_at = CASE WHEN $2 = 'suspended' THEN now() END, updated_at = now()"
	" WHERE t.id = $1::uuid RETURNING " ADMIN_COLUMNS,
	2, 0, PG_PRIMARY,
};
static const struct pg_statement st_list_member = {
	"tenant_store_list_member",
	"SELECT " TENANT_STORE_COLUMNS ", m.role, " SQL_MICROS("t.created_at")
	" FROM tenant_members m JOIN tenants t ON t.id = m.tenant_id"
	" WHERE m.user_id = $1::uuid AND t.status <> 'deleted'"
	" AND ($2::bigint IS NULL OR (" SQL_MICROS("t.created_at") ", t.id) > ($2::bigint, $3::uuid))"
	" ORDER BY t.created_at, t.id LIMIT $4::int",
	4, 1, PG_PRIMARY,
};
static const struct pg_statement st_admin_get = {
	"tenant_store_admin_get", "SELECT " ADMIN_COLUMNS " FROM tenants t WHERE t.id = $1::uuid", 1, 1, PG_PRIMARY,
};
/* strpos() rather than LIKE: no wildcard to escape. */
static const struct pg_statement st_admin_list = {
	"tenant_store_admin_list",
	"SELECT " ADMIN_COLUMNS ", " SQL_MICROS("t.created_at") " FROM tenants t"
	" WHERE ($1::text IS NULL OR strpos(lower(t.name), lower($1)) > 0 OR t.id::text = lower($1))"
	" AND ($2::text IS NULL OR t.status = $2)"
	" AND ($3::bigint IS NULL OR (" SQL_MICROS("t.created_at") ", t.id) < ($3::bigint, $4::uuid))"
	" ORDER BY t.created_at DESC, t.id DESC LIMIT $5::int",
	5, 1, PG_PRIMARY,
};
static const struct pg_statement st_summary = {
	"tenant_store_summary", "SELECT " SUMMARY_COLUMNS " FROM tenants t WHERE t.id = $1::uuid", 1, 1, PG_PRIMARY,
};
static const struct pg_statement st_summaries = {
	"tenant_store_summaries",
	"SELECT " SUMMARY_COLUMNS " FROM tenants t WHERE ($1::text IS NULL OR t.status = $1) ORDER BY t.created_at, t.id",
	1, 1, PG_PRIMARY,
};

/* --------------------------------------------------------------- rows */

static struct json_object *nullable(PGresult *r, int i, int col)
{
	return PQgetisnull(r, i, col) ? NULL : json_object_new_string(PQgetvalue(r, i, col));
}

struct json_object *tenant_store_json(PGresult *r, int i, int col, const char *role)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, i, col)));
	json_object_object_add(o, "name", json_object_new_string(PQgetvalue(r, i, col + 1)));
	json_object_object_add(o, "status", json_object_new_string(PQgetvalue(r, i, col + 2)));
	if (role)
		json_object_object_add(o, "role", json_object_new_string(role));
	json_object_object_add(o, "createdAt", json_object_new_string(PQgetvalue(r, i, col + 3)));
	json_object_object_add(o, "updatedAt", json_object_new_string(PQgetvalue(r, i, col + 4)));
	json_object_object_add(o, "suspendedAt", nullable(r, i, col + 5));
	json_object_object_add(o, "deletedAt", nullable(r, i, col + 6));
	return o;
}

struct json_object *tenant_store_admin_json(PGresult *r, int i)
{
	struct json_object *o = tenant_store_json(r, i, 0, NULL);
	json_object_object_add(o, "createdBy", nullable(r, i, TENANT_STORE_NCOLUMNS));
	json_object_object_add(o, "memberCount", json_object_new_int64(atoll(PQgetvalue(r, i, TENANT_STORE_NCOLUMNS + 1))));
	return o;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

enum tenant_store_name tenant_store_name_check(const char *raw, const char **start, size_t *len)
{
	while (is_space(*raw))
		raw++;
	size_t n = strlen(raw);
	while (n > 0 && is_space(raw[n - 1]))
		n--;
	*start = raw;
	*len = n;
	if (n == 0)
		return TENANT_NAME_BLANK;
	if (n > TENANT_STORE_NAME_MAX)
		return TENANT_NAME_LONG;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)raw[i] < 0x20 || raw[i] == 0x7f)
			return TENANT_NAME_CONTROL;
	return TENANT_NAME_OK;
}

/* --------------------------------------------------------------- statements */

/* A status-like first column of at most one row into out: 1, 0, or -1. */
static int first_value(struct pg *db, const struct pg_statement *st, const char *const *params, char *out,
		       char *out2, char *err, size_t errlen)
{
	PGresult *r = pg_exec(db, st, params, err, errlen);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found) {
		snprintf(out, TENANT_STORE_STATUS_MAX, "%s", PQgetvalue(r, 0, 0));
		if (out2)
			snprintf(out2, TENANT_STORE_STATUS_MAX, "%s", PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return found;
}

int tenant_store_status(struct pg *db, const char *tenant_id, char *status, char *err, size_t errlen)
{
	const char *params[] = { tenant_id };
	return first_value(db, &st_status, params, status, NULL, err, errlen);
}

int tenant_store_lock(struct pg *db, const char *tenant_id, char *status, char *err, size_t errlen)
{
	const char *params[] = { tenant_id };
	return first_value(db, &st_lock, params, status, NULL, err, errlen);
}

int tenant_store_member(struct pg *db, const char *tenant_id, const char *user_id, char *status, char *role,
			char *err, size_t errlen)
{
	const char *params[] = { tenant_id, user_id };
	return first_value(db, &st_member, params, status, role, err, errlen);
}

PGresult *tenant_store_create(struct pg *db, const char *name, const char *creator, long long max, char *err,
			      size_t errlen)
{
	char text[24];
	snprintf(text, sizeof text, "%lld", max);
	if (max != TENANT_STORE_UNBOUNDED) {
		const char *lock[] = { creator };
		PGresult *r = pg_exec(db, &st_lock_creator, lock, err, errlen);
		if (r == NULL)
			return NULL;
		PQclear(r);
	}
	const char *params[] = { name, creator, max != TENANT_STORE_UNBOUNDED ? text : NULL };
	return pg_exec(db, &st_create, params, err, errlen);
}

PGresult *tenant_store_get(struct pg *db, const char *tenant_id, char *err, size_t errlen)
{
	const char *params[] = { tenant_id };
	return pg_exec(db, &st_get, params, err, errlen);
}

PGresult *tenant_store_rename(struct pg *db, const char *tenant_id, const char *name, char *err, size_t errlen)
{
	const char *params[] = { tenant_id, name };
	return pg_exec(db, &st_rename, params, err, errlen);
}

PGresult *tenant_store_delete(struct pg *db, const char *tenant_id, char *err, size_t errlen)
{
	const char *params[] = { tenant_id };
	return pg_exec(db, &st_delete, params, err, errlen);
}

PGresult *tenant_store_set_status(struct pg *db, const char *tenant_id, const char *to, char *err, size_t errlen)
{
	const char *params[] = { tenant_id, to };
	return pg_exec(db, &st_set_status, params, err, errlen);
}

PGresult *tenant_store_list_member(struct pg *db, const char *user_id, const char *after_key, const char *after_id,
				   const char *fetch, char *err, size_t errlen)
{
	const char *params[] = { user_id, after_key, after_id, fetch };
	return pg_exec(db, &st_list_member, params, err, errlen);
}

PGresult *tenant_store_admin_get(struct pg *db, const char *tenant_id, char *err, size_t errlen)
{
	const char *params[] = { tenant_id };
	return pg_exec(db, &st_admin_get, params, err, errlen);
}

PGresult *tenant_store_admin_list(struct pg *db, const char *query, const char *status, const char *after_key,
				  const char *after_id, const char *fetch, char *err, size_t errlen)
{
	const char *params[] = { query, status, after_key, after_id, fetch };
	return pg_exec(db, &st_admin_list, params, err, errlen);
}

PGresult *tenant_store_summary(struct pg *db, const char *tenant_id, char *err, size_t errlen)
{
	const char *params[] = { tenant_id };
	return pg_exec(db, &st_summary, params, err, errlen);
}

PGresult *tenant_store_summaries(struct pg *db, const char *status, char *err, size_t errlen)
{
	const char *params[] = { status };
	return pg_exec(db, &st_summaries, params, err, errlen);
}
