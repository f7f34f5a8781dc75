/* quota.c - the admission script, releases, usage reads and RateLimit headers. */
#include "quota.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "redis.h"

#define SLOT_TTL_MS 60000           /* no request lives longer; a dead process's slot frees itself */
#define MONTH_TTL_S (40 * 86400)    /* counters outlive their month by a few days */
#define WARN_EVERY_S 60

/* KEYS: bucket, slots, month counter, usage hash.
 * ARGV: qps, burst, concurrency, monthly limit, slot, slot ttl ms, area, month ttl s.
 * Returns {reason, limit, remaining, reset ms, retry ms}; reason 0 ok, 1 rate,
 * 2 concurrency, 3 monthly.  Time is the server's, the same for every caller. */
static struct redis_script admit = {
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
	"local conc, monthly = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
	"local full_ms = math.ceil(burst * 1000 / rate)\n"
	"local used = tonumber(redis.call('GET', KEYS[3]) or '0')\n"
	"if used >= monthly then return {3, monthly, 0, 0, 0} end\n"
	"local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"
	"local tokens = tonumber(b[1]) or burst\n"
	"local ts = tonumber(b[2]) or now\n"
	"if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000) end\n"
	"if tokens < 1 then\n"
	"  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)\n"
	"  redis.call('PEXPIRE', KEYS[1], full_ms + 1000)\n"
	"  local wait = math.ceil((1 - tokens) * 1000 / rate)\n"
	"  return {1, burst, 0, math.ceil((burst - tokens) * 1000 / rate), wait}\n"
	"end\n"
	"redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)\n"
	"if redis.call('ZCARD', KEYS[2]) >= conc then return {2, conc, 0, 0, 1000} end\n"
	"redis.call('ZADD', KEYS[2], now + tonumber(ARGV[6]), ARGV[5])\n"
	"redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[6]))\n"
	"tokens = tokens - 1\n"
	"redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)\n"
	"redis.call('PEXPIRE', KEYS[1], full_ms + 1000)\n"
	"redis.call('INCR', KEYS[3])\n"
	"redis.call('EXPIRE', KEYS[3], tonumber(ARGV[8]))\n"
	"redis.call('HINCRBY', KEYS[4], ARGV[7], 1)\n"
	"redis.call('EXPIRE', KEYS[4], tonumber(ARGV[8]) * 12)\n"
	"return {0, burst, math.floor(tokens), math.ceil((burst - tokens) * 1000 / rate), 0}\n",
	"",
};

static void month_of(char out[8])
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, 8, "%Y-%m", &tm);
}

/* Seconds until the first day of next month, UTC: when a monthly quota resets. */
static long long until_next_month(void)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mon += 1;
	return (long long)(timegm(&tm) - now);
}

static void warn_redis_down(const char *err)
{
	static time_t last;
	time_t now = time(NULL);
	if (now - last >= WARN_EVERY_S) {
		last = now;
		log_warn("rate limits unchecked: Redis unreachable (%s)", err);
	}
}

int quota_admit(struct app_context *ctx, const char *tenant_id, const struct tenant_limits *l, const char *area,
		const char *slot, struct quota_result *r)
{
	char month[8], err[256];
	month_of(month);
	memset(r, 0, sizeof *r);
	char *keys[4];
	char k0[80], k1[80], k2[96], k3[96], n[5][24], slot_ttl[16], month_ttl[16];
	snprintf(k0, sizeof k0, "rl:{%s}:bucket", tenant_id);
	snprintf(k1, sizeof k1, "rl:{%s}:slots", tenant_id);
	snprintf(k2, sizeof k2, "rl:{%s}:month:%s", tenant_id, month);
	snprintf(k3, sizeof k3, "usage:{%s}:%s", tenant_id, month);
	keys[0] = k0, keys[1] = k1, keys[2] = k2, keys[3] = k3;
	snprintf(n[0], sizeof n[0], "%lld", l->qps);
	snprintf(n[1], sizeof n[1], "%lld", l->burst);
	snprintf(n[2], sizeof n[2], "%lld", l->concurrency);
	snprintf(n[3], sizeof n[3], "%lld", l->monthly_requests);
	snprintf(slot_ttl, sizeof slot_ttl, "%d", SLOT_TTL_MS);
	snprintf(month_ttl, sizeof month_ttl, "%d", MONTH_TTL_S);
	const char *args[] = { keys[0], keys[1], keys[2], keys[3], n[0], n[1], n[2], n[3], slot, slot_ttl, area, month_ttl };
	redisReply *rep = redis_script_run(ctx->redis, &admit, 4, 12, args, err, sizeof err);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 5) {
		if (rep && rep->type == REDIS_REPLY_ERROR)
			snprintf(err, sizeof err, "%s", rep->str);
		freeReplyObject(rep);
		warn_redis_down(err);
		r->reason = QUOTA_UNCHECKED;
		return strcmp(ctx->cfg.ratelimit_redis_down, "deny") == 0 ? -1 : 0;
	}
	long long v[5];
	for (int i = 0; i < 5; i++)
		v[i] = rep->element[i]->type == REDIS_REPLY_INTEGER ? rep->element[i]->integer : 0;
	freeReplyObject(rep);
	r->reason = (enum quota_reason)v[0];
	r->limit = v[1];
	r->remaining = v[2];
	r->reset_s = (v[3] + 999) / 1000;
	r->retry_after_s = (v[4] + 999) / 1000;
	if (r->reason == QUOTA_MONTHLY)
		r->reset_s = r->retry_after_s = until_next_month();
	return 0;
}

void quota_release(struct app_context *ctx, const char *tenant_id, const char *slot)
{
	/* Nobody needs the answer: no round trip to wait for on every request. */
	redis_send(ctx->redis, "ZREM rl:{%s}:slots %s", tenant_id, slot);
}

/* KEYS: the tenant's usage hash.  ARGV: field, count, ttl s. */
static struct redis_script count_work = {
	"redis.call('HINCRBY', KEYS[1], ARGV[1], tonumber(ARGV[2]))\n"
	"redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))\n"
	"return 1\n",
	"",
};

int quota_count_work(struct app_context *ctx, const char *tenant_id, const char *field, long long n, char *err,
		     size_t errlen)
{
	char month[8], key[96], count[24], ttl[24];
	month_of(month);
	snprintf(key, sizeof key, "usage:{%s}:%s", tenant_id, month);
	snprintf(count, sizeof count, "%lld", n);
	snprintf(ttl, sizeof ttl, "%d", MONTH_TTL_S);
	const char *args[] = { key, field, count, ttl };
	redisReply *rep = redis_script_run(ctx->redis, &count_work, 1, 4, args, err, errlen);
	int rc = rep == NULL || rep->type == REDIS_REPLY_ERROR ? -1 : 0;
	if (rep && rep->type == REDIS_REPLY_ERROR)
		snprintf(err, errlen, "%s", rep->str);
	freeReplyObject(rep);
	return rc;
}

struct json_object *quota_usage(struct app_context *ctx, const char *tenant_id, char *err, size_t errlen)
{
	char month[8];
	month_of(month);
	redisReply *rep = redis_command(ctx->redis, err, errlen, "HGETALL usage:{%s}:%s", tenant_id, month);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return NULL;
	}
	struct json_object *by_area = json_object_new_object();
	long long total = 0, embedding_calls = 0, expired = 0;
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		long long c = atoll(rep->element[i + 1]->str);
		/* The memox worker counts the texts it embedded in the same hash. */
		if (strcmp(rep->element[i]->str, QUOTA_EMBEDDING_CALLS) == 0) {
			embedding_calls = c;
			continue;
		}
		if (strcmp(rep->element[i]->str, QUOTA_EXPIRED_MEMORIES) == 0) {
			expired = c;
			continue;
		}
		total += c;
		json_object_object_add(by_area, rep->element[i]->str, json_object_new_int64(c));
	}
	freeReplyObject(rep);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "month", json_object_new_string(month));
	json_object_object_add(o, "requests", by_area);
	json_object_object_add(o, "total", json_object_new_int64(total));
	json_object_object_add(o, "embeddingCalls", json_object_new_int64(embedding_calls));
	json_object_object_add(o, "expiredMemories", json_object_new_int64(expired));
	return o;
}

void quota_headers(struct request *req, const struct quota_result *r)
{
	if (r->reason == QUOTA_UNCHECKED)
		return;
	response_header(req, "RateLimit-Limit", arena_printf(req->arena, "%lld", r->limit));
	response_header(req, "RateLimit-Remaining", arena_printf(req->arena, "%lld", r->remaining));
	response_header(req, "RateLimit-Reset", arena_printf(req->arena, "%lld", r->reset_s));
	if (r->reason != QUOTA_OK)
		response_header(req, "Retry-After", arena_printf(req->arena, "%lld", r->retry_after_s > 0 ? r->retry_after_s : 1));
}
