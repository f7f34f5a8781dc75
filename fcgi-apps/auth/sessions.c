/* sessions.c - logout, and listing or revoking one's sessions.
 *
 * Logout takes whatever the client still has: the refresh token (cookie or
 * body) ends its session; the access token, if given and valid, is
 * blacklisted until it would have expired. */
#include "auth.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db_request.h"
#include "log.h"
#include "membership.h"
#include "redis.h"

static void blacklist(struct request *req, const struct auth_user *u)
{
	long ttl = (long)(u->exp - time(NULL)) + AUTH_CLOCK_SKEW_S;
	char err[256];
	redisReply *rep = redis_command(req->ctx->redis, err, sizeof err, "SET %s%s 1 EX %ld",
					AUTH_BLACKLIST_PREFIX, u->jti, ttl > 1 ? ttl : 1);
	if (rep == NULL)
		log_error("could not blacklist an access token: %s", err);
	freeReplyObject(rep);
}

void sessions_logout(struct request *req)
{
	int browser = origin_check(req);
	if (browser < 0)
		return;
	int bad;
	const char *refresh = tokens_refresh_from_request(req, browser, &bad);
	if (bad)
		return;
	struct auth_user u;
	char why[256];
	enum auth_result ar = auth_token_check(req, &u, why, sizeof why);
	if (ar == AUTH_UNAVAILABLE) {
		/* A token that cannot be checked cannot be blacklisted either. */
		auth_token_refuse(req, ar);
		return;
	}
	int have_access = ar == AUTH_OK;
	if (refresh == NULL && !have_access) {
		response_error(req, 401, "unauthorized", "a refresh token or an access token is required");
		return;
	}
	if (refresh) {
		char hash[65], sid[USER_STORE_ID_LEN + 1], uid[USER_STORE_ID_LEN + 1], err[256];
		tokens_hash_hex(refresh, hash);
		int found = db_request_rc(req, user_store_refresh_session(req->ctx->db, hash, sid, uid, err, sizeof err),
					  "user_store_refresh_session", err);
		if (found < 0)
			return;
		if (found) {
			if (tokens_revoke_sessions(req, uid, sid, NULL, "logout") < 0)
				return;
			audit_event(req, "logout", uid, NULL, NULL);
		}
	}
	if (have_access) {
		blacklist(req, &u);
		if (tokens_revoke_sessions(req, u.id, u.session, NULL, "logout") < 0)
			return;
		if (!refresh)
			audit_event(req, "logout", u.id, NULL, NULL);
	}
	if (browser)
		tokens_set_cookie(req, NULL, 0);
	response_no_content(req);
}

void sessions_list(struct request *req)
{
	char err[256];
	PGresult *r = db_request_result(req, user_store_sessions(req->ctx->db, req->user->id, err, sizeof err),
					"user_store_sessions", err);
	if (r == NULL)
		return;
	struct json_object *list = json_object_new_array();
	for (int i = 0; i < PQntuples(r); i++) {
		struct json_object *s = json_object_new_object();
		json_object_object_add(s, "id", json_object_new_string(PQgetvalue(r, i, 0)));
		json_object_object_add(s, "createdAt", json_object_new_string(PQgetvalue(r, i, 1)));
		json_object_object_add(s, "lastUsedAt", json_object_new_string(PQgetvalue(r, i, 2)));
		json_object_object_add(s, "expiresAt", json_object_new_string(PQgetvalue(r, i, 3)));
		json_object_object_add(s, "userAgent", json_object_new_string(PQgetvalue(r, i, 4)));
		json_object_object_add(s, "ip", json_object_new_string(PQgetvalue(r, i, 5)));
		json_object_object_add(s, "current",
				       json_object_new_boolean(strcmp(PQgetvalue(r, i, 0), req->user->session) == 0));
		json_object_array_add(list, s);
	}
	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "sessions", list);
	response_json(req, 200, body);
}

void sessions_revoke_one(struct request *req)
{
	const char *id = request_param(req, "sessionId");
	if (!membership_is_uuid(id)) {
		response_error(req, 404, "not_found", "no such session");
		return;
	}
	int n = tokens_revoke_sessions(req, req->user->id, id, NULL, "revoked_by_user");
	if (n < 0)
		return;
	if (n == 0) {
		response_error(req, 404, "not_found", "no such session");
		return;
	}
	audit_event(req, "session_revoked", req->user->id, NULL, json_object_new_string(id));
	response_no_content(req);
}

void sessions_revoke_all(struct request *req)
{
	if (tokens_revoke_sessions(req, req->user->id, NULL, NULL, "revoked_by_user") < 0)
		return;
	audit_event(req, "sessions_revoked", req->user->id, NULL, NULL);
	response_no_content(req);
}
