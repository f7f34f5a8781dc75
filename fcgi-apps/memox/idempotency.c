/* idempotency.c - the Idempotency-Key header of memox writes.
 *
 * A client that timed out (memox callers use tight timeouts) sends the same
 * request again with the same key and gets the first answer back, status and
 * body, for MEMOX_IDEMPOTENCY_SECONDS (24 hours by default).  The key is
 * per tenant and per route, and bound to the request body: the same key with
 * another body is a 409, not a silent replay of something else.  Answers are
 * kept in Redis; when Redis is down the request runs without the guarantee
 * (content dedup still makes a repeated write return the same memory). */
#include "memox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_key.h"
#include "crypto.h"
#include "log.h"
#include "redis.h"

#define IDEMPOTENCY_KEY_MAX 255

/* The Redis key for this request's Idempotency-Key, and the body's digest;
 * NULL when the request has none.  -1 via *bad when the header is malformed. */
static const char *redis_key(struct request *req, char body_hex[2 * CRYPTO_SHA256_LEN + 1], int *bad)
{
	*bad = 0;
	const char *h = request_env(req, "HTTP_IDEMPOTENCY_KEY");
	if (h == NULL)
		return NULL;
	size_t n = strlen(h);
	for (size_t i = 0; i < n; i++)
		if (h[i] < 0x21 || h[i] > 0x7e)
			n = 0;
	if (n == 0 || n > IDEMPOTENCY_KEY_MAX) {
		*bad = 1;
		return NULL;
	}
	unsigned char d[CRYPTO_SHA256_LEN];
	char key_hex[2 * CRYPTO_SHA256_LEN + 1];
	const char *scoped = arena_printf(req->arena, "%s %s %s", req->method, req->route, h);
	crypto_sha256(scoped, strlen(scoped), d);
	crypto_hex(d, sizeof d, key_hex);
	crypto_sha256(req->body ? req->body : "", req->body_len, d);
	crypto_hex(d, sizeof d, body_hex);
	return arena_printf(req->arena, "idem:{%s}:%s", req->key->tenant_id, key_hex);
}

int idempotency_replay(struct request *req)
{
	char body_hex[2 * CRYPTO_SHA256_LEN + 1], err[256];
	int bad;
	const char *key = redis_key(req, body_hex, &bad);
	if (bad) {
		response_error(req, 400, "invalid_request", "Idempotency-Key must be 1-%d printable ASCII characters",
			       IDEMPOTENCY_KEY_MAX);
		return -1;
	}
	if (key == NULL)
		return 0;
	redisReply *rep = redis_command(req->ctx->redis, err, sizeof err, "GET %s", key);
	if (rep == NULL || rep->type != REDIS_REPLY_STRING) {
		if (rep == NULL)
			log_warn("idempotency: %s; going on without it", err);
		freeReplyObject(rep);
		return 0;
	}
	/* "<status> <body digest> <answer>" */
	int status = atoi(rep->str);
	const char *digest = strchr(rep->str, ' ');
	const char *answer = digest ? strchr(digest + 1, ' ') : NULL;
	if (answer == NULL || status < 200 || status > 299) {
		freeReplyObject(rep);
		return 0;
	}
	if (strncmp(digest + 1, body_hex, strlen(body_hex)) != 0) {
		freeReplyObject(rep);
		response_error(req, 409, "conflict", "this Idempotency-Key was used with a different request body");
		return -1;
	}
	response_header(req, "Idempotent-Replayed", "true");
	response_send(req, status, "application/json; charset=utf-8", answer + 1, strlen(answer + 1));
	freeReplyObject(rep);
	return 1;
}

void idempotency_keep(struct request *req, int status, struct json_object *body)
{
	char body_hex[2 * CRYPTO_SHA256_LEN + 1], err[256];
	int bad;
	const char *key = redis_key(req, body_hex, &bad);
	if (key == NULL)
		return;
	const char *value = arena_printf(req->arena, "%d %s %s", status, body_hex,
					 json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
	redisReply *rep = redis_command(req->ctx->redis, err, sizeof err, "SET %s %s EX %lld NX", key, value,
					req->ctx->cfg.memox_idempotency_s);
	if (rep == NULL)
		log_warn("idempotency: answer not kept: %s", err);
	freeReplyObject(rep);
}
