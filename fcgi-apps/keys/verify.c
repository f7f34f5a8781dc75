/* verify.c - checking a key: the key itself (/keys/self) or for another service (/keys/verify).
 *
 * /keys/self is a ROUTE_APIKEY route: the dispatcher has checked the key and
 * admitted the request by the tenant's limits before the handler runs, so
 * the handler only describes the key.  It is the cheapest key-authenticated
 * request there is, and what the benchmarks measure.
 *
 * /keys/verify lets an internal service (one that holds KEYS_INTERNAL_TOKEN)
 * ask about a key it was given.  The answer is always 200 with a code,
 * because "this key is no good" is the expected answer, not an error of the
 * call; only a wrong internal token (401) or an outage (503) is an error.  A
 * valid key is admitted by its tenant's limits as a request of area
 * "verify", and its concurrency slot is given back at once: the caller's own
 * request is what is in flight, not this check. */
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fields.h"
#include "log.h"
#include "quota.h"

#define KEY_FIELD_MAX 256             /* bytes; a real key has 47 */

/* A response header already set (by the dispatcher), or NULL. */
static const char *header_set(const struct request *req, const char *name)
{
	for (const struct request_header *h = req->headers; h; h = h->next)
		if (strcasecmp(h->name, name) == 0)
			return h->value;
	return NULL;
}

static struct json_object *ratelimit_json(long long limit, long long remaining, long long reset)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "limit", json_object_new_int64(limit));
	json_object_object_add(o, "remaining", json_object_new_int64(remaining));
	json_object_object_add(o, "reset", json_object_new_int64(reset));
	return o;
}

static struct json_object *limits_json(const struct tenant_limits *l)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "qps", json_object_new_int64(l->qps));
	json_object_object_add(o, "burst", json_object_new_int64(l->burst));
	json_object_object_add(o, "concurrency", json_object_new_int64(l->concurrency));
	json_object_object_add(o, "monthlyRequests", json_object_new_int64(l->monthly_requests));
	json_object_object_add(o, "maxMemories", json_object_new_int64(l->max_memories));
	return o;
}

void verify_self(struct request *req)
{
	const struct api_key_info *k = req->key;
	const char *limit = header_set(req, "RateLimit-Limit"), *remaining = header_set(req, "RateLimit-Remaining"),
		   *reset = header_set(req, "RateLimit-Reset");
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "keyId", json_object_new_string(k->key_id));
	json_object_object_add(o, "tenantId", json_object_new_string(k->tenant_id));
	json_object_object_add(o, "scopes", api_key_scopes_json(k->scopes));
	/* No headers: Redis could not be asked and RATELIMIT_REDIS_DOWN=allow. */
	json_object_object_add(o, "ratelimit", limit && remaining && reset
				? ratelimit_json(atoll(limit), atoll(remaining), atoll(reset)) : NULL);
	json_object_object_add(o, "limits", limits_json(&k->limits));
	response_json(req, 200, o);
}

/* The internal token, compared in constant time.  0, or -1 when answered. */
static int internal_caller(struct request *req)
{
	const char *want = req->ctx->cfg.keys_internal_token;
	if (want == NULL || *want == '\0') {
		response_header(req, "Retry-After", "3600");
		response_error(req, 503, "unavailable", "key verification is not configured (KEYS_INTERNAL_TOKEN)");
		return -1;
	}
	const char *h = request_env(req, "HTTP_AUTHORIZATION");
	const char *got = h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : "";
	size_t n = strlen(want);
	if (strlen(got) != n || !crypto_equal(got, want, n)) {
		response_header(req, "WWW-Authenticate", "Bearer");
		response_error(req, 401, "unauthorized", "the internal token is missing or wrong");
		return -1;
	}
	return 0;
}

void verify_key(struct request *req)
{
	static const char *const allowed[] = { "key", "scope", NULL };
	static const char *const scopes[] = { "memox:read", "memox:write", NULL };
	static unsigned long serial;
	const char *secret, *scope;
	if (internal_caller(req) != 0 || fields_only(req, allowed) != 0 ||
	    field_string(req, "key", 1, KEY_FIELD_MAX, &secret) != 0 || field_enum(req, "scope", 0, scopes, &scope) != 0)
		return;

	char err[256];
	struct api_key_info k;
	enum api_key_code code = api_key_verify(req->ctx, secret, &k, err, sizeof err);
	if (code == API_KEY_UNAVAILABLE) {
		response_unavailable(req, "verify", err);
		return;
	}
	if (code == API_KEY_VALID && scope && !(k.scopes & api_key_scope_parse(scope)))
		code = API_KEY_FORBIDDEN;
	struct json_object *ratelimit = NULL;
	if (code == API_KEY_VALID) {
		char *slot = arena_printf(req->arena, "verify:%ld:%lu", (long)getpid(), ++serial);
		struct quota_result q;
		if (quota_admit(req->ctx, k.tenant_id, &k.limits, "verify", slot, &q) != 0) {
			response_header(req, "Retry-After", "5");
			response_error(req, 503, "unavailable", "rate limits cannot be checked");
			return;
		}
		if (q.reason == QUOTA_OK)
			quota_release(req->ctx, k.tenant_id, slot);
		if (q.reason == QUOTA_RATE || q.reason == QUOTA_CONCURRENCY)
			code = API_KEY_RATE_LIMITED;
		else if (q.reason == QUOTA_MONTHLY)
			code = API_KEY_USAGE_EXCEEDED;
		if (q.reason != QUOTA_UNCHECKED) {
			ratelimit = ratelimit_json(q.limit, q.remaining, q.reset_s);
			if (q.reason != QUOTA_OK)
				json_object_object_add(ratelimit, "retryAfter",
						       json_object_new_int64(q.retry_after_s > 0 ? q.retry_after_s : 1));
		}
	}
	if (code == API_KEY_VALID)
		api_key_note_use(req->ctx, &k);
	/* api_key_verify() names the key only when it is valid. */
	int known = k.key_id[0] != '\0';
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "valid", json_object_new_boolean(code == API_KEY_VALID));
	json_object_object_add(o, "code", json_object_new_string(api_key_code_name(code)));
	json_object_object_add(o, "tenantId", known ? json_object_new_string(k.tenant_id) : NULL);
	json_object_object_add(o, "keyId", known ? json_object_new_string(k.key_id) : NULL);
	json_object_object_add(o, "scopes", api_key_scopes_json(known ? k.scopes : 0));
	json_object_object_add(o, "ratelimit", ratelimit);
	response_json(req, 200, o);
}
