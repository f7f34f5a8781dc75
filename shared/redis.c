/* redis.c - hiredis connection lifecycle: URL, AUTH, SELECT, timeouts, reconnect. */
#include "redis.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "log.h"
#include "metrics.h"
#include "request.h"

#define REDIS_RECONNECT_MS 200.0

struct redis {
	struct redis_url url;
	int timeout_ms;
	redisContext *ctx;
	int unread;                /* replies to redis_send()'s commands not read yet */
	double last_attempt_ms;
	char last_error[256];
};

static int decode_into(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			unsigned v;
			if (i + 2 >= n || sscanf(s + i + 1, "%2x", &v) != 1)
				return -1;
			c = (char)v;
			i += 2;
		}
		if (o + 1 >= dstlen)
			return -1;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return 0;
}

int redis_url_parse(const char *url, struct redis_url *out)
{
	memset(out, 0, sizeof *out);
	out->port = 6379;
	if (strncmp(url, "redis://", 8) != 0)
		return -1;
	const char *p = url + 8;
	const char *at = strrchr(p, '@');
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (colon) {
			if (decode_into(out->user, sizeof out->user, p, (size_t)(colon - p)) != 0 ||
			    decode_into(out->password, sizeof out->password, colon + 1, (size_t)(at - colon - 1)) != 0)
				return -1;
		} else if (decode_into(out->password, sizeof out->password, p, (size_t)(at - p)) != 0) {
			return -1;
		}
		p = at + 1;
	}
	size_t hlen = strcspn(p, ":/");
	if (hlen == 0 || hlen >= sizeof out->host)
		return -1;
	memcpy(out->host, p, hlen);
	p += hlen;
	if (*p == ':') {
		char *end;
		long port = strtol(p + 1, &end, 10);
		if (end == p + 1 || port < 1 || port > 65535)
			return -1;
		out->port = (int)port;
		p = end;
	}
	if (*p == '/' && p[1]) {
		char *end;
		long db = strtol(p + 1, &end, 10);
		if (end == p + 1 || *end || db < 0 || db > 1000)
			return -1;
		out->db = (int)db;
	} else if (*p && strcmp(p, "/") != 0) {
		return -1;
	}
	return 0;
}

struct redis *redis_open(const char *url, int timeout_ms)
{
	struct redis *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	if (redis_url_parse(url, &r->url) != 0) {
		free(r);
		return NULL;
	}
	r->timeout_ms = timeout_ms;
	return r;
}

static void drop(struct redis *r)
{
	if (r->ctx)
		redisFree(r->ctx);
	r->ctx = NULL;
	r->unread = 0;
}

/* Reads (and drops) the replies redis_send() left, so that the next reply
 * read is the next command's.  0, or -1 with the connection dropped. */
static int read_unread(struct redis *r)
{
	while (r->unread > 0) {
		redisReply *rep = NULL;
		if (redisGetReply(r->ctx, (void **)&rep) != REDIS_OK) {
			log_warn("redis: connection lost under a sent command: %s",
				 r->ctx->errstr[0] ? r->ctx->errstr : "no reply");
			drop(r);
			return -1;
		}
		freeReplyObject(rep);
		r->unread--;
	}
	return 0;
}

void redis_close(struct redis *r)
{
	if (r == NULL)
		return;
	drop(r);
	memset(r->url.password, 0, sizeof r->url.password);
	free(r);
}

static struct timeval tv_ms(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	return tv;
}

static int reply_ok(redisReply *rep, char *err, size_t errlen, const char *what)
{
	if (rep == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_ERROR) {
		/* The server's text, not ours: it never contains the password. */
		snprintf(err, errlen, "%s: %.*s", what, (int)rep->len, rep->str);
		freeReplyObject(rep);
		return -1;
	}
	freeReplyObject(rep);
	return 0;
}

static redisContext *connect_ctx(struct redis *r, char *err, size_t errlen)
{
	/* A connection that broke under unread replies is remade at once. */
	if (r->ctx && read_unread(r) == 0)
		return r->ctx;
	double now = clock_ms();
	if (r->last_attempt_ms > 0 && now - r->last_attempt_ms < REDIS_RECONNECT_MS) {
		snprintf(err, errlen, "%s", r->last_error);
		return NULL;
	}
	r->last_attempt_ms = now;

	redisContext *c = redisConnectWithTimeout(r->url.host, r->url.port, tv_ms(r->timeout_ms));
	if (c == NULL || c->err) {
		snprintf(r->last_error, sizeof r->last_error, "%s", c ? c->errstr : "out of memory");
		goto fail;
	}
	redisSetTimeout(c, tv_ms(r->timeout_ms));
	if (r->url.password[0]) {
		redisReply *rep = r->url.user[0]
			? redisCommand(c, "AUTH %s %s", r->url.user, r->url.password)
			: redisCommand(c, "AUTH %s", r->url.password);
		if (reply_ok(rep, r->last_error, sizeof r->last_error, "AUTH") != 0) {
			if (rep == NULL)
				snprintf(r->last_error, sizeof r->last_error, "%s", c->errstr);
			goto fail;
		}
	}
	if (r->url.db) {
		redisReply *rep = redisCommand(c, "SELECT %d", r->url.db);
		if (reply_ok(rep, r->last_error, sizeof r->last_error, "SELECT") != 0) {
			if (rep == NULL)
				snprintf(r->last_error, sizeof r->last_error, "%s", c->errstr);
			goto fail;
		}
	}
	r->ctx = c;
	r->last_attempt_ms = 0;
	log_debug("redis: connected");
	return c;
fail:
	log_warn("redis: connection failed: %s", r->last_error);
	snprintf(err, errlen, "%s", r->last_error);
	if (c)
		redisFree(c);
	return NULL;
}

static redisReply *command_once(struct redis *r, int timeout_ms, char *err, size_t errlen, const char *fmt,
				va_list ap);

static redisReply *command_v(struct redis *r, int timeout_ms, char *err, size_t errlen, const char *fmt, va_list ap)
{
	/* A connection the server closed (a restart) fails on first use; the
	 * command goes once more on a fresh one.  Our commands tolerate the rare
	 * double run this allows (counters, SET NX, idempotent writes). */
	int had = r->ctx != NULL;
	va_list again;
	va_copy(again, ap);
	redisReply *rep = command_once(r, timeout_ms, err, errlen, fmt, ap);
	if (rep == NULL && had && r->ctx == NULL) {
		r->last_attempt_ms = 0;
		rep = command_once(r, timeout_ms, err, errlen, fmt, again);
	}
	va_end(again);
	return rep;
}

static redisReply *command_once(struct redis *r, int timeout_ms, char *err, size_t errlen, const char *fmt,
				va_list ap)
{
	redisContext *c = connect_ctx(r, err, errlen);
	if (c == NULL)
		return NULL;
	if (timeout_ms != r->timeout_ms)
		redisSetTimeout(c, tv_ms(timeout_ms));
	redisReply *rep = redisvCommand(c, fmt, ap);
	if (timeout_ms != r->timeout_ms && rep != NULL)
		redisSetTimeout(c, tv_ms(r->timeout_ms));
	if (rep == NULL) {
		snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr : "connection lost");
		log_warn("redis: command failed: %s", err);
		drop(r);
	}
	return rep;
}

void redis_send(struct redis *r, const char *fmt, ...)
{
	char err[256];
	redisContext *c = connect_ctx(r, err, sizeof err);
	int done = 0, rc = REDIS_ERR;
	if (c != NULL) {
		va_list ap;
		va_start(ap, fmt);
		rc = redisvAppendCommand(c, fmt, ap);
		va_end(ap);
		while (rc == REDIS_OK && !done)
			rc = redisBufferWrite(c, &done);
	}
	if (rc == REDIS_OK) {
		r->unread++;
		return;
	}
	if (c != NULL) {
		log_warn("redis: send failed: %s", c->errstr[0] ? c->errstr : "out of memory");
		drop(r);
	}
	metrics_dependency_error(METRICS_DEP_REDIS);
}

redisReply *redis_command(struct redis *r, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *rep = command_v(r, r->timeout_ms, err, errlen, fmt, ap);
	va_end(ap);
	if (rep == NULL)
		metrics_dependency_error(METRICS_DEP_REDIS);
	return rep;
}

redisReply *redis_command_timeout(struct redis *r, int timeout_ms, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *rep = command_v(r, timeout_ms, err, errlen, fmt, ap);
	va_end(ap);
	if (rep == NULL)
		metrics_dependency_error(METRICS_DEP_REDIS);
	return rep;
}

redisReply *redis_command_argv(struct redis *r, int argc, const char **argv, const size_t *lens,
			       char *err, size_t errlen)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int had = r->ctx != NULL;
		redisContext *c = connect_ctx(r, err, errlen);
		if (c == NULL)
			break;
		redisReply *rep = redisCommandArgv(c, argc, argv, lens);
		if (rep)
			return rep;
		snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr : "connection lost");
		log_warn("redis: command failed: %s", err);
		drop(r);
		if (!had)
			break;
		r->last_attempt_ms = 0; /* once more on a fresh connection, as command_v */
	}
	metrics_dependency_error(METRICS_DEP_REDIS);
	return NULL;
}

redisReply *redis_script_run(struct redis *r, struct redis_script *script, int nkeys, int nargs,
			     const char *const *args, char *err, size_t errlen)
{
	const char *argv[32];
	char numkeys[12];
	if (nargs > 29)
		return NULL;
	snprintf(numkeys, sizeof numkeys, "%d", nkeys);
	argv[2] = numkeys;
	memcpy(argv + 3, args, (size_t)nargs * sizeof *args);
	if (script->sha[0]) {
		argv[0] = "EVALSHA";
		argv[1] = script->sha;
		redisReply *rep = redis_command_argv(r, nargs + 3, argv, NULL, err, errlen);
		if (rep == NULL || rep->type != REDIS_REPLY_ERROR || strncmp(rep->str, "NOSCRIPT", 8) != 0)
			return rep;
		freeReplyObject(rep);
	}
	redisReply *load = redis_command(r, err, errlen, "SCRIPT LOAD %s", script->source);
	if (load && load->type == REDIS_REPLY_STRING && load->len == 40)
		memcpy(script->sha, load->str, 41);
	freeReplyObject(load);
	argv[0] = "EVAL";
	argv[1] = script->source;
	return redis_command_argv(r, nargs + 3, argv, NULL, err, errlen);
}
