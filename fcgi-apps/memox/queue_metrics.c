/* queue_metrics.c - the memox job queue in a metrics scrape, read from Redis at scrape time.
 *
 * The queue and the workers' job counts live in Redis, not in the
 * responder (workers run as several processes, possibly on several boxes),
 * so a scrape reads them there: a few O(1) commands plus one LLEN per
 * registered worker.  Processing lists of workers no longer registered
 * are not summed (finding them needs a SCAN of the keyspace, too dear per
 * scrape); `aigetctl memox queue` shows them.  With Redis down the queue
 * metrics are left out and aiget_memox_queue_up says 0. */
#include "memox.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "body.h"
#include "metrics.h"
#include "queue.h"
#include "redis.h"

/* An integer reply of a one-key command, or -1 (the error is counted by redis.c). */
static long long integer_of(struct app_context *ctx, const char *cmd, const char *key)
{
	char err[256];
	redisReply *rep = redis_command(ctx->redis, err, sizeof err, "%s %s", cmd, key);
	long long n = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
	freeReplyObject(rep);
	return n;
}

/* The jobs in every registered worker's processing list, or -1. */
static long long processing(struct app_context *ctx)
{
	char err[256], key[300];
	redisReply *ids = redis_command(ctx->redis, err, sizeof err, "SMEMBERS %s", QUEUE_WORKERS);
	if (ids == NULL || ids->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(ids);
		return -1;
	}
	long long total = 0;
	for (size_t i = 0; i < ids->elements && total >= 0; i++) {
		if (ids->element[i]->type != REDIS_REPLY_STRING)
			continue;
		snprintf(key, sizeof key, "%s%s", QUEUE_PROCESSING_PREFIX, ids->element[i]->str);
		long long n = integer_of(ctx, "LLEN", key);
		total = n < 0 ? -1 : total + n;
	}
	freeReplyObject(ids);
	return total;
}

/* Seconds the job that runs next has waited (its producer's "enqueuedAt"),
 * 0 for an empty queue; -1 when Redis did not answer. */
static double oldest_age_s(struct app_context *ctx)
{
	char err[256], why[64];
	redisReply *rep = redis_command(ctx->redis, err, sizeof err, "LINDEX %s -1", QUEUE_JOBS);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		freeReplyObject(rep);
		return -1;
	}
	double age = 0;
	struct json_object *job = rep->type == REDIS_REPLY_STRING ? body_json_parse(rep->str, rep->len, why, sizeof why)
								  : NULL, *at;
	if (job && json_object_object_get_ex(job, "enqueuedAt", &at) && json_object_is_type(at, json_type_int)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		long long now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		long long then = json_object_get_int64(at);
		age = now_ms > then ? (double)(now_ms - then) / 1000.0 : 0;
	}
	json_object_put(job);
	freeReplyObject(rep);
	return age;
}

/* A stats field the workers write: "<type>:<outcome>".  Anything else
 * (another writer, a typo) is skipped, so it never becomes a label. */
static int split_stat(const char *field, char *kind, size_t kindlen, const char **outcome)
{
	const char *colon = strrchr(field, ':');
	if (colon == NULL || colon == field || (size_t)(colon - field) >= kindlen)
		return -1;
	for (const char *p = field; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '.' || *p == '_'))
			return -1;
	*outcome = colon + 1;
	if (strcmp(*outcome, "ok") != 0 && strcmp(*outcome, "retried") != 0 && strcmp(*outcome, "dead") != 0)
		return -1;
	memcpy(kind, field, (size_t)(colon - field));
	kind[colon - field] = '\0';
	return 0;
}

static void render_jobs(struct app_context *ctx, FILE *out)
{
	char err[256], kind[33];
	const char *outcome;
	redisReply *rep = redis_command(ctx->redis, err, sizeof err, "HGETALL %s", QUEUE_STATS);
	metrics_family(out, "aiget_memox_jobs_total", "counter",
		       "Jobs the memox workers finished, by job type and outcome (ok, retried, dead), from Redis.");
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return;
	}
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		redisReply *f = rep->element[i], *v = rep->element[i + 1];
		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    split_stat(f->str, kind, sizeof kind, &outcome) != 0)
			continue;
		const char *labels[] = { "area", "memox", "kind", kind, "outcome", outcome, NULL };
		metrics_sample(out, "aiget_memox_jobs_total", labels, (double)strtoll(v->str, NULL, 10));
	}
	freeReplyObject(rep);
}

void memox_metrics(struct app_context *ctx, FILE *out)
{
	static const struct { const char *name, *help; } gauges[] = {
		{ "aiget_memox_queue_queued", "Jobs waiting in the queue ({memox}:jobs)." },
		{ "aiget_memox_queue_processing", "Jobs taken by registered workers and not finished yet." },
		{ "aiget_memox_queue_delayed", "Jobs waiting for a retry ({memox}:delayed)." },
		{ "aiget_memox_queue_dead", "Jobs in the dead-letter list ({memox}:dead)." },
		{ "aiget_memox_queue_oldest_age_seconds", "How long the job that runs next has waited; 0 when none." },
	};
	double v[5];
	v[0] = (double)integer_of(ctx, "LLEN", QUEUE_JOBS);
	v[1] = v[0] < 0 ? -1 : (double)processing(ctx);
	v[2] = v[1] < 0 ? -1 : (double)integer_of(ctx, "ZCARD", QUEUE_DELAYED);
	v[3] = v[2] < 0 ? -1 : (double)integer_of(ctx, "LLEN", QUEUE_DEAD);
	v[4] = v[3] < 0 ? -1 : oldest_age_s(ctx);
	int up = v[4] >= 0;
	const char *labels[] = { "area", "memox", NULL };
	metrics_family(out, "aiget_memox_queue_up", "gauge", "1 when the queue could be read from Redis for this scrape.");
	metrics_sample(out, "aiget_memox_queue_up", labels, up);
	if (!up)
		return;
	for (size_t i = 0; i < sizeof gauges / sizeof gauges[0]; i++) {
		metrics_family(out, gauges[i].name, "gauge", gauges[i].help);
		metrics_sample(out, gauges[i].name, labels, v[i]);
	}
	render_jobs(ctx, out);
}
