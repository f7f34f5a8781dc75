/* users.c - the users table: lookups, creation, password and verification updates. */
#include "auth.h"

#include <stdio.h>
#include <string.h>

#include "db_request.h"

#define USER_COLUMNS "id, email, email_verified, coalesce(name, ''), role, coalesce(password_hash, ''), " \
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const struct pg_statement st_by_email = {
	"users_by_email", "SELECT " USER_COLUMNS " FROM users WHERE lower(email) = lower($1)", 1, 1,
};
static const struct pg_statement st_by_id = {
	"users_by_id", "SELECT " USER_COLUMNS " FROM users WHERE id = $1::uuid", 1, 1,
};
/* ON CONFLICT on the unique lower(email) index: a taken email returns no row. */
static const struct pg_statement st_create = {
	"users_create",
	"INSERT INTO users (email, password_hash, name) VALUES ($1, $2, nullif($3, '')) "
	"ON CONFLICT ((lower(email))) DO NOTHING RETURNING " USER_COLUMNS,
	3, 0,
};
static const struct pg_statement st_set_password = {
	"users_set_password",
	"UPDATE users SET password_hash = $2, password_changed_at = now(), updated_at = now() WHERE id = $1::uuid",
	2, 0,
};
static const struct pg_statement st_set_verified = {
	"users_set_verified",
	"UPDATE users SET email_verified = true, updated_at = now() WHERE id = $1::uuid AND NOT email_verified",
	1, 0,
};

static void fill(PGresult *r, struct user *u)
{
	snprintf(u->id, sizeof u->id, "%s", PQgetvalue(r, 0, 0));
	snprintf(u->email, sizeof u->email, "%s", PQgetvalue(r, 0, 1));
	u->email_verified = PQgetvalue(r, 0, 2)[0] == 't';
	snprintf(u->name, sizeof u->name, "%s", PQgetvalue(r, 0, 3));
	snprintf(u->role, sizeof u->role, "%s", PQgetvalue(r, 0, 4));
	snprintf(u->password_hash, sizeof u->password_hash, "%s", PQgetvalue(r, 0, 5));
	snprintf(u->created_at, sizeof u->created_at, "%s", PQgetvalue(r, 0, 6));
}

static int lookup(struct request *req, const struct pg_statement *st, const char *key, struct user *u)
{
	const char *params[] = { key };
	PGresult *r = db_request_exec(req, st, params);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found)
		fill(r, u);
	return found;
}

int users_by_email(struct request *req, const char *email, struct user *u)
{
	return lookup(req, &st_by_email, email, u);
}

int users_by_id(struct request *req, const char *id, struct user *u)
{
	return lookup(req, &st_by_id, id, u);
}

int users_create(struct request *req, const char *email, const char *hash, const char *name, struct user *u)
{
	const char *params[] = { email, hash, name ? name : "" };
	PGresult *r = db_request_exec(req, &st_create, params);
	if (r == NULL)
		return -1;
	int created = PQntuples(r) == 1;
	if (created)
		fill(r, u);
	return created ? 0 : 1;
}

int users_set_password(struct request *req, const char *id, const char *hash)
{
	const char *params[] = { id, hash };
	return db_request_run(req, &st_set_password, params);
}

int users_set_verified(struct request *req, const char *id)
{
	const char *params[] = { id };
	return db_request_run(req, &st_set_verified, params);
}

struct json_object *users_json(const struct user *u)
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

void users_password_params(struct request *req, struct password_params *p)
{
	p->n = (uint32_t)req->ctx->cfg.auth_scrypt_n;
	p->r = (uint8_t)req->ctx->cfg.auth_scrypt_r;
	p->p = (uint8_t)req->ctx->cfg.auth_scrypt_p;
}
