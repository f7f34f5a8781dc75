/* membership.h - who may do what in a tenant: one table, checked in one place.
 *
 * Roles are ordered member < admin < owner; each action needs a least role
 * (the table in membership.c).  A caller who is not a member of the tenant,
 * or asks for a tenant that does not exist or was deleted, gets 404: another
 * tenant's existence is not revealed.  A member lacking the role gets 403. */
#ifndef AIGET_MEMBERSHIP_H
#define AIGET_MEMBERSHIP_H

#include "request.h"

enum tenant_role { ROLE_NONE, ROLE_MEMBER, ROLE_ADMIN, ROLE_OWNER, ROLE__MAX };

enum tenant_action {
	ACT_TENANT_READ, ACT_TENANT_RENAME, ACT_TENANT_DELETE,
	ACT_MEMBERS_READ, ACT_MEMBERS_INVITE, ACT_MEMBERS_CHANGE_ROLE, ACT_MEMBERS_REMOVE,
	ACT_OWNERS_MANAGE,           /* grant, revoke or remove the owner role */
	ACT_LIMITS_READ, ACT_LIMITS_WRITE, ACT_USAGE_READ, ACT_AUDIT_READ,
	ACT_KEYS_READ, ACT_KEYS_MANAGE,
	ACT__MAX
};

struct tenant_ref {
	char id[37];
	char status[16];             /* "active" or "suspended" (deleted ones are 404) */
	enum tenant_role role;       /* the caller's */
};

/* "owner" -> ROLE_OWNER ...; ROLE_NONE for anything else. */
enum tenant_role membership_role_parse(const char *s);
const char *membership_role_name(enum tenant_role r);

/* Checks that req->user may do act in tenant_id; fills t.  0, or -1 when the
 * request was answered (404 bad id or not visible, 403 role too low, 503). */
int membership_require(struct request *req, const char *tenant_id, enum tenant_action act, struct tenant_ref *t);

/* 1 when role may do act. */
int membership_allows(enum tenant_role role, enum tenant_action act);

/* 1 when s is a canonical lower- or upper-case UUID string. */
int membership_is_uuid(const char *s);

#endif
