/* response.c - writing a request's one response: status, headers, JSON, errors. */
#include "response.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "log.h"
#include "pg.h"
#include "request.h"
#include "utf8.h"

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default:  return "Unknown";
	}
}

const char *response_default_code(int status)
{
	switch (status) {
	case 400: return "invalid_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 411: return "length_required";
	case 413: return "payload_too_large";
	case 415: return "unsupported_media_type";
	case 429: return "rate_limited";
	case 501: return "not_implemented";
	case 503: return "unavailable";
	default:  return status >= 500 ? "internal" : "invalid_request";
	}
}

void response_header(struct request *req, const char *name, const char *value)
{
	struct request_header *h = arena_alloc(req->arena, sizeof *h);
	h->name = arena_strdup(req->arena, name);
	h->value = arena_strdup(req->arena, value);
	h->next = req->headers;
	req->headers = h;
}

void response_send(struct request *req, int status, const char *content_type, const char *body, size_t len)
{
	if (req->status != 0)
		return; /* a response was already written; keep the first */
	req->status = status;
	if (req->capture) {
		char *copy = arena_alloc(req->arena, len + 1);
		if (len > 0)
			memcpy(copy, body, len);
		copy[len] = '\0';
		req->capture->status = status;
		req->capture->body = copy;
		req->capture->len = len;
		return;
	}
	/* Headers are formatted here, not with FCGX_FPrintF, whose own printf
	 * lacks length modifiers such as %zu. */
	size_t cap = 256 + strlen(req->request_id) + (content_type ? strlen(content_type) : 0);
	for (struct request_header *h = req->headers; h; h = h->next)
		cap += strlen(h->name) + strlen(h->value) + 4;
	char *head = arena_alloc(req->arena, cap);
	/* Answers are private and fresh unless a handler says otherwise (JWKS). */
	int cacheable = 0;
	for (struct request_header *h = req->headers; h; h = h->next)
		cacheable |= strcasecmp(h->name, "Cache-Control") == 0;
	int n = snprintf(head, cap, "Status: %d %s\r\nX-Request-Id: %s\r\n%s",
			 status, status_text(status), req->request_id, cacheable ? "" : "Cache-Control: no-store\r\n");
	if (content_type)
		n += snprintf(head + n, cap - (size_t)n, "Content-Type: %s\r\nContent-Length: %zu\r\n",
			      content_type, len);
	for (struct request_header *h = req->headers; h; h = h->next)
		n += snprintf(head + n, cap - (size_t)n, "%s: %s\r\n", h->name, h->value);
	n += snprintf(head + n, cap - (size_t)n, "\r\n");
	FCGX_Stream *out = req->fcgx->out;
	FCGX_PutStr(head, n, out);
	if (len > 0 && strcmp(req->method, "HEAD") != 0)
		FCGX_PutStr(body, (int)len, out);
}

void response_json(struct request *req, int status, struct json_object *obj)
{
	size_t len;
	const char *s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	response_send(req, status, "application/json; charset=utf-8", s, len);
	json_object_put(obj);
}

void response_error(struct request *req, int status, const char *code, const char *fmt, ...)
{
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	/* Messages quote what clients sent, cut to a length (%.64s) or by the
	 * buffer, which may cut a character: the answer must still be JSON. */
	utf8_scrub(message);
	struct json_object *err = json_object_new_object();
	json_object_object_add(err, "code", json_object_new_string(code ? code : response_default_code(status)));
	json_object_object_add(err, "message", json_object_new_string(message));
	json_object_object_add(err, "requestId", json_object_new_string(req->request_id));
	struct json_object *root = json_object_new_object();
	json_object_object_add(root, "error", err);
	response_json(req, status, root);
}

void response_unavailable(struct request *req, const char *what, const char *err)
{
	log_error("%s: %s", what, err);
	response_header(req, "Retry-After", "5");
	if (pg_timeouts() != req->pg_timeouts_before) {
		response_error(req, 503, "unavailable",
			       "the request ran longer than the database allows (%lld ms); retry later,"
			       " or ask for less (a narrower filter, a smaller batch)",
			       req->ctx->cfg.pg_statement_timeout_ms);
		return;
	}
	response_error(req, 503, "unavailable", "the service is temporarily unavailable");
}

void response_no_content(struct request *req)
{
	response_send(req, 204, NULL, NULL, 0);
}
