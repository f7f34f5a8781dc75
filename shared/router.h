/* router.h - the static route table of a responder and its one dispatcher.
 *
 * Each responder declares `static const struct route routes[]` of
 * {method, pattern, handler, flags}.  Patterns are literal path segments and
 * {name} placeholders.  The flags say what a route needs before its handler
 * may run; router_dispatch() checks all of them in one place (cgit-style):
 * 404 for an unknown path, 405 with Allow for a known path and another method,
 * 415 for a JSON route given another media type, 413/400 for its body.
 *
 * The path is matched before the method: of the patterns that match it, the
 * most specific wins (at the first segment where two differ, a literal beats
 * a placeholder, so /keys/self is never /keys/{keyId}), and the method is
 * then looked up among the routes of exactly that pattern, whose methods are
 * the Allow of a 405.  The table's order does not decide between patterns. */
#ifndef AIGET_ROUTER_H
#define AIGET_ROUTER_H

#include <stddef.h>

#include "request.h"

enum route_flags {
	ROUTE_JSON  = 1 << 0, /* body must be a JSON object (application/json) */
	ROUTE_USER  = 1 << 1, /* a valid user access token (req->user) */
	ROUTE_ADMIN = 1 << 2, /* ROUTE_USER with the admin role, as the database has it now */
	ROUTE_JSON_OPTIONAL = 1 << 3, /* as ROUTE_JSON when a body is sent; none is fine */
	ROUTE_APIKEY = 1 << 4, /* a tenant API key, admitted by its tenant's limits (req->key) */
	ROUTE_SCOPE_READ  = 1 << 5, /* ROUTE_APIKEY whose key has memox:read */
	ROUTE_SCOPE_WRITE = 1 << 6, /* ROUTE_APIKEY whose key has memox:write */
	/* The body may be as large as MAX_BODY_BYTES (memories, batches,
	 * searches); without it a JSON route takes MAX_SMALL_BODY_BYTES, so
	 * that a route that takes a login cannot be made to parse a MiB. */
	ROUTE_LARGE_BODY = 1 << 7,
};

typedef void (*route_handler)(struct request *req);

struct route {
	const char *method;
	const char *pattern;
	route_handler handler;
	unsigned flags;
};

/* Matches req->path against pattern, filling req->params.  1 on a match. */
int router_match(struct request *req, const char *pattern);

/* Answers the request: through the matching route's handler or with the
 * error that says why not.  Always leaves a response written.  The body
 * caps come from req->ctx's configuration. */
void router_dispatch(struct request *req, const struct route *routes, size_t nroutes);

/* 1 when a Content-Type names JSON: application/json, optionally with a
 * charset parameter that must then be utf-8. */
int router_is_json_media_type(const char *content_type);

#endif
