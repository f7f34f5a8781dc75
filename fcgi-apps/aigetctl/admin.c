/* admin.c - `aigetctl admin create|reset-password|promote|demote EMAIL`: site admins' accounts.
 *
 * The first admin can also come from ADMIN_EMAIL and ADMIN_PASSWORD at
 * migration (bootstrap.c); these commands make more of them, mend a lost
 * password without touching the env file, and give or take the role of an
 * existing account.  Only an account whose address is verified is
 * promoted (shared/email_proof.h): anyone can register any address, so an
 * unverified account may not be the person the operator means.  A
 * demotion counts at once: the admin routes read the role from the
 * database on every request (shared/site_admin.h).  Passwords are hashed with the
 * shared scrypt code and the configured AUTH_SCRYPT_* parameters, exactly as
 * the auth area hashes them.  A password comes from stdin
 * (--password-stdin: never from argv, which other users can read in ps) or
 * is generated (192 random bits, 32 characters) and printed once; it is never logged.
 *
 * A reset ends every session of the account, as the auth area's own reset
 * does: the sessions are revoked in the database and marked revoked in
 * Redis, so that access tokens already issued stop at once.  Both commands
 * write an auth_audit row marked "by": "aigetctl".  The statements are
 * shared/user_store.c's, the auth area's own. */
#include "admin.h"

#include <stdio.h>
#include <string.h>

#include "auth_token.h"
#include "crypto.h"
#include "ctl.h"
#include "email.h"
#include "email_proof.h"
#include "password.h"
#include "pg.h"
#include "redis.h"
#include "user_store.h"

#define GENERATED_BYTES 24            /* 32 base64url characters */
#define STDIN_MAX 1024                /* longer than any password the policy allows */

const char admin_synopsis[] =
	"admin create EMAIL [--password-stdin] [--json]\n"
	"admin reset-password EMAIL [--password-stdin] [--json]\n"
	"admin promote|demote EMAIL [--json]";

/* The new password: one line of stdin, or a generated one (*generated set).
 * CTL_OK, or CTL_USAGE when the one given breaks the policy. */
static int new_password(int from_stdin, char pw[STDIN_MAX + 2], int *generated)
{
	char why[128];
	*generated = !from_stdin;
	if (from_stdin) {
		if (fgets(pw, STDIN_MAX + 2, stdin) == NULL)
			pw[0] = '\0';
		pw[strcspn(pw, "\r\n")] = '\0';
	} else {
		struct arena *a = arena_create(256);
		char *token = a ? crypto_random_token(a, GENERATED_BYTES) : NULL;
		snprintf(pw, STDIN_MAX + 2, "%s", token ? token : "");
		if (token)
			explicit_bzero(token, strlen(token));
		arena_destroy(a);
		if (pw[0] == '\0')
			return ctl_fail("admin", "no randomness for a password");
	}
	if (password_check_policy(pw, why, sizeof why) != 0)
		return ctl_usage(admin_synopsis, "the password %s", why);
	return CTL_OK;
}

/* BEGIN, COMMIT or ROLLBACK: CTL_OK, or CTL_FAILED (said on stderr). */
static int run(struct pg *db, const struct pg_statement *st)
{
	char err[256];
	PGresult *r = pg_exec(db, st, NULL, err, sizeof err);
	if (r == NULL)
		return ctl_fail("admin", "database: %s", err);
	PQclear(r);
	return CTL_OK;
}

/* Marks the revoked sessions in Redis, as the auth area does, so their
 * access tokens stop now rather than at their expiry. */
static void revoked_in_redis(struct app_context *ctx, PGresult *sessions)
{
	char err[256];
	for (int i = 0; i < PQntuples(sessions); i++)
		if (user_store_mark_revoked(ctx->redis, PQgetvalue(sessions, i, 0),
					    ctx->cfg.auth_access_ttl_s + AUTH_CLOCK_SKEW_S, err, sizeof err) != 0)
			fprintf(stderr, "aigetctl admin: warning: session %s revoked, but not marked in Redis (%s); "
				"its access tokens work until they expire\n", PQgetvalue(sessions, i, 0), err);
}

/* create: the account with its hash; reset: the hash, the sessions ended,
 * in one transaction.  Fills *user and *revoked. */
static int store(struct app_context *ctx, int create, const char *email, const char *hash,
		 struct user_store_user *user, int *revoked)
{
	char err[256];
	PGresult *sessions = NULL;
	*revoked = 0;
	if (run(ctx->db, &pg_begin) != CTL_OK)
		return CTL_FAILED;
	int found = create ? user_store_create_admin(ctx->db, email, hash, user, err, sizeof err)
			   : user_store_reset_password(ctx->db, email, hash, user, err, sizeof err);
	if (found < 0) {
		ctl_fail("admin", "database: %s", err);
		goto fail;
	}
	if (found == 0) {
		run(ctx->db, &pg_rollback);
		return create ? ctl_fail("admin", "an account with the email %s exists already; "
					 "`aigetctl admin reset-password` sets its password", email)
			      : ctl_fail("admin", "no account with the email %s", email);
	}
	if (!create && (sessions = user_store_revoke_sessions(ctx->db, user->id, NULL, NULL, "password_reset", err,
							      sizeof err)) == NULL) {
		ctl_fail("admin", "database: %s", err);
		goto fail;
	}
	if (admin_audit(ctx, create ? "admin_create" : "password_reset", user->id, user->email) != CTL_OK ||
	    run(ctx->db, &pg_commit) != CTL_OK)
		goto fail;
	if (sessions) {
		*revoked = PQntuples(sessions);
		revoked_in_redis(ctx, sessions);
		PQclear(sessions);
	}
	return CTL_OK;
fail:
	PQclear(sessions);
	run(ctx->db, &pg_rollback);
	return CTL_FAILED;
}

int admin_audit(struct app_context *ctx, const char *event, const char *user_id, const char *email)
{
	char err[256];
	if (user_store_audit(ctx->db, event, user_id, email, NULL, ctl_request_id(), "{\"by\":\"aigetctl\"}", err,
			     sizeof err) != 0)
		return ctl_fail("admin", "database: %s", err);
	return CTL_OK;
}

/* promote (to "admin") or demote (to "user") the account of email, audited. */
static int set_role(struct app_context *ctx, const char *email, int promote, int json)
{
	char id[EMAIL_PROOF_ID_LEN + 1], err[256];
	enum email_proof_state st = email_proof_lookup(ctx->db, email, id, err, sizeof err);
	if (st == EMAIL_PROOF_ERROR)
		return ctl_fail("admin", "database: %s", err);
	if (st == EMAIL_PROOF_NO_ACCOUNT)
		return ctl_fail("admin", "no account with the email %s", email);
	if (promote && st != EMAIL_PROOF_VERIFIED)
		return ctl_fail("admin", "the address %s is not verified, so its account may belong to whoever "
				"registered it first; its owner verifies it (an email code), or ADMIN_EMAIL with "
				"ADMIN_PASSWORD at `aigetctl migrate` claims the account", email);
	struct user_store_user u;
	int found = user_store_set_role(ctx->db, id, promote ? "admin" : "user", &u, err, sizeof err);
	if (found < 0)
		return ctl_fail("admin", "database: %s", err);
	if (found == 0)
		return ctl_fail("admin", "no account with the email %s", email);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(u.id));
	json_object_object_add(o, "email", json_object_new_string(u.email));
	json_object_object_add(o, "role", json_object_new_string(u.role));
	/* After the change, as the role takes effect at once whatever the audit does. */
	if (admin_audit(ctx, promote ? "admin_promote" : "admin_demote", id, email) != CTL_OK)
		fprintf(stderr, "aigetctl admin: warning: the change is made but not audited\n");
	static const char *const fields[] = { "id", "email", "role", NULL };
	if (json) {
		ctl_print_json(o);
	} else {
		printf("%s %s\n", promote ? "promoted" : "demoted", email);
		ctl_print_fields(o, fields);
	}
	json_object_put(o);
	return CTL_OK;
}

int admin_command(struct app_context *ctx, int argc, char **argv)
{
	int json = 0, from_stdin = 0, create, role_change = 0;
	const char *raw = NULL;
	if (argc < 2)
		return ctl_usage(admin_synopsis, "admin needs a subcommand");
	if (strcmp(argv[1], "create") == 0)
		create = 1;
	else if (strcmp(argv[1], "reset-password") == 0)
		create = 0;
	else if (strcmp(argv[1], "promote") == 0 || strcmp(argv[1], "demote") == 0) {
		create = 0;
		role_change = 1;
	} else
		return ctl_usage(admin_synopsis, "unknown admin subcommand %s", argv[1]);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--password-stdin") == 0 && !role_change)
			from_stdin = 1;
		else if (argv[i][0] == '-' || raw)
			return ctl_usage(admin_synopsis, "unexpected argument %s", argv[i]);
		else
			raw = argv[i];
	}
	char email[EMAIL_MAX + 1];
	if (raw == NULL)
		return ctl_usage(admin_synopsis, "admin %s needs an EMAIL", argv[1]);
	if (email_normalize(raw, email) != 0)
		return ctl_usage(admin_synopsis, "%s is not a valid email address", raw);
	if (role_change)
		return set_role(ctx, email, strcmp(argv[1], "promote") == 0, json);

	char pw[STDIN_MAX + 2], hash[PASSWORD_HASH_MAX];
	int generated, rc = new_password(from_stdin, pw, &generated);
	struct password_params params = {
		(uint32_t)ctx->cfg.auth_scrypt_n, (uint8_t)ctx->cfg.auth_scrypt_r, (uint8_t)ctx->cfg.auth_scrypt_p,
	};
	if (rc == CTL_OK && password_hash(pw, &params, hash) != 0)
		rc = ctl_fail("admin", "could not hash the password");
	struct user_store_user user;
	int revoked = 0;
	if (rc == CTL_OK)
		rc = store(ctx, create, email, hash, &user, &revoked);
	if (rc == CTL_OK) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(user.id));
		json_object_object_add(o, "email", json_object_new_string(user.email));
		json_object_object_add(o, "role", json_object_new_string(user.role));
		if (create)
			json_object_object_add(o, "created", json_object_new_boolean(1));
		else
			json_object_object_add(o, "sessionsRevoked", json_object_new_int(revoked));
		if (generated)
			json_object_object_add(o, "password", json_object_new_string(pw));
		static const char *const fields[] = { "id", "email", "role", "sessionsRevoked", "password", NULL };
		if (json) {
			ctl_print_json(o);
		} else {
			printf("%s %s\n", create ? "created admin" : "password reset for", email);
			ctl_print_fields(o, fields);
		}
		if (generated)
			fprintf(stderr, "aigetctl admin: the generated password is shown this once; store it now\n");
		/* json-c keeps its own copy of the password: wipe it too. */
		struct json_object *p;
		if (json_object_object_get_ex(o, "password", &p))
			explicit_bzero((char *)json_object_get_string(p), (size_t)json_object_get_string_len(p));
		json_object_put(o);
	}
	explicit_bzero(pw, sizeof pw);
	return rc;
}
