/* request.c - reading a FastCGI request: its parameters, path, query and id. */
#include "request.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

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

int request_form_next(struct arena *a, const char *text, size_t *pos, const char **key, const char **value)
{
	size_t n = strlen(text);
	while (*pos < n) {
		const char *p = text + *pos;
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		*pos += len + (amp ? 1 : 0);
		if (len == 0)
			continue;
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		*key = request_percent_decode(a, p, klen, 1);
		*value = eq ? request_percent_decode(a, eq + 1, len - klen - 1, 1) : "";
		return 1;
	}
	return 0;
}

int request_query_next(struct request *req, size_t *pos, const char **key, const char **value)
{
	return request_form_next(req->arena, req->query, pos, key, value);
}

const char *request_query(struct request *req, const char *name)
{
	size_t pos = 0;
	const char *key, *value;
	while (request_query_next(req, &pos, &key, &value))
		if (key != NULL && strcmp(key, name) == 0)
			return value;
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
