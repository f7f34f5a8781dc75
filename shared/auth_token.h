/* auth_token.h - verifying a user's access token, the same way in every responder.
 *
 * An access token is an ES256 JWT from the auth area: signature by a
 * published key (by kid), alg pinned, iss and aud as configured, exp with a
 * small clock skew, then two Redis checks in one round trip: the token's jti
 * is not blacklisted (logout), and its session (sid) has not been revoked
 * (password change or reset, sign-out of a session or of all of them, a
 * replayed refresh token).  Redis down means the
 * token cannot be checked, which is a 503, never a pass. */
#ifndef AIGET_AUTH_TOKEN_H
#define AIGET_AUTH_TOKEN_H

#include <stddef.h>
#include <time.h>

#include "request.h"

#define AUTH_CLOCK_SKEW_S 30

struct auth_user {
	char id[37];        /* sub: the user's uuid */
	char role[16];      /* "user" or "admin" */
	char session[37];   /* sid: the refresh family it came from, "" if none */
	char jti[64];
	time_t iat, exp;
};

enum auth_result {
	AUTH_OK,
	AUTH_MISSING,       /* no bearer token: 401 */
	AUTH_INVALID,       /* bad, expired or foreign: 401 */
	AUTH_REVOKED,       /* logged out or revoked: 401 */
	AUTH_UNAVAILABLE,   /* keys or Redis unreachable: 503 */
};

/* Checks the request's Authorization header.  why gets a short reason for logs. */
enum auth_result auth_token_check(struct request *req, struct auth_user *user, char *why, size_t whylen);

/* Answers the request for a result other than AUTH_OK (401 with
 * WWW-Authenticate, or 503). */
void auth_token_refuse(struct request *req, enum auth_result r);

/* Redis keys shared with the auth area, which writes them. */
#define AUTH_BLACKLIST_PREFIX       "auth:bl:"
#define AUTH_SESSION_REVOKED_PREFIX "auth:sidrev:"

#endif
