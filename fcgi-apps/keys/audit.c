/* audit.c - changes to keys into tenant_audit (who, what, when, which request). */
#include "keys.h"

#include "auth_token.h"
#include "log.h"
#include "tenant_audit.h"

void audit_key(struct request *req, const char *tenant_id, const char *action, const char *key_id,
	       struct json_object *detail)
{
	char err[256];
	if (tenant_audit_insert(req->ctx->db, tenant_id, req->user->id, action, key_id, req->request_id, detail, err,
				sizeof err) != 0)
		log_error("audit %s of key %s not recorded: %s", action, key_id, err);
	json_object_put(detail);
}
