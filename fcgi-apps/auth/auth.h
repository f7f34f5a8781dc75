/* auth.h - what the auth area's files share: users, sessions, tokens, limits, audit.
 *
 * Handlers live in files named for what they handle (accounts.c, tokens.c,
 * sessions.c, otp.c, oauth.c, jwks.c); the pieces they share are declared
 * here and defined in users.c, claim.c, tokens.c, cookies.c, limits.c and
 * audit.c. */
#ifndef AIGET_AUTH_AREA_H
#define AIGET_AUTH_AREA_H

#include <stddef.h>

#include "app.h"
#include "auth_token.h"
#include "email.h"
#include "password.h"
#include "pg.h"
#include "user_store.h"

/* ------------------------------------------------------------------ users */

/* Accounts are shared/user_store.h's; these run its statements for a
 * request, a database failure answered 503. */

/* 1 found, 0 not found, -1 database error (then the request is answered). */
int users_by_email(struct request *req, const char *email, struct user_store_user *u);
int users_by_id(struct request *req, const char *id, struct user_store_user *u);
/* 0 created, 1 the email is taken, -1 error (answered). */
int users_create(struct request *req, const char *email, const char *hash, const char *name, struct user_store_user *u);
int users_set_password(struct request *req, const char *id, const char *hash);
int users_set_verified(struct request *req, const char *id);

/* The scrypt parameters from configuration. */
void users_password_params(struct request *req, struct password_params *p);

/* ------------------------------------------------------------------ claim */

/* u's address has just been proved (proof: "email_code", "google", "apple")
 * by someone who may not be the account's registrant.  If it was
 * unverified, the prover takes the account: it becomes verified, loses its
 * password, and every session ends with reason (claim.c).  0, or -1
 * answered (503). */
int claim_account(struct request *req, struct user_store_user *u, const char *reason, const char *proof);

/* --------------------------------------------------------------- sessions */

/* Starts a session for u and answers with a token pair: status 200 or 201;
 * browser as origin_check() said. */
void tokens_start_session(struct request *req, const struct user_store_user *u, int status, int browser);



/* Revokes sessions of a user and marks their access tokens revoked:
 * one session (session set), all but keep (keep set), or all. */
int tokens_revoke_sessions(struct request *req, const char *user_id, const char *session, const char *keep,
			   const char *reason);

/* The request's refresh token: from the cookie for a browser (an allowed
 * Origin), from the JSON body's refreshToken otherwise.  NULL when absent;
 * -1 in *bad when the body is wrong (answered 400). */
const char *tokens_refresh_from_request(struct request *req, int browser, int *bad);

/* Hex SHA-256 of a refresh token: how it is stored. */
void tokens_hash_hex(const char *token, char out[65]);

/* Set-Cookie for the refresh token (value NULL: delete it). */
void tokens_set_cookie(struct request *req, const char *value, long max_age);

/* ---------------------------------------------------------------- cookies */

/* Set-Cookie for a cookie of the auth path (value NULL: delete it), and a
 * cookie of the request (NULL when absent or longer than maxlen). */
void cookie_set(struct request *req, const char *name, const char *value, long max_age);
const char *cookie_get(struct request *req, const char *name, size_t maxlen);

/* --------------------------------------------------------- browser origin */

/* 1: a browser with an allowed Origin (CORS headers added); 0: no Origin
 * (a native client); -1: an Origin not on ALLOWED_ORIGINS (answered 403). */
int origin_check(struct request *req);

/* ------------------------------------------------------------------ oauth */

enum oauth_provider { OAUTH_GOOGLE, OAUTH_APPLE, OAUTH__MAX };

/* Who an ID token says signed in. */
struct oauth_identity {
	char sub[256], email[EMAIL_MAX + 1];
	char name[257];  /* the name claim, "" when none or longer than a name field may be */
};

/* What the claims of a verified ID token of provider p say (oauth.c): NULL
 * with id filled when the issuer, the authorized party, the nonce (Apple's
 * hashed), the subject and a verified email check out, else why not (for
 * the 401 and the log). */
const char *oauth_identity_from_claims(struct request *req, enum oauth_provider p, struct json_object *claims,
				       const char *nonce, struct oauth_identity *id);

/* ----------------------------------------------------------------- limits */

enum limit_rule {
	LIMIT_LOGIN_IP, LIMIT_LOGIN_EMAIL, LIMIT_REGISTER_IP, LIMIT_OTP_SEND_IP, LIMIT_OTP_SEND_EMAIL,
	LIMIT_OTP_VERIFY_IP, LIMIT_RESET_IP, LIMIT_REFRESH_IP, LIMIT_OAUTH_START_IP, LIMIT_PASSWORD_CHANGE_USER,
	LIMIT__MAX
};

/* Counts a hit; -1 when over the limit or Redis fails (answered 429/503). */
int limits_hit(struct request *req, enum limit_rule rule, const char *subject);

/* The client's address as nginx established it (REMOTE_ADDR after real_ip). */
const char *limits_client_ip(struct request *req);

/* ------------------------------------------------------------------ audit */

/* Records a security event; failures are logged, never fatal. */
void audit_event(struct request *req, const char *event, const char *user_id, const char *email,
		 struct json_object *detail);

#endif
