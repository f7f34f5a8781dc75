/* audit.c - security events into auth_audit (who, what, when, from where, which request). */
#include "auth.h"

#include "db_request.h"
#include "log.h"

static const struct pg_statement st_audit = {
	"audit_insert",
	"INSERT INTO auth_audit (event, user_id, email, ip, request_id, detail)"
	" VALUES ($1, nullif($2, '')::uuid, nullif($3, ''), $4, $5, $6::jsonb)",
	6, 0,
};

void audit_event(struct request *req, const char *event, const char *user_id, const char *email,
		 struct json_object *detail)
{
	const char *params[] = {
		event, user_id ? user_id : "", email ? email : "", limits_client_ip(req), req->request_id,
		detail ? json_object_to_json_string_ext(detail, JSON_C_TO_STRING_PLAIN) : NULL,
	};
	char err[256];
	if (db_request_keep(req, pg_exec(req->ctx->db, &st_audit, params, err, sizeof err)) == NULL)
		log_error("audit %s not recorded: %s", event, err);
	json_object_put(detail);
}
