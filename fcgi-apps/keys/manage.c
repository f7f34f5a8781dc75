/* manage.c - a tenant's owners and admins manage its keys.
 *
 * Every route checks its input first (400), then finds the key and the
 * caller's role in the key's tenant through membership_require(): a key of a
 * tenant the caller cannot see is a 404, as a key that does not exist, and a
 * member without the role gets 403.  Every change that can stop a key
 * (disable, delete, rotate) is followed by api_key_invalidate_key(), so the
 * cached copies in every responder die within a second; enable invalidates
 * too, so that a cached "disabled" does not outlive it.  Every change is
 * audited in tenant_audit. */
#include "keys.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth_token.h"
#include "fields.h"
#include "log.h"
#include "membership.h"
#include "rfc3339.h"

#define SCOPES_MAX 16                 /* entries in a request's scopes array */
#define EXPIRES_AT_MAX 64             /* bytes of an RFC 3339 date-time */

/* ------------------------------------------------------------- input */

/* scopes: a non-empty array of known scope names (repeats are harmless);
 * absent or null means both memox scopes. */
static int field_scopes(struct request *req, unsigned *out)
{
	struct json_object *v;
	*out = API_KEY_SCOPE_MEMOX_READ | API_KEY_SCOPE_MEMOX_WRITE;
	if (!json_object_object_get_ex(req->json, "scopes", &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_array)) {
		response_error(req, 400, "invalid_request", "scopes must be an array of strings");
		return -1;
	}
	size_t n = json_object_array_length(v);
	if (n == 0 || n > SCOPES_MAX) {
		response_error(req, 400, "invalid_request", "scopes must name 1 to %d scopes", SCOPES_MAX);
		return -1;
	}
	*out = 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string)) {
			response_error(req, 400, "invalid_request", "scopes must be an array of strings");
			return -1;
		}
		const char *name = json_object_get_string(e);
		unsigned bit = api_key_scope_parse(name);
		if (bit == 0) {
			/* Echoed only when short and plain, never cut inside a character. */
			int plain = strlen(name) <= 40;
			for (const char *c = name; plain && *c; c++)
				plain = *c > 0x20 && *c < 0x7f;
			response_error(req, 400, "invalid_request", "unknown scope%s%s; known: memox:read, memox:write",
				       plain ? ": " : " in scopes", plain ? name : "");
			return -1;
		}
		*out |= bit;
	}
	return 0;
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* ---------------------------------------------------------- the key */

static void not_found(struct request *req)
{
	response_error(req, 404, "not_found", "no such key");
}

/* The key named in the path, when the caller may do act on it; deleted keys
 * only when asked for.  0, or -1 when answered. */
static int load_key(struct request *req, enum tenant_action act, int with_deleted,
		    struct api_key_store_row *k)
{
	const char *id = request_param(req, "keyId");
	if (!membership_is_uuid(id)) {
		not_found(req);
		return -1;
	}
	int found = store_get(req, id, k);
	if (found < 0)
		return -1;
	if (found == 0 || (!with_deleted && strcmp(k->status, "deleted") == 0)) {
		not_found(req);
		return -1;
	}
	struct tenant_ref t;
	return membership_require(req, k->tenant_id, act, &t);
}

static struct json_object *prefix_detail(const struct api_key_store_row *k)
{
	struct json_object *d = json_object_new_object();
	json_object_object_add(d, "prefix", json_object_new_string(k->prefix));
	json_object_object_add(d, "name", json_object_new_string(k->name));
	return d;
}

static void internal(struct request *req, const char *what)
{
	log_error("keys: %s", what);
	response_error(req, 500, "internal", "an internal error occurred");
}

/* ------------------------------------------------------------ routes */

void manage_create(struct request *req)
{
	static const char *const allowed[] = { "tenantId", "name", "scopes", "expiresAt", NULL };
	struct api_key_store_new n = { 0 };
	const char *expires_at;
	if (fields_only(req, allowed) || field_string(req, "tenantId", 1, 36, &n.tenant_id) ||
	    field_string(req, "name", 1, KEYS_NAME_MAX, &n.name) || field_scopes(req, &n.scopes) ||
	    field_string(req, "expiresAt", 0, EXPIRES_AT_MAX, &expires_at))
		return;
	if (!membership_is_uuid(n.tenant_id)) {
		response_error(req, 400, "invalid_request", "tenantId must be a UUID");
		return;
	}
	if (has_control(n.name)) {
		response_error(req, 400, "invalid_request", "name must not contain control characters");
		return;
	}
	if (expires_at && rfc3339_parse(expires_at, &n.expires) != 0) {
		response_error(req, 400, "invalid_request",
			       "expiresAt must be an RFC 3339 date-time such as 2030-01-31T12:00:00Z");
		return;
	}
	if (expires_at && n.expires <= (long long)time(NULL)) {
		response_error(req, 400, "invalid_request", "expiresAt must be in the future");
		return;
	}
	struct tenant_ref t;
	if (membership_require(req, n.tenant_id, ACT_KEYS_MANAGE, &t) != 0)
		return;

	char *secret, prefix[API_KEY_PREFIX_LEN + 1], hex[2 * CRYPTO_SHA256_LEN + 1];
	unsigned char hash[CRYPTO_SHA256_LEN];
	if (api_key_generate(req->arena, &secret, prefix, hash) != 0) {
		internal(req, "no randomness for a key");
		return;
	}
	crypto_hex(hash, sizeof hash, hex);
	n.prefix = prefix;
	n.hash_hex = hex;
	struct api_key_store_row k;
	int made = store_insert(req, &n, &k);
	if (made < 0)
		return;
	if (made == 0) {
		response_error(req, 409, "conflict",
			       "the tenant already has %d working keys; delete some first", KEYS_PER_TENANT_MAX);
		return;
	}
	struct json_object *d = prefix_detail(&k);
	json_object_object_add(d, "scopes", api_key_scopes_json(k.scopes));
	json_object_object_add(d, "expiresAt", k.expires_at ? json_object_new_string(k.expires_at) : NULL);
	audit_key(req, k.tenant_id, "key.create", k.id, d);
	response_header(req, "Location", arena_printf(req->arena, "/api/v1/keys/%s", k.id));
	response_json(req, 201, api_key_store_json(&k, secret));
}

void manage_list(struct request *req)
{
	const char *tenant_id = request_query(req, "tenantId");
	if (tenant_id == NULL || *tenant_id == '\0') {
		response_error(req, 400, "invalid_request", "the tenantId query parameter is required");
		return;
	}
	if (!membership_is_uuid(tenant_id)) {
		response_error(req, 400, "invalid_request", "tenantId must be a UUID");
		return;
	}
	struct tenant_ref t;
	struct page p;
	if (membership_require(req, tenant_id, ACT_KEYS_READ, &t) != 0 || page_parse(req, &p, 0) != 0)
		return;
	struct json_object *body = json_object_new_object();
	if (store_list(req, tenant_id, &p, body) != 0) {
		json_object_put(body);
		return;
	}
	response_json(req, 200, body);
}

void manage_get(struct request *req)
{
	struct api_key_store_row k;
	if (load_key(req, ACT_KEYS_READ, 0, &k) == 0)
		response_json(req, 200, api_key_store_json(&k, NULL));
}

/* Sets the status of the key in the path; the caller has checked the
 * transitions that are conflicts.  0, or -1 when answered. */
static int set_status(struct request *req, const struct api_key_store_row *old, const char *status,
		      const char *action, struct api_key_store_row *k)
{
	int done = store_set_status(req, old, status, k);
	if (done < 0)
		return -1;
	if (done == 0) {
		response_error(req, 409, "conflict", "the key was changed meanwhile; read it again");
		return -1;
	}
	api_key_invalidate_key(req->ctx, old->hash);
	audit_key(req, old->tenant_id, action, old->id, prefix_detail(old));
	return 0;
}

void manage_disable(struct request *req)
{
	struct api_key_store_row old, k;
	if (load_key(req, ACT_KEYS_MANAGE, 0, &old) == 0 && set_status(req, &old, "disabled", "key.disable", &k) == 0)
		response_json(req, 200, api_key_store_json(&k, NULL));
}

void manage_enable(struct request *req)
{
	struct api_key_store_row old, k;
	if (load_key(req, ACT_KEYS_MANAGE, 1, &old) != 0)
		return;
	if (strcmp(old.status, "deleted") == 0) {
		response_error(req, 409, "conflict", "a deleted key cannot be enabled again");
		return;
	}
	if (old.rotated_to) {
		response_error(req, 409, "conflict", "a rotated-away key cannot be enabled again; its replacement is %s",
			       old.rotated_to);
		return;
	}
	if (set_status(req, &old, "active", "key.enable", &k) == 0)
		response_json(req, 200, api_key_store_json(&k, NULL));
}

void manage_delete(struct request *req)
{
	struct api_key_store_row old, k;
	if (load_key(req, ACT_KEYS_MANAGE, 0, &old) == 0 && set_status(req, &old, "deleted", "key.delete", &k) == 0)
		response_no_content(req);
}

/* overlapSeconds: an integer 0..KEYS_OVERLAP_MAX_S; absent (or no body) is 0. */
static int field_overlap(struct request *req, long long *out)
{
	static const char *const allowed[] = { "overlapSeconds", NULL };
	struct json_object *v;
	*out = 0;
	if (req->json == NULL)
		return 0;
	if (fields_only(req, allowed) != 0)
		return -1;
	if (!json_object_object_get_ex(req->json, "overlapSeconds", &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int)) {
		response_error(req, 400, "invalid_request", "overlapSeconds must be an integer");
		return -1;
	}
	*out = json_object_get_int64(v);
	if (*out < 0 || *out > KEYS_OVERLAP_MAX_S) {
		response_error(req, 400, "invalid_request", "overlapSeconds must be between 0 and %d", KEYS_OVERLAP_MAX_S);
		return -1;
	}
	return 0;
}

void manage_rotate(struct request *req)
{
	long long overlap;
	struct api_key_store_row old, k;
	if (field_overlap(req, &overlap) != 0 || load_key(req, ACT_KEYS_MANAGE, 0, &old) != 0)
		return;
	/* A disabled key may be rotated (a leaked key: disable it at once, then
	 * rotate to get its replacement); it stays disabled. */
	if (old.rotated_to) {
		response_error(req, 409, "conflict", "the key was already rotated; its replacement is %s", old.rotated_to);
		return;
	}
	if (old.expired) {
		response_error(req, 409, "conflict", "the key has expired; create a new one");
		return;
	}
	char *secret, prefix[API_KEY_PREFIX_LEN + 1], hex[2 * CRYPTO_SHA256_LEN + 1];
	unsigned char hash[CRYPTO_SHA256_LEN];
	if (api_key_generate(req->arena, &secret, prefix, hash) != 0) {
		internal(req, "no randomness for a key");
		return;
	}
	crypto_hex(hash, sizeof hash, hex);
	int done = store_rotate(req, &old, prefix, hex, overlap, &k);
	if (done == API_KEY_STORE_FULL) {
		response_error(req, 409, "conflict",
			       "the tenant already has %d working keys, and an overlap would make one more; "
			       "rotate without overlap, or delete a key first", KEYS_PER_TENANT_MAX);
		return;
	}
	if (done < 0)
		return;
	if (done == 0) {
		response_error(req, 409, "conflict", "the key was rotated or deleted meanwhile");
		return;
	}
	api_key_invalidate_key(req->ctx, old.hash);
	struct json_object *d = prefix_detail(&old);
	json_object_object_add(d, "newKeyId", json_object_new_string(k.id));
	json_object_object_add(d, "newPrefix", json_object_new_string(k.prefix));
	json_object_object_add(d, "overlapSeconds", json_object_new_int64(overlap));
	audit_key(req, old.tenant_id, "key.rotate", old.id, d);
	response_json(req, 200, api_key_store_json(&k, secret));
}
