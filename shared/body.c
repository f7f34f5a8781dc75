/* body.c - request bodies: checked length, capped reads, strict JSON. */
#include "body.h"

#include "app.h"
#include "json_check.h"

#include <stdio.h>
#include <string.h>

/* Nesting beyond this is refused; no request of the API needs more than a
 * handful of levels, and json-c recurses on free. */
#define JSON_MAX_DEPTH 32

int body_parse_length(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;
	if (s == NULL || *s == '\0')
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		unsigned digit = (unsigned)(*p - '0');
		if (v > (~0ULL - digit) / 10)
			return -1;
		v = v * 10 + digit;
	}
	*out = v;
	return 0;
}

static void free_json(void *obj)
{
	json_object_put(obj);
}

enum body_status body_read(struct request *req, unsigned long long cap)
{
	unsigned long long announced;
	int have_length = req->content_length != NULL && *req->content_length != '\0';

	if (have_length) {
		if (body_parse_length(req->content_length, &announced) != 0)
			return BODY_BAD_LENGTH;
		if (announced > cap)
			return BODY_TOO_LARGE;
	} else {
		/* No length: read until end of stream, refusing past the cap. */
		announced = cap + 1;
	}

	char *buf = arena_alloc(req->arena, (size_t)announced + 1);
	size_t got = 0;
	while (got < announced) {
		size_t want = (size_t)announced - got;
		int n = FCGX_GetStr(buf + got, want > (1 << 20) ? (1 << 20) : (int)want, req->fcgx->in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (have_length && got < announced)
		return BODY_SHORT;
	if (!have_length && got > cap)
		return BODY_TOO_LARGE;
	buf[got] = '\0';
	req->body = buf;
	req->body_len = got;
	return BODY_OK;
}

struct json_object *body_json_parse(const char *text, size_t len, char *errmsg, size_t errlen)
{
	static const struct json_limits trusted = { JSON_MAX_DEPTH, 0, 0, 0 };
	return body_json_parse_limited(text, len, &trusted, errmsg, errlen);
}

struct json_object *body_json_parse_limited(const char *text, size_t len, const struct json_limits *lim,
					    char *errmsg, size_t errlen)
{
	char why[320];
	if (json_check(text, len, lim, why, sizeof why) != 0) {
		snprintf(errmsg, errlen, "request body is not valid JSON: %s", why);
		return NULL;
	}
	/* json-c counts the value inside the deepest container as a level of
	 * its own: one more than json_check's depth, which counts containers. */
	struct json_tokener *tok = json_tokener_new_ex(lim->max_depth + 1);
	if (tok == NULL) {
		snprintf(errmsg, errlen, "out of memory");
		return NULL;
	}
	/* json_check() has vetted the text; strict flags are a second guard. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	/* A text that is one number ("667") is whole, but json-c waits for
	 * more digits until it sees the end; json_check has seen that nothing
	 * follows, so a space ends it. */
	if (obj == NULL && jerr == json_tokener_continue) {
		obj = json_tokener_parse_ex(tok, " ", 1);
		jerr = json_tokener_get_error(tok);
	}
	json_tokener_free(tok);

	if (obj == NULL && jerr == json_tokener_success) {
		/* The text null: JSON, but json-c's null is NULL, and every
		 * caller wants an object. */
		snprintf(errmsg, errlen, "request body must be a JSON object");
		return NULL;
	}
	if (obj == NULL || jerr != json_tokener_success) {
		json_object_put(obj);
		snprintf(errmsg, errlen, "request body is not valid JSON: %s",
			 jerr == json_tokener_continue ? "unexpected end of input" : json_tokener_error_desc(jerr));
		return NULL;
	}
	return obj;
}

struct json_object *body_parse_json_value(struct request *req, char *errmsg, size_t errlen)
{
	const struct config *cfg = &req->ctx->cfg;
	const struct json_limits lim = { JSON_MAX_DEPTH, (long)cfg->json_max_values, (long)cfg->json_max_containers, 1 };
	struct json_object *v = body_json_parse_limited(req->body, req->body_len, &lim, errmsg, errlen);
	if (v != NULL)
		arena_on_reset(req->arena, free_json, v);
	return v;
}

enum body_status body_parse_json(struct request *req, char *errmsg, size_t errlen)
{
	if (req->body == NULL || req->body_len == 0) {
		snprintf(errmsg, errlen, "request body is required");
		return BODY_EMPTY;
	}
	struct json_object *obj = body_parse_json_value(req, errmsg, errlen);
	if (obj == NULL)
		return BODY_BAD_JSON;
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(errmsg, errlen, "request body must be a JSON object");
		return BODY_NOT_OBJECT;
	}
	req->json = obj;
	return BODY_OK;
}
