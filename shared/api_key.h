/* api_key.h - tenant API keys: their secrets, and verifying one fast.
 *
 * A secret is "agk_" and 43 base64url characters (256 random bits); the
 * prefix makes leaked keys easy for scanners to find.  Only its SHA-256 and
 * its first API_KEY_PREFIX_LEN characters are stored.  Verification looks in
 * a per-process cache, then a Redis cache, then the database; both caches
 * keep the digests the database does not know, too (see api_key.c).  Any change
 * that can stop a key (disable, delete, rotate, expiry, tenant suspension or
 * deletion, new limits) goes through api_key_invalidate_*(), which deletes
 * the Redis copies and publishes on API_KEY_CHANNEL; every process drains
 * that channel before it verifies a key, so a stopped key fails everywhere
 * within a second (and a process whose subscription is down does not cache
 * at all). */
#ifndef AIGET_API_KEY_H
#define AIGET_API_KEY_H

#include <stddef.h>
#include <time.h>

#include "app.h"
#include "crypto.h"

#define API_KEY_PREFIX "agk_"
#define API_KEY_PREFIX_LEN 12          /* "agk_" and 8 characters */
#define API_KEY_CHANNEL "apikey:invalidate"

enum api_key_scope {
	API_KEY_SCOPE_MEMOX_READ  = 1 << 0,
	API_KEY_SCOPE_MEMOX_WRITE = 1 << 1,
};

/* The effective limits of a tenant: its own, or the configured defaults. */
struct tenant_limits {
	long long qps, burst, concurrency, monthly_requests, max_memories;
};

enum api_key_code {
	API_KEY_VALID, API_KEY_NOT_FOUND, API_KEY_DISABLED, API_KEY_EXPIRED, API_KEY_FORBIDDEN,
	API_KEY_RATE_LIMITED, API_KEY_USAGE_EXCEEDED, API_KEY_UNAVAILABLE, API_KEY__MAX
};

struct api_key_info {
	char key_id[37], tenant_id[37];
	unsigned scopes;               /* enum api_key_scope bits */
	struct tenant_limits limits;
	int loaded;                    /* read from Redis or the database, not this process's copy */
};

/* Makes a new secret (in the arena), its visible prefix and its digest. */
int api_key_generate(struct arena *a, char **secret, char prefix[API_KEY_PREFIX_LEN + 1],
		     unsigned char hash[CRYPTO_SHA256_LEN]);

/* 1 when secret has a key's shape: API_KEY_PREFIX and 43 more characters
 * (api_key_verify() looks nothing up for another). */
int api_key_well_formed(const char *secret);

/* "memox:read" -> bit; 0 when unknown. */
unsigned api_key_scope_parse(const char *name);
/* The bits of a comma-separated scope list, as api_keys.scopes::text gives it. */
unsigned api_key_scopes_from_list(const char *list);
/* Writes the scopes as a JSON array. */
struct json_object *api_key_scopes_json(unsigned scopes);

/* Checks a presented secret.  VALID fills info; DISABLED, EXPIRED (also a
 * rotated-away key past its overlap), FORBIDDEN (tenant suspended),
 * NOT_FOUND (also a deleted key or tenant, or a malformed secret) say why not;
 * UNAVAILABLE: neither Redis nor the database could answer. */
enum api_key_code api_key_verify(struct app_context *ctx, const char *secret, struct api_key_info *info,
				 char *err, size_t errlen);

/* Records a successful use of a valid key (its lastUsedAt), for callers to
 * call once the key has passed every check of the request (its scope, its
 * tenant's limits): a refused request is no use.  Only when the key was
 * loaded (so once per process and second at most); the database is written
 * once a minute at most. */
void api_key_note_use(struct app_context *ctx, const struct api_key_info *info);

/* Stops the cached copies of one key (by its digest) or of all keys of a
 * tenant, in every process.  0, or -1 when Redis failed (logged). */
int api_key_invalidate_key(struct app_context *ctx, const unsigned char hash[CRYPTO_SHA256_LEN]);
int api_key_invalidate_tenant(struct app_context *ctx, const char *tenant_id);

/* The code's name in /keys/verify answers ("VALID", "NOT_FOUND", ...). */
const char *api_key_code_name(enum api_key_code c);

/* Reads the configured default limits. */
void api_key_default_limits(const struct config *cfg, struct tenant_limits *l);

#endif
