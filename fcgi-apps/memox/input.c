/* input.c - what memox takes from clients, checked before anything is stored.
 *
 * The scope strings (namespace, externalUserId) come from the client's own
 * users and end up in logs and job payloads, so they are kept to a small
 * alphabet; content is any UTF-8 text (the strict JSON parser already refused
 * invalid UTF-8 and NUL) up to MEMOX_CONTENT_MAX_BYTES; metadata is a JSON
 * object bounded in size and depth, because search filters walk it; an
 * expiry is a date-time in the future or a number of seconds from now. */
#include "memox.h"

#include <string.h>
#include <time.h>

#include "membership.h"
#include "rfc3339.h"

static const char scope_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.:@/";

int input_refuse_tenant(struct request *req, struct json_object *obj)
{
	if ((obj && json_object_object_get_ex(obj, "tenantId", NULL)) || request_query(req, "tenantId")) {
		response_error(req, 400, "invalid_request",
			       "tenantId is not accepted here: the API key says which tenant");
		return -1;
	}
	return 0;
}

int input_scope_ok(const char *value)
{
	size_t n = strlen(value);
	return n >= 1 && n <= MEMOX_SCOPE_MAX && strspn(value, scope_alphabet) == n;
}

int input_scope_value(struct request *req, const char *field, const char *value)
{
	if (value == NULL || *value == '\0') {
		response_error(req, 400, "invalid_request", "%s is required", field);
		return -1;
	}
	if (!input_scope_ok(value)) {
		response_error(req, 400, "invalid_request",
			       "%s must be 1-%d characters of A-Z a-z 0-9 _ - . : @ /", field, MEMOX_SCOPE_MAX);
		return -1;
	}
	return 0;
}

/* A required string field of obj; where prefixes its name in errors. */
static int scope_field(struct request *req, struct json_object *obj, const char *where, const char *name,
		       const char **out)
{
	struct json_object *v;
	const char *label = *where ? arena_printf(req->arena, "%s.%s", where, name) : name;
	if (!json_object_object_get_ex(obj, name, &v) || json_object_is_type(v, json_type_null)) {
		response_error(req, 400, "invalid_request", "%s is required", label);
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		response_error(req, 400, "invalid_request", "%s must be a string", label);
		return -1;
	}
	*out = json_object_get_string(v);
	return input_scope_value(req, label, *out);
}

int input_content(struct request *req, const char *where, struct json_object *v, const char **out)
{
	const char *label = *where ? arena_printf(req->arena, "%s.content", where) : "content";
	if (v == NULL || json_object_is_type(v, json_type_null)) {
		response_error(req, 400, "invalid_request", "%s is required", label);
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		response_error(req, 400, "invalid_request", "%s must be a string", label);
		return -1;
	}
	size_t n = (size_t)json_object_get_string_len(v);
	const char *s = json_object_get_string(v);
	if (n > (size_t)req->ctx->cfg.memox_content_max) {
		response_error(req, 413, "payload_too_large", "%s is %zu bytes; at most %lld are allowed", label, n,
			       req->ctx->cfg.memox_content_max);
		return -1;
	}
	if (strspn(s, " \t\r\n") == n) {
		response_error(req, 400, "invalid_request", "%s must not be empty", label);
		return -1;
	}
	*out = s;
	return 0;
}

static int depth_of(struct json_object *v)
{
	int deepest = 0;
	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, child) {
			(void)key;
			int d = depth_of(child);
			if (d > deepest)
				deepest = d;
		}
		return deepest + 1;
	}
	if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			int d = depth_of(json_object_array_get_idx(v, i));
			if (d > deepest)
				deepest = d;
		}
		return deepest + 1;
	}
	return 0;
}

int input_metadata(struct request *req, const char *where, struct json_object *v, const char **out)
{
	const char *label = *where ? arena_printf(req->arena, "%s.metadata", where) : "metadata";
	const struct config *cfg = &req->ctx->cfg;
	if (v == NULL || json_object_is_type(v, json_type_null)) {
		*out = "{}";
		return 0;
	}
	if (!json_object_is_type(v, json_type_object)) {
		response_error(req, 400, "invalid_request", "%s must be a JSON object", label);
		return -1;
	}
	if (depth_of(v) > cfg->memox_metadata_depth) {
		response_error(req, 400, "invalid_request", "%s is nested deeper than %lld levels", label,
			       cfg->memox_metadata_depth);
		return -1;
	}
	const char *text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(text);
	if (n > (size_t)cfg->memox_metadata_max) {
		response_error(req, 413, "payload_too_large", "%s is %zu bytes as JSON; at most %lld are allowed",
			       label, n, cfg->memox_metadata_max);
		return -1;
	}
	*out = arena_strndup(req->arena, text, n);
	return 0;
}

/* expiresAt: an RFC 3339 date-time in the future; kept as the client wrote
 * it, for PostgreSQL to read with its fractions. */
static int expires_at_field(struct request *req, struct json_object *v, const char *label, const char **out)
{
	long long epoch;
	if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) > 64 ||
	    rfc3339_parse(json_object_get_string(v), &epoch) != 0) {
		response_error(req, 400, "invalid_request",
			       "%s must be an RFC 3339 date-time such as 2030-01-31T12:00:00Z", label);
		return -1;
	}
	if (epoch <= (long long)time(NULL)) {
		response_error(req, 400, "invalid_request", "%s must be in the future", label);
		return -1;
	}
	*out = json_object_get_string(v);
	return 0;
}

int input_expiry(struct request *req, struct json_object *obj, const char *where, struct memory_input *m)
{
	struct json_object *at = NULL, *ttl = NULL;
	const char *dot = *where ? "." : "";
	json_object_object_get_ex(obj, "expiresAt", &at);
	json_object_object_get_ex(obj, "ttlSeconds", &ttl);
	if (at && json_object_is_type(at, json_type_null))
		at = NULL;
	if (ttl && json_object_is_type(ttl, json_type_null))
		ttl = NULL;
	m->expires_at = NULL;
	m->ttl_s = 0;
	if (at && ttl) {
		response_error(req, 400, "invalid_request", "name %s%sexpiresAt or %s%sttlSeconds, not both", where, dot,
			       where, dot);
		return -1;
	}
	if (at)
		return expires_at_field(req, at, arena_printf(req->arena, "%s%sexpiresAt", where, dot), &m->expires_at);
	if (ttl) {
		int64_t n = json_object_get_int64(ttl);
		if (!json_object_is_type(ttl, json_type_int) || n < 1 || n > MEMOX_TTL_MAX) {
			response_error(req, 400, "invalid_request", "%s%sttlSeconds must be an integer from 1 to %lld",
				       where, dot, MEMOX_TTL_MAX);
			return -1;
		}
		m->ttl_s = n;
	}
	return 0;
}

int input_memory(struct request *req, struct json_object *obj, const char *where, struct memory_input *m)
{
	static const char *const allowed[] = { "namespace", "externalUserId", "content", "metadata", "expiresAt",
					       "ttlSeconds", NULL };
	json_object_object_foreach(obj, key, val) {
		(void)val;
		int known = 0;
		for (const char *const *a = allowed; *a; a++)
			known |= strcmp(*a, key) == 0;
		if (!known) {
			if (strcmp(key, "tenantId") == 0)
				response_error(req, 400, "invalid_request",
					       "tenantId is not accepted here: the API key says which tenant");
			else
				response_error(req, 400, "invalid_request", "%s%s%s is not a known field", where,
					       *where ? "." : "", key);
			return -1;
		}
	}
	struct json_object *content = NULL, *metadata = NULL;
	json_object_object_get_ex(obj, "content", &content);
	json_object_object_get_ex(obj, "metadata", &metadata);
	if (scope_field(req, obj, where, "namespace", &m->namespace_) != 0 ||
	    scope_field(req, obj, where, "externalUserId", &m->external_user_id) != 0 ||
	    input_content(req, where, content, &m->content) != 0 || input_metadata(req, where, metadata, &m->metadata) != 0 ||
	    input_expiry(req, obj, where, m) != 0)
		return -1;
	return 0;
}

const char *input_memory_id(struct request *req)
{
	const char *id = request_param(req, "id");
	if (id == NULL || !membership_is_uuid(id)) {
		response_error(req, 404, "not_found", "no such memory");
		return NULL;
	}
	return id;
}
