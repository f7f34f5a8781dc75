/* request.c - fuzzes a whole request through request_begin() and router_dispatch().
 *
 * The input is the FastCGI parameters, one NAME=value a line (REQUEST_METHOD,
 * REQUEST_URI, CONTENT_TYPE, CONTENT_LENGTH, HTTP_X_REQUEST_ID, HTTP_ORIGIN,
 * anything), an empty line, and the body.  The routes are a fixture shaped
 * like the areas' tables (literals, placeholders, a literal beside a
 * placeholder, several methods, JSON bodies required, optional, large),
 * whose handlers read the query (query_only, page_parse, request_query) and
 * the body (fields_only, field_string, field_enum) the way the areas do; the
 * routes that need a key or a token are left out, for they need Redis and
 * PostgreSQL.  Properties:
 *  - exactly one well-formed answer: a status line, headers whose names are
 *    tokens and whose values hold no CR or LF, whatever the client sent
 *    (fuzz_check_answer), a Content-Length that is the body's, a JSON body;
 *  - its X-Request-Id is the client's when that one is sane, else new;
 *  - the status is one the dispatcher or the handler may give: 404 only for
 *    a path no route has, 405 with Allow, 413 only for a body over its cap;
 *  - a handler runs only with its media type, its body read within the cap
 *    and parsed, and a well-formed query. */
#include <string.h>

#include "body.h"
#include "fields.h"
#include "membership.h"
#include "paging.h"
#include "router.h"
#include "support/fuzz.h"

static int handled; /* the fixture's handlers count their runs */

static void check_handler_input(struct request *req, int json)
{
	handled++;
	/* The dispatcher vetted the query: every escape decodes. */
	FUZZ_CHECK(request_percent_decode(req->arena, req->query, strlen(req->query), 1) != NULL);
	if (json) {
		FUZZ_CHECK(router_is_json_media_type(req->content_type));
		FUZZ_CHECK(req->json != NULL && json_object_is_type(req->json, json_type_object));
		FUZZ_CHECK(req->body != NULL && req->body_len <= (size_t)req->ctx->cfg.max_body_bytes);
	}
}

static void list_items(struct request *req)
{
	static const char *const allowed[] = { "limit", "cursor", "q", NULL };
	struct page p;
	check_handler_input(req, 0);
	if (query_only(req, allowed) != 0 || page_parse(req, &p, 0) != 0)
		return;
	FUZZ_CHECK(p.limit >= 1 && p.limit <= PAGE_LIMIT_MAX);
	const char *q = request_query(req, "q");
	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "q", q ? json_object_new_string(q) : NULL);
	json_object_object_add(body, "limit", json_object_new_int(p.limit));
	response_json(req, 200, body);
}

static void create_item(struct request *req)
{
	static const char *const allowed[] = { "name", "kind", "note", NULL };
	static const char *const kinds[] = { "a", "b", NULL };
	const char *name, *kind, *note;
	check_handler_input(req, 1);
	if (fields_only(req, allowed) != 0 || field_string(req, "name", 1, 16, &name) != 0 ||
	    field_enum(req, "kind", 0, kinds, &kind) != 0 || field_string(req, "note", 0, 64, &note) != 0)
		return;
	FUZZ_CHECK(name != NULL && *name && strlen(name) <= 16);
	FUZZ_CHECK(kind == NULL || strcmp(kind, "a") == 0 || strcmp(kind, "b") == 0);
	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "name", json_object_new_string(name));
	response_json(req, 201, body);
}

static void get_item(struct request *req)
{
	check_handler_input(req, 0);
	const char *id = request_param(req, "id");
	FUZZ_CHECK(id != NULL && *id);
	if (!membership_is_uuid(id)) {
		response_error(req, 404, "not_found", "no such item");
		return;
	}
	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "id", json_object_new_string(id));
	response_json(req, 200, body);
}

static void patch_item(struct request *req)
{
	check_handler_input(req, 1);
	response_no_content(req);
}

static void rotate_item(struct request *req)
{
	check_handler_input(req, req->json != NULL);
	FUZZ_CHECK(request_param(req, "id") != NULL && request_param(req, "sub") != NULL);
	response_no_content(req);
}

static void self(struct request *req)
{
	check_handler_input(req, 0);
	FUZZ_CHECK(req->nparams == 0);
	response_no_content(req);
}

static void silent(struct request *req)
{
	check_handler_input(req, 0); /* answers nothing: the backstop's 500 */
}

static const struct route routes[] = {
	{ "GET",    "/api/v1/fuzz/items",                       list_items, 0 },
	{ "POST",   "/api/v1/fuzz/items",                       create_item, ROUTE_JSON },
	{ "GET",    "/api/v1/fuzz/items/self",                  self, 0 },
	{ "DELETE", "/api/v1/fuzz/items/self",                  self, 0 },
	{ "GET",    "/api/v1/fuzz/items/{id}",                  get_item, 0 },
	{ "PATCH",  "/api/v1/fuzz/items/{id}",                  patch_item, ROUTE_JSON | ROUTE_LARGE_BODY },
	{ "POST",   "/api/v1/fuzz/items/{id}/subs/{sub}/rotate", rotate_item, ROUTE_JSON_OPTIONAL },
	{ "GET",    "/api/v1/fuzz/silent",                      silent, 0 },
};
#define NROUTES (sizeof routes / sizeof routes[0])

static const char *param(const char *const *params, size_t n, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < n; i++)
		if (strncmp(params[i], name, len) == 0 && params[i][len] == '=')
			return params[i] + len + 1;
	return NULL;
}

/* 1 when some route's pattern matches the request's path. */
static int path_known(struct request *req)
{
	struct request probe = *req;
	for (size_t i = 0; i < NROUTES; i++)
		if (router_match(&probe, routes[i].pattern))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *params[FUZZ_PARAMS_MAX];
	size_t n = 0;
	while (size > 0 && n < FUZZ_PARAMS_MAX) {
		size_t len;
		char *line = fuzz_take(&data, &size, '\n', &len);
		if (len == 0)
			break;
		if (strchr(line, '=') != NULL && strlen(line) == len) /* FastCGI names hold no NUL */
			params[n++] = line;
	}
	const char *body = (const char *)data;
	size_t body_len = size;

	handled = 0;
	struct request *req = fuzz_request(params, n, body, body_len);
	const int known = path_known(req);
	router_dispatch(req, routes, NROUTES);

	size_t alen;
	const char *answer = fuzz_answer(&alen);
	int status = fuzz_check_answer(answer, alen, strcmp(req->method, "HEAD") == 0, NULL);
	FUZZ_CHECK(status == req->status);
	FUZZ_CHECK(handled <= 1);

	/* The request id: the client's, when sane, else 32 new hex digits. */
	const char *rid = param(params, n, "REQUEST_ID");
	if (rid == NULL || !request_id_is_sane(rid))
		rid = param(params, n, "HTTP_X_REQUEST_ID");
	if (rid != NULL && request_id_is_sane(rid))
		FUZZ_CHECK(strcmp(req->request_id, rid) == 0);
	else
		FUZZ_CHECK(strlen(req->request_id) == 32 && strspn(req->request_id, "0123456789abcdef") == 32);
	char want[REQUEST_ID_MAX + 20];
	snprintf(want, sizeof want, "\r\nX-Request-Id: %s\r\n", req->request_id);
	FUZZ_CHECK(strstr(answer, want) != NULL);

	FUZZ_CHECK(known == (status != 404 || handled));
	if (status == 405)
		FUZZ_CHECK(strstr(answer, "\r\nAllow: ") != NULL);
	if (status == 413) {
		unsigned long long announced;
		const char *cl = param(params, n, "CONTENT_LENGTH");
		if (cl == NULL || *cl == '\0')
			FUZZ_CHECK(body_len > 1024); /* read to the end, past the smaller cap */
		else
			FUZZ_CHECK(body_parse_length(cl, &announced) == 0 && announced > 1024);
	}
	FUZZ_CHECK(status == 200 || status == 201 || status == 204 || status == 400 || status == 403 ||
		   status == 404 || status == 405 || status == 413 || status == 415 || status == 500);
	FUZZ_CHECK(status != 500 || handled);
	fuzz_end();
	return 0;
}
