/* email_proof.h - the one rule for email addresses: unproved, one grants nothing.
 *
 * Anyone can register any address without reading its mail, so an account
 * whose address is unverified may belong to someone other than the
 * mailbox's owner.  Every path that hands something to "the owner of an
 * address" goes through here:
 *   - memberships, invitations and the site admin role go only to an
 *     account whose address is verified (email_proof_lookup says which);
 *   - a person who proves the address (an email code, Google, Apple, the
 *     operator's ADMIN_EMAIL) and so takes over an unverified account ends
 *     everything its previous holder had in it: the password and every
 *     session, whose access tokens are cut off through Redis at once
 *     (email_proof_claim).
 * The tenants such an account created stay with the account: their holder
 * may well be the rightful owner who never verified, and the claimer sees
 * and can rotate their keys.  Callers check who may act; this module asks
 * shared/user_store.h, which owns the users and sessions tables, for what
 * the rule needs. */
#ifndef AIGET_EMAIL_PROOF_H
#define AIGET_EMAIL_PROOF_H

#include <stddef.h>

#include "pg.h"
#include "redis.h"

#define EMAIL_PROOF_ID_LEN 36

enum email_proof_state {
	EMAIL_PROOF_ERROR = -1,
	EMAIL_PROOF_NO_ACCOUNT = 0,
	EMAIL_PROOF_UNVERIFIED = 1,
	EMAIL_PROOF_VERIFIED = 2,
};

/* The account of a (normalised) address and whether its address is proved.
 * user_id gets the account's id unless NO_ACCOUNT; ERROR fills err. */
enum email_proof_state email_proof_lookup(struct pg *db, const char *email, char user_id[EMAIL_PROOF_ID_LEN + 1],
					  char *err, size_t errlen);

/* The same for an account known by its id (from an access token):
 * NO_ACCOUNT when there is no such account any more. */
enum email_proof_state email_proof_of_user(struct pg *db, const char *user_id, char *err, size_t errlen);

/* The account's address has just been proved by someone who may not be
 * its previous holder: the address becomes verified, the password is
 * removed and every session is revoked with reason, its access tokens
 * marked revoked in Redis for mark_ttl_s (the access-token lifetime plus
 * skew).  Nothing happens to an account already verified.  Returns the
 * number of sessions ended, or -1 with err.  Not inside a transaction of
 * the caller's: the claim stands even if what follows fails. */
int email_proof_claim(struct pg *db, struct redis *redis, const char *user_id, const char *reason,
		      long long mark_ttl_s, char *err, size_t errlen);

#endif
