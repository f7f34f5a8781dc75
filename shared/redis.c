/* redis.c - hiredis connection lifecycle: URL, AUTH, SELECT, timeouts, reconnect. */
#include "redis.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "log.h"
#include "metrics.h"
#include "request.h"

#define REDIS_RECONNECT_MS 200.0
/* The +switch-master subscription: how often a lost one is remade (one
 * sentinel a try), and how long its connect may hold a command up. */
#define REDIS_WATCH_RETRY_MS 10000.0
#define REDIS_WATCH_CONNECT_MS 300

struct redis {
	struct redis_url url;
	int timeout_ms;
	redisContext *ctx;
	int unread;                /* replies to redis_send()'s commands not read yet */
	double last_attempt_ms;
	char last_error[256];
	redisContext *watch;       /* Sentinel URL: subscribed to +switch-master on one sentinel */
	double watch_tried_ms;
	int watch_next;            /* the sentinel the next subscription tries */
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

/* host[:port] of n bytes at p into node.  0 or -1. */
static int parse_node(const char *p, size_t n, int default_port, struct redis_node *node)
{
	const char *colon = memchr(p, ':', n);
	size_t hlen = colon ? (size_t)(colon - p) : n;
	if (hlen == 0 || hlen >= sizeof node->host)
		return -1;
	memcpy(node->host, p, hlen);
	node->host[hlen] = '\0';
	node->port = default_port;
	if (colon) {
		char digits[8];
		size_t dlen = n - hlen - 1;
		if (dlen == 0 || dlen >= sizeof digits)
			return -1;
		memcpy(digits, colon + 1, dlen);
		digits[dlen] = '\0';
		char *end;
		long port = strtol(digits, &end, 10);
		if (*end || port < 1 || port > 65535)
			return -1;
		node->port = (int)port;
	}
	return 0;
}

/* "/db" or "" at p, up to end.  0 or -1. */
static int parse_db(const char *p, const char *end, int *db)
{
	if (p == end || (p + 1 == end && *p == '/'))
		return 0;
	if (*p != '/')
		return -1;
	char digits[8];
	size_t n = (size_t)(end - p - 1);
	if (n == 0 || n >= sizeof digits)
		return -1;
	memcpy(digits, p + 1, n);
	digits[n] = '\0';
	char *stop;
	long v = strtol(digits, &stop, 10);
	if (*stop || v < 0 || v > 1000)
		return -1;
	*db = (int)v;
	return 0;
}

/* The sentinels' own credentials: sentinel_user=..&sentinel_password=.. */
static int parse_query(const char *q, struct redis_url *out)
{
	while (*q) {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		if (eq == NULL)
			return -1;
		size_t klen = (size_t)(eq - q), vlen = n - klen - 1;
		if (klen == 13 && strncmp(q, "sentinel_user", 13) == 0) {
			if (decode_into(out->sentinel_user, sizeof out->sentinel_user, eq + 1, vlen) != 0)
				return -1;
		} else if (klen == 17 && strncmp(q, "sentinel_password", 17) == 0) {
			if (decode_into(out->sentinel_password, sizeof out->sentinel_password, eq + 1, vlen) != 0)
				return -1;
		} else {
			return -1; /* a misspelt option must not pass unnoticed */
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return 0;
}

int redis_url_parse(const char *url, struct redis_url *out)
{
	memset(out, 0, sizeof *out);
	out->port = 6379;
	int sentinel = strncmp(url, "redis+sentinel://", 17) == 0;
	if (!sentinel && strncmp(url, "redis://", 8) != 0)
		return -1;
	const char *p = url + (sentinel ? 17 : 8);
	const char *end = p + strlen(p);
	if (sentinel) {
		const char *q = strchr(p, '?');
		if (q) {
			if (parse_query(q + 1, out) != 0)
				return -1;
			end = q;
		}
	}
	/* The last '@': a password may hold one (and '/') unencoded. */
	const char *at = NULL;
	for (const char *c = p; c < end; c++)
		if (*c == '@')
			at = c;
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
	const char *slash = memchr(p, '/', (size_t)(end - p));
	const char *authority_end = slash ? slash : end;
	if (!sentinel) {
		struct redis_node node;
		if (parse_node(p, (size_t)(authority_end - p), 6379, &node) != 0)
			return -1;
		memcpy(out->host, node.host, sizeof out->host);
		out->port = node.port;
		return parse_db(authority_end, end, &out->db);
	}
	while (p < authority_end) {
		const char *comma = memchr(p, ',', (size_t)(authority_end - p));
		const char *stop = comma ? comma : authority_end;
		if (out->nsentinels == REDIS_MAX_SENTINELS ||
		    parse_node(p, (size_t)(stop - p), 26379, &out->sentinels[out->nsentinels]) != 0)
			return -1;
		out->nsentinels++;
		p = comma ? comma + 1 : stop;
		if (comma && p == authority_end)
			return -1;
	}
	if (out->nsentinels == 0 || slash == NULL)
		return -1;
	/* /master[/db]: the master's name is required. */
	const char *name = slash + 1;
	const char *name_end = memchr(name, '/', (size_t)(end - name));
	if (name_end == NULL)
		name_end = end;
	if (name_end == name || (size_t)(name_end - name) >= sizeof out->master)
		return -1;
	memcpy(out->master, name, (size_t)(name_end - name));
	out->port = 0;
	return parse_db(name_end, end, &out->db);
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
	if (r->watch)
		redisFree(r->watch);
	memset(r->url.password, 0, sizeof r->url.password);
	memset(r->url.sentinel_password, 0, sizeof r->url.sentinel_password);
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

/* A connection to one server, authenticated when a password is given. */
static redisContext *connect_node(const char *host, int port, int timeout_ms, const char *user,
				  const char *password, char *err, size_t errlen)
{
	redisContext *c = redisConnectWithTimeout(host, port, tv_ms(timeout_ms));
	if (c == NULL || c->err) {
		snprintf(err, errlen, "%s", c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv_ms(timeout_ms));
	if (password[0]) {
		redisReply *rep = user[0] ? redisCommand(c, "AUTH %s %s", user, password)
					  : redisCommand(c, "AUTH %s", password);
		if (reply_ok(rep, err, errlen, "AUTH") != 0) {
			if (rep == NULL)
				snprintf(err, errlen, "%s", c->errstr);
			redisFree(c);
			return NULL;
		}
	}
	return c;
}

/* Asks the sentinels in turn where the master is now.  0, or -1 with err. */
static int ask_sentinels(const struct redis_url *u, int timeout_ms, struct redis_node *master, char *err,
			 size_t errlen)
{
	snprintf(err, errlen, "no sentinel answered");
	for (int i = 0; i < u->nsentinels; i++) {
		const struct redis_node *s = &u->sentinels[i];
		char why[200];
		redisContext *c = connect_node(s->host, s->port, timeout_ms, u->sentinel_user, u->sentinel_password,
					       why, sizeof why);
		redisReply *rep = c ? redisCommand(c, "SENTINEL get-master-addr-by-name %s", u->master) : NULL;
		int ok = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
			 rep->element[0]->type == REDIS_REPLY_STRING && rep->element[1]->type == REDIS_REPLY_STRING &&
			 rep->element[0]->len < sizeof master->host;
		if (ok) {
			memcpy(master->host, rep->element[0]->str, rep->element[0]->len + 1);
			master->port = atoi(rep->element[1]->str);
		} else if (c) {
			snprintf(why, sizeof why, "%s",
				 rep == NULL			    ? c->errstr
				 : rep->type == REDIS_REPLY_ERROR ? rep->str
								  : "does not know the master's name");
		}
		freeReplyObject(rep);
		redisFree(c);
		if (ok)
			return 0;
		snprintf(err, errlen, "sentinel %s:%d: %s", s->host, s->port, why);
	}
	return -1;
}

/* Whether the server is a master: the sentinels' answer may be a moment
 * ahead of the promotion, or behind a failover. */
static int is_master(redisContext *c, char *err, size_t errlen)
{
	redisReply *rep = redisCommand(c, "ROLE");
	int ok = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
		 rep->element[0]->type == REDIS_REPLY_STRING && strcmp(rep->element[0]->str, "master") == 0;
	if (!ok)
		snprintf(err, errlen, "the server the sentinels name is not a master (yet)");
	freeReplyObject(rep);
	return ok;
}

redisContext *redis_connect_url(const struct redis_url *u, int timeout_ms, char *err, size_t errlen)
{
	struct redis_node node;
	if (u->nsentinels) {
		if (ask_sentinels(u, timeout_ms, &node, err, errlen) != 0)
			return NULL;
	} else {
		memcpy(node.host, u->host, sizeof node.host);
		node.port = u->port;
	}
	redisContext *c = connect_node(node.host, node.port, timeout_ms, u->user, u->password, err, errlen);
	if (c == NULL)
		return NULL;
	if (u->nsentinels && !is_master(c, err, errlen)) {
		redisFree(c);
		return NULL;
	}
	if (u->db) {
		redisReply *rep = redisCommand(c, "SELECT %d", u->db);
		if (reply_ok(rep, err, errlen, "SELECT") != 0) {
			if (rep == NULL)
				snprintf(err, errlen, "%s", c->errstr);
			redisFree(c);
			return NULL;
		}
	}
	return c;
}

/* A subscription to +switch-master on one sentinel, the next in turn each
 * try: it is only ever read without waiting, before a command. */
static void watch_open(struct redis *r)
{
	double now = clock_ms();
	if (r->watch_tried_ms > 0 && now - r->watch_tried_ms < REDIS_WATCH_RETRY_MS)
		return;
	r->watch_tried_ms = now;
	const struct redis_node *s = &r->url.sentinels[r->watch_next++ % r->url.nsentinels];
	int ms = r->timeout_ms < REDIS_WATCH_CONNECT_MS ? r->timeout_ms : REDIS_WATCH_CONNECT_MS;
	char err[256];
	redisContext *c = connect_node(s->host, s->port, ms, r->url.sentinel_user, r->url.sentinel_password, err,
				       sizeof err);
	redisReply *rep = c ? redisCommand(c, "SUBSCRIBE +switch-master") : NULL;
	if (rep && rep->type == REDIS_REPLY_ARRAY) {
		r->watch = c;
		c = NULL;
	} else {
		log_warn("redis: cannot hear failovers from sentinel %s:%d (%s); a closed connection or READONLY still "
			 "finds the new master", s->host, s->port, c ? (c->errstr[0] ? c->errstr : "refused") : err);
	}
	freeReplyObject(rep);
	redisFree(c);
}

/* Whether a sentinel has said, since the last look, that our master moved
 * to another server than the one ctx is connected to: a failover that has
 * not closed our connection (the old master cut off from the sentinels, or
 * frozen) would otherwise be found only by a command that times out. */
static int master_moved(struct redis *r)
{
	if (r->url.nsentinels == 0)
		return 0;
	if (r->watch == NULL)
		watch_open(r);
	int moved = 0;
	struct pollfd p = { r->watch ? r->watch->fd : -1, POLLIN, 0 };
	while (r->watch && poll(&p, 1, 0) == 1) {
		if (p.revents & (POLLERR | POLLHUP | POLLNVAL) || redisBufferRead(r->watch) != REDIS_OK) {
			redisFree(r->watch);   /* messages may be missed until it is back: see watch_open() */
			r->watch = NULL;
			break;
		}
		void *reply;
		while (redisGetReplyFromReader(r->watch, &reply) == REDIS_OK && reply) {
			/* ["message", "+switch-master", "<name> <old ip> <old port> <new ip> <new port>"] */
			redisReply *m = reply;
			char name[128], host[256];
			int port;
			if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 && m->element[2]->type == REDIS_REPLY_STRING &&
			    sscanf(m->element[2]->str, "%127s %*s %*d %255s %d", name, host, &port) == 3 &&
			    strcmp(name, r->url.master) == 0 && r->ctx &&
			    (r->ctx->tcp.host == NULL || strcmp(r->ctx->tcp.host, host) != 0 || r->ctx->tcp.port != port)) {
				log_warn("redis: the sentinels moved the master to %s:%d (+switch-master): connecting there",
					 host, port);
				moved = 1;
			}
			freeReplyObject(m);
		}
	}
	return moved;
}

static redisContext *connect_ctx(struct redis *r, char *err, size_t errlen)
{
	if (r->ctx && master_moved(r)) {
		drop(r);
		r->last_attempt_ms = 0;
	}
	/* A connection that broke under unread replies is remade at once. */
	if (r->ctx && read_unread(r) == 0)
		return r->ctx;
	double now = clock_ms();
	if (r->last_attempt_ms > 0 && now - r->last_attempt_ms < REDIS_RECONNECT_MS) {
		snprintf(err, errlen, "%s", r->last_error);
		return NULL;
	}
	r->last_attempt_ms = now;
	redisContext *c = redis_connect_url(&r->url, r->timeout_ms, r->last_error, sizeof r->last_error);
	if (c == NULL) {
		log_warn("redis: connection failed: %s", r->last_error);
		snprintf(err, errlen, "%s", r->last_error);
		return NULL;
	}
	r->ctx = c;
	r->last_attempt_ms = 0;
	log_debug("redis: connected");
	if (r->url.nsentinels && r->watch == NULL)
		watch_open(r);   /* from now on a move of the master is heard */
	return c;
}

/* A write sent to a server that has become a replica (a failover the
 * connection has not seen yet): nothing ran, so it goes once more to the
 * master the next connection finds. */
static int is_readonly(const redisReply *rep)
{
	return rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "READONLY", 8) == 0;
}

static void forget_replica(struct redis *r)
{
	log_warn("redis: the server is a replica now (a failover): finding the master again");
	drop(r);
	r->last_attempt_ms = 0;
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
	if (is_readonly(rep)) {
		freeReplyObject(rep);
		forget_replica(r);
		rep = command_once(r, timeout_ms, err, errlen, fmt, again);
	} else if (rep == NULL && had && r->ctx == NULL) {
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
		if (is_readonly(rep) && attempt == 0) {
			freeReplyObject(rep);
			forget_replica(r);
			continue;
		}
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
