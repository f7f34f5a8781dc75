/* db.c - the tenant lock, and ids from the path.
 *
 * Statements and transactions run through shared/db_request.h: every
 * database failure is answered 503 with Retry-After, the cause logged,
 * never shown; a transaction that is not committed is rolled back before
 * the handler returns (a rollback is safe on every path), so the process's
 * connection never carries an open transaction into the next request. */
#include "tenants.h"

#include <ctype.h>
#include <stdio.h>

static const struct pg_statement st_lock = {
	"tenants_lock", "SELECT status FROM tenants WHERE id = $1::uuid FOR NO KEY UPDATE", 1, 0,
};

int db_lock_tenant(struct request *req, const char *tenant_id, char *status)
{
	const char *params[] = { tenant_id };
	PGresult *r = db_request_exec(req, &st_lock, params);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found)
		snprintf(status, 16, "%s", PQgetvalue(r, 0, 0));
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
