/* request.h - one FastCGI request: its parsed inputs, its arena, its response.
 *
 * A handler only sees what the dispatcher has already checked: the method and
 * route matched, the media type, the body read within its cap and, for JSON
 * routes, parsed.  Every string here lives in the request's arena; nothing
 * points into the FastCGI environment, which is freed by FCGX_Finish_r(). */
#ifndef AIGET_REQUEST_H
#define AIGET_REQUEST_H

#include <stddef.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "arena.h"
#include "response.h"

struct app_context;

#define REQUEST_MAX_PARAMS 8
#define REQUEST_ID_MAX 128

struct request_header {
	const char *name, *value;
	struct request_header *next;
};

struct auth_user;
struct api_key_info;

/* Work that must not delay the answer (sending mail): run after
 * FCGX_Finish_r(), before the arena is reset. */
struct request_deferred {
	void (*fn)(struct app_context *ctx, void *arg);
	void *arg;
	struct request_deferred *next;
};

struct request {
	FCGX_Request *fcgx;
	struct arena *arena;
	struct app_context *ctx;

	const char *method;
	const char *path;          /* raw path, no query string, trailing '/' dropped */
	const char *query;         /* raw query string, "" when none */
	const char *content_type;  /* "" when none */
	const char *content_length;/* raw CONTENT_LENGTH, NULL when none */
	const char *remote_addr;
	char request_id[REQUEST_ID_MAX + 1];
	const char *route;         /* the matched pattern, for logs and metrics */

	const char *body;          /* NUL-terminated copy, NULL when none read */
	size_t body_len;
	struct json_object *json;  /* parsed body of a JSON route */

	struct { const char *name, *value; } params[REQUEST_MAX_PARAMS];
	int nparams;

	struct auth_user *user;    /* set by the dispatcher on ROUTE_USER routes */
	struct api_key_info *key;  /* set by the dispatcher on ROUTE_APIKEY routes */
	const char *key_slot;      /* the tenant concurrency slot it holds, released after the handler */
	struct request_deferred *deferred;

	int status;                /* 0 until a response is sent */
	/* Set on a sub-request (memox's MCP tools run REST handlers): the
	 * answer is kept here instead of being written to the client. */
	struct response_capture *capture;
	struct request_header *headers;
	double started_ms;
	unsigned long pg_timeouts_before; /* pg_timeouts() when it began */
	int db_transaction;        /* 1 while db_request_begin()'s transaction is open */
};

/* Fills req from the accepted FastCGI request.  Never fails: a request that
 * cannot be understood is answered by the dispatcher. */
void request_begin(struct request *req, FCGX_Request *fcgx, struct arena *arena,
		   struct app_context *ctx);

/* A FastCGI parameter copied into the arena, or NULL. */
const char *request_env(struct request *req, const char *name);

/* A path parameter from the route pattern ({id}), percent-decoded, or NULL. */
const char *request_param(struct request *req, const char *name);

/* The first value of a query parameter, percent-decoded ('+' is a space), or
 * NULL when absent.  The dispatcher has already refused a malformed query. */
const char *request_query(struct request *req, const char *name);

/* The query string's one walker: the next parameter from *pos (start at
 * 0), its key and value percent-decoded ('+' a space; "" for a key without
 * '='; NULL for a malformed escape); 0 at the end.  Empty parts (a&&b) are
 * skipped. */
int request_query_next(struct request *req, size_t *pos, const char **key, const char **value);

/* The same walk over any text in that format: a form body
 * (application/x-www-form-urlencoded), decoded into arena a. */
int request_form_next(struct arena *a, const char *text, size_t *pos, const char **key, const char **value);

/* Decodes %XX and, when plus_is_space, '+'.  Returns NULL for a malformed
 * escape or an encoded NUL. */
char *request_percent_decode(struct arena *a, const char *s, size_t n, int plus_is_space);

/* The request id: a sane incoming one (1-128 of [A-Za-z0-9._:-]) or a new
 * random one of 32 hex digits. */
int request_id_is_sane(const char *s);

/* Queues fn(ctx, arg) to run once the response has been sent; arg lives in
 * the request's arena until then. */
void request_defer(struct request *req, void (*fn)(struct app_context *ctx, void *arg), void *arg);

/* Milliseconds on the monotonic clock, for latencies. */
double clock_ms(void);

#endif
