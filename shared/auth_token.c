/* auth_token.c - bearer token parsing, JWT verification and revocation checks. */
#include "auth_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "jwt.h"
#include "log.h"
#include "redis.h"
#include "signing_keys.h"

static const char *claim_string(struct json_object *claims, const char *name)
{
	struct json_object *v;
	if (!json_object_object_get_ex(claims, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int copy_claim(struct json_object *claims, const char *name, char *dst, size_t dstlen, int required)
{
	const char *v = claim_string(claims, name);
	if (v == NULL) {
		dst[0] = '\0';
		return required ? -1 : 0;
	}
	if (strlen(v) >= dstlen)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static enum jwt_error verify(struct app_context *ctx, const char *token, struct json_object **claims)
{
	size_t nkeys;
	const struct jwt_key *const *keys = signing_keys_all(ctx->signing_keys, &nkeys);
	const char *aud[] = { ctx->cfg.auth_jwt_audience };
	struct jwt_verify_opts opts = {
		.alg = JWT_ES256, .keys = keys, .nkeys = nkeys,
		.issuer = ctx->cfg.auth_jwt_issuer, .audiences = aud, .naudiences = 1,
		.leeway_s = AUTH_CLOCK_SKEW_S, .now = 0,
	};
	return jwt_verify(token, &opts, claims);
}

/* One round trip: is the jti blacklisted, is its session revoked? */
static enum auth_result check_revocation(struct app_context *ctx, const struct auth_user *u, char *why, size_t whylen)
{
	char err[256];
	redisReply *rep = redis_command(ctx->redis, err, sizeof err, "MGET %s%s %s%s",
					AUTH_BLACKLIST_PREFIX, u->jti, AUTH_SESSION_REVOKED_PREFIX, u->session);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
		snprintf(why, whylen, "revocation check failed: %s", rep ? "unexpected reply" : err);
		freeReplyObject(rep);
		return AUTH_UNAVAILABLE;
	}
	enum auth_result r = AUTH_OK;
	if (rep->element[0]->type == REDIS_REPLY_STRING) {
		snprintf(why, whylen, "token was revoked");
		r = AUTH_REVOKED;
	} else if (rep->element[1]->type == REDIS_REPLY_STRING) {
		snprintf(why, whylen, "token's session was revoked");
		r = AUTH_REVOKED;
	}
	freeReplyObject(rep);
	return r;
}

enum auth_result auth_token_check(struct request *req, struct auth_user *u, char *why, size_t whylen)
{
	struct app_context *ctx = req->ctx;
	memset(u, 0, sizeof *u);
	const char *h = FCGX_GetParam("HTTP_AUTHORIZATION", req->fcgx->envp);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		snprintf(why, whylen, "no bearer token");
		return AUTH_MISSING;
	}
	const char *token = h + 7;

	char err[256];
	if (ctx->signing_keys == NULL)
		ctx->signing_keys = signing_keys_new(0);
	if (signing_keys_load(ctx->signing_keys, ctx->db, 0, err, sizeof err) != 0) {
		snprintf(why, whylen, "signing keys unavailable: %s", err);
		return AUTH_UNAVAILABLE;
	}
	struct json_object *claims = NULL;
	enum jwt_error e = verify(ctx, token, &claims);
	if (e == JWT_UNKNOWN_KID && signing_keys_load(ctx->signing_keys, ctx->db, 1, err, sizeof err) == 0)
		e = verify(ctx, token, &claims); /* a rotation this process has not seen yet */
	if (e != JWT_OK) {
		snprintf(why, whylen, "%s", jwt_error_text(e));
		return AUTH_INVALID;
	}
	struct json_object *v;
	int ok = copy_claim(claims, "sub", u->id, sizeof u->id, 1) == 0 &&
		 copy_claim(claims, "role", u->role, sizeof u->role, 1) == 0 &&
		 copy_claim(claims, "jti", u->jti, sizeof u->jti, 1) == 0 &&
		 copy_claim(claims, "sid", u->session, sizeof u->session, 1) == 0 &&
		 json_object_object_get_ex(claims, "iat", &v) && json_object_is_type(v, json_type_int);
	if (ok) {
		u->iat = (time_t)json_object_get_int64(v);
		json_object_object_get_ex(claims, "exp", &v);
		u->exp = (time_t)json_object_get_int64(v);
	}
	json_object_put(claims);
	if (!ok) {
		snprintf(why, whylen, "token lacks a required claim");
		return AUTH_INVALID;
	}
	return check_revocation(ctx, u, why, whylen);
}

void auth_token_refuse(struct request *req, enum auth_result r)
{
	switch (r) {
	case AUTH_UNAVAILABLE:
		response_header(req, "Retry-After", "5");
		response_error(req, 503, "unavailable", "authentication is temporarily unavailable");
		break;
	case AUTH_MISSING:
		response_header(req, "WWW-Authenticate", "Bearer");
		response_error(req, 401, "unauthorized", "an access token is required");
		break;
	default:
		response_header(req, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		response_error(req, 401, "unauthorized", "the access token is invalid or expired");
		break;
	}
}
