/* joblist.c - taking jobs into the processing list and taking them out again.
 *
 * Every move between lists is atomic in Redis (one command or one script),
 * so a worker killed at any point leaves each job in exactly one place: the
 * queue, its processing list (returned by the reaper of upkeep.c), the
 * delayed set or the dead-letter list.  Retry delays are added to Redis'
 * own clock, so workers on several boxes agree on when a job is due. */
#include "joblist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs.h"
#include "log.h"
#include "queue.h"
#include "redis.h"

/* KEYS: queue, processing list.  ARGV: how many.  The batch after the first
 * job, in one round trip instead of one LMOVE each. */
static struct redis_script take_more = {
	"local out = {}\n"
	"for i = 1, tonumber(ARGV[1]) do\n"
	"  local j = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')\n"
	"  if not j then break end\n"
	"  out[i] = j\n"
	"end\n"
	"return out\n",
	"",
};

/* KEYS: processing list.  ARGV: jobs as taken. */
static struct redis_script drop_done = {
	"for i = 1, #ARGV do redis.call('LREM', KEYS[1], 1, ARGV[i]) end\n"
	"return #ARGV\n",
	"",
};
#define DROP_CHUNK 28   /* redis_script_run() passes at most 29 keys and arguments */

/* KEYS: processing list, then the delayed set or the dead-letter list.
 * ARGV: job as taken, "retry" or "dead", the text to store, delay in ms.
 * A job no longer in the list was returned to the queue by the reaper
 * while this worker stalled: it runs again there, so nothing is stored. */
static struct redis_script move_failed = {
	"if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end\n"
	"if ARGV[2] == 'retry' then\n"
	"  local t = redis.call('TIME')\n"
	"  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])\n"
	"else\n"
	"  redis.call('RPUSH', KEYS[2], ARGV[3])\n"
	"end\n"
	"return 1\n",
	"",
};

static int reply_failed(redisReply *rep, char *err, size_t errlen)
{
	if (rep && rep->type == REDIS_REPLY_ERROR)
		snprintf(err, errlen, "%s", rep->str);
	return rep == NULL || rep->type == REDIS_REPLY_ERROR;
}

int joblist_take(struct worker *w, int max, int wait_ms, struct batch *b, char *err, size_t errlen)
{
	struct app_context *ctx = w->ctx;
	memset(b, 0, sizeof *b);
	int want = max;
	if (wait_ms > 0) {
		char secs[32];
		snprintf(secs, sizeof secs, "%.3f", wait_ms / 1000.0);
		b->first = redis_command_timeout(ctx->redis, wait_ms + (int)ctx->cfg.redis_timeout_ms, err, errlen,
						 "BLMOVE %s %s RIGHT LEFT %s", QUEUE_JOBS, w->processing, secs);
		if (reply_failed(b->first, err, errlen))
			return -1;
		if (b->first->type != REDIS_REPLY_STRING) /* nil: nothing came */
			return 0;
		want--;
	}
	if (want > 0) {
		char n[16];
		snprintf(n, sizeof n, "%d", want);
		const char *args[] = { QUEUE_JOBS, w->processing, n };
		b->rest = redis_script_run(ctx->redis, &take_more, 2, 3, args, err, errlen);
		if (reply_failed(b->rest, err, errlen) || b->rest->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(b->rest);
			b->rest = NULL;
			if (b->first == NULL)
				return -1;
			log_warn("redis: taking more jobs failed, running one: %s", err);
		}
	}
	size_t more = b->rest ? b->rest->elements : 0;
	b->jobs = calloc(more + 1, sizeof *b->jobs);
	if (b->jobs == NULL) {
		/* The jobs stay in the processing list until it is reclaimed. */
		snprintf(err, errlen, "out of memory");
		w->reclaim_pending = 1;
		return -1;
	}
	if (b->first) {
		b->jobs[b->n].text = b->first->str;
		b->jobs[b->n++].len = b->first->len;
	}
	for (size_t i = 0; i < more; i++)
		if (b->rest->element[i]->type == REDIS_REPLY_STRING) {
			b->jobs[b->n].text = b->rest->element[i]->str;
			b->jobs[b->n++].len = b->rest->element[i]->len;
		}
	return b->n;
}

/* min(base * 2^attempt, max), plus up to a tenth more so that jobs failed
 * together by one outage do not all come back at the same millisecond. */
static long long retry_delay_ms(const struct config *cfg, int attempt)
{
	long long d = cfg->memox_retry_base_ms;
	for (int i = 0; i < attempt && d < cfg->memox_retry_max_ms; i++)
		d *= 2;
	if (d > cfg->memox_retry_max_ms)
		d = cfg->memox_retry_max_ms;
	return d + (d >= 10 ? random() % (d / 10) : 0);
}

/* A job text with a NUL in it cannot be a script argument (C strings); it
 * is moved with binary-safe commands, one after the other. */
static int move_binary(struct worker *w, const struct job *job, const char *dead_entry, char *err, size_t errlen)
{
	redisReply *rep = redis_command(w->ctx->redis, err, errlen, "RPUSH %s %s", QUEUE_DEAD, dead_entry);
	int ok = !reply_failed(rep, err, errlen);
	freeReplyObject(rep);
	if (ok) {
		rep = redis_command(w->ctx->redis, err, errlen, "LREM %s 1 %b", w->processing, job->text, job->len);
		ok = !reply_failed(rep, err, errlen);
		freeReplyObject(rep);
	}
	return ok ? 0 : -1;
}

static int move_one(struct worker *w, struct job *job, long long *delay, char *err, size_t errlen)
{
	const char *to, *mode, *text;
	char delay_text[24] = "0";
	struct json_object *dead = NULL;
	if (job->result == JOB_RETRY) {
		/* JOB_RETRY is only ever set on a parsed job. */
		json_object_object_add(job->obj, "attempt", json_object_new_int(job->attempt + 1));
		text = json_object_to_json_string_ext(job->obj, JSON_C_TO_STRING_PLAIN);
		*delay = retry_delay_ms(&w->ctx->cfg, job->attempt);
		snprintf(delay_text, sizeof delay_text, "%lld", *delay);
		to = QUEUE_DELAYED, mode = "retry";
		log_warn("job %s %s: attempt %d failed, again in %lld ms: %s", job->type->name, job->id,
			 job->attempt + 1, *delay, job->why);
	} else {
		dead = json_object_new_object();
		json_object_object_add(dead, "job", json_object_new_string_len(job->text, (int)job->len));
		json_object_object_add(dead, "error", json_object_new_string(job->why));
		json_object_object_add(dead, "failedAt", json_object_new_int64((int64_t)time(NULL)));
		text = json_object_to_json_string_ext(dead, JSON_C_TO_STRING_PLAIN);
		to = QUEUE_DEAD, mode = "dead";
		log_warn("job %s %s moved to %s: %s", job->type ? job->type->name : "?", job->id, QUEUE_DEAD, job->why);
	}
	int rc;
	if (strlen(job->text) != job->len) {
		rc = move_binary(w, job, text, err, errlen);
	} else {
		const char *args[] = { w->processing, to, job->text, mode, text, delay_text };
		redisReply *rep = redis_script_run(w->ctx->redis, &move_failed, 2, 6, args, err, errlen);
		rc = reply_failed(rep, err, errlen) ? -1 : 0;
		if (rc == 0 && rep->type == REDIS_REPLY_INTEGER && rep->integer == 0)
			log_warn("job %s %s was returned to the queue meanwhile (this worker was taken for dead)",
				 job->type ? job->type->name : "?", job->id);
		freeReplyObject(rep);
	}
	json_object_put(dead);
	return rc;
}

static int drop(struct worker *w, const char **texts, int n, char *err, size_t errlen)
{
	const char *args[DROP_CHUNK + 1] = { w->processing };
	memcpy(args + 1, texts, (size_t)n * sizeof *texts);
	redisReply *rep = redis_script_run(w->ctx->redis, &drop_done, 1, n + 1, args, err, errlen);
	int rc = reply_failed(rep, err, errlen) ? -1 : 0;
	freeReplyObject(rep);
	return rc;
}

/* Adds the batch's outcomes to QUEUE_STATS, one HINCRBY per job type and
 * outcome that occurred.  Best effort: with Redis down the jobs stay in the
 * processing list anyway, and run (and count) again. */
static void count_outcomes(struct worker *w, const struct batch *b)
{
	static const char *const outcomes[] = { [JOB_DONE] = "ok", [JOB_RETRY] = "retried", [JOB_FAILED] = "dead" };
	char err[256], field[64];
	for (int i = 0; i < b->n; i++) {
		const struct job *job = &b->jobs[i];
		int first = 1;   /* counted already, with an earlier job of its type and outcome? */
		for (int j = 0; j < i && first; j++)
			first = !(b->jobs[j].type == job->type && b->jobs[j].result == job->result);
		if (!first)
			continue;
		long long n = 0;
		for (int j = i; j < b->n; j++)
			n += b->jobs[j].type == job->type && b->jobs[j].result == job->result;
		/* A job that did not parse has no type: "invalid", never its text. */
		snprintf(field, sizeof field, "%s:%s", job->type ? job->type->name : "invalid",
			 outcomes[job->result]);
		freeReplyObject(redis_command(w->ctx->redis, err, sizeof err, "HINCRBY %s %s %lld", QUEUE_STATS, field, n));
	}
}

long long joblist_finish(struct worker *w, struct batch *b)
{
	char err[256] = "";
	const char *done[DROP_CHUNK];
	int ndone = 0, failed = 0;
	long long shortest = -1;
	for (int i = 0; i < b->n; i++) {
		struct job *job = &b->jobs[i];
		if (job->result != JOB_DONE) {
			long long delay = -1;
			if (move_one(w, job, &delay, err, sizeof err) != 0)
				failed = 1;
			if (job->result == JOB_RETRY) {
				w->retried++;
				if (shortest < 0 || delay < shortest)
					shortest = delay;
			} else {
				w->dead++;
			}
			continue;
		}
		w->done++;
		if (strlen(job->text) != job->len) /* cannot happen: such a job never parses */
			continue;
		done[ndone++] = job->text;
		if (ndone == DROP_CHUNK) {
			if (drop(w, done, ndone, err, sizeof err) != 0)
				failed = 1;
			ndone = 0;
		}
	}
	if (ndone > 0 && drop(w, done, ndone, err, sizeof err) != 0)
		failed = 1;
	count_outcomes(w, b);
	if (failed) {
		/* What stays in the list runs again once Redis answers. */
		log_error("redis: finishing jobs failed, they stay in %s: %s", w->processing, err);
		w->reclaim_pending = 1;
	}
	return shortest;
}

void joblist_free(struct batch *b)
{
	for (int i = 0; i < b->n; i++)
		json_object_put(b->jobs[i].obj);
	free(b->jobs);
	freeReplyObject(b->first);
	freeReplyObject(b->rest);
	memset(b, 0, sizeof *b);
}

void joblist_reclaim_own(struct worker *w)
{
	char err[256];
	long moved = 0;
	for (;;) {
		redisReply *rep = redis_command(w->ctx->redis, err, sizeof err, "LMOVE %s %s LEFT RIGHT",
						w->processing, QUEUE_JOBS);
		if (reply_failed(rep, err, sizeof err)) {
			freeReplyObject(rep);
			log_error("redis: could not return the jobs of %s to the queue: %s", w->processing, err);
			return;
		}
		int more = rep->type == REDIS_REPLY_STRING;
		freeReplyObject(rep);
		if (!more)
			break;
		moved++;
	}
	w->reclaim_pending = 0;
	if (moved)
		log_info("returned %ld jobs left in %s to the queue", moved, w->processing);
}
