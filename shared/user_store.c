/* user_store.c - see user_store.h. */
#include "user_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_token.h"
#include "paging.h"

#define TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* An account as fill() reads it. */
#define USER_COLUMNS "id, email, email_verified, coalesce(name, ''), role, coalesce(password_hash, ''), " \
	TIME("created_at")

/* ------------------------------------------------------------- accounts */

static const struct pg_statement st_by_email = {
	"user_store_by_email", "SELECT " USER_COLUMNS " FROM users WHERE lower(email) = lower($1)", 1, 1, PG_PRIMARY,
};
static const struct pg_statement st_by_id = {
	"user_store_by_id", "SELECT " USER_COLUMNS " FROM users WHERE id = $1::uuid", 1, 1, PG_PRIMARY,
};
/* ON CONFLICT on the unique lower(email) index: a taken address returns no row. */
static const struct pg_statement st_create = {
	"user_store_create",
	"INSERT INTO users (email, password_hash, name) VALUES ($1, $2, nullif($3, '')) "
	"ON CONFLICT ((lower(email))) DO NOTHING RETURNING " USER_COLUMNS,
	3, 0, PG_PRIMARY,
};
static const struct pg_statement st_create_verified = {
	"user_store_create_verified",
	"INSERT INTO users (email, email_verified, name) VALUES ($1, true, nullif($2, ''))"
	" ON CONFLICT ((lower(email))) DO NOTHING RETURNING " USER_COLUMNS,
	2, 0, PG_PRIMARY,
};
static const struct pg_statement st_create_admin = {
	"user_store_create_admin",
	"INSERT INTO users (email, password_hash, role, email_verified) VALUES ($1, $2, 'admin', true)"
	" ON CONFLICT ((lower(email))) DO NOTHING RETURNING " USER_COLUMNS,
	2, 0, PG_PRIMARY,
};
static const struct pg_statement st_set_password = {
	"user_store_set_password",
	"UPDATE users SET password_hash = $2, password_changed_at = now(), updated_at = now() WHERE id = $1::uuid",
	2, 0, PG_PRIMARY,
};
static const struct pg_statement st_reset_password = {
	"user_store_reset_password",
	"UPDATE users SET password_hash = $2, password_changed_at = now(), updated_at = now()"
	" WHERE lower(email) = lower($1) RETURNING " USER_COLUMNS,
	2, 0, PG_PRIMARY,
};
static const struct pg_statement st_set_verified = {
	"user_store_set_verified",
	"UPDATE users SET email_verified = true, updated_at = now() WHERE id = $1::uuid AND NOT email_verified",
	1, 0, PG_PRIMARY,
};
static const struct pg_statement st_set_role = {
	"user_store_set_role",
	"UPDATE users SET role = $2, updated_at = now() WHERE id = $1::uuid RETURNING " USER_COLUMNS,
	2, 0, PG_PRIMARY,
};
/* Only a verified account is promoted here: a claim comes first. */
static const struct pg_statement st_make_admin = {
	"user_store_make_admin",
	"UPDATE users SET role = 'admin', password_hash = coalesce(nullif($2, ''), password_hash),"
	" password_changed_at = CASE WHEN $2 = '' THEN password_changed_at ELSE now() END, updated_at = now()"
	" WHERE id = $1::uuid AND email_verified",
	2, 0, PG_PRIMARY,
};
static const struct pg_statement st_role = {
	"user_store_role", "SELECT role FROM users WHERE id = $1::uuid", 1, 1, PG_PRIMARY,
};
static const struct pg_statement st_lock = {
	"user_store_lock", "SELECT 1 FROM users WHERE id = $1::uuid FOR UPDATE", 1, 0, PG_PRIMARY,
};
/* One statement, so that a claim is never half done: the row is changed
 * only while it is unverified (a concurrent claim finds nothing to do), and
 * the sessions of exactly that account are revoked with it. */
static const struct pg_statement st_claim = {
	"user_store_claim",
	"WITH u AS (UPDATE users SET email_verified = true, password_hash = NULL, updated_at = now()"
	"           WHERE id = $1::uuid AND NOT email_verified RETURNING id)"
	" UPDATE sessions s SET revoked_at = now(), revoked_reason = $2"
	" FROM u WHERE s.user_id = u.id AND s.revoked_at IS NULL RETURNING s.id",
	2, 0, PG_PRIMARY,
};
/* A search string matches an email anywhere, without regard to case, or an
 * id exactly.  strpos() rather than LIKE: no wildcard to escape. */
static const struct pg_statement st_admin_list = {
	"user_store_admin_list",
	"SELECT u.id, u.email, u.email_verified, u.name, u.role, " TIME("u.created_at") ","
	" (SELECT count(*) FROM tenant_members m JOIN tenants t ON t.id = m.tenant_id"
	"  WHERE m.user_id = u.id AND t.status <> 'deleted'), " SQL_MICROS("u.created_at")
	" FROM users u"
	" WHERE ($1::text IS NULL OR strpos(lower(u.email), lower($1)) > 0 OR u.id::text = lower($1))"
	" AND ($2::bigint IS NULL OR (" SQL_MICROS("u.created_at") ", u.id) < ($2::bigint, $3::uuid))"
	" ORDER BY u.created_at DESC, u.id DESC LIMIT $4::int",
	4, 1, PG_PRIMARY,
};

static void fill(PGresult *r, struct user_store_user *u)
{
	snprintf(u->id, sizeof u->id, "%s", PQgetvalue(r, 0, 0));
	snprintf(u->email, sizeof u->email, "%s", PQgetvalue(r, 0, 1));
	u->email_verified = PQgetvalue(r, 0, 2)[0] == 't';
	snprintf(u->name, sizeof u->name, "%s", PQgetvalue(r, 0, 3));
	snprintf(u->role, sizeof u->role, "%s", PQgetvalue(r, 0, 4));
	snprintf(u->password_hash, sizeof u->password_hash, "%s", PQgetvalue(r, 0, 5));
	snprintf(u->created_at, sizeof u->created_at, "%s", PQgetvalue(r, 0, 6));
}

/* A statement of at most one account row: 1 with u filled (when not
 * NULL), 0 when no row, -1 with err. */
static int one(struct pg *db, const struct pg_statement *st, const char *const *params, struct user_store_user *u,
	       char *err, size_t errlen)
{
	PGresult *r = pg_exec(db, st, params, err, errlen);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found && u)
		fill(r, u);
	PQclear(r);
	return found;
}

/* A statement whose rows are not needed: 0, or -1 with err. */
static int run(struct pg *db, const struct pg_statement *st, const char *const *params, char *err, size_t errlen)
{
	PGresult *r = pg_exec(db, st, params, err, errlen);
	PQclear(r);
	return r ? 0 : -1;
}

struct json_object *user_store_json(const struct user_store_user *u)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(u->id));
	json_object_object_add(o, "email", json_object_new_string(u->email));
	json_object_object_add(o, "emailVerified", json_object_new_boolean(u->email_verified));
	json_object_object_add(o, "name", u->name[0] ? json_object_new_string(u->name) : NULL);
	json_object_object_add(o, "role", json_object_new_string(u->role));
	json_object_object_add(o, "createdAt", json_object_new_string(u->created_at));
	return o;
}

int user_store_by_email(struct pg *db, const char *email, struct user_store_user *u, char *err, size_t errlen)
{
	const char *params[] = { email };
	return one(db, &st_by_email, params, u, err, errlen);
}

int user_store_by_id(struct pg *db, const char *id, struct user_store_user *u, char *err, size_t errlen)
{
	const char *params[] = { id };
	return one(db, &st_by_id, params, u, err, errlen);
}

int user_store_create(struct pg *db, const char *email, const char *hash, const char *name, struct user_store_user *u,
		      char *err, size_t errlen)
{
	const char *params[] = { email, hash, name ? name : "" };
	return one(db, &st_create, params, u, err, errlen);
}

int user_store_create_verified(struct pg *db, const char *email, const char *name, struct user_store_user *u,
			       char *err, size_t errlen)
{
	const char *params[] = { email, name ? name : "" };
	return one(db, &st_create_verified, params, u, err, errlen);
}

int user_store_create_admin(struct pg *db, const char *email, const char *hash, struct user_store_user *u,
			    char *err, size_t errlen)
{
	const char *params[] = { email, hash };
	return one(db, &st_create_admin, params, u, err, errlen);
}

int user_store_set_password(struct pg *db, const char *id, const char *hash, char *err, size_t errlen)
{
	const char *params[] = { id, hash };
	return run(db, &st_set_password, params, err, errlen);
}

int user_store_set_verified(struct pg *db, const char *id, char *err, size_t errlen)
{
	const char *params[] = { id };
	return run(db, &st_set_verified, params, err, errlen);
}

int user_store_reset_password(struct pg *db, const char *email, const char *hash, struct user_store_user *u,
			      char *err, size_t errlen)
{
	const char *params[] = { email, hash };
	return one(db, &st_reset_password, params, u, err, errlen);
}

int user_store_set_role(struct pg *db, const char *id, const char *role, struct user_store_user *u, char *err,
			size_t errlen)
{
	const char *params[] = { id, role };
	return one(db, &st_set_role, params, u, err, errlen);
}

int user_store_make_admin(struct pg *db, const char *id, const char *hash, char *err, size_t errlen)
{
	const char *params[] = { id, hash };
	PGresult *r = pg_exec(db, &st_make_admin, params, err, errlen);
	if (r == NULL)
		return -1;
	int changed = atoi(PQcmdTuples(r)) == 1;
	PQclear(r);
	return changed;
}

int user_store_role(struct pg *db, const char *id, char *role, char *err, size_t errlen)
{
	const char *params[] = { id };
	PGresult *r = pg_exec(db, &st_role, params, err, errlen);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found)
		snprintf(role, 16, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return found;
}

int user_store_lock(struct pg *db, const char *id, char *err, size_t errlen)
{
	const char *params[] = { id };
	return run(db, &st_lock, params, err, errlen);
}

PGresult *user_store_claim(struct pg *db, const char *id, const char *reason, char *err, size_t errlen)
{
	const char *params[] = { id, reason };
	return pg_exec(db, &st_claim, params, err, errlen);
}

PGresult *user_store_admin_list(struct pg *db, const char *query, const char *after_key, const char *after_id,
				const char *fetch, char *err, size_t errlen)
{
	const char *params[] = { query, after_key, after_id, fetch };
	return pg_exec(db, &st_admin_list, params, err, errlen);
}

struct json_object *user_store_admin_json(PGresult *r, int i)
{
	struct json_object *u = json_object_new_object();
	json_object_object_add(u, "id", json_object_new_string(PQgetvalue(r, i, 0)));
	json_object_object_add(u, "email", json_object_new_string(PQgetvalue(r, i, 1)));
	json_object_object_add(u, "emailVerified", json_object_new_boolean(PQgetvalue(r, i, 2)[0] == 't'));
	json_object_object_add(u, "name", PQgetisnull(r, i, 3) ? NULL : json_object_new_string(PQgetvalue(r, i, 3)));
	json_object_object_add(u, "role", json_object_new_string(PQgetvalue(r, i, 4)));
	json_object_object_add(u, "createdAt", json_object_new_string(PQgetvalue(r, i, 5)));
	json_object_object_add(u, "tenantCount", json_object_new_int64(atoll(PQgetvalue(r, i, 6))));
	return u;
}

/* ------------------------------------------------------------- sessions */

static const struct pg_statement st_session_start = {
	"user_store_session_start",
	"WITH s AS (INSERT INTO sessions (user_id, expires_at, user_agent, ip)"
	" VALUES ($1::uuid, now() + make_interval(secs => $2::int), left($3, 256), $4) RETURNING id, expires_at)"
	" INSERT INTO refresh_tokens (token_hash, session_id, expires_at)"
	" SELECT decode($5, 'hex'), id, expires_at FROM s RETURNING session_id",
	5, 0, PG_PRIMARY,
};
static const struct pg_statement st_refresh_find = {
	"user_store_refresh_find",
	"SELECT rt.session_id, rt.rotated_at IS NOT NULL,"
	" coalesce(extract(epoch FROM now() - rt.rotated_at), 0)::int,"
	" rt.expires_at > now() AND s.revoked_at IS NULL AND s.expires_at > now(), s.user_id"
	" FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id"
	" WHERE rt.token_hash = decode($1, 'hex') FOR UPDATE OF rt",
	1, 0, PG_PRIMARY,
};
static const struct pg_statement st_refresh_spend = {
	"user_store_refresh_spend", "UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = decode($1, 'hex')",
	1, 0, PG_PRIMARY,
};
static const struct pg_statement st_refresh_next = {
	"user_store_refresh_next",
	"WITH n AS (INSERT INTO refresh_tokens (token_hash, session_id, expires_at)"
	" VALUES (decode($1, 'hex'), $2::uuid, now() + make_interval(secs => $3::int)) RETURNING expires_at)"
	" UPDATE sessions SET last_used_at = now(), expires_at = (SELECT expires_at FROM n) WHERE id = $2::uuid",
	3, 0, PG_PRIMARY,
};
static const struct pg_statement st_refresh_session = {
	"user_store_refresh_session",
	"SELECT s.id, s.user_id FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id"
	" WHERE rt.token_hash = decode($1, 'hex')",
	1, 1, PG_PRIMARY,
};
static const struct pg_statement st_sessions = {
	"user_store_sessions",
	"SELECT id, " TIME("created_at") ", " TIME("last_used_at") ", " TIME("expires_at") ","
	" coalesce(user_agent, ''), coalesce(ip, '')"
	" FROM sessions WHERE user_id = $1::uuid AND revoked_at IS NULL AND expires_at > now()"
	" ORDER BY last_used_at DESC LIMIT 100",
	1, 1, PG_PRIMARY,
};
static const struct pg_statement st_revoke = {
	"user_store_revoke_sessions",
	"UPDATE sessions SET revoked_at = now(), revoked_reason = $4"
	" WHERE user_id = $1::uuid AND revoked_at IS NULL"
	" AND (nullif($2, '') IS NULL OR id = nullif($2, '')::uuid)"
	" AND (nullif($3, '') IS NULL OR id <> nullif($3, '')::uuid) RETURNING id",
	4, 0, PG_PRIMARY,
};

int user_store_session_start(struct pg *db, const char *user_id, long long ttl_s, const char *user_agent,
			     const char *ip, const char *hash_hex, char sid[USER_STORE_ID_LEN + 1], char *err,
			     size_t errlen)
{
	char ttl[24];
	snprintf(ttl, sizeof ttl, "%lld", ttl_s);
	const char *params[] = { user_id, ttl, user_agent ? user_agent : "", ip, hash_hex };
	PGresult *r = pg_exec(db, &st_session_start, params, err, errlen);
	if (r == NULL)
		return -1;
	snprintf(sid, USER_STORE_ID_LEN + 1, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int user_store_refresh_find(struct pg *db, const char *hash_hex, struct user_store_refresh *f, char *err,
			    size_t errlen)
{
	const char *params[] = { hash_hex };
	PGresult *r = pg_exec(db, &st_refresh_find, params, err, errlen);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found) {
		snprintf(f->session_id, sizeof f->session_id, "%s", PQgetvalue(r, 0, 0));
		f->spent = PQgetvalue(r, 0, 1)[0] == 't';
		f->since_s = atol(PQgetvalue(r, 0, 2));
		f->live = PQgetvalue(r, 0, 3)[0] == 't';
		snprintf(f->user_id, sizeof f->user_id, "%s", PQgetvalue(r, 0, 4));
	}
	PQclear(r);
	return found;
}

int user_store_refresh_rotate(struct pg *db, const char *hash_hex, const char *next_hex, const char *sid,
			      long long ttl_s, char *err, size_t errlen)
{
	char ttl[24];
	snprintf(ttl, sizeof ttl, "%lld", ttl_s);
	const char *p1[] = { hash_hex }, *p2[] = { next_hex, sid, ttl };
	return run(db, &st_refresh_spend, p1, err, errlen) == 0 && run(db, &st_refresh_next, p2, err, errlen) == 0
		       ? 0 : -1;
}

int user_store_refresh_session(struct pg *db, const char *hash_hex, char sid[USER_STORE_ID_LEN + 1],
			       char user_id[USER_STORE_ID_LEN + 1], char *err, size_t errlen)
{
	const char *params[] = { hash_hex };
	PGresult *r = pg_exec(db, &st_refresh_session, params, err, errlen);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found) {
		snprintf(sid, USER_STORE_ID_LEN + 1, "%s", PQgetvalue(r, 0, 0));
		snprintf(user_id, USER_STORE_ID_LEN + 1, "%s", PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return found;
}

PGresult *user_store_sessions(struct pg *db, const char *user_id, char *err, size_t errlen)
{
	const char *params[] = { user_id };
	return pg_exec(db, &st_sessions, params, err, errlen);
}

PGresult *user_store_revoke_sessions(struct pg *db, const char *user_id, const char *session, const char *keep,
				     const char *reason, char *err, size_t errlen)
{
	const char *params[] = { user_id, session ? session : "", keep ? keep : "", reason };
	return pg_exec(db, &st_revoke, params, err, errlen);
}

int user_store_mark_revoked(struct redis *redis, const char *sid, long long ttl_s, char *err, size_t errlen)
{
	redisReply *rep = redis_command(redis, err, errlen, "SET %s%s 1 EX %lld", AUTH_SESSION_REVOKED_PREFIX, sid,
					ttl_s);
	int ok = rep && rep->type != REDIS_REPLY_ERROR;
	if (rep && !ok)
		snprintf(err, errlen, "%s", rep->str);
	freeReplyObject(rep);
	return ok ? 0 : -1;
}

/* ------------------------------------------------------------- the audit */

static const struct pg_statement st_audit = {
	"user_store_audit",
	"INSERT INTO auth_audit (event, user_id, email, ip, request_id, detail)"
	" VALUES ($1, $2::uuid, $3, $4, $5, $6::jsonb)",
	6, 0, PG_PRIMARY,
};

int user_store_audit(struct pg *db, const char *event, const char *user_id, const char *email, const char *ip,
		     const char *request_id, const char *detail, char *err, size_t errlen)
{
	const char *params[] = { event, user_id, email, ip, request_id, detail };
	return run(db, &st_audit, params, err, errlen);
}
