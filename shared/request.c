/* request.c - reading a FastCGI request's parameters and writing its response. */
#include "request.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "app.h"
#include "log.h"
#include "pg.h"

double clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

const char *request_env(struct request *req, const char *name)
{
	const char *v = FCGX_GetParam(name, req->fcgx->envp);
	return v ? arena_strdup(req->arena, v) : NULL;
}

int request_id_is_sane(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
		if (n >= REQUEST_ID_MAX)
			return 0;
	}
	return n > 0;
}

static void new_request_id(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16];
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		/* getrandom on Linux >= 3.17 does not fail for 16 bytes once the
		 * pool is initialised; fall back to the clock rather than abort. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		memset(raw, 0, sizeof raw);
		memcpy(raw, &ts, sizeof ts < sizeof raw ? sizeof ts : sizeof raw);
	}
	for (size_t i = 0; i < sizeof raw; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[32] = '\0';
}

void request_begin(struct request *req, FCGX_Request *fcgx, struct arena *arena, struct app_context *ctx)
{
	memset(req, 0, sizeof *req);
	req->fcgx = fcgx;
	req->arena = arena;
	req->ctx = ctx;
	req->started_ms = clock_ms();
	req->pg_timeouts_before = pg_timeouts();

	/* nginx passes its own vetted id as REQUEST_ID (see nginx-snippets);
	 * a client's X-Request-Id is used only when sane. */
	const char *rid = FCGX_GetParam("REQUEST_ID", fcgx->envp);
	if (rid == NULL || !request_id_is_sane(rid))
		rid = FCGX_GetParam("HTTP_X_REQUEST_ID", fcgx->envp);
	if (rid != NULL && request_id_is_sane(rid))
		snprintf(req->request_id, sizeof req->request_id, "%s", rid);
	else
		new_request_id(req->request_id);

	const char *m = request_env(req, "REQUEST_METHOD");
	req->method = m ? m : "";
	const char *uri = FCGX_GetParam("REQUEST_URI", fcgx->envp);
	if (uri == NULL)
		uri = FCGX_GetParam("DOCUMENT_URI", fcgx->envp);
	if (uri == NULL)
		uri = "/";
	const char *q = strchr(uri, '?');
	size_t plen = q ? (size_t)(q - uri) : strlen(uri);
	/* "/api/v1/tenants/" and "/api/v1/tenants" name the same resource. */
	if (plen > 1 && uri[plen - 1] == '/')
		plen--;
	req->path = arena_strndup(arena, uri, plen);
	req->query = arena_strdup(arena, q ? q + 1 : "");
	const char *ct = request_env(req, "CONTENT_TYPE");
	req->content_type = ct ? ct : "";
	req->content_length = request_env(req, "CONTENT_LENGTH");
	req->remote_addr = request_env(req, "REMOTE_ADDR");
}

const char *request_param(struct request *req, const char *name)
{
	for (int i = 0; i < req->nparams; i++)
		if (strcmp(req->params[i].name, name) == 0)
			return req->params[i].value;
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

char *request_percent_decode(struct arena *a, const char *s, size_t n, int plus_is_space)
{
	char *out = arena_alloc(a, n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n)
				return NULL;
			int hi = hexval(s[i + 1]);
			int lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+' && plus_is_space) {
			*o++ = ' ';
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

const char *request_query(struct request *req, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = req->query;
	while (*p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		char *key = request_percent_decode(req->arena, p, klen, 1);
		if (key != NULL && strlen(key) == nlen && memcmp(key, name, nlen) == 0) {
			if (eq == NULL)
				return "";
			return request_percent_decode(req->arena, eq + 1, len - klen - 1, 1);
		}
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	return NULL;
}

void request_defer(struct request *req, void (*fn)(struct app_context *ctx, void *arg), void *arg)
{
	struct request_deferred *d = arena_alloc(req->arena, sizeof *d), **tail = &req->deferred;
	d->fn = fn;
	d->arg = arg;
	d->next = NULL;
	while (*tail)
		tail = &(*tail)->next;
	*tail = d;
}

/* ---------------------------------------------------------------- response */

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
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
