/* oauth.c - sign-in with Google and Apple (OpenID Connect).
 *
 * /<provider>/start makes state, nonce and a PKCE verifier, keeps them in
 * Redis for ten minutes under the state (single use), and answers the
 * provider's authorization URL; a browser's state is also bound to that
 * browser by a cookie (see "browser binding" below).  /<provider>/token
 * takes either the code and state the provider redirected back with (the
 * server exchanges the code, with its client secret and the PKCE verifier)
 * or an ID token and its nonce from a native SDK.  Either way the ID token
 * is verified here: RS256 by a key of the provider's JWKS (cached, fetched
 * again on an unknown kid), issuer, audience among the configured client
 * ids (web, iOS, Android, Apple service and bundle ids), the authorized
 * party (azp) also one of them, expiry, nonce (Apple carries its SHA-256),
 * and a verified email.  A (provider, subject) identity maps to one user:
 * the first sign-in links an existing account with that verified email, or
 * creates one, named by the client's name or else the token's name claim.
 * An account has at most one identity per provider: a second subject with
 * the same email is another provider account, perhaps someone else's, and
 * is refused (409) rather than let into this one. */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "db_request.h"
#include "fields.h"
#include "http_client.h"
#include "jwt.h"
#include "log.h"
#include "redis.h"

#define JWKS_TTL_S 3600
#define JWKS_MISS_S 10
#define JWKS_MAX 8
#define STATE_TTL_S 600
#define APPLE_SECRET_TTL_S 3600

static const struct {
	const char *name, *title, *scope;
	int nonce_hashed;  /* Apple puts SHA-256(nonce) in the ID token */
	int form_post;     /* Apple posts the code back when it shares name and email */
} providers[OAUTH__MAX] = {
	[OAUTH_GOOGLE] = { "google", "Google", "openid email profile", 0, 0 },
	[OAUTH_APPLE]  = { "apple",  "Apple",  "openid email name",    1, 1 },
};

/* Per process: the providers' key sets and Apple's client secret. */
static struct {
	struct jwt_key *keys[JWKS_MAX];
	size_t n;
	time_t fetched, missed;
} jwks[OAUTH__MAX];

static struct {
	char *jwt;
	time_t exp;
} apple_secret;

static const struct pg_statement st_identity = {
	"oauth_identity", "SELECT user_id FROM identities WHERE provider = $1 AND subject = $2", 2, 1, PG_PRIMARY,
};
/* Links (provider, subject) to the account unless another subject of the
 * provider has it; answers true when one does (and nothing is linked). */
static const struct pg_statement st_link = {
	"oauth_link",
	"WITH other AS (SELECT 1 FROM identities WHERE provider = $1 AND user_id = $3::uuid AND subject <> $2),"
	" linked AS (INSERT INTO identities (provider, subject, user_id, email)"
	"  SELECT $1, $2, $3::uuid, $4 WHERE NOT EXISTS (SELECT 1 FROM other)"
	"  ON CONFLICT (provider, subject) DO NOTHING)"
	" SELECT EXISTS (SELECT 1 FROM other)",
	4, 0, PG_PRIMARY,
};
static const struct config_provider *conf(struct request *req, enum oauth_provider p)
{
	return p == OAUTH_GOOGLE ? &req->ctx->cfg.google : &req->ctx->cfg.apple;
}

static void unavailable(struct request *req, const char *what, const char *detail)
{
	log_error("%s: %s", what, detail);
	response_header(req, "Retry-After", "5");
	response_error(req, 503, "unavailable", "sign-in is temporarily unavailable");
}

/* 503 like every "unavailable", though only an operator can end this one. */
static void not_configured(struct request *req, enum oauth_provider p, const char *what)
{
	response_header(req, "Retry-After", "3600");
	response_error(req, 503, "unavailable", "sign-in with %s is not configured%s", providers[p].name, what);
}

/* A provider is usable, for ID tokens of native clients at least, when its
 * client ids are set and its key set's URL is https (or loopback, for the
 * tests' stand-in). */
static int usable(const struct config_provider *c)
{
	return c->client_ids && *c->client_ids && http_client_url_allowed(c->jwks_url);
}

/* The web sign-in, the code flow of /start and /token, needs more: the
 * redirect URI, both endpoints of the flow, and what the client secret is
 * made of (Google's secret; Apple's team, key id and key file, from which
 * apple_client_secret() signs one).  One rule for /start, which refuses to
 * begin a flow that could not finish, and for /providers, which tells
 * clients whether to offer the flow at all. */
static int web_ready(const struct config_provider *c, enum oauth_provider p)
{
	int secret = p == OAUTH_APPLE ? (c->team_id && c->key_id && c->private_key_file)
					 : c->client_secret != NULL;
	return usable(c) && c->redirect_uri && secret && http_client_url_allowed(c->authorization_url) &&
	       http_client_url_allowed(c->token_url);
}

/* usable(), or the "not configured" answer. */
static int configured(struct request *req, enum oauth_provider p)
{
	int ok = usable(conf(req, p));
	if (!ok)
		not_configured(req, p, "");
	return ok;
}

/* The first of the comma-separated client ids, in the arena. */
static char *primary_client_id(struct request *req, const struct config_provider *c)
{
	return arena_strndup(req->arena, c->client_ids, strcspn(c->client_ids, ","));
}

/* The comma-separated client ids as a list of audiences, in the arena. */
static size_t audiences(struct request *req, const struct config_provider *c, const char **out, size_t max)
{
	size_t n = 0;
	for (const char *p = c->client_ids; *p && n < max;) {
		while (*p == ',' || *p == ' ')
			p++;
		size_t len = strcspn(p, ",");
		size_t m = len;
		while (m && p[m - 1] == ' ')
			m--;
		if (m)
			out[n++] = arena_strndup(req->arena, p, m);
		p += len;
	}
	return n;
}

/* ------------------------------------------------------------------ JWKS */

static int fetch_jwks(struct request *req, enum oauth_provider p, int force)
{
	time_t now = time(NULL);
	if (jwks[p].fetched && now - jwks[p].fetched < JWKS_TTL_S && !force)
		return 0;
	if (force && jwks[p].missed && now - jwks[p].missed < JWKS_MISS_S)
		return 0;
	if (force)
		jwks[p].missed = now;
	char err[256];
	struct json_object *set = NULL;
	struct jwt_key *keys[JWKS_MAX];
	int status = http_client_get_json(conf(req, p)->jwks_url, req->ctx->cfg.oauth_timeout_ms, &set, err, sizeof err);
	int n = status == 200 ? jwt_keys_from_jwks(set, JWT_RS256, keys, JWKS_MAX) : -1;
	if (n < 0) {
		log_error("%s JWKS: %s", providers[p].name, status < 0 ? err : "unexpected answer");
		json_object_put(set);
		return -1;
	}
	for (size_t i = 0; i < jwks[p].n; i++)
		jwt_key_free(jwks[p].keys[i]);
	for (int i = 0; i < n; i++)
		jwks[p].keys[i] = keys[i];
	jwks[p].n = (size_t)n;
	jwks[p].fetched = now;
	json_object_put(set);
	return 0;
}

/* ------------------------------------------------------ Apple's secret */

/* Apple's client secret is an ES256 JWT signed with the team's key; it is
 * made here and renewed before it expires. */
static const char *apple_client_secret(struct request *req)
{
	const struct config_provider *c = conf(req, OAUTH_APPLE);
	time_t now = time(NULL);
	if (apple_secret.jwt && apple_secret.exp - now > 300)
		return apple_secret.jwt;
	if (!c->team_id || !c->key_id || !c->private_key_file) {
		log_error("apple: APPLE_TEAM_ID, APPLE_KEY_ID and APPLE_PRIVATE_KEY_FILE are needed for the code flow");
		return NULL;
	}
	FILE *f = fopen(c->private_key_file, "r");
	char pem[4096];
	size_t n = f ? fread(pem, 1, sizeof pem - 1, f) : 0;
	if (f)
		fclose(f);
	pem[n] = '\0';
	struct jwt_key *key = n ? jwt_key_from_private_pem(pem, c->key_id, JWT_ES256) : NULL;
	explicit_bzero(pem, sizeof pem);
	if (key == NULL) {
		log_error("apple: cannot read the private key in APPLE_PRIVATE_KEY_FILE");
		return NULL;
	}
	struct json_object *claims = json_object_new_object();
	json_object_object_add(claims, "iss", json_object_new_string(c->team_id));
	json_object_object_add(claims, "iat", json_object_new_int64(now));
	json_object_object_add(claims, "exp", json_object_new_int64(now + APPLE_SECRET_TTL_S));
	json_object_object_add(claims, "aud", json_object_new_string(c->issuer));
	json_object_object_add(claims, "sub", json_object_new_string(primary_client_id(req, c)));
	free(apple_secret.jwt);
	apple_secret.jwt = jwt_sign(key, claims);
	apple_secret.exp = now + APPLE_SECRET_TTL_S;
	json_object_put(claims);
	jwt_key_free(key);
	return apple_secret.jwt;
}

/* ------------------------------------------------------ browser binding */

/* A state travels through the provider and back in URLs and forms, where
 * it can leak (a referrer, a log, a link sent for help) or be planted (a
 * page that posts its own code and state, to sign the visitor into an
 * account of its choosing).  So a browser that starts a sign-in also gets a
 * cookie whose hash is kept with the state, and /token redeems that state
 * only with that cookie; a browser redeems no state without one.  Native
 * clients (no Origin, no cookie jar) keep unbound states.  One cookie per
 * browser: a second /start replaces it, so only the latest sign-in begun
 * there can finish. */
#define BROWSER_COOKIE "aiget_oauth"
#define UNBOUND "-"

/* A new binding: its value, for the cookie, and its SHA-256 (hex) into
 * hash, for the state.  NULL without randomness. */
static char *browser_binding(struct request *req, char hash[65])
{
	char *value = crypto_random_token(req->arena, 32);
	if (value)
		tokens_hash_hex(value, hash);
	return value;
}

/* 1 when the request carries the cookie whose hash the state keeps. */
static int browser_bound(struct request *req, const char *hash)
{
	const char *value = cookie_get(req, BROWSER_COOKIE, 64);
	char got[65];
	if (value == NULL || strlen(hash) != 64)
		return 0;
	tokens_hash_hex(value, got);
	return crypto_equal(got, hash, 64);
}

/* ---------------------------------------------------------------- start */

static void start(struct request *req, enum oauth_provider p)
{
	int browser = origin_check(req);
	if (browser < 0 || limits_hit(req, LIMIT_OAUTH_START_IP, NULL) != 0 || !configured(req, p))
		return;
	const struct config_provider *c = conf(req, p);
	if (!web_ready(c, p)) {
		not_configured(req, p, " for the code flow");
		return;
	}
	char *state = crypto_random_token(req->arena, 32), *nonce = crypto_random_token(req->arena, 32);
	char *verifier = crypto_random_token(req->arena, 32);
	char bound[65] = UNBOUND;
	char *binding = browser ? browser_binding(req, bound) : NULL;
	if (!state || !nonce || !verifier || (browser && !binding)) {
		response_error(req, 500, "internal", "no randomness");
		return;
	}
	unsigned char d[CRYPTO_SHA256_LEN];
	crypto_sha256(verifier, strlen(verifier), d);
	char *challenge = jwt_b64url_encode(d, sizeof d);
	char nonce_hex[65];
	crypto_sha256(nonce, strlen(nonce), d);
	crypto_hex(d, sizeof d, nonce_hex);

	char err[256];
	redisReply *rep = redis_command(req->ctx->redis, err, sizeof err, "SET auth:oauth:%s %s EX %d", state,
					arena_printf(req->arena, "%s %s %s %s", providers[p].name, nonce, verifier, bound),
					STATE_TTL_S);
	int stored = rep && rep->type == REDIS_REPLY_STATUS;
	freeReplyObject(rep);
	char *query = NULL;
	int ok = stored && challenge &&
		 http_client_form_add(&query, "response_type", "code") == 0 &&
		 http_client_form_add(&query, "client_id", primary_client_id(req, c)) == 0 &&
		 http_client_form_add(&query, "redirect_uri", c->redirect_uri) == 0 &&
		 http_client_form_add(&query, "scope", providers[p].scope) == 0 &&
		 http_client_form_add(&query, "state", state) == 0 &&
		 http_client_form_add(&query, "nonce", providers[p].nonce_hashed ? nonce_hex : nonce) == 0 &&
		 http_client_form_add(&query, "code_challenge", challenge) == 0 &&
		 http_client_form_add(&query, "code_challenge_method", "S256") == 0 &&
		 (!providers[p].form_post || http_client_form_add(&query, "response_mode", "form_post") == 0);
	free(challenge);
	if (!ok) {
		free(query);
		if (!stored)
			unavailable(req, "oauth state not stored", err);
		else
			response_error(req, 500, "internal", "could not build the authorization URL");
		return;
	}
	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "authorizationUrl",
			       json_object_new_string(arena_printf(req->arena, "%s%c%s", c->authorization_url,
								   strchr(c->authorization_url, '?') ? '&' : '?', query)));
	json_object_object_add(body, "state", json_object_new_string(state));
	free(query);
	if (binding)
		cookie_set(req, BROWSER_COOKIE, binding, STATE_TTL_S);
	response_json(req, 200, body);
}

void oauth_google_start(struct request *req) { start(req, OAUTH_GOOGLE); }
void oauth_apple_start(struct request *req) { start(req, OAUTH_APPLE); }

/* GET /providers: which web sign-ins /start would begin, so that a sign-in
 * page offers only those.  Public and the same for every caller: it says
 * what the configuration says, nothing about accounts. */
void oauth_providers(struct request *req)
{
	struct json_object *body = json_object_new_object();
	for (enum oauth_provider p = 0; p < OAUTH__MAX; p++)
		json_object_object_add(body, providers[p].name, json_object_new_boolean(web_ready(conf(req, p), p)));
	response_json(req, 200, body);
}

/* ---------------------------------------------------------------- token */

/* Exchanges a code for the provider's ID token (malloc'd), or answers. */
static char *exchange_code(struct request *req, enum oauth_provider p, const char *code, const char *verifier)
{
	const struct config_provider *c = conf(req, p);
	const char *secret = p == OAUTH_APPLE ? apple_client_secret(req) : c->client_secret;
	if (secret == NULL || !http_client_url_allowed(c->token_url)) {
		not_configured(req, p, " for the code flow");
		return NULL;
	}
	char *form = NULL, err[256];
	if (http_client_form_add(&form, "grant_type", "authorization_code") != 0 ||
	    http_client_form_add(&form, "code", code) != 0 ||
	    http_client_form_add(&form, "redirect_uri", c->redirect_uri ? c->redirect_uri : "") != 0 ||
	    http_client_form_add(&form, "client_id", primary_client_id(req, c)) != 0 ||
	    http_client_form_add(&form, "client_secret", secret) != 0 ||
	    http_client_form_add(&form, "code_verifier", verifier) != 0) {
		free(form);
		response_error(req, 500, "internal", "could not build the token request");
		return NULL;
	}
	struct json_object *answer = NULL, *v;
	int status = http_client_post_form(c->token_url, form, req->ctx->cfg.oauth_timeout_ms, &answer, err, sizeof err);
	explicit_bzero(form, strlen(form));
	free(form);
	if (status < 0) {
		unavailable(req, "token endpoint", err);
		return NULL;
	}
	char *id_token = NULL;
	if (status == 200 && answer && json_object_object_get_ex(answer, "id_token", &v) &&
	    json_object_is_type(v, json_type_string))
		id_token = strdup(json_object_get_string(v));
	if (id_token == NULL) {
		const char *why = answer && json_object_object_get_ex(answer, "error", &v) ? json_object_get_string(v) : "?";
		log_warn("%s refused the code: HTTP %d, %s", providers[p].name, status, why);
		response_error(req, 401, "unauthorized", "%s did not accept the authorization code", providers[p].name);
	}
	json_object_put(answer);
	return id_token;
}

static enum jwt_error verify_once(struct request *req, enum oauth_provider p, const char *token, struct json_object **claims)
{
	const char *aud[16];
	struct jwt_verify_opts opts = {
		.alg = JWT_RS256, .keys = (const struct jwt_key *const *)jwks[p].keys, .nkeys = jwks[p].n,
		.issuer = NULL, .audiences = aud, .naudiences = audiences(req, conf(req, p), aud, 16),
		.leeway_s = 60, .now = 0,
	};
	return jwt_verify(token, &opts, claims);
}

static const char *claim_str(struct json_object *claims, const char *name)
{
	struct json_object *v;
	return json_object_object_get_ex(claims, name, &v) && json_object_is_type(v, json_type_string)
		? json_object_get_string(v) : NULL;
}

/* OpenID Connect Core 3.1.3.7: azp, when present, names the client the
 * token was issued to, which must be one of ours; with several audiences it
 * must be present, or the token may be another party's that merely lists
 * us among its audiences. */
static int azp_ok(struct request *req, enum oauth_provider p, struct json_object *claims)
{
	struct json_object *azp, *aud;
	if (!json_object_object_get_ex(claims, "azp", &azp))
		return !(json_object_object_get_ex(claims, "aud", &aud) && json_object_is_type(aud, json_type_array) &&
			 json_object_array_length(aud) > 1);
	if (!json_object_is_type(azp, json_type_string))
		return 0;
	const char *ours[16];
	size_t n = audiences(req, conf(req, p), ours, 16);
	for (size_t i = 0; i < n; i++)
		if (strcmp(json_object_get_string(azp), ours[i]) == 0)
			return 1;
	return 0;
}

const char *oauth_identity_from_claims(struct request *req, enum oauth_provider p, struct json_object *claims,
				       const char *nonce, struct oauth_identity *id)
{
	const struct config_provider *c = conf(req, p);
	const char *iss = claim_str(claims, "iss");
	const char *sub = claim_str(claims, "sub"), *email = claim_str(claims, "email");
	const char *tnonce = claim_str(claims, "nonce");
	const char *name = claim_str(claims, "name");
	struct json_object *ev = NULL;
	int verified = json_object_object_get_ex(claims, "email_verified", &ev) &&
		       (json_object_is_type(ev, json_type_boolean) ? json_object_get_boolean(ev)
			: json_object_is_type(ev, json_type_string) && strcmp(json_object_get_string(ev), "true") == 0);
	/* Google issues both spellings of its issuer. */
	int iss_ok = iss && (strcmp(iss, c->issuer) == 0 ||
			     (p == OAUTH_GOOGLE && strcmp(c->issuer, "https://accounts.google.com") == 0 &&
			      strcmp(iss, "accounts.google.com") == 0));
	/* The nonce as sent, whole (up to 256 bytes), or Apple's SHA-256 of it. */
	const char *expected = nonce;
	char hashed[2 * CRYPTO_SHA256_LEN + 1];
	if (providers[p].nonce_hashed) {
		unsigned char d[CRYPTO_SHA256_LEN];
		crypto_sha256(nonce, strlen(nonce), d);
		crypto_hex(d, sizeof d, hashed);
		expected = hashed;
	}
	if (!iss_ok)
		return "wrong issuer";
	if (!azp_ok(req, p, claims))
		return "wrong authorized party";
	if (tnonce == NULL || strlen(tnonce) != strlen(expected) || !crypto_equal(tnonce, expected, strlen(expected)))
		return "wrong nonce";
	if (sub == NULL || strlen(sub) >= sizeof id->sub)
		return "no subject";
	if (email == NULL || !verified || email_normalize(email, id->email) != 0)
		return "no verified email";
	snprintf(id->sub, sizeof id->sub, "%s", sub);
	/* The payload passed json_check: well-formed UTF-8, no NUL.  A name
	 * too long is left out rather than cut inside a character. */
	snprintf(id->name, sizeof id->name, "%s", name && strlen(name) < sizeof id->name ? name : "");
	return NULL;
}

/* Verifies an ID token; 0 with id filled, or -1 answered (401/503). */
static int verify_id_token(struct request *req, enum oauth_provider p, const char *token, const char *nonce,
			   struct oauth_identity *id)
{
	if (fetch_jwks(req, p, 0) != 0) {
		response_header(req, "Retry-After", "5");
		response_error(req, 503, "unavailable", "the sign-in provider cannot be reached");
		return -1;
	}
	struct json_object *claims = NULL;
	enum jwt_error e = verify_once(req, p, token, &claims);
	if (e == JWT_UNKNOWN_KID && fetch_jwks(req, p, 1) == 0)
		e = verify_once(req, p, token, &claims); /* the provider rotated its keys */
	const char *why = e != JWT_OK ? jwt_error_text(e) : oauth_identity_from_claims(req, p, claims, nonce, id);
	json_object_put(claims);
	if (why) {
		log_info("%s ID token refused: %s", providers[p].name, why);
		response_error(req, 401, "unauthorized", "the %s ID token was refused: %s", providers[p].name, why);
		return -1;
	}
	return 0;
}

/* Links the identity to u in one transaction.  It holds the account's
 * row, so that two first sign-ins of different subjects cannot both find
 * the account free (st_link's check runs after the lock, with a snapshot
 * that sees the other's link).  0, or -1 answered: 409 when u has another
 * subject of the provider, 503. */
static int link(struct request *req, enum oauth_provider p, const struct oauth_identity *id, const struct user_store_user *u)
{
	const char *pname = providers[p].name;
	const char *p2[] = { pname, id->sub, u->id, id->email };
	char err[256];
	if (db_request_begin(req) != 0)
		return -1;
	PGresult *r = NULL;
	if (db_request_rc(req, user_store_lock(req->ctx->db, u->id, err, sizeof err), "user_store_lock", err) != 0 ||
	    (r = db_request_exec(req, &st_link, p2)) == NULL) {
		db_request_rollback(req);
		return -1;
	}
	if (PQgetvalue(r, 0, 0)[0] == 't') {
		/* Nothing was linked: a rollback that fails loses nothing. */
		db_request_rollback(req);
		audit_event(req, "provider_link_refused", u->id, u->email, json_object_new_string(pname));
		response_error(req, 409, "conflict", "this email address is already linked to another %s account",
			       providers[p].title);
		return -1;
	}
	if (db_request_commit(req) != 0)
		return -1;
	audit_event(req, "provider_link", u->id, u->email, json_object_new_string(pname));
	return 0;
}

/* The user of an identity: linked before, or an account with the same
 * verified email (linked now), or a new account.  1 found, -1 answered. */
static int user_for(struct request *req, enum oauth_provider p, const struct oauth_identity *id, const char *name,
		    struct user_store_user *u)
{
	const char *pname = providers[p].name;
	const char *p1[] = { pname, id->sub };
	PGresult *r = db_request_exec(req, &st_identity, p1);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 1)
		return users_by_id(req, PQgetvalue(r, 0, 0), u) == 1 ? 1 : -1;
	int found = users_by_email(req, id->email, u);
	if (found < 0)
		return -1;
	if (!found) {
		char err[256];
		if (db_request_rc(req, user_store_create_verified(req->ctx->db, id->email, name, NULL, err, sizeof err),
				  "user_store_create_verified", err) < 0)
			return -1;
		/* Created now, or by a concurrent sign-in a moment ago. */
		if (users_by_email(req, id->email, u) != 1)
			return -1;
		audit_event(req, "register", u->id, u->email, json_object_new_string(pname));
	} else if (claim_account(req, u, "claimed_by_provider", pname) != 0) {
		return -1;
	}
	/* An unverified account found has just gone to the provider's verified
	 * owner.  It had no identity (only proved addresses get linked), so the
	 * link cannot refuse after the claim is done. */
	return link(req, p, id, u) == 0 ? 1 : -1;
}

/* A native ID token signs in once: replaying it (with its nonce) within its
 * lifetime is refused.  Code-flow tokens need no such mark: their state was
 * spent already.  0, or -1 answered. */
static int first_use(struct request *req, enum oauth_provider p, const char *id_token)
{
	unsigned char d[CRYPTO_SHA256_LEN];
	char hex[65], err[256];
	crypto_sha256(id_token, strlen(id_token), d);
	crypto_hex(d, sizeof d, hex);
	redisReply *rep = redis_command(req->ctx->redis, err, sizeof err, "SET auth:idtoken:%s:%s 1 NX EX %d",
					providers[p].name, hex, 86400);
	if (rep == NULL) {
		unavailable(req, "id token mark", err);
		return -1;
	}
	int fresh = rep->type == REDIS_REPLY_STATUS;
	freeReplyObject(rep);
	if (!fresh) {
		response_error(req, 401, "unauthorized", "this %s ID token was already used", providers[p].name);
		return -1;
	}
	return 0;
}

static void token(struct request *req, enum oauth_provider p)
{
	static const char *const allowed[] = { "code", "state", "idToken", "nonce", "name", NULL };
	const char *code, *state, *id_token, *nonce, *name;
	int browser = origin_check(req);
	if (browser < 0 || limits_hit(req, LIMIT_LOGIN_IP, NULL) != 0 || fields_only(req, allowed) != 0 ||
	    field_string(req, "code", 0, 2048, &code) != 0 || field_string(req, "state", 0, 256, &state) != 0 ||
	    field_string(req, "idToken", 0, JWT_MAX_TOKEN, &id_token) != 0 ||
	    field_string(req, "nonce", 0, 256, &nonce) != 0 || field_string(req, "name", 0, 256, &name) != 0 ||
	    !configured(req, p))
		return;
	if ((code != NULL) == (id_token != NULL) || (code && !state) || (id_token && !nonce)) {
		response_error(req, 400, "invalid_request", "send either code and state, or idToken and nonce");
		return;
	}
	char *owned = NULL, err[256];
	if (code) {
		/* The state is spent whatever happens next. */
		redisReply *rep = redis_command(req->ctx->redis, err, sizeof err, "GETDEL auth:oauth:%s", state);
		if (rep == NULL) {
			unavailable(req, "oauth state", err);
			return;
		}
		char *saved = rep->type == REDIS_REPLY_STRING ? arena_strndup(req->arena, rep->str, rep->len) : NULL;
		freeReplyObject(rep);
		char *prov = saved ? strtok(saved, " ") : NULL, *verifier, *bound;
		nonce = prov ? strtok(NULL, " ") : NULL;
		verifier = nonce ? strtok(NULL, " ") : NULL;
		bound = verifier ? strtok(NULL, " ") : NULL; /* none in a state older than binding */
		if (browser)
			cookie_set(req, BROWSER_COOKIE, NULL, 0); /* spent with the state */
		if (!verifier || strcmp(prov, providers[p].name) != 0) {
			response_error(req, 400, "invalid_request", "state is unknown, expired or already used");
			return;
		}
		int is_bound = bound && strcmp(bound, UNBOUND) != 0;
		if ((browser || is_bound) && !(is_bound && browser_bound(req, bound))) {
			log_info("%s state refused: %s", providers[p].name,
				 is_bound ? "not the browser that started it" : "started without a browser");
			response_error(req, 400, "invalid_request",
				       "this sign-in was started in another browser or app; start it again here");
			return;
		}
		owned = exchange_code(req, p, code, verifier);
		if (owned == NULL)
			return;
		id_token = owned;
	}
	struct oauth_identity id;
	struct user_store_user u;
	int ok = verify_id_token(req, p, id_token, nonce, &id) == 0 && (owned || first_use(req, p, id_token) == 0) &&
		 user_for(req, p, &id, name ? name : id.name, &u) == 1;
	free(owned);
	if (!ok) {
		if (req->status == 0)
			response_error(req, 401, "unauthorized", "sign-in failed");
		return;
	}
	audit_event(req, "login", u.id, u.email, json_object_new_string(providers[p].name));
	tokens_start_session(req, &u, 200, browser);
}

void oauth_google_token(struct request *req) { token(req, OAUTH_GOOGLE); }
void oauth_apple_token(struct request *req) { token(req, OAUTH_APPLE); }
