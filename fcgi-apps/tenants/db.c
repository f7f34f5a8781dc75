/* db.c - running the area's statements, its transactions and the tenant lock.
 *
 * Every database failure is answered the same way: 503 with Retry-After,
 * the cause logged, never shown.  A transaction that is not committed is
 * always rolled back before the handler returns, so the process's connection
 * never carries an open transaction into the next request. */
#include "tenants.h"

#include <ctype.h>
#include <stdio.h>

#include "log.h"

static const struct pg_statement st_lock = {
	"tenants_lock", "SELECT status FROM tenants WHERE id = $1::uuid FOR NO KEY UPDATE", 1, 0,
};

PGresult *db_exec(struct request *req, const struct pg_statement *st, const char *const *params)
{
	char err[256];
	PGresult *r = pg_exec(req->ctx->db, st, params, err, sizeof err);
	if (r == NULL)
		response_unavailable(req, st->name, err);
	return r;
}

int db_run(struct request *req, const struct pg_statement *st, const char *const *params)
{
	PGresult *r = db_exec(req, st, params);
	PQclear(r);
	return r ? 0 : -1;
}

int db_begin(struct request *req)
{
	return db_run(req, &pg_begin, NULL);
}

void db_rollback(struct request *req)
{
	char err[256];
	PQclear(pg_exec(req->ctx->db, &pg_rollback, NULL, err, sizeof err));
}

int db_commit(struct request *req)
{
	if (db_run(req, &pg_commit, NULL) == 0)
		return 0;
	db_rollback(req);
	return -1;
}

int db_lock_tenant(struct request *req, const char *tenant_id, char *status)
{
	const char *params[] = { tenant_id };
	PGresult *r = db_exec(req, &st_lock, params);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found)
		snprintf(status, 16, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return found;
}

const char *path_id(struct request *req, const char *name)
{
	const char *v = request_param(req, name);
	if (v == NULL)
		return NULL;
	char *s = arena_strdup(req->arena, v);
	for (char *c = s; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return s;
}
