/* db.c - the tenant lock for a request, and ids from the path.
 *
 * Statements and transactions run through shared/db_request.h: every
 * database failure is answered 503 with Retry-After, the cause logged,
 * never shown; a transaction that is not committed is rolled back before
 * the handler returns (a rollback is safe on every path), so the process's
 * connection never carries an open transaction into the next request. */
#include "tenants.h"

#include <ctype.h>
#include <stdio.h>

int db_lock_tenant(struct request *req, const char *tenant_id, char *status)
{
	char err[256];
	return db_request_rc(req, tenant_store_lock(req->ctx->db, tenant_id, status, err, sizeof err), "tenant_store_lock",
			     err);
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
