/* membership.c - the role table and the one membership check. */
#include "membership.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "auth_token.h"
#include "db_request.h"
#include "log.h"
#include "tenant_store.h"

/* The least role each action needs.  Owners are the only ones who can touch
 * the owner role or delete the tenant; admins run the day-to-day (members,
 * keys, limits, audit); members can look. */
static const enum tenant_role needs[ACT__MAX] = {
	[ACT_TENANT_READ]         = ROLE_MEMBER,
	[ACT_TENANT_RENAME]       = ROLE_ADMIN,
	[ACT_TENANT_DELETE]       = ROLE_OWNER,
	[ACT_MEMBERS_READ]        = ROLE_MEMBER,
	[ACT_MEMBERS_INVITE]      = ROLE_ADMIN,
	[ACT_MEMBERS_CHANGE_ROLE] = ROLE_ADMIN,
	[ACT_MEMBERS_REMOVE]      = ROLE_ADMIN,
	[ACT_OWNERS_MANAGE]       = ROLE_OWNER,
	[ACT_LIMITS_READ]         = ROLE_MEMBER,
	[ACT_LIMITS_WRITE]        = ROLE_OWNER,
	[ACT_USAGE_READ]          = ROLE_MEMBER,
	[ACT_AUDIT_READ]          = ROLE_ADMIN,
	[ACT_KEYS_READ]           = ROLE_ADMIN,
	[ACT_KEYS_MANAGE]         = ROLE_ADMIN,
};

static const char *const role_names[ROLE__MAX] = { "none", "member", "admin", "owner" };

enum tenant_role membership_role_parse(const char *s)
{
	for (int r = ROLE_MEMBER; r < ROLE__MAX; r++)
		if (s && strcmp(s, role_names[r]) == 0)
			return (enum tenant_role)r;
	return ROLE_NONE;
}

const char *membership_role_name(enum tenant_role r)
{
	return r < ROLE__MAX ? role_names[r] : "none";
}

int membership_allows(enum tenant_role role, enum tenant_action act)
{
	return act < ACT__MAX && role != ROLE_NONE && role >= needs[act];
}

int membership_is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	if (s == NULL || strlen(s) != sizeof shape - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == '-' ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]) || s[i] == '\0')
			return 0;
	return 1;
}

int membership_require(struct request *req, const char *tenant_id, enum tenant_action act, struct tenant_ref *t)
{
	memset(t, 0, sizeof *t);
	if (!membership_is_uuid(tenant_id)) {
		response_error(req, 404, "not_found", "no such tenant");
		return -1;
	}
	char err[256], status[TENANT_STORE_STATUS_MAX], role[TENANT_STORE_STATUS_MAX];
	int found = db_request_rc(req, tenant_store_member(req->ctx->db, tenant_id, req->user->id, status, role, err,
							   sizeof err), "tenant_store_member", err);
	if (found < 0)
		return -1;
	if (found) {
		snprintf(t->id, sizeof t->id, "%s", tenant_id);
		snprintf(t->status, sizeof t->status, "%s", status);
		t->role = membership_role_parse(role);
	}
	if (t->role == ROLE_NONE) {
		response_error(req, 404, "not_found", "no such tenant");
		return -1;
	}
	if (!membership_allows(t->role, act)) {
		response_error(req, 403, "forbidden", "your role in this tenant (%s) does not allow this",
			       membership_role_name(t->role));
		return -1;
	}
	return 0;
}
