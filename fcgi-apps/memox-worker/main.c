/* memox-worker - takes memox jobs from Redis and runs them.
 *
 * A long-running daemon (one of several that may run at once) or, with
 * --once, a drain of the queue for cron.  Each turn of the loop does the
 * upkeep that is due (upkeep.c: heartbeat, reaper, delayed jobs, sweeper,
 * indexing of large scopes),
 * then takes a batch of up to EMBEDDING_BATCH_SIZE jobs into its own
 * processing list ({memox}:processing:<id>), runs it (jobs.c) and takes the
 * jobs out again by their outcome (joblist.c).  SIGTERM ends the loop once
 * the batch in hand is finished; the blocking wait is bounded by
 * WORKER_BLOCK_SECONDS and by the next upkeep step, so the worker notices
 * the signal and its delayed jobs that fast. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "index_scopes.h"
#include "joblist.h"
#include "jobs.h"
#include "log.h"
#include "pg.h"
#include "queue.h"
#include "upkeep.h"

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static const struct app worker_app = {
	.area = "memox-worker", .kind = APP_WORKER, .deps = APP_DEP_POSTGRES | APP_DEP_REDIS | APP_DEP_VECTOR,
};

static void usage(FILE *f)
{
	fputs("usage: memox-worker [--once] [--id ID] [--env-file FILE]\n"
	      "\n"
	      "Runs memox jobs from Redis: blocks on " QUEUE_JOBS " until SIGTERM, or with\n"
	      "--once drains the queue, indexes the scopes that became large, and exits\n"
	      "(for cron; jobs delayed for a retry and not yet due stay for the next run).  --id names this worker's processing\n"
	      "list (default: host name and pid); a stable id lets a restarted worker\n"
	      "take back the jobs it held.  Exit status: 0 done, 1 Redis unreachable in\n"
	      "--once mode, 64 usage, 78 invalid configuration.\n", f);
}

/* Sleeps up to ms, returning early on a stop signal. */
static void nap(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int valid_id(const char *id)
{
	size_t n = strlen(id);
	return n > 0 && n <= 128 && strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
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
		else if (strcmp(argv[i], "--id") == 0 && i + 1 < argc && valid_id(argv[i + 1]))
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
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));

	char host[64] = "worker", own_id[128], err[256];
	gethostname(host, sizeof host - 1);
	if (id == NULL) {
		snprintf(own_id, sizeof own_id, "%s:%ld", host, (long)getpid());
		id = own_id;
	}
	struct worker w = { .ctx = &ctx, .id = id, .once = once };
	snprintf(w.processing, sizeof w.processing, "%s%s", QUEUE_PROCESSING_PREFIX, id);
	snprintf(w.heartbeat, sizeof w.heartbeat, "%s%s", QUEUE_HEARTBEAT_PREFIX, id);

	if (pg_conn(ctx.db, err, sizeof err) == NULL)
		log_warn("postgres unreachable at start: %s", err);
	if (pg_conn(ctx.vector, err, sizeof err) == NULL)
		log_warn("vector unreachable at start: %s", err);
	upkeep_start(&w);
	log_info("ready%s, processing list %s", once ? " (draining once)" : "", w.processing);

	int status = 0;
	int redis_down = 0; /* the last take failed: the next good one sweeps */
	int batch_size = (int)ctx.cfg.embedding_batch_size;
	while (!stop_requested) {
		upkeep_tick(&w);
		struct batch b;
		int n = joblist_take(&w, batch_size, once ? 0 : upkeep_wait_ms(&w), &b, err, sizeof err);
		if (n >= 0 && redis_down) {
			log_info("redis answers again: sweeping for memories written meanwhile");
			redis_down = 0;
			upkeep_redis_back(&w);
		}
		if (n < 0) {
			redis_down = 1;
			log_error("redis: %s", err);
			joblist_free(&b);
			if (once) {
				status = 1;
				break;
			}
			nap(1000);
			continue;
		}
		if (n == 0) {
			joblist_free(&b);
			if (once) {
				index_scopes_drain(&w, &stop_requested);
				break;
			}
			continue;
		}
		jobs_run_batch(&w, b.jobs, n);
		long long delay = joblist_finish(&w, &b);
		if (delay >= 0)
			upkeep_note_delayed(&w, delay);
		joblist_free(&b);
	}
	upkeep_stop(&w);
	log_info("stopping: %ld jobs done, %ld delayed for a retry, %ld dead", w.done, w.retried, w.dead);
	app_context_free(&ctx);
	return status;
}
