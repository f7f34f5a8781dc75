/* tenant_audit.c - the statement that writes a tenant_audit row. */
#include "tenant_audit.h"

static const struct pg_statement st_insert = {
	"tenant_audit_insert",
	"INSERT INTO tenant_audit (tenant_id, actor_id, action, target, request_id, detail)"
	" VALUES ($1::uuid, $2::uuid, $3, nullif($4, ''), $5, $6::jsonb)",
	6, 0, PG_PRIMARY,
};

int tenant_audit_insert(struct pg *db, const char *tenant_id, const char *actor_id, const char *action,
			const char *target, const char *request_id, struct json_object *detail, char *err,
			size_t errlen)
{
	const char *params[] = {
		tenant_id, actor_id, action, target, request_id,
		detail ? json_object_to_json_string_ext(detail, JSON_C_TO_STRING_PLAIN) : NULL,
	};
	PGresult *r = pg_exec(db, &st_insert, params, err, errlen);
	PQclear(r);
	return r ? 0 : -1;
}
