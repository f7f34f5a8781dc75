/* tenant_limits.h - a tenant's own limits and ceilings: names, bounds, statements, JSON.
 *
 * The tenants responder (owners, site admins) and aigetctl read and set
 * limits through these, so both take the same names and bounds and write
 * the rows the same way.  A limit the tenant has not set (its column NULL)
 * is the configured default (TENANT_DEFAULT_*).  Whoever changes limits
 * must then call api_key_invalidate_tenant(): cached keys carry them.
 *
 * A ceiling is how far the tenant's owners may raise a limit themselves
 * (tenant_limit_ceilings; a NULL column is the configured
 * TENANT_CEILING_*); site admins and operators set limits past it, and set
 * the ceilings.  Ceilings bound what owners ask for, not what is in force:
 * a limit an admin set above one stays until someone lowers it. */
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

/* The tenant's limits and ceilings, one row (columns NULL where the tenant
 * has set none).  NULL on error.  _locked is the same statement for inside
 * a transaction (never retried on a fresh connection, outside it). */
PGresult *tenant_limits_get(struct pg *db, const char *tenant_id, char *err, size_t errlen);
PGresult *tenant_limits_get_locked(struct pg *db, const char *tenant_id, char *err, size_t errlen);

/* Sets the limits whose bit (1 << enum tenant_limit) is in mask to value[i]
 * (decimal text; NULL: back to the default); the others keep their value.
 * Returns the new row, as tenant_limits_get() does, or NULL on error.  Not
 * idempotent (it may run in the caller's transaction). */
PGresult *tenant_limits_put(struct pg *db, const char *tenant_id, const char *const value[TENANT_LIMIT__MAX],
			    unsigned mask, char *err, size_t errlen);
/* The same for the ceilings (NULL: back to TENANT_CEILING_*). */
PGresult *tenant_ceilings_put(struct pg *db, const char *tenant_id, const char *const value[TENANT_LIMIT__MAX],
			      unsigned mask, char *err, size_t errlen);

/* The limits and ceilings in force, from a row of these statements (r NULL
 * or empty: the configured ones). */
void tenant_limits_effective(const struct config *cfg, PGresult *r, long long limits[TENANT_LIMIT__MAX],
			     long long ceilings[TENANT_LIMIT__MAX]);

/* {tenantId, limits: {...in force}, isDefault: {...}, ceilings: {...in
 * force}, updatedAt} from a row of these statements. */
struct json_object *tenant_limits_json(const struct config *cfg, const char *tenant_id, PGresult *r);
/* {tenantId, ceilings: {...in force}, isDefault: {...}, updatedAt}. */
struct json_object *tenant_ceilings_json(const struct config *cfg, const char *tenant_id, PGresult *r);

#endif
