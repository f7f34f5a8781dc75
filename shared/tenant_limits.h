/* tenant_limits.h - a tenant's own limits (tenant_limits): names, bounds, statements, JSON.
 *
 * The tenants responder (owners, site admins) and aigetctl read and set
 * limits through these, so both take the same names and bounds and write
 * the row the same way.  A limit the tenant has not set (its column NULL)
 * is the configured default (TENANT_DEFAULT_*).  Whoever changes limits
 * must then call apikey_invalidate_tenant(): cached keys carry them. */
#ifndef AIGET_TENANT_LIMITS_H
#define AIGET_TENANT_LIMITS_H

#include <stddef.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "config.h"
#include "pg.h"

enum tenant_limit {
	TENANT_LIMIT_QPS, TENANT_LIMIT_BURST, TENANT_LIMIT_CONCURRENCY, TENANT_LIMIT_MONTHLY,
	TENANT_LIMIT_MAX_MEMORIES, TENANT_LIMIT__MAX
};

struct tenant_limit_field {
	const char *field;            /* the JSON name: "monthlyRequests" */
	const char *option;           /* aigetctl's option: "--monthly-requests" */
	long long max;                /* a value is 1..max */
};
extern const struct tenant_limit_field tenant_limit_fields[TENANT_LIMIT__MAX];

/* The tenant's row (no row: every limit is the default).  NULL on error. */
PGresult *tenant_limits_get(struct pg *db, const char *tenant_id, char *err, size_t errlen);

/* Sets the limits whose bit (1 << enum tenant_limit) is in mask to value[i]
 * (decimal text; NULL: back to the default); the others keep their value.
 * Returns the new row, or NULL on error.  Not idempotent (it may run in the
 * caller's transaction). */
PGresult *tenant_limits_put(struct pg *db, const char *tenant_id, const char *const value[TENANT_LIMIT__MAX],
			    unsigned mask, char *err, size_t errlen);

/* {tenantId, limits: {...effective}, isDefault: {...}, updatedAt} from a
 * row of either statement (r NULL or empty: all defaults). */
struct json_object *tenant_limits_json(const struct config *cfg, const char *tenant_id, PGresult *r);

#endif
