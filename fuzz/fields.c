/* fields.c - fuzzes the routes' field checks that need no database: shared/fields.c, memox's input.c, emails.
 *
 * The first byte picks the check; the rest is a JSON body, parsed the way
 * router_dispatch() parses one (body_parse_json's limits, exact numbers),
 * except for emails, which are the text itself.  Properties:
 *  - a check that refuses has answered: one well-formed 400 (413 for a
 *    content or metadata over its size) in the contract's error format,
 *    whose message is UTF-8 JSON; a check that passes has answered nothing;
 *  - what passes holds what the check promises: fields_only() only the
 *    names allowed, field_string() 1..max bytes, field_enum() one of its
 *    choices; input_memory() scope values of the scope alphabet, 1-128
 *    bytes, content not blank and within MEMOX_CONTENT_MAX_BYTES, metadata
 *    a JSON object whose text (what is stored) is JSON again, within
 *    MEMOX_METADATA_MAX_BYTES and MEMOX_METADATA_MAX_DEPTH; a batch's items
 *    each the same, their errors named memories[i];
 *  - email_normalize() is idempotent, and what it gives is trimmed, at most
 *    254 bytes, with a lower-case domain.
 * The handlers around these checks (memories_create, search's read_input,
 * the tenants' limits parser) run statements or are static to their file:
 * their routes are t/4040's, t/3030's and t/2050's. */
#include <string.h>

#include "../fcgi-apps/memox/memox.h"
#include "body.h"
#include "email.h"
#include "fields.h"
#include "json_check.h"
#include "support/fuzz.h"

static struct json_object *parse(struct request *req, const uint8_t *data, size_t size)
{
	char msg[256];
	const struct config *cfg = &req->ctx->cfg;
	const struct json_limits lim = { 32, (long)cfg->json_max_values, (long)cfg->json_max_containers, 1 };
	struct json_object *obj = body_json_parse_limited((const char *)data, size, &lim, msg, sizeof msg);
	if (obj != NULL && !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* A refusal answered once and well; a pass answered nothing. */
static void answered(struct request *req, int rc)
{
	size_t len;
	const char *answer = fuzz_answer(&len);
	if (rc == 0) {
		FUZZ_CHECK(req->status == 0 && len == 0);
		return;
	}
	FUZZ_CHECK(rc == -1);
	const char *body;
	int status = fuzz_check_answer(answer, len, 0, &body);
	FUZZ_CHECK(status == req->status && (status == 400 || status == 413 || status == 404));
	FUZZ_CHECK(strstr(body, "{\"error\":{\"code\":") == body);
}

static void check_scope(const char *s)
{
	size_t n = strlen(s);
	FUZZ_CHECK(n >= 1 && n <= MEMOX_SCOPE_MAX);
	FUZZ_CHECK(strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.:@/") == n);
}

static int depth(struct json_object *v)
{
	int d = 0;
	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, k, c) {
			(void)k;
			int e = depth(c);
			d = e > d ? e : d;
		}
		return d + 1;
	}
	if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			int e = depth(json_object_array_get_idx(v, i));
			d = e > d ? e : d;
		}
		return d + 1;
	}
	return 0;
}

static void check_memory(struct request *req, const struct memory_input *m)
{
	const struct config *cfg = &req->ctx->cfg;
	check_scope(m->namespace_);
	check_scope(m->external_user_id);
	size_t n = strlen(m->content);
	FUZZ_CHECK(n <= (size_t)cfg->memox_content_max && strspn(m->content, " \t\r\n") < n);
	size_t mlen = strlen(m->metadata);
	FUZZ_CHECK(mlen <= (size_t)cfg->memox_metadata_max);
	char why[256];
	const struct json_limits lim = { 32, 0, 0, 1 };
	FUZZ_CHECK(json_check(m->metadata, mlen, &lim, why, sizeof why) == 0);
	struct json_object *meta = body_json_parse(m->metadata, mlen, why, sizeof why);
	FUZZ_CHECK(json_object_is_type(meta, json_type_object) && depth(meta) <= cfg->memox_metadata_depth);
	json_object_put(meta);
}

static void email(const uint8_t *data, size_t size)
{
	const char *in = fuzz_take(&data, &size, '\0', NULL);
	char out[EMAIL_MAX + 1], again[EMAIL_MAX + 1];
	if (email_normalize(in, out) != 0)
		return;
	size_t n = strlen(out);
	FUZZ_CHECK(n >= 3 && n <= EMAIL_MAX && strchr(" \t\r\n", out[0]) == NULL && strchr(" \t\r\n", out[n - 1]) == NULL);
	const char *at = strrchr(out, '@');
	FUZZ_CHECK(at != NULL);
	for (const char *c = at + 1; *c; c++)
		FUZZ_CHECK(!(*c >= 'A' && *c <= 'Z'));
	FUZZ_CHECK(email_normalize(out, again) == 0 && strcmp(out, again) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned pick = data[0] % 5;
	data++;
	size--;
	if (pick == 4) {
		email(data, size);
		fuzz_end();
		return 0;
	}
	struct request *req = fuzz_request(NULL, 0, NULL, 0);
	struct json_object *obj = parse(req, data, size);
	if (obj == NULL) {
		fuzz_end();
		return 0;
	}
	req->json = obj;
	int rc;
	switch (pick) {
	case 0: {
		struct memory_input m;
		rc = input_memory(req, obj, "", &m);
		if (rc == 0)
			check_memory(req, &m);
		break;
	}
	case 1: {
		/* A batch: {"memories": [...]}, each item checked where it is. */
		struct json_object *list;
		rc = 0;
		if (!json_object_object_get_ex(obj, "memories", &list) || !json_object_is_type(list, json_type_array))
			break;
		for (size_t i = 0; rc == 0 && i < json_object_array_length(list); i++) {
			struct json_object *item = json_object_array_get_idx(list, i);
			if (!json_object_is_type(item, json_type_object))
				continue;
			struct memory_input m;
			const char *where = arena_printf(req->arena, "memories[%zu]", i);
			rc = input_memory(req, item, where, &m);
			if (rc == 0) {
				check_memory(req, &m);
			} else {
				size_t len;
				const char *answer = fuzz_answer(&len);
				FUZZ_CHECK(strstr(answer, where) != NULL || strstr(answer, "tenantId") != NULL);
			}
		}
		break;
	}
	case 2: {
		static const char *const allowed[] = { "name", "role", "note", NULL };
		static const char *const roles[] = { "owner", "admin", "member", NULL };
		const char *name = NULL, *role = NULL, *note = NULL;
		rc = fields_only(req, allowed);
		if (rc == 0)
			rc = field_string(req, "name", 1, 16, &name);
		if (rc == 0)
			rc = field_enum(req, "role", 0, roles, &role);
		if (rc == 0)
			rc = field_string(req, "note", 0, 8, &note);
		if (rc == 0) {
			json_object_object_foreach(obj, key, val) {
				(void)val;
				FUZZ_CHECK(strcmp(key, "name") == 0 || strcmp(key, "role") == 0 || strcmp(key, "note") == 0);
			}
			FUZZ_CHECK(name && *name && strlen(name) <= 16);
			FUZZ_CHECK(!role || !strcmp(role, "owner") || !strcmp(role, "admin") || !strcmp(role, "member"));
			FUZZ_CHECK(!note || (*note && strlen(note) <= 8));
		}
		break;
	}
	default: {
		/* A query's tenantId, and a path's memory id. */
		struct json_object *q, *id;
		if (json_object_object_get_ex(obj, "query", &q) && json_object_is_type(q, json_type_string))
			req->query = json_object_get_string(q);
		rc = input_refuse_tenant(req, obj);
		if (rc == 0 && json_object_object_get_ex(obj, "id", &id) && json_object_is_type(id, json_type_string)) {
			req->params[0].name = "id";
			req->params[0].value = json_object_get_string(id);
			req->nparams = 1;
			rc = input_memory_id(req) != NULL ? 0 : -1;
		}
	}
	}
	answered(req, rc);
	json_object_put(obj);
	fuzz_end();
	return 0;
}
