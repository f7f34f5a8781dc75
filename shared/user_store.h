/* user_store.h - the users table, its sessions and the auth audit: every statement on them.
 *
 * The auth responder (accounts, sign-in, sessions and refresh tokens),
 * the tenants responder's back office, aigetctl (`admin`, the ADMIN_EMAIL
 * bootstrap) and the rule modules shared/email_proof.c and
 * shared/site_admin.c read and change accounts through here, so that an
 * account made, verified, claimed, promoted or reset either way is the
 * same row, a session is revoked the same way (and marked revoked in Redis
 * the same way), and every auth_audit row is written by one statement.
 * Callers check who may act; this module only runs the statements.  Each
 * function takes the connection and an err buffer the caller owns; a
 * returned result is the caller's to PQclear() (a handler keeps it with
 * db_request_keep()).  Functions that change rows are not idempotent, so
 * that pg_exec() never retries one outside the caller's transaction.
 *
 * Statements of other tables that join users to show a member's or an
 * actor's address, or to match an invitation's, keep them beside their own
 * statements (fcgi-apps/tenants, tenant_store_summary()). */
#ifndef AIGET_USER_STORE_H
#define AIGET_USER_STORE_H

#include <stddef.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "email.h"
#include "password.h"
#include "pg.h"
#include "redis.h"

#define USER_STORE_ID_LEN 36

/* One account.  Strings are copies; created_at is RFC 3339 UTC. */
struct user_store_user {
	char id[USER_STORE_ID_LEN + 1];
	char email[EMAIL_MAX + 1];
	int email_verified;
	char name[257];                         /* "" when none */
	char role[16];                          /* "user" or "admin" */
	char password_hash[PASSWORD_HASH_MAX];  /* "" when the account has none */
	char created_at[40];
};

/* The account as the API shows it. */
struct json_object *user_store_json(const struct user_store_user *u);

/* ------------------------------------------------------------- accounts */

/* 1 with u filled, 0 when there is no such account, -1 with err.  An
 * address matches without regard to case. */
int user_store_by_email(struct pg *db, const char *email, struct user_store_user *u, char *err, size_t errlen);
int user_store_by_id(struct pg *db, const char *id, struct user_store_user *u, char *err, size_t errlen);

/* A new account: 1 made (u filled), 0 when the address has one already, -1
 * with err.  _create: with a password (hash) and a name (NULL or "": none);
 * _create_verified: its address proved by a provider, no password;
 * _create_admin: the operator's, address taken as proved, the admin role. */
int user_store_create(struct pg *db, const char *email, const char *hash, const char *name, struct user_store_user *u,
		      char *err, size_t errlen);
int user_store_create_verified(struct pg *db, const char *email, const char *name, struct user_store_user *u,
			       char *err, size_t errlen);
int user_store_create_admin(struct pg *db, const char *email, const char *hash, struct user_store_user *u,
			    char *err, size_t errlen);

/* 0, or -1 with err; nothing happens to an account that is not there. */
int user_store_set_password(struct pg *db, const char *id, const char *hash, char *err, size_t errlen);
int user_store_set_verified(struct pg *db, const char *id, char *err, size_t errlen);

/* The account of email gets a new password (u filled): 1, 0 when there is
 * no such account, -1 with err. */
int user_store_reset_password(struct pg *db, const char *email, const char *hash, struct user_store_user *u,
			      char *err, size_t errlen);

/* role "admin" or "user": 1 with u filled, 0 no such account, -1 with err. */
int user_store_set_role(struct pg *db, const char *id, const char *role, struct user_store_user *u, char *err,
			size_t errlen);

/* A verified account becomes admin, with the password hash unless hash is
 * "": 1, 0 when it is not verified (or not there), -1 with err. */
int user_store_make_admin(struct pg *db, const char *id, const char *hash, char *err, size_t errlen);

/* The account's current role (16 bytes): 1, 0 no such account, -1 with err. */
int user_store_role(struct pg *db, const char *id, char *role, char *err, size_t errlen);

/* Inside a transaction: holds the account's row until it ends.  0, or -1. */
int user_store_lock(struct pg *db, const char *id, char *err, size_t errlen);

/* The account's address has just been proved by someone who may not be
 * its holder: if it is unverified, it becomes verified, its password goes
 * and its sessions are revoked with reason, in one statement (a concurrent
 * claim finds nothing to do).  The revoked sessions' ids, one a row (none
 * for an account already verified); NULL with err. */
PGresult *user_store_claim(struct pg *db, const char *id, const char *reason, char *err, size_t errlen);

/* The back office's search: up to fetch (decimal text) accounts, newest
 * first, whose address contains query without regard to case or whose id
 * it is (NULL: any), after the keyset position.  user_store_admin_json()
 * reads a row; column USER_STORE_ADMIN_NCOLUMNS is the sort key. */
#define USER_STORE_ADMIN_NCOLUMNS 7
PGresult *user_store_admin_list(struct pg *db, const char *query, const char *after_key, const char *after_id,
				const char *fetch, char *err, size_t errlen);
struct json_object *user_store_admin_json(PGresult *r, int i);

/* ------------------------------------------------------------- sessions */

/* A session of ttl_s for user_id and its first refresh token (hash_hex, the
 * token's SHA-256); sid gets its id.  0, or -1 with err. */
int user_store_session_start(struct pg *db, const char *user_id, long long ttl_s, const char *user_agent,
			     const char *ip, const char *hash_hex, char sid[USER_STORE_ID_LEN + 1], char *err,
			     size_t errlen);

/* A refresh token as found, its row locked until the transaction ends. */
struct user_store_refresh {
	char session_id[USER_STORE_ID_LEN + 1], user_id[USER_STORE_ID_LEN + 1];
	int spent;                    /* rotated already */
	long since_s;                 /* seconds since it was, 0 when not */
	int live;                     /* unexpired, its session neither revoked nor expired */
};
/* Inside a transaction: 1 with f filled, 0 no such token, -1 with err. */
int user_store_refresh_find(struct pg *db, const char *hash_hex, struct user_store_refresh *f, char *err,
			    size_t errlen);
/* Inside it: the token spent, and its successor (next_hex) in session sid
 * for ttl_s, which extends the session.  0, or -1 with err. */
int user_store_refresh_rotate(struct pg *db, const char *hash_hex, const char *next_hex, const char *sid,
			      long long ttl_s, char *err, size_t errlen);

/* The session and user of a refresh token: 1, 0 none, -1 with err. */
int user_store_refresh_session(struct pg *db, const char *hash_hex, char sid[USER_STORE_ID_LEN + 1],
			       char user_id[USER_STORE_ID_LEN + 1], char *err, size_t errlen);

/* Up to 100 live sessions of user_id, last used first: id, created_at,
 * last_used_at, expires_at (RFC 3339 UTC), user agent, ip ("" when none). */
PGresult *user_store_sessions(struct pg *db, const char *user_id, char *err, size_t errlen);

/* Revokes with reason the live sessions of user_id: one (session set), all
 * but keep (keep set), or all (both NULL).  Their ids, one a row, for
 * user_store_mark_revoked(); NULL with err. */
PGresult *user_store_revoke_sessions(struct pg *db, const char *user_id, const char *session, const char *keep,
				     const char *reason, char *err, size_t errlen);

/* Marks session sid revoked in Redis for ttl_s (the access-token lifetime
 * plus skew), so that its access tokens stop now rather than at their
 * expiry (shared/auth_token.c reads the mark).  0, or -1 with err. */
int user_store_mark_revoked(struct redis *redis, const char *sid, long long ttl_s, char *err, size_t errlen);

/* ------------------------------------------------------------- the audit */

/* One auth_audit row: user_id, email, ip, request_id and detail (JSON text)
 * may be NULL.  0, or -1 with err. */
int user_store_audit(struct pg *db, const char *event, const char *user_id, const char *email, const char *ip,
		     const char *request_id, const char *detail, char *err, size_t errlen);

#endif
