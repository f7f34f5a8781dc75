/* email_proof.c - verified-address lookups and the claim of an unverified account. */
#include "email_proof.h"

#include <stdio.h>
#include <string.h>

#include "auth_token.h"
#include "log.h"

static const struct pg_statement st_lookup = {
	"email_proof_lookup", "SELECT id, email_verified FROM users WHERE lower(email) = lower($1)", 1, 1,
};
static const struct pg_statement st_of_user = {
	"email_proof_of_user", "SELECT email_verified FROM users WHERE id = $1::uuid", 1, 1,
};
/* One statement, so that a claim is never half done: the row is changed
 * only while it is unverified (a concurrent claim finds nothing to do), and
 * the sessions of exactly that account are revoked with it. */
static const struct pg_statement st_claim = {
	"email_proof_claim",
	"WITH u AS (UPDATE users SET email_verified = true, password_hash = NULL, updated_at = now()"
	"           WHERE id = $1::uuid AND NOT email_verified RETURNING id)"
	" UPDATE sessions s SET revoked_at = now(), revoked_reason = $2"
	" FROM u WHERE s.user_id = u.id AND s.revoked_at IS NULL RETURNING s.id",
	2, 0,
};

enum email_proof_state email_proof_lookup(struct pg *db, const char *email, char user_id[EMAIL_PROOF_ID_LEN + 1],
					  char *err, size_t errlen)
{
	const char *params[] = { email };
	PGresult *r = pg_exec(db, &st_lookup, params, err, errlen);
	if (r == NULL)
		return EMAIL_PROOF_ERROR;
	enum email_proof_state st = EMAIL_PROOF_NO_ACCOUNT;
	if (PQntuples(r) == 1) {
		snprintf(user_id, EMAIL_PROOF_ID_LEN + 1, "%s", PQgetvalue(r, 0, 0));
		st = PQgetvalue(r, 0, 1)[0] == 't' ? EMAIL_PROOF_VERIFIED : EMAIL_PROOF_UNVERIFIED;
	}
	PQclear(r);
	return st;
}

enum email_proof_state email_proof_of_user(struct pg *db, const char *user_id, char *err, size_t errlen)
{
	const char *params[] = { user_id };
	PGresult *r = pg_exec(db, &st_of_user, params, err, errlen);
	if (r == NULL)
		return EMAIL_PROOF_ERROR;
	enum email_proof_state st = EMAIL_PROOF_NO_ACCOUNT;
	if (PQntuples(r) == 1)
		st = PQgetvalue(r, 0, 0)[0] == 't' ? EMAIL_PROOF_VERIFIED : EMAIL_PROOF_UNVERIFIED;
	PQclear(r);
	return st;
}

int email_proof_claim(struct pg *db, struct redis *redis, const char *user_id, const char *reason,
		      long long mark_ttl_s, char *err, size_t errlen)
{
	const char *params[] = { user_id, reason };
	PGresult *r = pg_exec(db, &st_claim, params, err, errlen);
	if (r == NULL)
		return -1;
	/* Access tokens of those sessions die with them, not at their expiry. */
	char rerr[256];
	int n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		redisReply *rep = redis_command(redis, rerr, sizeof rerr, "SET %s%s 1 EX %lld",
						AUTH_SESSION_REVOKED_PREFIX, PQgetvalue(r, i, 0), mark_ttl_s);
		if (rep == NULL)
			log_error("claimed account: session %s revoked, not marked in Redis: %s", PQgetvalue(r, i, 0),
				  rerr);
		freeReplyObject(rep);
	}
	PQclear(r);
	return n;
}
