/* tenant_audit.h - one row of a tenant's audit log (tenant_audit).
 *
 * The tenants and keys responders and aigetctl all record their changes to
 * a tenant here, through the one statement, so that every writer fills the
 * row the same way.  A change made by an operator with aigetctl has no user:
 * its actor is NULL (the column's "the system") and its detail says
 * "by": "aigetctl". */
#ifndef AIGET_TENANT_AUDIT_H
#define AIGET_TENANT_AUDIT_H

#include <stddef.h>

#include <json-c/json.h>

#include "pg.h"

/* actor_id, target, request_id and detail may be NULL.  detail is not taken
 * over.  Not idempotent: it may run inside the caller's transaction.
 * 0, or -1 with a message in err. */
int tenant_audit_insert(struct pg *db, const char *tenant_id, const char *actor_id, const char *action,
			const char *target, const char *request_id, struct json_object *detail, char *err,
			size_t errlen);

#endif
