/* audit.c - changes to keys into tenant_audit (who, what, when, which request). */
#include "keys.h"

#include "log.h"
#include "pg.h"
#include "auth_token.h"

static const struct pg_statement st_audit = {
	"keys_audit",
	"INSERT INTO tenant_audit (tenant_id, actor_id, action, target, request_id, detail)"
	" VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6::jsonb)",
	6, 0,
};

void audit_key(struct request *req, const char *tenant_id, const char *action, const char *key_id,
	       struct json_object *detail)
{
	const char *params[] = {
		tenant_id, req->user->id, action, key_id, req->request_id,
		detail ? json_object_to_json_string_ext(detail, JSON_C_TO_STRING_PLAIN) : NULL,
	};
	char err[256];
	PGresult *r = pg_exec(req->ctx->db, &st_audit, params, err, sizeof err);
	if (r == NULL)
		log_error("audit %s of key %s not recorded: %s", action, key_id, err);
	PQclear(r);
	json_object_put(detail);
}
