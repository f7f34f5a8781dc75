/* enqueue.c - handing jobs to the memox worker (shared/queue.h).
 *
 * Jobs are pushed after the rows they name are committed, so a worker never
 * looks for a memory that is not there yet.  A job lost between the commit
 * and the push (Redis down, a crash) leaves a memory 'pending', which the
 * worker's sweeper finds and queues again; jobs are idempotent, so a
 * duplicate costs nothing. */
#include "memox.h"

#include <stdio.h>
#include <sys/time.h>

#include "queue.h"
#include "redis.h"

static long long now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int push(struct app_context *ctx, int argc, const char **argv, char *err, size_t errlen)
{
	redisReply *rep = redis_command_argv(ctx->redis, argc, argv, NULL, err, errlen);
	int ok = rep && rep->type == REDIS_REPLY_INTEGER;
	if (rep && !ok)
		snprintf(err, errlen, "%s", rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
	freeReplyObject(rep);
	return ok ? 0 : -1;
}

int enqueue_embed(struct app_context *ctx, const char *const *ids, const char *const *versions, int n,
		  char *err, size_t errlen)
{
	if (n == 0)
		return 0;
	const char *argv[2 + 1000];
	char jobs[1000][160];
	if (n > 1000) {
		snprintf(err, errlen, "too many jobs in one push");
		return -1;
	}
	argv[0] = "LPUSH";
	argv[1] = QUEUE_JOBS;
	long long at = now_ms();
	for (int i = 0; i < n; i++) {
		snprintf(jobs[i], sizeof jobs[i],
			 "{\"type\":\"embed\",\"id\":\"%s\",\"version\":%s,\"attempt\":0,\"enqueuedAt\":%lld}",
			 ids[i], versions[i], at);
		argv[2 + i] = jobs[i];
	}
	return push(ctx, 2 + n, argv, err, errlen);
}

int enqueue_simple(struct app_context *ctx, const char *type, const char *id, char *err, size_t errlen)
{
	char job[200];
	snprintf(job, sizeof job, "{\"type\":\"%s\",\"id\":\"%s\",\"attempt\":0,\"enqueuedAt\":%lld}", type, id,
		 now_ms());
	const char *argv[] = { "LPUSH", QUEUE_JOBS, job };
	return push(ctx, 3, argv, err, errlen);
}
