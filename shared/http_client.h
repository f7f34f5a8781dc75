/* http_client.h - small outbound HTTP calls (OpenID providers) through libcurl.
 *
 * Bounded in time and size, JSON answers only, https required except to a
 * loopback address (the tests' stand-in provider).  One easy handle per call:
 * these calls are rare (a sign-in, a key-set refresh), so connection reuse
 * is not worth a handle's state in every responder child. */
#ifndef AIGET_HTTP_CLIENT_H
#define AIGET_HTTP_CLIENT_H

#include <stddef.h>

#include <json-c/json.h>

#define HTTP_CLIENT_MAX_BODY (1 << 20)

/* 1 when url is https, or http to 127.0.0.1, [::1] or localhost. */
int http_client_url_allowed(const char *url);

/* GET url; on a 2xx with a JSON body, *out gets it (caller puts it).
 * Returns the HTTP status, or -1 with err on a transport failure. */
int http_client_get_json(const char *url, long timeout_ms, struct json_object **out, char *err, size_t errlen);

/* POST form (already application/x-www-form-urlencoded) to url; *out gets a
 * JSON answer of any status.  Returns the status or -1 with err. */
int http_client_post_form(const char *url, const char *form, long timeout_ms, struct json_object **out,
			  char *err, size_t errlen);

/* Appends name=value, percent-encoded, to a form or query string held in a
 * malloc'd buffer (*buf may start NULL).  0 or -1. */
int http_client_form_add(char **buf, const char *name, const char *value);

#endif
