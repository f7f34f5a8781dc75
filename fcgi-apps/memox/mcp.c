/* mcp.c - POST /api/v1/memox/mcp: the Model Context Protocol for agents, over Streamable HTTP.
 *
 * One JSON-RPC 2.0 message a POST, answered with plain JSON
 * (application/json; or one Server-Sent Event when the client's Accept
 * names text/event-stream and not JSON).  Stateless: no Mcp-Session-Id is
 * issued or needed, every POST carries the API key and stands alone, and
 * there is no server-to-client stream, so GET is the router's 405 (the
 * spec's answer for a server without one).  Methods: initialize, ping,
 * tools/list, tools/call (mcp_tools.c); notifications and responses are
 * taken with 202 and no body.
 *
 * Two layers of errors.  What stops the HTTP request before a message
 * exists is the contract's error object, as on every route: no or a bad
 * key (the router's 401/403/429), an Origin not on ALLOWED_ORIGINS (403:
 * the spec asks servers to refuse those, against DNS rebinding), another
 * media type (415), a body over MAX_BODY_BYTES (413).  What is wrong with
 * the message is a JSON-RPC error: not JSON -32700, not a request -32600,
 * both with HTTP 400 and id null as the transport asks; an unknown method
 * -32601, bad params (also an unknown tool) -32602, with 200 as answers to
 * a valid request.  An MCP-Protocol-Version header naming a version we do
 * not speak is 400 with -32600.  A tool's own refusal (the REST route's
 * 400, 403, 404, ...) is a tool result with isError, never a protocol error.
 *
 * Batches (a JSON array of messages) are refused with -32600: revision
 * 2025-06-18 removed them, the SDKs never send them, and one message a
 * request keeps admission exact (one POST, one request against the
 * tenant's limits). */
#include "memox.h"

#include <string.h>
#include <strings.h>

#include "body.h"
#include "cors.h"
#include "log.h"
#include "version.h"

/* Newest first: initialize answers the client's version when it is here,
 * else the first. */
static const char *const protocol_versions[] = { "2025-11-25", "2025-06-18", "2025-03-26", NULL };

enum {
	JSONRPC_PARSE_ERROR = -32700,
	JSONRPC_INVALID_REQUEST = -32600,
	JSONRPC_METHOD_NOT_FOUND = -32601,
	JSONRPC_INVALID_PARAMS = -32602,
};

static int version_supported(const char *v)
{
	for (const char *const *p = protocol_versions; *p; p++)
		if (strcmp(*p, v) == 0)
			return 1;
	return 0;
}

/* 1 when the client takes only an event stream (its Accept names
 * text/event-stream and neither JSON nor a wildcard); else JSON, which
 * every client that sends no Accept takes. */
static int wants_event_stream(struct request *req)
{
	const char *accept = request_env(req, "HTTP_ACCEPT");
	if (accept == NULL || strcasestr(accept, "text/event-stream") == NULL)
		return 0;
	return strcasestr(accept, "application/json") == NULL && strstr(accept, "*/*") == NULL &&
	       strcasestr(accept, "application/*") == NULL;
}

/* Sends one JSON-RPC message (drops the reference). */
static void send_message(struct request *req, int status, struct json_object *msg)
{
	size_t len;
	const char *s = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (status == 200 && wants_event_stream(req)) {
		const char *ev = arena_printf(req->arena, "event: message\ndata: %s\n\n", s);
		response_send(req, 200, "text/event-stream", ev, strlen(ev));
	} else {
		response_send(req, status, "application/json; charset=utf-8", s, len);
	}
	json_object_put(msg);
}

static struct json_object *envelope(struct json_object *id)
{
	struct json_object *m = json_object_new_object();
	json_object_object_add(m, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(m, "id", id ? json_object_get(id) : NULL);
	return m;
}

static void send_result(struct request *req, struct json_object *id, struct json_object *result)
{
	struct json_object *m = envelope(id);
	json_object_object_add(m, "result", result);
	send_message(req, 200, m);
}

static void send_error(struct request *req, int status, struct json_object *id, int code, const char *message)
{
	struct json_object *m = envelope(id), *e = json_object_new_object();
	json_object_object_add(e, "code", json_object_new_int(code));
	json_object_object_add(e, "message", json_object_new_string(message));
	/* The request id, as in the contract's errors, for a support ticket. */
	struct json_object *data = json_object_new_object();
	json_object_object_add(data, "requestId", json_object_new_string(req->request_id));
	json_object_object_add(e, "data", data);
	json_object_object_add(m, "error", e);
	send_message(req, status, m);
}

/* ------------------------------------------------------------- methods */

static void do_initialize(struct request *req, struct json_object *id, struct json_object *params)
{
	struct json_object *v = NULL;
	if (params == NULL || !json_object_object_get_ex(params, "protocolVersion", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		send_error(req, 200, id, JSONRPC_INVALID_PARAMS, "initialize needs params.protocolVersion, a string");
		return;
	}
	const char *asked = json_object_get_string(v);
	struct json_object *r = json_object_new_object(), *caps = json_object_new_object(), *info = json_object_new_object();
	json_object_object_add(r, "protocolVersion",
			       json_object_new_string(version_supported(asked) ? asked : protocol_versions[0]));
	json_object_object_add(caps, "tools", json_object_new_object());
	json_object_object_add(r, "capabilities", caps);
	json_object_object_add(info, "name", json_object_new_string("aiget-memox"));
	json_object_object_add(info, "title", json_object_new_string("Aiget memox"));
	json_object_object_add(info, "version", json_object_new_string(AIGET_VERSION));
	json_object_object_add(r, "serverInfo", info);
	json_object_object_add(r, "instructions", json_object_new_string(
		"Long-term memories of your application's end users. Every tool needs namespace (your"
		" application's store) and externalUserId (the end user); a memory is only ever found in its own"
		" scope. Add with memory_add, recall with memory_search, page with memory_list."));
	log_info("mcp initialize: client asked %.32s", asked);
	send_result(req, id, r);
}

static void do_tools_call(struct request *req, struct json_object *id, struct json_object *params)
{
	struct json_object *name = NULL, *args = NULL, *result = NULL;
	if (params == NULL || !json_object_object_get_ex(params, "name", &name) ||
	    !json_object_is_type(name, json_type_string)) {
		send_error(req, 200, id, JSONRPC_INVALID_PARAMS, "tools/call needs params.name, a string");
		return;
	}
	json_object_object_get_ex(params, "arguments", &args);
	if (args != NULL && !json_object_is_type(args, json_type_object)) {
		send_error(req, 200, id, JSONRPC_INVALID_PARAMS, "params.arguments must be an object");
		return;
	}
	struct json_object *none = args ? NULL : json_object_new_object();
	int rc = mcp_tools_call(req, json_object_get_string(name), args ? args : none, &result);
	json_object_put(none);
	if (rc != 0) {
		send_error(req, 200, id, JSONRPC_INVALID_PARAMS,
			   arena_printf(req->arena, "unknown tool: %.64s", json_object_get_string(name)));
		return;
	}
	send_result(req, id, result);
}

/* ------------------------------------------------------------- the route */

/* The checks of the HTTP request itself; 0, or -1 when answered. */
static int transport_ok(struct request *req)
{
	const char *origin = request_env(req, "HTTP_ORIGIN");
	if (origin != NULL && *origin != '\0' && !cors_origin_allowed(req->ctx->cfg.allowed_origins, origin)) {
		response_error(req, 403, "forbidden", "this Origin may not use the MCP endpoint");
		return -1;
	}
	if (!router_is_json_media_type(req->content_type)) {
		response_error(req, 415, "unsupported_media_type", "Content-Type must be application/json");
		return -1;
	}
	unsigned long long cap = (unsigned long long)req->ctx->cfg.max_body_bytes;
	switch (body_read(req, cap)) {
	case BODY_OK:
		return 0;
	case BODY_TOO_LARGE:
		response_error(req, 413, "payload_too_large", "request body is larger than the limit of %llu bytes", cap);
		return -1;
	case BODY_SHORT:
		response_error(req, 400, "invalid_request", "request body is shorter than its Content-Length");
		return -1;
	default:
		response_error(req, 400, "invalid_request", "Content-Length is not a valid number");
		return -1;
	}
}

void mcp_handle(struct request *req)
{
	if (transport_ok(req) != 0)
		return;
	const char *pv = request_env(req, "HTTP_MCP_PROTOCOL_VERSION");
	if (pv != NULL && !version_supported(pv)) {
		send_error(req, 400, NULL, JSONRPC_INVALID_REQUEST,
			   "unsupported MCP-Protocol-Version; this server speaks 2025-11-25, 2025-06-18 and 2025-03-26");
		return;
	}
	char why[256] = "the body is empty";
	struct json_object *msg = req->body_len ? body_parse_json_value(req, why, sizeof why) : NULL;
	if (msg == NULL) {
		send_error(req, 400, NULL, JSONRPC_PARSE_ERROR, arena_printf(req->arena, "parse error: %s", why));
		return;
	}
	if (json_object_is_type(msg, json_type_array)) {
		send_error(req, 400, NULL, JSONRPC_INVALID_REQUEST, "batches are not supported: send one message a request");
		return;
	}
	struct json_object *jsonrpc = NULL, *method = NULL, *id = NULL, *params = NULL;
	int is_object = json_object_is_type(msg, json_type_object);
	if (is_object) {
		json_object_object_get_ex(msg, "jsonrpc", &jsonrpc);
		json_object_object_get_ex(msg, "method", &method);
		json_object_object_get_ex(msg, "params", &params);
	}
	int has_id = is_object && json_object_object_get_ex(msg, "id", &id);
	/* An id is a string or an integer (JSON-RPC's null id is for errors). */
	int id_ok = !has_id || json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int);
	if (!is_object || !json_object_is_type(jsonrpc, json_type_string) ||
	    strcmp(json_object_get_string(jsonrpc), "2.0") != 0 || !id_ok ||
	    (params != NULL && !json_object_is_type(params, json_type_object))) {
		send_error(req, 400, id_ok ? id : NULL, JSONRPC_INVALID_REQUEST,
			   "not a JSON-RPC 2.0 message: {\"jsonrpc\":\"2.0\", \"method\", \"id\"?, \"params\"?: {}}");
		return;
	}
	if (method == NULL) {
		/* A response to a request of ours: we send none, so nothing waits for it. */
		if (has_id && (json_object_object_get_ex(msg, "result", NULL) || json_object_object_get_ex(msg, "error", NULL))) {
			response_send(req, 202, NULL, NULL, 0);
			return;
		}
		send_error(req, 400, id, JSONRPC_INVALID_REQUEST, "a request needs a method");
		return;
	}
	if (!json_object_is_type(method, json_type_string)) {
		send_error(req, 400, id, JSONRPC_INVALID_REQUEST, "method must be a string");
		return;
	}
	const char *m = json_object_get_string(method);
	if (!has_id) {
		/* notifications/initialized, cancelled, ...: nothing to do for a
		 * stateless server, and a notification is never answered. */
		response_send(req, 202, NULL, NULL, 0);
		return;
	}
	if (strcmp(m, "initialize") == 0)
		do_initialize(req, id, params);
	else if (strcmp(m, "ping") == 0)
		send_result(req, id, json_object_new_object());
	else if (strcmp(m, "tools/list") == 0) {
		struct json_object *r = json_object_new_object();
		json_object_object_add(r, "tools", mcp_tools_list());
		send_result(req, id, r);
	} else if (strcmp(m, "tools/call") == 0)
		do_tools_call(req, id, params);
	else
		send_error(req, 200, id, JSONRPC_METHOD_NOT_FOUND,
			   arena_printf(req->arena, "method not found: %.64s", m));
}
