/* invitations.c - invitations to a tenant: the invitee's list and acceptance,
 * and a tenant's admins' list and revocation.
 *
 * An invitation names an email address, not an account: it is made when
 * someone is added by address (members.c, for every address), and expires
 * after TENANT_INVITATION_HOURS.  It is shown to, and accepted by, the
 * account whose address matches it without regard to case, and only once
 * that address is verified (shared/email_proof.h): accounts are made
 * without proving the address, and an invitation must go neither to nor
 * before the eyes of whoever signs up first with it.  An unverified caller
 * asking for their invitations gets 403 rather than an empty list, which
 * would say there are none.
 *
 * Answers on acceptance: an invitation that does not exist, is not the
 * caller's, was revoked or accepted, or whose tenant was deleted is a 404 (an
 * invitation's existence is only ever revealed to its invitee); one that is
 * the caller's but has expired is a 410, so the client can say to ask for a
 * new one; an unverified address is a 403; a caller who is a member already
 * gets 409 and the invitation stays for its admins to revoke. */
#include "tenants.h"

#include <stdio.h>
#include <string.h>

#include "auth_token.h"
#include "email_proof.h"

static const struct pg_statement st_mine = {
	"invitations_mine",
	"SELECT " INVITATION_COLUMNS ", " SQL_MICROS("i.created_at")
	" FROM tenant_invitations i JOIN tenants t ON t.id = i.tenant_id JOIN users u ON u.id = $1::uuid"
	" WHERE u.email_verified AND lower(i.email) = lower(u.email) AND i.accepted_at IS NULL AND i.revoked_at IS NULL"
	" AND i.expires_at > now() AND t.status <> 'deleted'"
	" AND ($2::bigint IS NULL OR (" SQL_MICROS("i.created_at") ", i.id) < ($2::bigint, $3::uuid))"
	" ORDER BY i.created_at DESC, i.id DESC LIMIT $4::int",
	4, 1, PG_PRIMARY,
};
static const struct pg_statement st_of_tenant = {
	"invitations_of_tenant",
	"SELECT " INVITATION_COLUMNS ", " SQL_MICROS("i.created_at")
	" FROM tenant_invitations i JOIN tenants t ON t.id = i.tenant_id"
	" WHERE i.tenant_id = $1::uuid AND i.accepted_at IS NULL AND i.revoked_at IS NULL"
	" AND ($2::bigint IS NULL OR (" SQL_MICROS("i.created_at") ", i.id) < ($2::bigint, $3::uuid))"
	" ORDER BY i.created_at DESC, i.id DESC LIMIT $4::int",
	4, 1, PG_PRIMARY,
};
static const struct pg_statement st_state = {
	"invitations_state",
	"SELECT i.tenant_id, lower(i.email) = lower(u.email) AND i.accepted_at IS NULL AND i.revoked_at IS NULL"
	" AND t.status <> 'deleted', i.expires_at <= now(), u.email_verified,"
	" EXISTS (SELECT 1 FROM tenant_members m WHERE m.tenant_id = i.tenant_id AND m.user_id = u.id)"
	" FROM tenant_invitations i JOIN tenants t ON t.id = i.tenant_id JOIN users u ON u.id = $2::uuid"
	" WHERE i.id = $1::uuid",
	2, 1, PG_PRIMARY,
};
static const struct pg_statement st_accept = {
	"invitations_accept",
	"UPDATE tenant_invitations SET accepted_at = now() WHERE id = $1::uuid AND accepted_at IS NULL"
	" AND revoked_at IS NULL AND expires_at > now() RETURNING role",
	1, 0, PG_PRIMARY,
};
static const struct pg_statement st_join = {
	"invitations_join",
	"WITH m AS (INSERT INTO tenant_members (tenant_id, user_id, role) VALUES ($1::uuid, $2::uuid, $3)"
	" ON CONFLICT (tenant_id, user_id) DO NOTHING RETURNING *)"
	" SELECT " MEMBER_COLUMNS ", " TENANT_STORE_COLUMNS
	" FROM m JOIN users u ON u.id = m.user_id JOIN tenants t ON t.id = m.tenant_id",
	3, 0, PG_PRIMARY,
};
static const struct pg_statement st_revoke = {
	"invitations_revoke",
	"UPDATE tenant_invitations SET revoked_at = now() WHERE id = $1::uuid AND tenant_id = $2::uuid"
	" AND accepted_at IS NULL AND revoked_at IS NULL RETURNING email, role",
	2, 0, PG_PRIMARY,
};

struct json_object *invitation_json(PGresult *r, int i, int col)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, i, col)));
	json_object_object_add(o, "tenantId", json_object_new_string(PQgetvalue(r, i, col + 1)));
	json_object_object_add(o, "tenantName", json_object_new_string(PQgetvalue(r, i, col + 2)));
	json_object_object_add(o, "email", json_object_new_string(PQgetvalue(r, i, col + 3)));
	json_object_object_add(o, "role", json_object_new_string(PQgetvalue(r, i, col + 4)));
	json_object_object_add(o, "invitedBy",
			       PQgetisnull(r, i, col + 5) ? NULL : json_object_new_string(PQgetvalue(r, i, col + 5)));
	json_object_object_add(o, "createdAt", json_object_new_string(PQgetvalue(r, i, col + 6)));
	json_object_object_add(o, "expiresAt", json_object_new_string(PQgetvalue(r, i, col + 7)));
	json_object_object_add(o, "status",
			       json_object_new_string(PQgetvalue(r, i, col + 8)[0] == 't' ? "expired" : "pending"));
	return o;
}

static void list(struct request *req, const struct pg_statement *st, const char *owner, const struct page *p)
{
	const char *params[] = { owner, p->after_key, p->after_id, p->fetch };
	PGresult *r = db_request_exec(req, st, params);
	if (r == NULL)
		return;
	struct json_object *body = json_object_new_object();
	int n = page_finish(req, p, r, INVITATION_NCOLUMNS, 0, body);
	struct json_object *arr = json_object_new_array();
	for (int i = 0; i < n; i++)
		json_object_array_add(arr, invitation_json(r, i, 0));
	json_object_object_add(body, "invitations", arr);
	response_json(req, 200, body);
}

static int parse_page(struct request *req, struct page *p)
{
	static const char *const allowed[] = { "limit", "cursor", NULL };
	return query_only(req, allowed) != 0 || page_parse(req, p, 0) != 0 ? -1 : 0;
}

static const char *invitation_id(struct request *req)
{
	const char *id = path_id(req, "invitationId");
	if (!membership_is_uuid(id)) {
		response_error(req, 404, "not_found", "no such invitation");
		return NULL;
	}
	return id;
}

/* ------------------------------------------------------------ handlers */

void invitations_mine(struct request *req)
{
	struct page p;
	if (parse_page(req, &p) != 0)
		return;
	char err[256];
	enum email_proof_state st = email_proof_of_user(req->ctx->db, req->user->id, err, sizeof err);
	if (st == EMAIL_PROOF_ERROR) {
		response_unavailable(req, "email_proof_of_user", err);
		return;
	}
	if (st != EMAIL_PROOF_VERIFIED) {
		response_error(req, 403, "forbidden", "verify your email address to see the invitations sent to it");
		return;
	}
	list(req, &st_mine, req->user->id, &p);
}

void invitations_list(struct request *req)
{
	struct page p;
	struct tenant_ref t;
	if (parse_page(req, &p) == 0 &&
	    membership_require(req, path_id(req, "tenantId"), ACT_MEMBERS_INVITE, &t) == 0)
		list(req, &st_of_tenant, t.id, &p);
}

void invitations_accept(struct request *req)
{
	const char *id = invitation_id(req);
	if (id == NULL)
		return;
	const char *p1[] = { id, req->user->id };
	PGresult *r = db_request_exec(req, &st_state, p1);
	if (r == NULL)
		return;
	int found = PQntuples(r) == 1 && PQgetvalue(r, 0, 1)[0] == 't';
	int expired = found && PQgetvalue(r, 0, 2)[0] == 't';
	int verified = found && PQgetvalue(r, 0, 3)[0] == 't';
	int member = found && PQgetvalue(r, 0, 4)[0] == 't';
	const char *tenant_id = found ? PQgetvalue(r, 0, 0) : NULL;
	if (!found) {
		response_error(req, 404, "not_found", "no such invitation");
		return;
	}
	if (expired) {
		response_error(req, 410, "gone", "this invitation has expired; ask for a new one");
		return;
	}
	if (!verified) {
		response_error(req, 403, "forbidden", "verify your email address before accepting an invitation");
		return;
	}
	if (member) {
		response_error(req, 409, "conflict", "you are already a member of this tenant");
		return;
	}
	char status[16];
	if (db_request_begin(req) != 0)
		return;
	int locked = db_lock_tenant(req, tenant_id, status);
	if (locked <= 0 || strcmp(status, "deleted") == 0) {
		db_request_rollback(req);
		if (locked >= 0)
			response_error(req, 404, "not_found", "no such invitation");
		return;
	}
	const char *p2[] = { id };
	/* No row: revoked, accepted or expired since the check above. */
	r = db_request_one(req, &st_accept, p2, 404, "no such invitation");
	if (r == NULL) {
		db_request_rollback(req);
		return;
	}
	const char *role = PQgetvalue(r, 0, 0);
	const char *p3[] = { tenant_id, req->user->id, role };
	r = db_request_one(req, &st_join, p3, 409, "you are already a member of this tenant");
	if (r == NULL) {
		db_request_rollback(req);
		return;
	}
	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "tenant", tenant_store_json(r, 0, MEMBER_NCOLUMNS, role));
	json_object_object_add(body, "member", member_json(r, 0, 0));
	struct json_object *detail = json_object_new_object();
	json_object_object_add(detail, "role", json_object_new_string(role));
	if (audit_record(req, tenant_id, "invitation.accept", id, detail) != 0 || db_request_commit(req) != 0) {
		json_object_put(body);
		db_request_rollback(req);
		return;
	}
	response_json(req, 200, body);
}

/* Admins may revoke any pending or expired invitation, an owner one too:
 * only granting the owner role is for owners, and revoking grants nothing. */
void invitations_revoke(struct request *req)
{
	struct tenant_ref t;
	const char *id;
	if (membership_require(req, path_id(req, "tenantId"), ACT_MEMBERS_INVITE, &t) != 0 ||
	    (id = invitation_id(req)) == NULL || db_request_begin(req) != 0)
		return;
	const char *params[] = { id, t.id };
	PGresult *r = db_request_one(req, &st_revoke, params, 404, "no such invitation");
	if (r == NULL) {
		db_request_rollback(req);
		return;
	}
	struct json_object *detail = json_object_new_object();
	json_object_object_add(detail, "email", json_object_new_string(PQgetvalue(r, 0, 0)));
	json_object_object_add(detail, "role", json_object_new_string(PQgetvalue(r, 0, 1)));
	if (audit_record(req, t.id, "invitation.revoke", id, detail) != 0 || db_request_commit(req) != 0) {
		db_request_rollback(req);
		return;
	}
	response_no_content(req);
}
