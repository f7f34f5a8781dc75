/* memox-worker - takes memox jobs from Redis and runs them.
 *
 * A long-running daemon (one of several that may run at once) or, with
 * --once, a drain of the queue for cron.  Each worker moves jobs with BLMOVE
 * into its own processing list ({memox}:processing:<id>), removes them when
 * done, and dead-letters the ones that fail.  SIGTERM ends the loop once the
 * job in hand is finished; the blocking wait is bounded by
 * WORKER_BLOCK_SECONDS, so the worker notices the signal that fast. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "jobs.h"
#include "log.h"
#include "pg.h"
#include "queue.h"
#include "redis.h"

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static const struct app worker_app = {
	.area = "memox-worker", .deps = APP_DEP_POSTGRES | APP_DEP_REDIS | APP_DEP_VECTOR,
};

static void usage(FILE *f)
{
	fputs("usage: memox-worker [--once] [--id ID] [--env-file FILE]\n"
	      "\n"
	      "Runs memox jobs from Redis: blocks on " QUEUE_JOBS " until SIGTERM, or with\n"
	      "--once drains the queue and exits (for cron).  --id names this worker's\n"
	      "processing list (default: host name and pid); a stable id lets a restarted\n"
	      "worker take back the jobs it held.  Exit status: 0 done, 1 Redis\n"
	      "unreachable in --once mode, 64 usage, 78 invalid configuration.\n", f);
}

/* Sleeps up to ms, returning early on a stop signal. */
static void nap(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Returns jobs left in this worker's processing list by an earlier run with
 * the same id to the head of the queue (they are the oldest). */
static void reclaim_own(struct app_context *ctx, const char *processing)
{
	char err[256];
	for (;;) {
		redisReply *rep = redis_command(ctx->redis, err, sizeof err, "LMOVE %s %s LEFT RIGHT",
						processing, QUEUE_JOBS);
		int moved = rep && rep->type == REDIS_REPLY_STRING;
		freeReplyObject(rep);
		if (!moved)
			return;
		log_info("returned a job left in %s to the queue", processing);
	}
}

static void finish_job(struct app_context *ctx, const char *processing, redisReply *job,
		       enum job_result result, const char *why)
{
	char err[256];
	redisReply *rep;
	if (result == JOB_DONE) {
		rep = redis_command(ctx->redis, err, sizeof err, "LREM %s 1 %b", processing, job->str, job->len);
		freeReplyObject(rep);
		return;
	}
	struct json_object *dead = json_object_new_object();
	json_object_object_add(dead, "job", json_object_new_string_len(job->str, (int)job->len));
	json_object_object_add(dead, "error", json_object_new_string(why));
	json_object_object_add(dead, "failedAt", json_object_new_int64((int64_t)time(NULL)));
	const char *text = json_object_to_json_string_ext(dead, JSON_C_TO_STRING_PLAIN);
	/* One transaction: the job is in exactly one list at every moment. */
	freeReplyObject(redis_command(ctx->redis, err, sizeof err, "MULTI"));
	freeReplyObject(redis_command(ctx->redis, err, sizeof err, "RPUSH %s %s", QUEUE_DEAD, text));
	freeReplyObject(redis_command(ctx->redis, err, sizeof err, "LREM %s 1 %b", processing, job->str, job->len));
	rep = redis_command(ctx->redis, err, sizeof err, "EXEC");
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY)
		log_error("could not dead-letter a job: %s", rep ? "transaction refused" : err);
	freeReplyObject(rep);
	json_object_put(dead);
	log_warn("job failed, moved to %s: %s", QUEUE_DEAD, why);
}

int main(int argc, char **argv)
{
	const char *env_file = NULL, *id = NULL;
	int once = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0)
			once = 1;
		else if (strcmp(argv[i], "--env-file") == 0 && i + 1 < argc)
			env_file = argv[++i];
		else if (strcmp(argv[i], "--id") == 0 && i + 1 < argc)
			id = argv[++i];
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 64;
		}
	}

	struct app_context ctx;
	app_context_init(&ctx, &worker_app, CONFIG_NEEDS_VECTOR, env_file);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	char host[64] = "worker", processing[160], err[256];
	gethostname(host, sizeof host - 1);
	if (id)
		snprintf(processing, sizeof processing, "%s%s", QUEUE_PROCESSING_PREFIX, id);
	else
		snprintf(processing, sizeof processing, "%s%s:%ld", QUEUE_PROCESSING_PREFIX, host, (long)getpid());

	if (pg_conn(ctx.db, err, sizeof err) == NULL)
		log_warn("postgres unreachable at start: %s", err);
	if (pg_conn(ctx.vector, err, sizeof err) == NULL)
		log_warn("vector unreachable at start: %s", err);
	reclaim_own(&ctx, processing);
	log_info("ready%s, processing list %s", once ? " (draining once)" : "", processing);

	int status = 0;
	long done = 0, failed = 0;
	int block_ms = (int)ctx.cfg.worker_block_seconds * 1000;
	while (!stop_requested) {
		redisReply *job = once
			? redis_command(ctx.redis, err, sizeof err, "LMOVE %s %s RIGHT LEFT", QUEUE_JOBS, processing)
			: redis_command_timeout(ctx.redis, block_ms + (int)ctx.cfg.redis_timeout_ms, err, sizeof err,
						"BLMOVE %s %s RIGHT LEFT %d", QUEUE_JOBS, processing,
						(int)ctx.cfg.worker_block_seconds);
		if (job == NULL || job->type == REDIS_REPLY_ERROR) {
			log_error("redis: %s", job ? job->str : err);
			freeReplyObject(job);
			if (once) {
				status = 1;
				break;
			}
			nap(1000);
			continue;
		}
		if (job->type != REDIS_REPLY_STRING) { /* nil: nothing waiting */
			freeReplyObject(job);
			if (once)
				break;
			continue;
		}
		char why[256];
		enum job_result result = jobs_run(&ctx, job->str, job->len, why, sizeof why);
		finish_job(&ctx, processing, job, result, why);
		if (result == JOB_DONE)
			done++;
		else
			failed++;
		freeReplyObject(job);
	}
	log_info("stopping: %ld jobs done, %ld failed", done, failed);
	app_context_free(&ctx);
	return status;
}
