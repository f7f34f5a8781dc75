/* bootstrap.c - what `aigetctl migrate` sets up beyond the schema.
 *
 * A first signing key, so the auth area can issue tokens from its first
 * request, and the first admin from ADMIN_EMAIL and ADMIN_PASSWORD: created
 * when missing, promoted to admin, and given the configured password when it
 * no longer matches (so changing ADMIN_PASSWORD and migrating again updates
 * it).  Both steps are idempotent. */
#include "bootstrap.h"

#include <stdio.h>
#include <string.h>

#include "email.h"
#include "keyring.h"
#include "password.h"

static const struct pg_statement st_admin_find = {
	"bootstrap_admin_find", "SELECT id, coalesce(password_hash, ''), role FROM users WHERE lower(email) = lower($1)", 1, 1,
};
static const struct pg_statement st_admin_create = {
	"bootstrap_admin_create",
	"INSERT INTO users (email, password_hash, role, email_verified) VALUES ($1, $2, 'admin', true)", 2, 0,
};
static const struct pg_statement st_admin_update = {
	"bootstrap_admin_update",
	"UPDATE users SET role = 'admin', password_hash = coalesce(nullif($2, ''), password_hash),"
	" password_changed_at = CASE WHEN $2 = '' THEN password_changed_at ELSE now() END, updated_at = now()"
	" WHERE id = $1::uuid",
	2, 0,
};

static int admin(struct app_context *ctx)
{
	const char *raw = ctx->cfg.admin_email, *pw = ctx->cfg.admin_password;
	char email[EMAIL_MAX + 1], err[256], why[128], hash[PASSWORD_HASH_MAX] = "";
	if (raw == NULL && pw == NULL)
		return 0;
	if (raw == NULL || pw == NULL) {
		fprintf(stderr, "aigetctl migrate: ADMIN_EMAIL and ADMIN_PASSWORD go together\n");
		return -1;
	}
	if (email_normalize(raw, email) != 0) {
		fprintf(stderr, "aigetctl migrate: ADMIN_EMAIL is not a valid address\n");
		return -1;
	}
	if (password_check_policy(pw, why, sizeof why) != 0) {
		fprintf(stderr, "aigetctl migrate: ADMIN_PASSWORD %s\n", why);
		return -1;
	}
	struct password_params params = {
		(uint32_t)ctx->cfg.auth_scrypt_n, (uint8_t)ctx->cfg.auth_scrypt_r, (uint8_t)ctx->cfg.auth_scrypt_p,
	};
	const char *p1[] = { email };
	PGresult *r = pg_exec(ctx->db, &st_admin_find, p1, err, sizeof err);
	if (r == NULL) {
		fprintf(stderr, "aigetctl migrate: admin: %s\n", err);
		return -1;
	}
	int found = PQntuples(r) == 1, outdated = 0;
	char id[37] = "";
	if (found) {
		snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
		int same = password_verify(PQgetvalue(r, 0, 1), pw, &params, &outdated) == 1 && !outdated;
		if (same && strcmp(PQgetvalue(r, 0, 2), "admin") == 0) {
			PQclear(r);
			printf("admin   %s unchanged\n", email);
			return 0;
		}
		if (!same && password_hash(pw, &params, hash) != 0)
			found = -1;
	} else if (password_hash(pw, &params, hash) != 0) {
		found = -1;
	}
	PQclear(r);
	if (found < 0) {
		fprintf(stderr, "aigetctl migrate: could not hash ADMIN_PASSWORD\n");
		return -1;
	}
	const char *p2[] = { found ? id : email, hash };
	r = pg_exec(ctx->db, found ? &st_admin_update : &st_admin_create, p2, err, sizeof err);
	if (r == NULL) {
		fprintf(stderr, "aigetctl migrate: admin: %s\n", err);
		return -1;
	}
	PQclear(r);
	printf("admin   %s %s\n", email, found ? "updated" : "created");
	return 0;
}

int bootstrap_run(struct app_context *ctx)
{
	char err[256];
	if (keyring_ensure(ctx->db, err, sizeof err) != 0) {
		fprintf(stderr, "aigetctl migrate: signing key: %s\n", err);
		return -1;
	}
	return admin(ctx);
}
