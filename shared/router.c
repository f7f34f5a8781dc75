/* router.c - route matching and the dispatcher that enforces route flags.
 *
 * The order of checks is kcgi's: method and path, then media type, then body,
 * and only then the handler, so that a handler never sees unchecked input. */
#include "router.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api_key.h"
#include "app.h"
#include "auth_token.h"
#include "body.h"
#include "cors.h"
#include "log.h"
#include "metrics.h"
#include "quota.h"
#include "site_admin.h"

int router_match(struct request *req, const char *pattern)
{
	const char *p = pattern, *s = req->path;
	int nparams = 0;

	while (*p && *s) {
		if (*p != '/' || *s != '/')
			return 0;
		p++;
		s++;
		const char *pend = strchrnul(p, '/');
		const char *send = strchrnul(s, '/');
		if (*p == '{') {
			if (send == s || nparams >= REQUEST_MAX_PARAMS)
				return 0;
			char *value = request_percent_decode(req->arena, s, (size_t)(send - s), 0);
			if (value == NULL)
				return 0;
			req->params[nparams].name = arena_strndup(req->arena, p + 1, (size_t)(pend - p - 2));
			req->params[nparams].value = value;
			nparams++;
		} else if (pend - p != send - s || memcmp(p, s, (size_t)(pend - p)) != 0) {
			return 0;
		}
		p = pend;
		s = send;
	}
	if (*p || *s)
		return 0;
	req->nparams = nparams;
	return 1;
}

int router_is_json_media_type(const char *ct)
{
	static const char json[] = "application/json";
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, json, sizeof json - 1) != 0)
		return 0;
	ct += sizeof json - 1;
	while (*ct == ' ')
		ct++;
	if (*ct == '\0')
		return 1;
	if (*ct != ';')
		return 0;
	ct++;
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, "charset=", 8) != 0)
		return 0;
	ct += 8;
	if (*ct == '"')
		ct++;
	return strncasecmp(ct, "utf-8", 5) == 0 && (ct[5] == '\0' || ct[5] == '"' || ct[5] == ' ');
}

static int query_is_well_formed(struct request *req)
{
	const char *q = req->query;
	return request_percent_decode(req->arena, q, strlen(q), 1) != NULL;
}

static void answer_body_error(struct request *req, enum body_status st, const char *msg,
			      unsigned long long max_body)
{
	switch (st) {
	case BODY_TOO_LARGE:
		response_error(req, 413, "payload_too_large",
			       "request body is larger than the limit of %llu bytes", max_body);
		break;
	case BODY_BAD_LENGTH:
		response_error(req, 400, "invalid_request", "Content-Length is not a valid number");
		break;
	case BODY_SHORT:
		response_error(req, 400, "invalid_request", "request body is shorter than its Content-Length");
		break;
	default:
		response_error(req, 400, "invalid_request", "%s", msg);
	}
}

/* ROUTE_APIKEY: the key, its scope, then its tenant's limits.  Every answer
 * from here on carries the RateLimit headers.  0, or -1 when answered. */
static int admit_key(struct request *req, unsigned flags)
{
	static unsigned long serial;
	struct app_context *ctx = req->ctx;
	const char *h = FCGX_GetParam("HTTP_AUTHORIZATION", req->fcgx->envp);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		response_header(req, "WWW-Authenticate", "Bearer");
		response_error(req, 401, "unauthorized", "an API key is required (Authorization: Bearer agk_...)");
		return -1;
	}
	char err[256];
	struct api_key_info *k = arena_zalloc(req->arena, sizeof *k);
	enum api_key_code code = api_key_verify(ctx, h + 7, k, err, sizeof err);
	switch (code) {
	case API_KEY_VALID:
		break;
	case API_KEY_FORBIDDEN:
		response_error(req, 403, "forbidden", "the API key's tenant is suspended");
		return -1;
	case API_KEY_UNAVAILABLE:
		response_unavailable(req, "api key check", err);
		return -1;
	default:
		log_info("api key refused: %s", api_key_code_name(code));
		response_header(req, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		response_error(req, 401, "unauthorized", "the API key is invalid, disabled or expired");
		return -1;
	}
	if (((flags & ROUTE_SCOPE_READ) && !(k->scopes & API_KEY_SCOPE_MEMOX_READ)) ||
	    ((flags & ROUTE_SCOPE_WRITE) && !(k->scopes & API_KEY_SCOPE_MEMOX_WRITE))) {
		response_error(req, 403, "forbidden", "the API key lacks the %s scope",
			       flags & ROUTE_SCOPE_WRITE ? "memox:write" : "memox:read");
		return -1;
	}
	/* The request id may repeat (clients choose it); a slot must not. */
	char *slot = arena_printf(req->arena, "%ld:%lu", (long)getpid(), ++serial);
	struct quota_result q;
	if (quota_admit(ctx, k->tenant_id, &k->limits, ctx->app->area, slot, &q) != 0) {
		response_header(req, "Retry-After", "5");
		response_error(req, 503, "unavailable", "rate limits cannot be checked");
		return -1;
	}
	quota_headers(req, &q);
	switch (q.reason) {
	case QUOTA_RATE:
		metrics_rate_limited(METRICS_LIMIT_RATE);
		response_error(req, 429, "rate_limited", "rate limit exceeded (%lld requests burst); retry in %lld s",
			       q.limit, q.retry_after_s > 0 ? q.retry_after_s : 1);
		return -1;
	case QUOTA_CONCURRENCY:
		metrics_rate_limited(METRICS_LIMIT_CONCURRENCY);
		response_error(req, 429, "rate_limited", "concurrency limit exceeded (%lld requests in flight)", q.limit);
		return -1;
	case QUOTA_MONTHLY:
		metrics_rate_limited(METRICS_LIMIT_MONTHLY);
		response_error(req, 429, "rate_limited", "monthly request quota exceeded (%lld)", q.limit);
		return -1;
	case QUOTA_OK:
		req->key_slot = slot;
		break;
	case QUOTA_UNCHECKED:
		break;
	}
	api_key_note_use(ctx, k);
	req->key = k;
	return 0;
}

/* A body announced (a non-zero length) or sent without a length. */
static int has_body(const struct request *req)
{
	unsigned long long n;
	if (req->content_length == NULL || *req->content_length == '\0')
		return *req->content_type != '\0';
	return body_parse_length(req->content_length, &n) != 0 || n > 0;
}

/* The media type, then the body within its cap, then JSON; answers on failure. */
static int read_json(struct request *req, unsigned long long max_body)
{
	char msg[256] = "";
	if (!router_is_json_media_type(req->content_type)) {
		response_error(req, 415, "unsupported_media_type", "Content-Type must be application/json");
		return -1;
	}
	enum body_status st = body_read(req, max_body);
	if (st == BODY_OK)
		st = body_parse_json(req, msg, sizeof msg);
	if (st != BODY_OK) {
		answer_body_error(req, st, msg, max_body);
		return -1;
	}
	return 0;
}

/* Which of two patterns that match one path is the more specific: the
 * first segment where one has a literal and the other a placeholder decides,
 * for the literal.  <0 for a, >0 for b, 0 when they are the same pattern
 * (placeholder names aside: both match the path, so where both have a
 * literal it is the same one).  Without this, the first route to match would
 * win, and /keys/self would be a key named "self" for every method that
 * /keys/self lacks and /keys/{keyId} has. */
static int pattern_cmp(const char *a, const char *b)
{
	while (*a == '/' && *b == '/') {
		a++;
		b++;
		int pa = *a == '{', pb = *b == '{';
		if (pa != pb)
			return pa - pb;
		a = strchrnul(a, '/');
		b = strchrnul(b, '/');
	}
	return 0;
}

/* Adds a method to a comma-separated Allow list unless it is there. */
static void allow_add(char *allow, size_t size, const char *method)
{
	size_t len = strlen(method);
	for (const char *p = allow; *p; p += strcspn(p, ","), p += strspn(p, ", "))
		if (strncmp(p, method, len) == 0 && (p[len] == ',' || p[len] == '\0'))
			return;
	size_t n = strlen(allow);
	snprintf(allow + n, size - n, "%s%s", n ? ", " : "", method);
}

void router_dispatch(struct request *req, const struct route *routes, size_t nroutes)
{
	const struct route *found = NULL, *best = NULL;
	char allow[128] = "";

	/* An allowed Origin gets its CORS headers on every answer, errors
	 * included, or a web client on another origin could not read them; a
	 * preflight's are cors_preflight's.  Refusing an origin is the area's call. */
	if (strcmp(req->method, "OPTIONS") != 0)
		cors_headers(req);
	/* The path first: the most specific pattern that matches it. */
	for (size_t i = 0; i < nroutes; i++)
		if (router_match(req, routes[i].pattern) &&
		    (best == NULL || pattern_cmp(routes[i].pattern, best->pattern) < 0))
			best = &routes[i];
	/* Then the method, among the routes of exactly that pattern; they
	 * alone make the Allow list. */
	for (size_t i = 0; best && i < nroutes; i++) {
		if (pattern_cmp(routes[i].pattern, best->pattern) != 0 || !router_match(req, routes[i].pattern))
			continue;
		if (found == NULL && strcmp(routes[i].method, req->method) == 0)
			found = &routes[i];
		allow_add(allow, sizeof allow, routes[i].method);
	}
	if (found == NULL) {
		req->nparams = 0;
		/* A 405 or a preflight is still about a known route: logs and
		 * metrics name its pattern; only a path no route has is unmatched. */
		if (best)
			req->route = best->pattern;
		if (best && strcmp(req->method, "OPTIONS") == 0) {
			cors_preflight(req, allow);
			return;
		}
		if (best) {
			response_header(req, "Allow", allow);
			response_error(req, 405, "method_not_allowed", "method %s is not allowed here; allowed: %s",
				       req->method, allow);
		} else {
			response_error(req, 404, "not_found", "no such route");
		}
		return;
	}
	/* Re-match: a later pattern tried for Allow may have overwritten params. */
	router_match(req, found->pattern);
	req->route = found->pattern;

	if (!query_is_well_formed(req)) {
		response_error(req, 400, "invalid_request", "query string is malformed");
		return;
	}
	if (found->flags & (ROUTE_USER | ROUTE_ADMIN)) {
		char why[256];
		struct auth_user *u = arena_zalloc(req->arena, sizeof *u);
		enum auth_result ar = auth_token_check(req, u, why, sizeof why);
		if (ar != AUTH_OK) {
			log_info("access token refused: %s", why);
			auth_token_refuse(req, ar);
			return;
		}
		/* The database's role, not the token's: a token may be older than
		 * a demotion by its whole lifetime (shared/site_admin.h). */
		if (found->flags & ROUTE_ADMIN) {
			char err[256];
			int admin = site_admin_check(req->ctx->db, u->id, err, sizeof err);
			if (admin < 0) {
				response_unavailable(req, "admin role", err);
				return;
			}
			if (admin == 0) {
				response_error(req, 403, "forbidden", "this route is for administrators");
				return;
			}
		}
		req->user = u;
	}
	if ((found->flags & ROUTE_APIKEY) && admit_key(req, found->flags) != 0)
		return;
	const struct config *cfg = &req->ctx->cfg;
	unsigned long long max_body = (unsigned long long)((found->flags & ROUTE_LARGE_BODY) ? cfg->max_body_bytes
											: cfg->max_small_body_bytes);
	if (!((found->flags & ROUTE_JSON) || ((found->flags & ROUTE_JSON_OPTIONAL) && has_body(req))) ||
	    read_json(req, max_body) == 0)
		found->handler(req);
	if (req->status == 0)
		response_error(req, 500, "internal", "the handler sent no response");
	if (req->key_slot)
		quota_release(req->ctx, req->key->tenant_id, req->key_slot);
}
