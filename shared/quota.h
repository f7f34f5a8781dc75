/* quota.h - per-tenant rate limits: token bucket, concurrency, monthly quota, usage.
 *
 * One atomic Lua script per admitted request, called by SHA: it refills and
 * takes from the tenant's token bucket (qps, burst), takes a concurrency slot
 * (a sorted-set member scored by its expiry, so a slot of a process that died
 * mid-request frees itself), and counts the request against the month and in
 * the tenant's usage by area.  Keys share the {tenant id} hash tag so the
 * script runs unchanged on Redis Cluster.  When Redis cannot answer, the
 * request is allowed or refused as RATELIMIT_REDIS_DOWN says, with a warning
 * logged at most once a minute. */
#ifndef AIGET_QUOTA_H
#define AIGET_QUOTA_H

#include <stddef.h>

#include "api_key.h"

enum quota_reason { QUOTA_OK, QUOTA_RATE, QUOTA_CONCURRENCY, QUOTA_MONTHLY, QUOTA_UNCHECKED };

struct quota_result {
	enum quota_reason reason;
	long long limit, remaining, reset_s, retry_after_s;
};

/* Admits one request of area for the tenant; slot names its concurrency
 * slot (the request id).  0 with r filled; -1 only when Redis is down and
 * RATELIMIT_REDIS_DOWN=deny (r->reason QUOTA_UNCHECKED either way). */
int quota_admit(struct app_context *ctx, const char *tenant_id, const struct tenant_limits *l, const char *area,
		const char *slot, struct quota_result *r);

/* Frees the concurrency slot taken by quota_admit(). */
void quota_release(struct app_context *ctx, const char *tenant_id, const char *slot);

/* The field of the usage hash (usage:{tenant}:YYYY-MM) where the memox
 * worker adds the number of texts it embedded for the tenant. */
#define QUOTA_EMBEDDING_CALLS "embeddingCalls"

/* ... and the number of its memories it deleted because they expired. */
#define QUOTA_EXPIRED_MEMORIES "expiredMemories"

/* Adds n to field (one of the two above) of the tenant's usage this month,
 * as the worker counts its work.  0, or -1 with err. */
int quota_count_work(struct app_context *ctx, const char *tenant_id, const char *field, long long n, char *err,
		     size_t errlen);

/* The tenant's usage this month: {"month":"2026-11","requests":{"memox":12,...},"total":12,
 * "embeddingCalls":3,"expiredMemories":0}. */
struct json_object *quota_usage(struct app_context *ctx, const char *tenant_id, char *err, size_t errlen);

/* Adds RateLimit-Limit/-Remaining/-Reset (and Retry-After on a refusal). */
void quota_headers(struct request *req, const struct quota_result *r);

#endif
