/* members.c - a tenant's members: list, add (or invite), change a role, remove, leave.
 *
 * Who may do what is the role table of shared/membership.c: admins manage
 * members, only owners grant, revoke or remove the owner role, and anyone
 * may leave.  A tenant always keeps an owner: every change that can take the
 * owner role away first locks the tenant's row, then counts its owners in a
 * statement that starts after the lock is held, so two owners demoting each
 * other at the same moment cannot both succeed (the second sees the first's
 * change and is refused with 409).  The caller's own role is read again
 * under that lock, so a role lost a moment ago no longer counts.
 *
 * Adding by email makes an invitation (202 {invitation}) for every address,
 * also one whose account exists and is verified; the person accepts it once
 * their address is verified (invitations.c).  One answer for every address
 * is honest only if what follows is the same too: an account added at once
 * would show in the members list a moment later, and the adder would learn
 * which addresses have proved accounts all the same.  So nobody is added
 * without accepting, which also means nobody is made a member of a tenant
 * they did not ask for.  The one other answer, 409 for the address of a
 * member, tells an admin only what the members list shows them anyway.
 * Adding is rate limited per user and per client address (throttle.c):
 * invitations reach people outside the tenant, and a caller may make
 * tenants to send them from. */
#include "tenants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth_token.h"
#include "email.h"
#include "fields.h"

static const char *const roles[] = { "owner", "admin", "member", NULL };

static const struct pg_statement st_list = {
	"members_list",
	"SELECT " MEMBER_COLUMNS ", " SQL_MICROS("m.created_at")
	" FROM tenant_members m JOIN users u ON u.id = m.user_id"
	" WHERE m.tenant_id = $1::uuid"
	" AND ($2::bigint IS NULL OR (" SQL_MICROS("m.created_at") ", m.user_id) > ($2::bigint, $3::uuid))"
	" ORDER BY m.created_at, m.user_id LIMIT $4::int",
	4, 1, PG_PRIMARY,
};
static const struct pg_statement st_is_member = {
	"members_is_member",
	"SELECT EXISTS (SELECT 1 FROM tenant_members m JOIN users u ON u.id = m.user_id"
	" WHERE m.tenant_id = $1::uuid AND lower(u.email) = lower($2))",
	2, 0, PG_PRIMARY,
};
/* A new invitation replaces any pending one for the same address. */
static const struct pg_statement st_revoke_pending = {
	"members_revoke_pending",
	"UPDATE tenant_invitations SET revoked_at = now() WHERE tenant_id = $1::uuid AND lower(email) = lower($2)"
	" AND accepted_at IS NULL AND revoked_at IS NULL",
	2, 0, PG_PRIMARY,
};
/* Pending invitations other than the one a new invitation replaces. */
static const struct pg_statement st_count_pending = {
	"members_count_pending",
	"SELECT count(*) FROM tenant_invitations WHERE tenant_id = $1::uuid AND accepted_at IS NULL"
	" AND revoked_at IS NULL AND expires_at > now() AND lower(email) <> lower($2)",
	2, 0, PG_PRIMARY,
};
static const struct pg_statement st_invite = {
	"members_invite",
	"WITH i AS (INSERT INTO tenant_invitations (tenant_id, email, role, invited_by, expires_at)"
	" VALUES ($1::uuid, $2, $3, $4::uuid, now() + $5::int * interval '1 hour') RETURNING *)"
	" SELECT " INVITATION_COLUMNS " FROM i JOIN tenants t ON t.id = i.tenant_id",
	5, 0, PG_PRIMARY,
};
/* Read after the tenant's row is locked: the caller's role, the target's,
 * and the number of owners. */
static const struct pg_statement st_roles = {
	"members_roles",
	"SELECT (SELECT role FROM tenant_members WHERE tenant_id = $1::uuid AND user_id = $2::uuid),"
	" (SELECT role FROM tenant_members WHERE tenant_id = $1::uuid AND user_id = $3::uuid),"
	" (SELECT count(*) FROM tenant_members WHERE tenant_id = $1::uuid AND role = 'owner')",
	3, 0, PG_PRIMARY,
};
static const struct pg_statement st_set_role = {
	"members_set_role",
	"WITH m AS (UPDATE tenant_members SET role = $3 WHERE tenant_id = $1::uuid AND user_id = $2::uuid"
	" RETURNING *) SELECT " MEMBER_COLUMNS " FROM m JOIN users u ON u.id = m.user_id",
	3, 0, PG_PRIMARY,
};
static const struct pg_statement st_remove = {
	"members_remove", "DELETE FROM tenant_members WHERE tenant_id = $1::uuid AND user_id = $2::uuid",
	2, 0, PG_PRIMARY,
};

struct json_object *member_json(PGresult *r, int i, int col)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "userId", json_object_new_string(PQgetvalue(r, i, col)));
	json_object_object_add(o, "email", json_object_new_string(PQgetvalue(r, i, col + 1)));
	json_object_object_add(o, "name",
			       PQgetisnull(r, i, col + 2) ? NULL : json_object_new_string(PQgetvalue(r, i, col + 2)));
	json_object_object_add(o, "role", json_object_new_string(PQgetvalue(r, i, col + 3)));
	json_object_object_add(o, "joinedAt", json_object_new_string(PQgetvalue(r, i, col + 4)));
	return o;
}

static struct json_object *wrap(const char *name, struct json_object *v)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, name, v);
	return o;
}

static struct json_object *detail2(const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, k1, json_object_new_string(v1));
	if (k2)
		json_object_object_add(o, k2, json_object_new_string(v2));
	return o;
}

/* Locks the tenant (not deleted) in a transaction begun here; 0, or -1
 * when answered (404, 503) and rolled back. */
static int begin_locked(struct request *req, const char *tenant_id)
{
	char status[16];
	if (db_request_begin(req) != 0)
		return -1;
	int found = db_lock_tenant(req, tenant_id, status);
	if (found > 0 && strcmp(status, "deleted") != 0)
		return 0;
	db_request_rollback(req);
	if (found >= 0)
		response_error(req, 404, "not_found", "no such tenant");
	return -1;
}

/* ------------------------------------------------------------ handlers */

void members_list(struct request *req)
{
	static const char *const allowed[] = { "limit", "cursor", NULL };
	struct page p;
	struct tenant_ref t;
	if (query_only(req, allowed) != 0 || page_parse(req, &p, 0) != 0 ||
	    membership_require(req, path_id(req, "tenantId"), ACT_MEMBERS_READ, &t) != 0)
		return;
	const char *params[] = { t.id, p.after_key, p.after_id, p.fetch };
	PGresult *r = db_request_exec(req, &st_list, params);
	if (r == NULL)
		return;
	struct json_object *body = json_object_new_object();
	int n = page_finish(req, &p, r, MEMBER_NCOLUMNS, 0, body);
	struct json_object *list = json_object_new_array();
	for (int i = 0; i < n; i++)
		json_object_array_add(list, member_json(r, i, 0));
	json_object_object_add(body, "members", list);
	response_json(req, 200, body);
}

/* The invitation branch of members_add, inside its transaction: 0 with
 * *out set, or -1 when answered. */
static int invite(struct request *req, const struct tenant_ref *t, const char *email, const char *role,
		  struct json_object **out)
{
	const char *p2[] = { t->id, email };
	PGresult *r = db_request_exec(req, &st_count_pending, p2);
	if (r == NULL)
		return -1;
	long pending = atol(PQgetvalue(r, 0, 0));
	if (pending >= INVITATIONS_PENDING_MAX) {
		response_error(req, 409, "conflict", "the tenant has %d pending invitations; revoke some first",
			       INVITATIONS_PENDING_MAX);
		return -1;
	}
	if (db_request_run(req, &st_revoke_pending, p2) != 0)
		return -1;
	const char *hours = arena_printf(req->arena, "%lld", req->ctx->cfg.tenant_invitation_hours);
	const char *p3[] = { t->id, email, role, req->user->id, hours };
	r = db_request_exec(req, &st_invite, p3);
	if (r == NULL)
		return -1;
	const char *id = PQgetvalue(r, 0, 0);
	*out = invitation_json(r, 0, 0);
	if (audit_record(req, t->id, "invitation.create", id, detail2("email", email, "role", role)) != 0) {
		json_object_put(*out);
		return -1;
	}
	return 0;
}

void members_add(struct request *req)
{
	static const char *const allowed[] = { "email", "role", NULL };
	const char *raw, *role;
	char email[EMAIL_MAX + 1];
	struct tenant_ref t;
	if (fields_only(req, allowed) != 0 || field_string(req, "email", 1, 2 * EMAIL_MAX, &raw) != 0 ||
	    field_enum(req, "role", 0, roles, &role) != 0)
		return;
	if (email_normalize(raw, email) != 0) {
		response_error(req, 400, "invalid_request", "email is not a valid address");
		return;
	}
	if (role == NULL)
		role = "member";
	/* Counted before the membership check: every attempt costs. */
	if (throttle_hit(req, THROTTLE_INVITE_USER) != 0 || throttle_hit(req, THROTTLE_INVITE_IP) != 0 ||
	    membership_require(req, path_id(req, "tenantId"), ACT_MEMBERS_INVITE, &t) != 0)
		return;
	if (strcmp(role, "owner") == 0 && !membership_allows(t.role, ACT_OWNERS_MANAGE)) {
		response_error(req, 403, "forbidden", "only owners can grant the owner role");
		return;
	}
	if (begin_locked(req, t.id) != 0)
		return;
	const char *p1[] = { t.id, email };
	PGresult *r = db_request_exec(req, &st_is_member, p1);
	if (r == NULL) {
		db_request_rollback(req);
		return;
	}
	int member = PQgetvalue(r, 0, 0)[0] == 't';
	if (member) {
		db_request_rollback(req);
		response_error(req, 409, "conflict", "that address is a member of this tenant already");
		return;
	}
	struct json_object *out = NULL;
	if (invite(req, &t, email, role, &out) != 0) {
		db_request_rollback(req);
		return;
	}
	if (db_request_commit(req) != 0) {
		json_object_put(out);
		return;
	}
	response_json(req, 202, wrap("invitation", out));
}

/* The target of /members/{userId}: NULL (answered 404) when malformed. */
static const char *target_user(struct request *req)
{
	const char *id = path_id(req, "userId");
	if (!membership_is_uuid(id)) {
		response_error(req, 404, "not_found", "no such member");
		return NULL;
	}
	return id;
}

/* Reads the caller's role, the target's and the owner count under the lock
 * and checks the caller may still do act: 0, or -1 when answered. */
static int roles_locked(struct request *req, const struct tenant_ref *t, const char *user_id,
			enum tenant_action act, enum tenant_role *actor, enum tenant_role *target, long *owners)
{
	const char *params[] = { t->id, req->user->id, user_id };
	PGresult *r = db_request_exec(req, &st_roles, params);
	if (r == NULL)
		return -1;
	*actor = membership_role_parse(PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0));
	*target = membership_role_parse(PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1));
	*owners = atol(PQgetvalue(r, 0, 2));
	if (*actor == ROLE_NONE) {
		response_error(req, 404, "not_found", "no such tenant");
		return -1;
	}
	if (!membership_allows(*actor, act)) {
		response_error(req, 403, "forbidden", "your role in this tenant (%s) does not allow this",
			       membership_role_name(*actor));
		return -1;
	}
	if (*target == ROLE_NONE) {
		response_error(req, 404, "not_found", "no such member");
		return -1;
	}
	return 0;
}

void members_change_role(struct request *req)
{
	static const char *const allowed[] = { "role", NULL };
	const char *role, *user_id;
	struct tenant_ref t;
	if (fields_only(req, allowed) != 0 || field_enum(req, "role", 1, roles, &role) != 0 ||
	    membership_require(req, path_id(req, "tenantId"), ACT_MEMBERS_CHANGE_ROLE, &t) != 0 ||
	    (user_id = target_user(req)) == NULL || begin_locked(req, t.id) != 0)
		return;
	enum tenant_role actor, target, wanted = membership_role_parse(role);
	long owners;
	if (roles_locked(req, &t, user_id, ACT_MEMBERS_CHANGE_ROLE, &actor, &target, &owners) != 0) {
		db_request_rollback(req);
		return;
	}
	if ((target == ROLE_OWNER || wanted == ROLE_OWNER) && target != wanted &&
	    !membership_allows(actor, ACT_OWNERS_MANAGE)) {
		db_request_rollback(req);
		response_error(req, 403, "forbidden", "only owners can grant or revoke the owner role");
		return;
	}
	if (target == ROLE_OWNER && wanted != ROLE_OWNER && owners <= 1) {
		db_request_rollback(req);
		response_error(req, 409, "conflict", "a tenant must keep at least one owner");
		return;
	}
	const char *params[] = { t.id, user_id, role };
	PGresult *r = db_request_one(req, &st_set_role, params, 404, "no such member");
	if (r == NULL) {
		db_request_rollback(req);
		return;
	}
	struct json_object *out = member_json(r, 0, 0);
	if ((target != wanted && audit_record(req, t.id, "member.role", user_id,
					      detail2("from", membership_role_name(target), "to", role)) != 0) ||
	    db_request_commit(req) != 0) {
		json_object_put(out);
		db_request_rollback(req);
		return;
	}
	response_json(req, 200, wrap("member", out));
}

void members_remove(struct request *req)
{
	const char *user_id;
	struct tenant_ref t;
	if ((user_id = target_user(req)) == NULL)
		return;
	/* Leaving is removing oneself: any role may, as long as an owner stays. */
	int self = strcasecmp(user_id, req->user->id) == 0;
	enum tenant_action act = self ? ACT_MEMBERS_READ : ACT_MEMBERS_REMOVE;
	if (membership_require(req, path_id(req, "tenantId"), act, &t) != 0 || begin_locked(req, t.id) != 0)
		return;
	enum tenant_role actor, target;
	long owners;
	if (roles_locked(req, &t, user_id, act, &actor, &target, &owners) != 0) {
		db_request_rollback(req);
		return;
	}
	if (target == ROLE_OWNER && !self && !membership_allows(actor, ACT_OWNERS_MANAGE)) {
		db_request_rollback(req);
		response_error(req, 403, "forbidden", "only owners can remove an owner");
		return;
	}
	if (target == ROLE_OWNER && owners <= 1) {
		db_request_rollback(req);
		response_error(req, 409, "conflict", self ? "the last owner cannot leave; make someone else owner first"
							  : "a tenant must keep at least one owner");
		return;
	}
	const char *params[] = { t.id, user_id };
	if (db_request_run(req, &st_remove, params) != 0 ||
	    audit_record(req, t.id, self ? "member.leave" : "member.remove", user_id,
			 detail2("role", membership_role_name(target), NULL, NULL)) != 0 ||
	    db_request_commit(req) != 0) {
		db_request_rollback(req);
		return;
	}
	response_no_content(req);
}
