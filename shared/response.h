/* response.h - a request's one response: status and headers, a JSON body, the error writer.
 *
 * The first response written wins; a later one is ignored, so the
 * dispatcher's backstop can never overwrite a handler's answer.  Every
 * answer carries X-Request-Id and, unless a handler set Cache-Control
 * itself, Cache-Control: no-store.  Errors have one shape, the contract's:
 * {"error":{"code","message","requestId"}}; messages are safe to show and
 * never carry a dependency's own words, which go to the log. */
#ifndef AIGET_RESPONSE_H
#define AIGET_RESPONSE_H

#include <stddef.h>

#include <json-c/json.h>

struct request;

/* An answer kept in memory rather than sent (request.capture): its status
 * and body (in the request's arena, NUL-terminated; "" for none). */
struct response_capture {
	int status;
	const char *body;
	size_t len;
};

void response_header(struct request *req, const char *name, const char *value);
void response_send(struct request *req, int status, const char *content_type,
		   const char *body, size_t len);
/* Serialises obj (and drops the caller's reference). */
void response_json(struct request *req, int status, struct json_object *obj);
/* The one error writer: {"error":{"code","message","requestId"}}. */
void response_error(struct request *req, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void response_no_content(struct request *req);
/* 503 "unavailable" with Retry-After: a dependency failed.  Logs "what: err"
 * (err is the dependency's message, never shown to the client). */
void response_unavailable(struct request *req, const char *what, const char *err);

/* The contract's error code for a status (400 -> "invalid_request", ...). */
const char *response_default_code(int status);

#endif
