/* email_proof.c - verified-address lookups and the claim of an unverified account,
 * through shared/user_store.c's statements. */
#include "email_proof.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "user_store.h"

enum email_proof_state email_proof_lookup(struct pg *db, const char *email, char user_id[EMAIL_PROOF_ID_LEN + 1],
					  char *err, size_t errlen)
{
	struct user_store_user u;
	int found = user_store_by_email(db, email, &u, err, errlen);
	if (found < 0)
		return EMAIL_PROOF_ERROR;
	if (found == 0)
		return EMAIL_PROOF_NO_ACCOUNT;
	snprintf(user_id, EMAIL_PROOF_ID_LEN + 1, "%s", u.id);
	return u.email_verified ? EMAIL_PROOF_VERIFIED : EMAIL_PROOF_UNVERIFIED;
}

enum email_proof_state email_proof_of_user(struct pg *db, const char *user_id, char *err, size_t errlen)
{
	struct user_store_user u;
	int found = user_store_by_id(db, user_id, &u, err, errlen);
	if (found < 0)
		return EMAIL_PROOF_ERROR;
	if (found == 0)
		return EMAIL_PROOF_NO_ACCOUNT;
	return u.email_verified ? EMAIL_PROOF_VERIFIED : EMAIL_PROOF_UNVERIFIED;
}

int email_proof_claim(struct pg *db, struct redis *redis, const char *user_id, const char *reason,
		      long long mark_ttl_s, char *err, size_t errlen)
{
	PGresult *r = user_store_claim(db, user_id, reason, err, errlen);
	if (r == NULL)
		return -1;
	/* Access tokens of those sessions die with them, not at their expiry. */
	char rerr[256];
	int n = PQntuples(r);
	for (int i = 0; i < n; i++)
		if (user_store_mark_revoked(redis, PQgetvalue(r, i, 0), mark_ttl_s, rerr, sizeof rerr) != 0)
			log_error("claimed account: session %s revoked, not marked in Redis: %s", PQgetvalue(r, i, 0),
				  rerr);
	PQclear(r);
	return n;
}
