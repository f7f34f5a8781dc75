/* mcp_tools.c - the MCP endpoint's tools: each one a REST route of memox, run in memory.
 *
 * A tool call runs the very handler its REST route runs, on a sub-request
 * whose body, query and {id} are made from the tool's arguments and whose
 * answer is kept in memory (request.capture) instead of being sent.  So a
 * tool takes exactly what the route takes and refuses it in the same
 * words: the arguments of memory_add are the body of POST /memories, those
 * of memory_list the query of GET /memories, an unknown argument is the
 * route's unknown field.  The sub-request carries the MCP request's key
 * and nothing else of it (no headers: an Idempotency-Key of the MCP POST
 * means nothing to a tool); it went through admission once, as the MCP
 * request, so rate limits, concurrency slots and the monthly quota count
 * one tools/call as one request.
 *
 * Every tool names its scope (namespace, externalUserId), even those that
 * take a memory by id: the memory is read first and must belong to that
 * scope, else it is not found, so an agent given one end user's scope
 * cannot reach another end user's memory by guessing its id.  A memory's
 * scope never changes (PATCH takes content and metadata only), so the
 * read and the change that follows it cannot disagree.
 *
 * The route needs only a key; each tool checks the scope of its own REST
 * route (memox:read or memox:write), and a key without it gets the tool's
 * refusal, as every refusal: a result with isError, the route's message
 * as its text and the contract's error object as its structuredContent.
 *
 * A tool is one row of the table below; a REST route added to memox
 * becomes a tool by adding its row. */
#include "memox.h"

#include <string.h>

#include "api_key.h"
#include "log.h"

/* How a tool's arguments become its route's input. */
enum mcp_args {
	MCP_ARGS_BODY  = 1 << 0, /* the route's JSON body */
	MCP_ARGS_QUERY = 1 << 1, /* its query string */
	MCP_ARGS_BY_ID = 1 << 2, /* id, namespace and externalUserId name one memory of the scope */
};

struct mcp_tool {
	const char *name, *title, *description;
	unsigned scope;            /* enum api_key_scope */
	const char *method, *route;
	route_handler handler;
	unsigned args;             /* enum mcp_args */
	const char *schema;        /* inputSchema: JSON Schema of the arguments */
};

/* The schema fragments the tools share; the REST routes' rules. */
#define SCOPE_PROPS                                                                                       \
	"\"namespace\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128,"                           \
	"\"pattern\":\"^[A-Za-z0-9_.:@/-]+$\",\"description\":\"The memory store of your application.\"}," \
	"\"externalUserId\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128,"                      \
	"\"pattern\":\"^[A-Za-z0-9_.:@/-]+$\",\"description\":\"Your end user whose memories these are.\"}"
#define ID_PROP "\"id\":{\"type\":\"string\",\"format\":\"uuid\",\"description\":\"The memory's id.\"}"
#define CONTENT_PROP \
	"\"content\":{\"type\":\"string\",\"minLength\":1,\"description\":\"The text to remember (UTF-8, within MEMOX_CONTENT_MAX_BYTES).\"}"
#define METADATA_PROP \
	"\"metadata\":{\"type\":\"object\",\"description\":\"Any JSON object (bounded in size and depth); search filters match it.\"}"
#define SCHEMA(props, required) \
	"{\"type\":\"object\",\"properties\":{" props "},\"required\":[" required "],\"additionalProperties\":false}"
#define SCOPE_REQUIRED "\"namespace\",\"externalUserId\""

static const struct mcp_tool tools[] = {
	{ "memory_add", "Remember", "Stores a memory for one end user (POST /memories). The same content in the same"
	  " scope is one memory: adding it again answers the existing one with duplicate true. The memory is"
	  " searchable once embedded (status pending, then ready).",
	  API_KEY_SCOPE_MEMOX_WRITE, "POST", "/api/v1/memox/memories", memories_create, MCP_ARGS_BODY,
	  SCHEMA(SCOPE_PROPS "," CONTENT_PROP "," METADATA_PROP ","
		 "\"expiresAt\":{\"type\":\"string\",\"format\":\"date-time\",\"description\":\"When it expires:"
		 " an RFC 3339 date-time in the future.\"},"
		 "\"ttlSeconds\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":3153600000,\"description\":"
		 "\"Seconds until it expires (instead of expiresAt).\"}",
		 SCOPE_REQUIRED ",\"content\"") },
	{ "memory_search", "Recall", "Finds the end user's memories best matching a query, best first"
	  " (POST /search): by meaning (mode semantic, the default), by words (keyword: names, numbers,"
	  " exact terms; finds memories not embedded yet) or both (hybrid).",
	  API_KEY_SCOPE_MEMOX_READ, "POST", "/api/v1/memox/search", search_memories, MCP_ARGS_BODY,
	  SCHEMA(SCOPE_PROPS ",\"query\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096},"
		 "\"topK\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"How many results at most"
		 " (default 10, at most MEMOX_TOPK_MAX).\"},"
		 "\"minScore\":{\"type\":\"number\",\"minimum\":-1,\"maximum\":1},"
		 "\"filter\":{\"type\":\"object\",\"description\":\"Matches metadata: {\\\"topic\\\":\\\"pets\\\"}"
		 " or operators as POST /search documents them.\"},"
		 "\"exact\":{\"type\":\"boolean\"},"
		 "\"mode\":{\"type\":\"string\",\"enum\":[\"semantic\",\"keyword\",\"hybrid\"]},"
		 "\"rrfK\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000,\"description\":"
		 "\"hybrid only: the rank fusion's k (default 60).\"},"
		 "\"keywordWeight\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1,\"description\":"
		 "\"hybrid only: the keyword ranking's weight (default 0.5).\"}",
		 SCOPE_REQUIRED ",\"query\"") },
	{ "memory_list", "List memories", "Lists the end user's memories, newest first, in pages (GET /memories):"
	  " pass nextCursor back as cursor for the next page.",
	  API_KEY_SCOPE_MEMOX_READ, "GET", "/api/v1/memox/memories", memories_list, MCP_ARGS_QUERY,
	  SCHEMA(SCOPE_PROPS ",\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100},"
		 "\"cursor\":{\"type\":\"string\"},"
		 "\"status\":{\"type\":\"string\",\"enum\":[\"pending\",\"ready\",\"failed\"]}",
		 SCOPE_REQUIRED) },
	{ "memory_get", "Read a memory", "Reads one memory of the end user by id (GET /memories/{id}).",
	  API_KEY_SCOPE_MEMOX_READ, "GET", "/api/v1/memox/memories/{id}", memories_get, MCP_ARGS_QUERY | MCP_ARGS_BY_ID,
	  SCHEMA(ID_PROP "," SCOPE_PROPS, "\"id\"," SCOPE_REQUIRED) },
	{ "memory_update", "Change a memory", "Changes a memory's content, metadata or both (PATCH /memories/{id});"
	  " it is embedded again. expiresAt or ttlSeconds sets when it expires, expiresAt null makes it never"
	  " expire.",
	  API_KEY_SCOPE_MEMOX_WRITE, "PATCH", "/api/v1/memox/memories/{id}", memories_patch,
	  MCP_ARGS_BODY | MCP_ARGS_BY_ID,
	  SCHEMA(ID_PROP "," SCOPE_PROPS "," CONTENT_PROP "," METADATA_PROP ","
		 "\"expiresAt\":{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"},"
		 "\"ttlSeconds\":{\"type\":[\"integer\",\"null\"],\"minimum\":1,\"maximum\":3153600000}",
		 "\"id\"," SCOPE_REQUIRED) },
	{ "memory_history", "A memory's versions", "Lists a memory's versions, the current one first, then those its"
	  " changes replaced, newest first, in pages (GET /memories/{id}/history): pass nextCursor back as cursor.",
	  API_KEY_SCOPE_MEMOX_READ, "GET", "/api/v1/memox/memories/{id}/history", memories_history,
	  MCP_ARGS_QUERY | MCP_ARGS_BY_ID,
	  SCHEMA(ID_PROP "," SCOPE_PROPS ",\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100},"
		 "\"cursor\":{\"type\":\"string\"}",
		 "\"id\"," SCOPE_REQUIRED) },
	{ "memory_delete", "Forget a memory", "Deletes one memory of the end user (DELETE /memories/{id}); it is gone"
	  " from reads and search at once.",
	  API_KEY_SCOPE_MEMOX_WRITE, "DELETE", "/api/v1/memox/memories/{id}", memories_delete,
	  MCP_ARGS_QUERY | MCP_ARGS_BY_ID,
	  SCHEMA(ID_PROP "," SCOPE_PROPS, "\"id\"," SCOPE_REQUIRED) },
};

/* ------------------------------------------------------------- listing */

struct json_object *mcp_tools_list(void)
{
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
		struct json_object *t = json_object_new_object();
		json_object_object_add(t, "name", json_object_new_string(tools[i].name));
		json_object_object_add(t, "title", json_object_new_string(tools[i].title));
		json_object_object_add(t, "description", json_object_new_string(tools[i].description));
		json_object_object_add(t, "inputSchema", json_tokener_parse(tools[i].schema));
		struct json_object *ann = json_object_new_object();
		json_object_object_add(ann, "readOnlyHint", json_object_new_boolean(tools[i].scope == API_KEY_SCOPE_MEMOX_READ));
		json_object_object_add(ann, "destructiveHint", json_object_new_boolean(strcmp(tools[i].method, "DELETE") == 0));
		json_object_object_add(t, "annotations", ann);
		json_object_array_add(arr, t);
	}
	return arr;
}

/* ------------------------------------------------------------- sub-requests */

/* A request of the route in memory: the parent's arena, context, id and
 * key, no FastCGI parameters at all, the answer kept in cap. */
static struct request *sub_request(struct request *parent, const struct mcp_tool *t, struct response_capture *cap)
{
	static char *no_params[] = { NULL };
	struct request *sub = arena_zalloc(parent->arena, sizeof *sub);
	FCGX_Request *fcgx = arena_zalloc(parent->arena, sizeof *fcgx);
	fcgx->envp = no_params;
	fcgx->ipcFd = -1;
	sub->fcgx = fcgx;
	sub->arena = parent->arena;
	sub->ctx = parent->ctx;
	sub->method = t->method;
	sub->path = t->route;
	sub->route = t->route;
	sub->query = "";
	sub->content_type = "application/json";
	sub->remote_addr = parent->remote_addr;
	memcpy(sub->request_id, parent->request_id, sizeof sub->request_id);
	sub->key = parent->key;
	sub->started_ms = parent->started_ms;
	sub->pg_timeouts_before = parent->pg_timeouts_before;
	memset(cap, 0, sizeof *cap);
	sub->capture = cap;
	return sub;
}

/* Runs the handler; work it deferred runs after the MCP answer. */
static void sub_run(struct request *parent, struct request *sub, route_handler h)
{
	h(sub);
	if (sub->status == 0)
		response_error(sub, 500, "internal", "the handler sent no response");
	db_request_rollback(sub);
	while (sub->deferred) {
		struct request_deferred *d = sub->deferred;
		sub->deferred = d->next;
		request_defer(parent, d->fn, d->arg);
	}
}

/* The type a tool's schema gives an argument ("string" when it names none). */
static const char *arg_type(struct json_object *schema, const char *name)
{
	struct json_object *props, *p, *type;
	if (json_object_object_get_ex(schema, "properties", &props) && json_object_object_get_ex(props, name, &p) &&
	    json_object_object_get_ex(p, "type", &type))
		return json_object_get_string(type);
	return "string";
}

/* The arguments as a query string, percent-encoded: strings as they are,
 * integers as their digits.  NULL when one is of another type (sub answered). */
static const char *query_of(struct request *sub, struct json_object *args, struct json_object *schema)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t cap = 1;
	json_object_object_foreach(args, k0, v0) {
		(void)v0;
		cap += strlen(k0) * 3 + 2 + (json_object_is_type(v0, json_type_string) ? (size_t)json_object_get_string_len(v0) * 3 : 24);
	}
	char *q = arena_alloc(sub->arena, cap), *o = q;
	json_object_object_foreach(args, key, val) {
		const char *text;
		if (json_object_is_type(val, json_type_string))
			text = json_object_get_string(val);
		else if (json_object_is_type(val, json_type_int))
			text = json_object_to_json_string(val);
		else {
			const char *type = arg_type(schema, key);
			response_error(sub, 400, "invalid_request", "%.64s must be %s %s", key,
				       strcmp(type, "integer") == 0 ? "an" : "a", type);
			return NULL;
		}
		if (o != q)
			*o++ = '&';
		for (int pass = 0; pass < 2; pass++) {
			for (const unsigned char *s = (const unsigned char *)(pass ? text : key); *s; s++) {
				if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
				    strchr("-._~", *s)) {
					*o++ = (char)*s;
				} else {
					*o++ = '%';
					*o++ = hex[*s >> 4];
					*o++ = hex[*s & 15];
				}
			}
			if (pass == 0)
				*o++ = '=';
		}
	}
	*o = '\0';
	return q;
}

/* A string argument the tool requires; takes it out of args.  NULL when
 * missing or of another type (sub answered). */
static const char *take_string(struct request *sub, struct json_object *args, const char *name)
{
	struct json_object *v;
	if (!json_object_object_get_ex(args, name, &v) || json_object_is_type(v, json_type_null)) {
		response_error(sub, 400, "invalid_request", "%s is required", name);
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		response_error(sub, 400, "invalid_request", "%s must be a string", name);
		return NULL;
	}
	const char *s = arena_strdup(sub->arena, json_object_get_string(v));
	json_object_object_del(args, name);
	return s;
}

/* The memory the arguments name, read through GET /memories/{id} and held
 * to their scope.  0 with its answer in cap, or -1 (cap holds the refusal). */
static int memory_in_scope(struct request *req, struct json_object *args, const char **id, struct response_capture *cap)
{
	static const struct mcp_tool get = { "", "", "", 0, "GET", "/api/v1/memox/memories/{id}", memories_get, 0, "" };
	struct request *sub = sub_request(req, &get, cap);
	const char *ns, *user;
	if ((*id = take_string(sub, args, "id")) == NULL || (ns = take_string(sub, args, "namespace")) == NULL ||
	    (user = take_string(sub, args, "externalUserId")) == NULL || input_scope_value(sub, "namespace", ns) != 0 ||
	    input_scope_value(sub, "externalUserId", user) != 0)
		return -1;
	sub->params[0].name = "id";
	sub->params[0].value = *id;
	sub->nparams = 1;
	sub_run(req, sub, memories_get);
	if (cap->status != 200)
		return -1;
	struct json_object *m = json_tokener_parse(cap->body), *v;
	int mine = m && json_object_object_get_ex(m, "namespace", &v) && strcmp(json_object_get_string(v), ns) == 0 &&
		   json_object_object_get_ex(m, "externalUserId", &v) && strcmp(json_object_get_string(v), user) == 0;
	json_object_put(m);
	if (!mine) {
		struct request *refuse = sub_request(req, &get, cap);
		response_error(refuse, 404, "not_found", "no such memory");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- results */

/* A tool's result from its route's answer: 2xx is the answer's JSON as
 * text and structuredContent; anything else isError with the contract's
 * message as text and its error object as structuredContent. */
static struct json_object *result_of(const struct response_capture *cap, const char *deleted_id)
{
	struct json_object *res = json_object_new_object(), *content = json_object_new_array();
	struct json_object *item = json_object_new_object();
	struct json_object *body = cap->len > 0 ? json_tokener_parse(cap->body) : NULL;
	int ok = cap->status >= 200 && cap->status < 300;
	if (ok && body == NULL) {
		/* 204: say what was done rather than nothing. */
		body = json_object_new_object();
		if (deleted_id)
			json_object_object_add(body, "id", json_object_new_string(deleted_id));
		json_object_object_add(body, "deleted", json_object_new_boolean(1));
	}
	if (body == NULL) {
		body = json_object_new_object();
		struct json_object *e = json_object_new_object();
		json_object_object_add(e, "code", json_object_new_string(response_default_code(cap->status)));
		json_object_object_add(e, "message", json_object_new_string("the tool failed"));
		json_object_object_add(body, "error", e);
	}
	json_object_object_add(item, "type", json_object_new_string("text"));
	if (ok) {
		json_object_object_add(item, "text", json_object_new_string(
			json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)));
	} else {
		struct json_object *e = NULL, *msg = NULL;
		json_object_object_get_ex(body, "error", &e);
		json_object_object_get_ex(e, "message", &msg);
		json_object_object_add(item, "text", json_object_new_string(msg ? json_object_get_string(msg) : "the tool failed"));
		json_object_object_add(res, "isError", json_object_new_boolean(1));
	}
	json_object_array_add(content, item);
	json_object_object_add(res, "content", content);
	json_object_object_add(res, "structuredContent", body);
	return res;
}

/* ------------------------------------------------------------- calling */

int mcp_tools_call(struct request *req, const char *name, struct json_object *arguments, struct json_object **result)
{
	const struct mcp_tool *t = NULL;
	for (size_t i = 0; i < sizeof tools / sizeof tools[0] && t == NULL; i++)
		if (strcmp(tools[i].name, name) == 0)
			t = &tools[i];
	if (t == NULL)
		return -1;
	struct response_capture cap;
	struct request *sub = sub_request(req, t, &cap);
	const char *id = NULL;
	/* The arguments are the caller's; the tool takes a copy apart. */
	struct json_object *args = NULL;
	if (json_object_deep_copy(arguments, &args, NULL) != 0) {
		response_error(sub, 500, "internal", "out of memory");
		goto done;
	}
	if (!(req->key->scopes & t->scope)) {
		response_error(sub, 403, "forbidden", "the API key lacks the %s scope",
			       t->scope == API_KEY_SCOPE_MEMOX_WRITE ? "memox:write" : "memox:read");
		goto done;
	}
	if (t->args & MCP_ARGS_BY_ID) {
		if (memory_in_scope(req, args, &id, &cap) != 0)
			goto done;
		/* memory_get is answered by that read; with arguments left
		 * over, its route refuses them (query_only) below. */
		if (t->handler == memories_get && json_object_object_length(args) == 0)
			goto done;
		sub = sub_request(req, t, &cap);
		sub->params[0].name = "id";
		sub->params[0].value = id;
		sub->nparams = 1;
	}
	if (t->args & MCP_ARGS_BODY) {
		sub->json = args;
	} else {
		struct json_object *schema = json_tokener_parse(t->schema);
		sub->query = query_of(sub, args, schema);
		json_object_put(schema);
		if (sub->query == NULL)
			goto done;
	}
	sub_run(req, sub, t->handler);
done:
	log_info("mcp tool %s: %d", t->name, cap.status);
	*result = result_of(&cap, id);
	json_object_put(args);
	return 0;
}
