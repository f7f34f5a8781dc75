/* memox.c - `aigetctl memox queue` and `aigetctl memox requeue-dead`.
 *
 * queue reads the queue's keys (shared/queue.h) and prints their state;
 * nothing is changed.  requeue-dead returns dead-lettered jobs to the queue
 * with their attempts reset, after an outage or a fix: an embed job's
 * memory goes back to 'pending' first (only if it is still 'failed' at the
 * job's version), then the job moves in one script that removes exactly
 * that dead entry, so a job is never both dead and queued, and two runs at
 * once never queue one twice.  Only a snapshot of the dead list is walked:
 * jobs that die again meanwhile stay dead. */
#include "memox.h"
#include "reembed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "body.h"
#include "membership.h"
#include "pg.h"
#include "queue.h"
#include "redis.h"

#define PAGE 100

static const struct pg_statement pending_again = {
	"ctl_memox_pending_again",
	"UPDATE memories SET status = 'pending', attempts = 0, error = NULL, updated_at = now()"
	" WHERE id = $1::uuid AND version = $2::bigint AND status = 'failed'",
	2, 1, PG_PRIMARY,
};

/* KEYS: dead list, queue.  ARGV: the dead entry, the job to queue. */
static struct redis_script requeue = {
	"if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end\n"
	"redis.call('LPUSH', KEYS[2], ARGV[2])\n"
	"return 1\n",
	"",
};

static redisReply *cmd_ok(redisReply *rep, const char *err, int type)
{
	if (rep == NULL || rep->type != type) {
		fprintf(stderr, "aigetctl memox: redis: %s\n",
			rep && rep->type == REDIS_REPLY_ERROR ? rep->str : rep ? "unexpected answer" : err);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

static long long integer_of(struct app_context *ctx, const char *cmd, const char *key, int *failed)
{
	char err[256];
	redisReply *rep = cmd_ok(redis_command(ctx->redis, err, sizeof err, "%s %s", cmd, key), err, REDIS_REPLY_INTEGER);
	if (rep == NULL) {
		*failed = 1;
		return 0;
	}
	long long v = rep->integer;
	freeReplyObject(rep);
	return v;
}

/* Redis' clock in ms: the one the delayed set's scores are in. */
static long long redis_now_ms(struct app_context *ctx, int *failed)
{
	char err[256];
	redisReply *rep = cmd_ok(redis_command(ctx->redis, err, sizeof err, "TIME"), err, REDIS_REPLY_ARRAY);
	if (rep == NULL || rep->elements != 2) {
		freeReplyObject(rep);
		*failed = 1;
		return 0;
	}
	long long ms = atoll(rep->element[0]->str) * 1000 + atoll(rep->element[1]->str) / 1000;
	freeReplyObject(rep);
	return ms;
}

/* The age of the job that runs next, from the "enqueuedAt" (ms) its
 * producer put in it; -1 when the queue is empty or the job has none. */
static long long oldest_age_ms(struct app_context *ctx, long long now, int *failed)
{
	char err[256], why[64];
	redisReply *rep = redis_command(ctx->redis, err, sizeof err, "LINDEX %s -1", QUEUE_JOBS);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		cmd_ok(rep, err, REDIS_REPLY_STRING);
		*failed = 1;
		return -1;
	}
	long long age = -1;
	struct json_object *job = rep->type == REDIS_REPLY_STRING ? body_json_parse(rep->str, rep->len, why, sizeof why)
								  : NULL, *at;
	if (job && json_object_object_get_ex(job, "enqueuedAt", &at) && json_object_is_type(at, json_type_int))
		age = now > json_object_get_int64(at) ? now - json_object_get_int64(at) : 0;
	json_object_put(job);
	freeReplyObject(rep);
	return age;
}

/* Adds each processing list's id and length to workers, the ones of
 * registered workers first (with whether their heartbeat lives), then any
 * list whose worker is no longer registered. */
static long long processing_lists(struct app_context *ctx, struct json_object *workers, int *failed)
{
	char err[256], key[300];
	long long total = 0;
	redisReply *ids = cmd_ok(redis_command(ctx->redis, err, sizeof err, "SMEMBERS %s", QUEUE_WORKERS), err,
				 REDIS_REPLY_ARRAY);
	if (ids == NULL) {
		*failed = 1;
		return 0;
	}
	for (size_t i = 0; i < ids->elements; i++) {
		const char *id = ids->element[i]->str;
		snprintf(key, sizeof key, "%s%s", QUEUE_PROCESSING_PREFIX, id);
		long long n = integer_of(ctx, "LLEN", key, failed);
		snprintf(key, sizeof key, "%s%s", QUEUE_HEARTBEAT_PREFIX, id);
		int alive = integer_of(ctx, "EXISTS", key, failed) > 0;
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(id));
		json_object_object_add(o, "processing", json_object_new_int64(n));
		json_object_object_add(o, "alive", json_object_new_boolean(alive));
		json_object_array_add(workers, o);
		total += n;
	}
	/* Lists of unregistered ids: left by a worker that stopped with Redis
	 * down; a restart with the same --id takes them back. */
	char cursor[32] = "0";
	size_t prefix = strlen(QUEUE_PROCESSING_PREFIX);
	do {
		redisReply *rep = cmd_ok(redis_command(ctx->redis, err, sizeof err, "SCAN %s MATCH %s* COUNT 1000",
						       cursor, QUEUE_PROCESSING_PREFIX), err, REDIS_REPLY_ARRAY);
		if (rep == NULL || rep->elements != 2) {
			freeReplyObject(rep);
			*failed = 1;
			break;
		}
		snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
		for (size_t i = 0; i < rep->element[1]->elements; i++) {
			const char *list = rep->element[1]->element[i]->str;
			int known = 0;
			for (size_t j = 0; j < ids->elements && !known; j++)
				known = strcmp(list + prefix, ids->element[j]->str) == 0;
			if (known)
				continue;
			long long n = integer_of(ctx, "LLEN", list, failed);
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "id", json_object_new_string(list + prefix));
			json_object_object_add(o, "processing", json_object_new_int64(n));
			json_object_object_add(o, "alive", json_object_new_boolean(0));
			json_object_array_add(workers, o);
			total += n;
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0);
	freeReplyObject(ids);
	return total;
}

static long long next_due_in_ms(struct app_context *ctx, long long now, int *failed)
{
	char err[256];
	redisReply *rep = cmd_ok(redis_command(ctx->redis, err, sizeof err, "ZRANGE %s 0 0 WITHSCORES", QUEUE_DELAYED),
				 err, REDIS_REPLY_ARRAY);
	if (rep == NULL) {
		*failed = 1;
		return -1;
	}
	long long in = -1;
	if (rep->elements == 2)
		in = atoll(rep->element[1]->str) > now ? atoll(rep->element[1]->str) - now : 0;
	freeReplyObject(rep);
	return in;
}

struct queue_state {
	long long queued, oldest_age_ms, processing, delayed, next_due_ms, dead;
	struct json_object *workers;   /* [{id, processing, alive}] */
};

static void print_json(const struct queue_state *q)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "queued", json_object_new_int64(q->queued));
	json_object_object_add(o, "oldestQueuedAgeMs", q->oldest_age_ms >= 0 ? json_object_new_int64(q->oldest_age_ms)
									     : NULL);
	json_object_object_add(o, "processing", json_object_new_int64(q->processing));
	json_object_object_add(o, "workers", json_object_get(q->workers));
	json_object_object_add(o, "delayed", json_object_new_int64(q->delayed));
	json_object_object_add(o, "nextDueInMs", q->next_due_ms >= 0 ? json_object_new_int64(q->next_due_ms) : NULL);
	json_object_object_add(o, "dead", json_object_new_int64(q->dead));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static void print_text(const struct queue_state *q)
{
	printf("queued      %lld", q->queued);
	if (q->oldest_age_ms >= 0)
		printf("  (the next to run has waited %.1f s)", q->oldest_age_ms / 1000.0);
	printf("\nprocessing  %lld\n", q->processing);
	for (size_t i = 0; i < json_object_array_length(q->workers); i++) {
		struct json_object *w = json_object_array_get_idx(q->workers, i), *id, *n, *alive;
		json_object_object_get_ex(w, "id", &id);
		json_object_object_get_ex(w, "processing", &n);
		json_object_object_get_ex(w, "alive", &alive);
		printf("  %-30s %lld%s\n", json_object_get_string(id), (long long)json_object_get_int64(n),
		       json_object_get_boolean(alive) ? "" : "  (no heartbeat: the reaper returns these)");
	}
	printf("delayed     %lld", q->delayed);
	if (q->next_due_ms >= 0)
		printf("  (the next is due in %.1f s)", q->next_due_ms / 1000.0);
	printf("\ndead        %lld\n", q->dead);
}

static int queue_status(struct app_context *ctx, int json)
{
	int failed = 0;
	long long now = redis_now_ms(ctx, &failed);
	if (failed)
		return 1;
	struct queue_state q = { .workers = json_object_new_array() };
	q.queued = integer_of(ctx, "LLEN", QUEUE_JOBS, &failed);
	q.oldest_age_ms = oldest_age_ms(ctx, now, &failed);
	q.processing = processing_lists(ctx, q.workers, &failed);
	q.delayed = integer_of(ctx, "ZCARD", QUEUE_DELAYED, &failed);
	q.next_due_ms = next_due_in_ms(ctx, now, &failed);
	q.dead = integer_of(ctx, "LLEN", QUEUE_DEAD, &failed);
	if (!failed)
		(json ? print_json : print_text)(&q);
	json_object_put(q.workers);
	return failed ? 1 : 0;
}

/* The job of a dead entry, with its attempts reset; NULL when the entry
 * holds no job object (it stays dead: running it again cannot help). */
static struct json_object *job_of(const char *entry, size_t len)
{
	char why[64];
	struct json_object *dead = body_json_parse(entry, len, why, sizeof why), *text, *type;
	struct json_object *job = NULL;
	if (dead && json_object_object_get_ex(dead, "job", &text) && json_object_is_type(text, json_type_string))
		job = body_json_parse(json_object_get_string(text), (size_t)json_object_get_string_len(text), why, sizeof why);
	json_object_put(dead);
	if (job == NULL || !json_object_is_type(job, json_type_object) ||
	    !json_object_object_get_ex(job, "type", &type) || !json_object_is_type(type, json_type_string)) {
		json_object_put(job);
		return NULL;
	}
	json_object_object_add(job, "attempt", json_object_new_int(0));
	/* Queued anew: the queue's age is of the wait since now, not since the
	 * job first came. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	json_object_object_add(job, "enqueuedAt",
			       json_object_new_int64((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000));
	return job;
}

/* An embed job's memory back to 'pending': 1 if it was failed, 0 if not
 * (changed since, or deleted: the job then finds nothing to do), -1 on error. */
static int memory_pending(struct app_context *ctx, struct json_object *job)
{
	struct json_object *type, *id, *version;
	json_object_object_get_ex(job, "type", &type);
	if (strcmp(json_object_get_string(type), "embed") != 0 || !json_object_object_get_ex(job, "id", &id) ||
	    !membership_is_uuid(json_object_get_string(id)) || !json_object_object_get_ex(job, "version", &version) ||
	    !json_object_is_type(version, json_type_int))
		return 0;
	char err[256], v[24];
	snprintf(v, sizeof v, "%lld", (long long)json_object_get_int64(version));
	const char *params[] = { json_object_get_string(id), v };
	PGresult *r = pg_exec(ctx->db, &pending_again, params, err, sizeof err);
	if (r == NULL) {
		fprintf(stderr, "aigetctl memox: postgres: %s\n", err);
		return -1;
	}
	int changed = atoi(PQcmdTuples(r)) > 0;
	PQclear(r);
	return changed;
}

static int requeue_dead(struct app_context *ctx, int json)
{
	char err[256];
	int failed = 0;
	long long total = integer_of(ctx, "LLEN", QUEUE_DEAD, &failed), seen = 0, skip = 0, requeued = 0, pending = 0;
	while (!failed && seen < total) {
		long long want = total - seen < PAGE ? total - seen : PAGE;
		redisReply *page = cmd_ok(redis_command(ctx->redis, err, sizeof err, "LRANGE %s %lld %lld", QUEUE_DEAD,
							skip, skip + want - 1), err, REDIS_REPLY_ARRAY);
		if (page == NULL) {
			failed = 1;
			break;
		}
		if (page->elements == 0) { /* emptied meanwhile by another run */
			freeReplyObject(page);
			break;
		}
		for (size_t i = 0; i < page->elements && !failed; i++) {
			seen++;
			redisReply *entry = page->element[i];
			struct json_object *job = entry->type == REDIS_REPLY_STRING && strlen(entry->str) == entry->len
				? job_of(entry->str, entry->len) : NULL;
			if (job == NULL) {
				skip++;
				continue;
			}
			int p = memory_pending(ctx, job);
			if (p < 0) {
				failed = 1;
			} else {
				const char *args[] = { QUEUE_DEAD, QUEUE_JOBS, entry->str,
						       json_object_to_json_string_ext(job, JSON_C_TO_STRING_PLAIN) };
				redisReply *rep = cmd_ok(redis_script_run(ctx->redis, &requeue, 2, 4, args, err, sizeof err),
							 err, REDIS_REPLY_INTEGER);
				if (rep == NULL)
					failed = 1;
				else if (rep->integer == 1)
					requeued++, pending += p;
				freeReplyObject(rep);
			}
			json_object_put(job);
		}
		freeReplyObject(page);
	}
	if (json)
		printf("{\"requeued\":%lld,\"memoriesPending\":%lld,\"skipped\":%lld}\n", requeued, pending, skip);
	else
		printf("requeued %lld jobs (%lld memories pending again); %lld entries without a job left in %s\n",
		       requeued, pending, skip, QUEUE_DEAD);
	return failed ? 1 : 0;
}

int memox_command(struct app_context *ctx, int argc, char **argv)
{
	int json = argc >= 3 && strcmp(argv[argc - 1], "--json") == 0;
	int args = argc - json;
	if (args == 2 && strcmp(argv[1], "queue") == 0)
		return queue_status(ctx, json);
	if (args == 2 && strcmp(argv[1], "requeue-dead") == 0)
		return requeue_dead(ctx, json);
	if (args == 2 && strcmp(argv[1], "reembed") == 0)
		return memox_reembed(ctx, json);
	if (args == 3 && strcmp(argv[1], "drop-model") == 0)
		return memox_drop_model(ctx, argv[2], json);
	fprintf(stderr, "usage: aigetctl memox queue [--json]\n"
			"       aigetctl memox requeue-dead [--json]\n"
			"       aigetctl memox reembed [--provider P] [--model M] [--dimensions D] [--base-url U] [--json]\n"
			"       aigetctl memox drop-model MODEL [--json]\n");
	return 64;
}
