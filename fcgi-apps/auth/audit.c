/* audit.c - security events into auth_audit (who, what, when, from where, which request),
 * through shared/user_store.c's one statement, as aigetctl's. */
#include "auth.h"

#include "log.h"

void audit_event(struct request *req, const char *event, const char *user_id, const char *email,
		 struct json_object *detail)
{
	char err[256];
	if (user_store_audit(req->ctx->db, event, user_id && *user_id ? user_id : NULL, email && *email ? email : NULL,
			     limits_client_ip(req), req->request_id,
			     detail ? json_object_to_json_string_ext(detail, JSON_C_TO_STRING_PLAIN) : NULL, err,
			     sizeof err) != 0)
		log_error("audit %s not recorded: %s", event, err);
	json_object_put(detail);
}
