/* tokens.c - sessions, refresh-token rotation and access-token issuing.
 *
 * A session is a refresh-token family.  Each refresh spends the presented
 * token and issues a new pair inside one transaction that locks the token's
 * row, so two concurrent refreshes with the same token cannot both rotate it.
 * A spent token presented again within AUTH_REFRESH_GRACE_SECONDS is a client
 * retrying after a lost answer: it gets the very same pair back, kept in Redis
 * for that window sealed with a key derived from the old token (so Redis never
 * holds a usable token).  Later, it is a stolen token being replayed: the
 * whole session is revoked.  The statements on sessions and refresh tokens
 * are shared/user_store.c's. */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "db_request.h"
#include "fields.h"
#include "jwt.h"
#include "log.h"
#include "redis.h"
#include "signing_keys.h"

#define REFRESH_COOKIE "aiget_refresh"
#define REFRESH_BYTES 32
#define GRACE_PREFIX "auth:grace:"

/* ------------------------------------------------------------- helpers */

void tokens_hash_hex(const char *token, char out[2 * CRYPTO_SHA256_LEN + 1])
{
	unsigned char d[CRYPTO_SHA256_LEN];
	crypto_sha256(token, strlen(token), d);
	crypto_hex(d, sizeof d, out);
}

/* Signs an access token for u in session sid; NULL when no key is usable. */
static char *sign_access(struct request *req, const char *user_id, const char *role, const char *sid)
{
	struct app_context *ctx = req->ctx;
	char err[256];
	if (signing_keys_load(ctx->signing_keys, ctx->db, 0, err, sizeof err) != 0 ||
	    signing_keys_current(ctx->signing_keys) == NULL) {
		log_error("no signing key: %s", err);
		return NULL;
	}
	unsigned char raw[16];
	char jti[33];
	if (crypto_random(raw, sizeof raw) != 0)
		return NULL;
	crypto_hex(raw, sizeof raw, jti);
	time_t now = time(NULL);
	struct json_object *c = json_object_new_object();
	json_object_object_add(c, "iss", json_object_new_string(ctx->cfg.auth_jwt_issuer));
	json_object_object_add(c, "sub", json_object_new_string(user_id));
	json_object_object_add(c, "aud", json_object_new_string(ctx->cfg.auth_jwt_audience));
	json_object_object_add(c, "iat", json_object_new_int64(now));
	json_object_object_add(c, "exp", json_object_new_int64(now + ctx->cfg.auth_access_ttl_s));
	json_object_object_add(c, "jti", json_object_new_string(jti));
	json_object_object_add(c, "role", json_object_new_string(role));
	json_object_object_add(c, "sid", json_object_new_string(sid));
	char *jwt = jwt_sign(signing_keys_current(ctx->signing_keys), c);
	json_object_put(c);
	char *copy = jwt ? arena_strdup(req->arena, jwt) : NULL;
	free(jwt);
	return copy;
}

void tokens_set_cookie(struct request *req, const char *value, long max_age)
{
	cookie_set(req, REFRESH_COOKIE, value, max_age);
}

/* The answer with a token pair: the refresh token goes in the body for a
 * native client and only in the cookie for a browser. */
static void respond_pair(struct request *req, int status, const struct user_store_user *u, const char *access,
			 const char *refresh, int browser)
{
	struct config *cfg = &req->ctx->cfg;
	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "user", user_store_json(u));
	json_object_object_add(body, "accessToken", json_object_new_string(access));
	json_object_object_add(body, "tokenType", json_object_new_string("Bearer"));
	json_object_object_add(body, "expiresIn", json_object_new_int64(cfg->auth_access_ttl_s));
	if (browser)
		tokens_set_cookie(req, refresh, (long)cfg->auth_refresh_ttl_s);
	else
		json_object_object_add(body, "refreshToken", json_object_new_string(refresh));
	json_object_object_add(body, "refreshExpiresIn", json_object_new_int64(cfg->auth_refresh_ttl_s));
	response_json(req, status, body);
}

/* ------------------------------------------------------------- sessions */

void tokens_start_session(struct request *req, const struct user_store_user *u, int status, int browser)
{
	char *refresh = crypto_random_token(req->arena, REFRESH_BYTES);
	char hash[2 * CRYPTO_SHA256_LEN + 1];
	if (refresh == NULL) {
		response_unavailable(req, "random", "no randomness");
		return;
	}
	tokens_hash_hex(refresh, hash);
	const char *ua = FCGX_GetParam("HTTP_USER_AGENT", req->fcgx->envp);
	char sid[USER_STORE_ID_LEN + 1], err[256];
	if (db_request_rc(req, user_store_session_start(req->ctx->db, u->id, req->ctx->cfg.auth_refresh_ttl_s, ua,
							limits_client_ip(req), hash, sid, err, sizeof err),
			  "user_store_session_start", err) < 0)
		return;
	char *access = sign_access(req, u->id, u->role, sid);
	if (access == NULL) {
		response_unavailable(req, "sign", "no signing key");
		return;
	}
	respond_pair(req, status, u, access, refresh, browser);
}

const char *tokens_refresh_from_request(struct request *req, int browser, int *bad)
{
	static const char *const allowed[] = { "refreshToken", NULL };
	*bad = 0;
	if (req->json && fields_only(req, allowed) != 0) {
		*bad = -1;
		return NULL;
	}
	if (!browser) {
		const char *token;
		if (req->json && field_string(req, "refreshToken", 0, 128, &token) != 0) {
			*bad = -1;
			return NULL;
		}
		return req->json ? token : NULL;
	}
	return cookie_get(req, REFRESH_COOKIE, 128);
}

int tokens_revoke_sessions(struct request *req, const char *user_id, const char *session, const char *keep,
			   const char *reason)
{
	char err[256];
	PGresult *r = db_request_result(req, user_store_revoke_sessions(req->ctx->db, user_id, session, keep, reason,
									err, sizeof err),
					"user_store_revoke_sessions", err);
	if (r == NULL)
		return -1;
	/* Access tokens of those sessions die with them, not at their expiry. */
	for (int i = 0; i < PQntuples(r); i++)
		if (user_store_mark_revoked(req->ctx->redis, PQgetvalue(r, i, 0),
					    req->ctx->cfg.auth_access_ttl_s + AUTH_CLOCK_SKEW_S, err, sizeof err) != 0)
			log_error("could not mark session %s revoked in Redis: %s", PQgetvalue(r, i, 0), err);
	return PQntuples(r);
}

/* ------------------------------------------------------------- refresh */

/* The key that seals a grace-window copy: only the old token opens it. */
static void grace_key(struct request *req, const char *old, unsigned char key[32])
{
	const char *secret = req->ctx->cfg.auth_secret;
	char *msg = arena_printf(req->arena, "grace:%s", old);
	crypto_hmac_sha256(secret, strlen(secret), msg, strlen(msg), key);
}

static int grace_store(struct request *req, const char *old, const char *hash, const char *access,
		       const char *refresh, const char *user_id)
{
	unsigned char key[32];
	grace_key(req, old, key);
	char *plain = arena_printf(req->arena, "%s %s %s", access, refresh, user_id);
	size_t len = strlen(plain);
	unsigned char *sealed = arena_alloc(req->arena, len + CRYPTO_SEAL_OVERHEAD);
	int ok = crypto_seal(key, plain, len, sealed) == 0;
	OPENSSL_cleanse(key, sizeof key);
	OPENSSL_cleanse(plain, len);
	if (!ok)
		return -1;
	char err[256];
	redisReply *rep = redis_command(req->ctx->redis, err, sizeof err, "SET %s%s %b EX %lld", GRACE_PREFIX, hash,
					sealed, len + CRYPTO_SEAL_OVERHEAD,
					req->ctx->cfg.auth_refresh_grace_s > 0 ? req->ctx->cfg.auth_refresh_grace_s : 1);
	ok = rep && rep->type == REDIS_REPLY_STATUS;
	freeReplyObject(rep);
	return ok ? 0 : -1;
}

/* Fills access/refresh/user_id from the sealed copy; 0 when found. */
static int grace_load(struct request *req, const char *old, const char *hash, char **access, char **refresh,
		      char **user_id)
{
	char err[256];
	redisReply *rep = redis_command(req->ctx->redis, err, sizeof err, "GET %s%s", GRACE_PREFIX, hash);
	if (rep == NULL || rep->type != REDIS_REPLY_STRING || rep->len <= CRYPTO_SEAL_OVERHEAD) {
		freeReplyObject(rep);
		return -1;
	}
	unsigned char key[32];
	grace_key(req, old, key);
	size_t plen = rep->len - CRYPTO_SEAL_OVERHEAD;
	char *plain = arena_alloc(req->arena, plen + 1);
	int ok = crypto_open(key, (unsigned char *)rep->str, rep->len, (unsigned char *)plain) == 0;
	OPENSSL_cleanse(key, sizeof key);
	freeReplyObject(rep);
	if (!ok)
		return -1;
	plain[plen] = '\0';
	*access = strtok(plain, " ");
	*refresh = strtok(NULL, " ");
	*user_id = strtok(NULL, " ");
	return *access && *refresh && *user_id ? 0 : -1;
}

static void refuse_refresh(struct request *req, int browser)
{
	if (browser)
		tokens_set_cookie(req, NULL, 0);
	response_error(req, 401, "unauthorized", "the refresh token is invalid, expired or revoked");
}

/* The refresh token the request presents (the body's, or a browser's
 * cookie), or NULL when answered: 400 for a bad body, 401 when there is
 * none. */
static const char *presented_token(struct request *req, int browser)
{
	int bad;
	const char *old = tokens_refresh_from_request(req, browser, &bad);
	if (bad)
		return NULL;
	if (old == NULL)
		response_error(req, 401, "unauthorized", browser ? "the refresh cookie is missing"
								 : "refreshToken is required");
	return old;
}

/* A token already rotated, after the transaction is rolled back.  Within
 * the grace window it is a client's retry, answered with the pair its
 * first use got (the sealed copy); past it, it is reuse of a stolen token,
 * and the session is revoked. */
static void answer_spent(struct request *req, int browser, const char *old, const char *hash,
			 const struct user_store_refresh *f)
{
	struct user_store_user u;
	char *access, *refresh, *uid;
	if (f->since_s <= req->ctx->cfg.auth_refresh_grace_s &&
	    grace_load(req, old, hash, &access, &refresh, &uid) == 0 && users_by_id(req, uid, &u) == 1) {
		respond_pair(req, 200, &u, access, refresh, browser);
		return;
	}
	if (req->status)
		return;
	/* Copies of one replay race here: the one whose UPDATE revokes the
	 * session records it, the others find it revoked already. */
	if (f->since_s > req->ctx->cfg.auth_refresh_grace_s &&
	    tokens_revoke_sessions(req, f->user_id, f->session_id, NULL, "refresh_reuse") > 0) {
		audit_event(req, "refresh_reuse_detected", f->user_id, NULL, json_object_new_string(f->session_id));
		log_warn("refresh token reuse: session %s revoked", f->session_id);
	}
	if (req->status == 0)
		refuse_refresh(req, browser);
}

/* A live token's use, inside the transaction that found it: a new access
 * token and a new refresh token in its place, the sealed copy for a retry,
 * then COMMIT and the answer.  Rolls back on any failure. */
static void rotate(struct request *req, int browser, const char *old, const char *hash,
		   const struct user_store_refresh *f)
{
	const char *sid = f->session_id;
	struct user_store_user u;
	int found = users_by_id(req, f->user_id, &u);
	char *next = crypto_random_token(req->arena, REFRESH_BYTES);
	char next_hash[2 * CRYPTO_SHA256_LEN + 1], err[256];
	char *access = found == 1 && next ? sign_access(req, u.id, u.role, sid) : NULL;
	if (access == NULL) {
		db_request_rollback(req);
		if (req->status == 0) {
			if (found == 0)
				refuse_refresh(req, browser);
			else
				response_unavailable(req, "refresh", "could not issue a token");
		}
		return;
	}
	tokens_hash_hex(next, next_hash);
	/* The sealed copy is written before COMMIT: a concurrent retry waiting
	 * on the row lock finds it as soon as it sees the token spent. */
	if (db_request_rc(req, user_store_refresh_rotate(req->ctx->db, hash, next_hash, sid,
							 req->ctx->cfg.auth_refresh_ttl_s, err, sizeof err),
			  "user_store_refresh_rotate", err) != 0) {
		db_request_rollback(req);
		return;
	}
	if (req->ctx->cfg.auth_refresh_grace_s > 0 && grace_store(req, old, hash, access, next, u.id) != 0)
		log_warn("grace copy not stored; a retry of this refresh will be refused");
	if (db_request_commit(req) != 0)
		return;
	respond_pair(req, 200, &u, access, next, browser);
}

/* POST /refresh */
void tokens_refresh(struct request *req)
{
	int browser = origin_check(req);
	if (browser < 0 || limits_hit(req, LIMIT_REFRESH_IP, NULL) != 0)
		return;
	const char *old = presented_token(req, browser);
	if (old == NULL)
		return;
	char hash[2 * CRYPTO_SHA256_LEN + 1];
	tokens_hash_hex(old, hash);

	if (db_request_begin(req) != 0)
		return;
	struct user_store_refresh f;
	char err[256];
	int found = db_request_rc(req, user_store_refresh_find(req->ctx->db, hash, &f, err, sizeof err),
				  "user_store_refresh_find", err);
	if (found <= 0) {
		db_request_rollback(req);
		if (found == 0)
			refuse_refresh(req, browser);
		return;
	}
	if (!f.live) {
		db_request_rollback(req);
		refuse_refresh(req, browser);
		return;
	}
	if (f.spent) {
		db_request_rollback(req);
		answer_spent(req, browser, old, hash, &f);
		return;
	}
	rotate(req, browser, old, hash, &f);
}
