/* claim.c - an unverified account taken over by whoever proves its address.
 *
 * Registering an address proves nothing: anyone can type anyone's.  Reading
 * its mail (an email code) or a provider's word that it is verified (Google,
 * Apple) does.  So when an account whose address was never proved is
 * reached that way, the prover becomes its holder and whatever the
 * registrant had in it ends: the password and every session, their access
 * tokens cut off through Redis at once (shared/email_proof owns the
 * statement).  otp.c and oauth.c differ only in what proved the address,
 * which the audit records. */
#include "auth.h"

#include "email_proof.h"

int claim_account(struct request *req, struct user_store_user *u, const char *reason, const char *proof)
{
	if (u->email_verified)
		return 0;
	char err[256];
	int ended = email_proof_claim(req->ctx->db, req->ctx->redis, u->id, reason,
				      req->ctx->cfg.auth_access_ttl_s + AUTH_CLOCK_SKEW_S, err, sizeof err);
	if (ended < 0) {
		response_unavailable(req, "claim", err);
		return -1;
	}
	u->email_verified = 1;
	u->password_hash[0] = '\0';
	audit_event(req, "unverified_account_claimed", u->id, u->email, json_object_new_string(proof));
	return 0;
}
