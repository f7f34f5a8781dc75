/* bootstrap.c - what `aigetctl migrate` sets up beyond the schema.
 *
 * A first signing key, so the auth area can issue tokens from its first
 * request, and the admin of ADMIN_EMAIL.  Only an account whose address is
 * verified is made admin (shared/email_proof.h), so what happens depends
 * on the account the address has:
 *   - none: it is created with ADMIN_PASSWORD, its address verified (the
 *     operator's word), with the admin role;
 *   - a verified one: it is promoted, and given ADMIN_PASSWORD when that is
 *     set and no longer matches (so changing ADMIN_PASSWORD and migrating
 *     again updates it); its sessions are its owner's and stay;
 *   - an unverified one, which may be whoever registered the address first
 *     rather than its owner: with ADMIN_PASSWORD the operator vouches for
 *     the address, so the account is claimed (email_proof_claim: verified,
 *     its password and every session ended, their access tokens cut off at
 *     once), then given ADMIN_PASSWORD and promoted; without it migrate
 *     refuses (exit 1), since the account would be promoted as its
 *     unknown holder left it, or claimed with no way in for the operator.
 * Every step is idempotent; ADMIN_PASSWORD without ADMIN_EMAIL is an error.
 * The statements are shared/user_store.c's. */
#include "bootstrap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "auth_token.h"
#include "email.h"
#include "email_proof.h"
#include "password.h"
#include "signing_keys.h"
#include "user_store.h"

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "aigetctl migrate: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}

/* The unverified account id is the operator's now: ended, then verified. */
static int claim(struct app_context *ctx, const char *id, const char *email)
{
	char err[256];
	int ended = email_proof_claim(ctx->db, ctx->redis, id, "claimed_by_admin_email",
				      ctx->cfg.auth_access_ttl_s + AUTH_CLOCK_SKEW_S, err, sizeof err);
	if (ended < 0)
		return fail("admin: %s", err);
	if (admin_audit(ctx, "admin_claim", id, email) != 0)
		return -1;
	printf("admin   %s claimed: its address was not verified; its password and %d session%s ended\n", email,
	       ended, ended == 1 ? "" : "s");
	return 0;
}

static int admin(struct app_context *ctx)
{
	const char *raw = ctx->cfg.admin_email, *pw = ctx->cfg.admin_password;
	char email[EMAIL_MAX + 1], err[256], why[128], hash[PASSWORD_HASH_MAX] = "", id[EMAIL_PROOF_ID_LEN + 1];
	if (raw == NULL && pw == NULL)
		return 0;
	if (raw == NULL)
		return fail("ADMIN_PASSWORD is set without ADMIN_EMAIL");
	if (email_normalize(raw, email) != 0)
		return fail("ADMIN_EMAIL is not a valid address");
	if (pw && password_check_policy(pw, why, sizeof why) != 0)
		return fail("ADMIN_PASSWORD %s", why);
	struct password_params params = {
		(uint32_t)ctx->cfg.auth_scrypt_n, (uint8_t)ctx->cfg.auth_scrypt_r, (uint8_t)ctx->cfg.auth_scrypt_p,
	};
	enum email_proof_state st = email_proof_lookup(ctx->db, email, id, err, sizeof err);
	if (st == EMAIL_PROOF_ERROR)
		return fail("admin: %s", err);
	if (pw == NULL && st == EMAIL_PROOF_NO_ACCOUNT)
		return fail("ADMIN_EMAIL %s has no account: set ADMIN_PASSWORD too, to create it", email);
	if (pw == NULL && st == EMAIL_PROOF_UNVERIFIED)
		return fail("ADMIN_EMAIL %s: not promoted, its address is not verified, so the account may belong to "
			    "whoever registered it first; set ADMIN_PASSWORD too, and migrate claims the account (its "
			    "password and sessions end) and makes it admin, or have its owner verify the address", email);
	if (st == EMAIL_PROOF_UNVERIFIED && claim(ctx, id, email) != 0)
		return -1;

	int outdated = 0, same = pw == NULL;
	if (st != EMAIL_PROOF_NO_ACCOUNT) {
		struct user_store_user u;
		int found = user_store_by_id(ctx->db, id, &u, err, sizeof err);
		if (found < 0)
			return fail("admin: %s", err);
		if (found && pw)
			same = password_verify(u.password_hash, pw, &params, &outdated) == 1 && !outdated;
		int unchanged = found && same && strcmp(u.role, "admin") == 0;
		if (unchanged) {
			printf("admin   %s unchanged\n", email);
			return 0;
		}
	}
	if (!same && password_hash(pw, &params, hash) != 0)
		return fail("could not hash ADMIN_PASSWORD");
	/* A new account, or the one found: changed meanwhile when neither is
	 * what it was a moment ago (made by someone else, or unverified). */
	int changed = st == EMAIL_PROOF_NO_ACCOUNT ? user_store_create_admin(ctx->db, email, hash, NULL, err, sizeof err)
						  : user_store_make_admin(ctx->db, id, hash, err, sizeof err);
	if (changed < 0)
		return fail("admin: %s", err);
	if (!changed)
		return fail("admin: %s changed meanwhile; run migrate again", email);
	printf("admin   %s %s\n", email, st == EMAIL_PROOF_NO_ACCOUNT ? "created" : "updated");
	return 0;
}

int bootstrap_run(struct app_context *ctx)
{
	char err[256];
	if (signing_keys_ensure(ctx->db, err, sizeof err) != 0) {
		fprintf(stderr, "aigetctl migrate: signing key: %s\n", err);
		return -1;
	}
	return admin(ctx);
}
