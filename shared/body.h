/* body.h - reading a request body within its cap, and parsing it as JSON.
 *
 * CONTENT_LENGTH is parsed with a checked conversion and compared with the cap
 * before a byte is read: an oversized body is refused (413) unread, a bad
 * length or a body shorter than announced is a 400. */
#ifndef AIGET_BODY_H
#define AIGET_BODY_H

#include <stddef.h>

#include "json_check.h"
#include "request.h"

enum body_status {
	BODY_OK,
	BODY_BAD_LENGTH,   /* CONTENT_LENGTH not a decimal number */
	BODY_TOO_LARGE,    /* over the cap, announced or counted */
	BODY_SHORT,        /* fewer bytes than announced */
	BODY_BAD_JSON,
	BODY_NOT_OBJECT,
	BODY_EMPTY,
};

/* Parses a CONTENT_LENGTH value: digits only, no sign, no overflow. */
int body_parse_length(const char *s, unsigned long long *out);

/* Reads the body into req->body/body_len (NUL-terminated). */
enum body_status body_read(struct request *req, unsigned long long cap);

/* Parses req->body as one JSON object into req->json, within the limits
 * of the configuration (JSON_MAX_VALUES, JSON_MAX_CONTAINERS) and with
 * numbers that cannot be kept exactly refused; errmsg gets a short English
 * reason for a 400. */
enum body_status body_parse_json(struct request *req, char *errmsg, size_t errlen);

/* The same checks for a body that may be any JSON value (MCP's messages,
 * whose errors are JSON-RPC's): the value, registered with the request's
 * arena, or NULL with a reason in errmsg. */
struct json_object *body_parse_json_value(struct request *req, char *errmsg, size_t errlen);

/* Parses text as strict JSON (UTF-8 checked, depth bounded, nothing trailing).
 * Returns the object or NULL with a reason in errmsg (also for the text
 * null, which json-c holds as NULL).  For text from our
 * own stores and providers: no cap on the number of values (an embedding
 * answer holds hundreds of thousands). */
struct json_object *body_json_parse(const char *text, size_t len, char *errmsg, size_t errlen);

/* The same within explicit limits (json_check.h). */
struct json_object *body_json_parse_limited(const char *text, size_t len, const struct json_limits *lim,
					    char *errmsg, size_t errlen);

#endif
