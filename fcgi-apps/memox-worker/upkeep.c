/* upkeep.c - heartbeat, reaper, promotion of delayed jobs, the pending sweeper, indexing, expiry.
 *
 * Each step is one Lua script or a guarded statement, safe to run by every
 * worker at once: the reaper's check-and-move is atomic, so two reapers never
 * both move a list; the sweeper takes a lock key that expires by itself, so
 * a sweeper that dies mid-way never blocks the next one. */
#include "upkeep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "expire.h"
#include "index_scopes.h"
#include "joblist.h"
#include "log.h"
#include "pg.h"
#include "queue.h"
#include "redis.h"
#include "request.h"

#define SWEEP_LOCK     "{memox}:sweep-lock"
#define SWEEP_EVERY_S  60
#define PROMOTE_MAX    1000     /* delayed jobs moved per script run */

/* KEYS: heartbeat key, workers set.  ARGV: ttl s, worker id, holder. */
static struct redis_script beat = {
	"redis.call('SET', KEYS[1], ARGV[3], 'EX', tonumber(ARGV[1]))\n"
	"redis.call('SADD', KEYS[2], ARGV[2])\n"
	"return 1\n",
	"",
};

/* KEYS: workers set, queue.  ARGV: processing-list prefix, heartbeat prefix.
 * The lists are named from the set's members, so they are not in KEYS; they
 * share the {memox} hash tag, which keeps the script single-slot. */
static struct redis_script reap = {
	"local moved = 0\n"
	"for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
	"  if redis.call('EXISTS', ARGV[2] .. id) == 0 then\n"
	"    local list = ARGV[1] .. id\n"
	"    while redis.call('LMOVE', list, KEYS[2], 'LEFT', 'RIGHT') do moved = moved + 1 end\n"
	"    redis.call('SREM', KEYS[1], id)\n"
	"  end\n"
	"end\n"
	"return moved\n",
	"",
};

/* KEYS: delayed set, queue.  ARGV: how many at most.  Returns {moved, ms
 * until the next is due or -1}.  Due jobs go to the taking end of the
 * queue: they have waited already. */
static struct redis_script promote = {
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))\n"
	"for _, j in ipairs(due) do\n"
	"  redis.call('ZREM', KEYS[1], j)\n"
	"  redis.call('RPUSH', KEYS[2], j)\n"
	"end\n"
	"local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
	"local wait = -1\n"
	"if nxt[2] then wait = math.max(0, tonumber(nxt[2]) - now) end\n"
	"return {#due, wait}\n",
	"",
};

/* Pending and never queued (the responder could not reach Redis), or
 * pending for longer than $1 seconds (a job lost without a trace), oldest
 * first and 1000 at a time, each through its own partial index; updated_at
 * moves on and queued is set, so that the next sweep does not queue them
 * again while their job waits. */
static const struct pg_statement sweep_pending = {
	"worker_sweep_pending",
	"WITH unqueued AS (SELECT id FROM memories WHERE status = 'pending' AND NOT queued"
	"   ORDER BY updated_at LIMIT 1000 FOR UPDATE SKIP LOCKED),"
	" stale AS (SELECT id FROM memories WHERE status = 'pending'"
	"   AND updated_at < now() - make_interval(secs => $1::double precision)"
	"   ORDER BY updated_at LIMIT 1000 FOR UPDATE SKIP LOCKED)"
	" UPDATE memories m SET updated_at = now(), queued = true"
	" FROM (SELECT id FROM unqueued UNION SELECT id FROM stale) s WHERE m.id = s.id"
	" RETURNING m.id, m.version",
	1, 0, PG_PRIMARY,
};

static double heartbeat_period_ms(const struct worker *w)
{
	return w->ctx->cfg.memox_heartbeat_s * 1000.0 / 3;
}

static long long sweep_period_s(const struct worker *w)
{
	long long s = w->ctx->cfg.memox_pending_sweep_s;
	return s < SWEEP_EVERY_S ? s : SWEEP_EVERY_S;
}

static int heartbeat(struct worker *w, long long ttl_s)
{
	char err[256], ttl[24], holder[128], host[64] = "";
	gethostname(host, sizeof host - 1);
	snprintf(ttl, sizeof ttl, "%lld", ttl_s);
	snprintf(holder, sizeof holder, "%s pid %ld", host, (long)getpid());
	const char *args[] = { w->heartbeat, QUEUE_WORKERS, ttl, w->id, holder };
	redisReply *rep = redis_script_run(w->ctx->redis, &beat, 2, 5, args, err, sizeof err);
	int ok = rep && rep->type == REDIS_REPLY_INTEGER;
	if (!ok)
		log_warn("redis: heartbeat failed: %s", rep && rep->type == REDIS_REPLY_ERROR ? rep->str : err);
	freeReplyObject(rep);
	if (ok)
		w->next_heartbeat_ms = clock_ms() + heartbeat_period_ms(w);
	return ok ? 0 : -1;
}

void worker_keepalive(struct worker *w, int extra_s)
{
	if (extra_s > 0)
		heartbeat(w, w->ctx->cfg.memox_heartbeat_s + extra_s);
	else if (clock_ms() >= w->next_heartbeat_ms)
		heartbeat(w, w->ctx->cfg.memox_heartbeat_s);
}

static void run_reaper(struct worker *w)
{
	char err[256];
	const char *args[] = { QUEUE_WORKERS, QUEUE_JOBS, QUEUE_PROCESSING_PREFIX, QUEUE_HEARTBEAT_PREFIX };
	redisReply *rep = redis_script_run(w->ctx->redis, &reap, 2, 4, args, err, sizeof err);
	if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer > 0)
		log_warn("returned %lld jobs of dead workers to the queue", rep->integer);
	else if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
		log_warn("redis: reaper failed: %s", rep ? rep->str : err);
	freeReplyObject(rep);
}

static void promote_due(struct worker *w)
{
	char err[256], max[16];
	snprintf(max, sizeof max, "%d", PROMOTE_MAX);
	const char *args[] = { QUEUE_DELAYED, QUEUE_JOBS, max };
	for (;;) {
		redisReply *rep = redis_script_run(w->ctx->redis, &promote, 2, 3, args, err, sizeof err);
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_INTEGER || rep->element[1]->type != REDIS_REPLY_INTEGER) {
			log_warn("redis: promoting delayed jobs failed: %s",
				 rep && rep->type == REDIS_REPLY_ERROR ? rep->str : err);
			freeReplyObject(rep);
			return;
		}
		long long moved = rep->element[0]->integer, wait = rep->element[1]->integer;
		freeReplyObject(rep);
		if (moved > 0)
			log_debug("%lld delayed jobs are due", moved);
		w->next_due_ms = wait >= 0 ? clock_ms() + (double)wait : 0;
		if (moved < PROMOTE_MAX)
			return;
	}
}

static long long wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sweep(struct worker *w)
{
	char err[256], ttl[24];
	snprintf(ttl, sizeof ttl, "%lld", sweep_period_s(w));
	redisReply *lock = redis_command(w->ctx->redis, err, sizeof err, "SET %s %s NX EX %s", SWEEP_LOCK, w->id, ttl);
	int mine = lock && lock->type == REDIS_REPLY_STATUS;
	freeReplyObject(lock);
	if (!mine) /* another worker sweeps this time, or Redis is down */
		return;
	char secs[24];
	snprintf(secs, sizeof secs, "%lld", w->ctx->cfg.memox_pending_sweep_s);
	const char *params[] = { secs };
	PGresult *r = pg_exec(w->ctx->db, &sweep_pending, params, err, sizeof err);
	if (r == NULL) {
		log_warn("postgres: pending sweep failed: %s", err);
		return;
	}
	int n = PQntuples(r);
	if (n > 0) {
		const char **argv = calloc((size_t)n + 2, sizeof *argv);
		char **jobs = calloc((size_t)n, sizeof *jobs);
		long long now = wall_ms();
		int k = 0;
		for (int i = 0; argv && jobs && i < n; i++)
			if (asprintf(&jobs[k], "{\"type\":\"embed\",\"id\":\"%s\",\"version\":%s,\"attempt\":0,"
				     "\"enqueuedAt\":%lld}", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), now) > 0) {
				argv[k + 2] = jobs[k];
				k++;
			}
		if (k > 0) {
			argv[0] = "LPUSH";
			argv[1] = QUEUE_JOBS;
			redisReply *rep = redis_command_argv(w->ctx->redis, k + 2, argv, NULL, err, sizeof err);
			if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
				log_error("redis: could not queue %d swept memories (swept again in %lld s): %s", k,
					  w->ctx->cfg.memox_pending_sweep_s, rep ? rep->str : err);
			else
				log_warn("queued embed jobs again for %d memories pending longer than %lld s", k,
					 w->ctx->cfg.memox_pending_sweep_s);
			freeReplyObject(rep);
		}
		for (int i = 0; jobs && i < k; i++)
			free(jobs[i]);
		free(jobs);
		free(argv);
	}
	PQclear(r);
}

void upkeep_start(struct worker *w)
{
	heartbeat(w, w->ctx->cfg.memox_heartbeat_s);
	joblist_reclaim_own(w);
	double now = clock_ms();
	w->next_reap_ms = now;
	w->next_sweep_ms = now;
	w->next_index_ms = now;
	w->next_expire_ms = now;
}

void upkeep_redis_back(struct worker *w)
{
	/* While Redis was down, responders kept writes they could not queue. */
	w->next_sweep_ms = 0;
}

void upkeep_tick(struct worker *w)
{
	double now = clock_ms();
	if (now >= w->next_heartbeat_ms)
		heartbeat(w, w->ctx->cfg.memox_heartbeat_s);
	if (w->reclaim_pending)
		joblist_reclaim_own(w);
	if (now >= w->next_reap_ms) {
		run_reaper(w);
		w->next_reap_ms = now + heartbeat_period_ms(w);
	}
	promote_due(w);
	if (now >= w->next_sweep_ms) {
		sweep(w);
		w->next_sweep_ms = now + (double)sweep_period_s(w) * 1000;
	}
	if (now >= w->next_index_ms)
		index_scopes_step(w);
	if (now >= w->next_expire_ms) {
		expire_sweep(w);
		w->next_expire_ms = now + (double)w->ctx->cfg.memox_expiry_sweep_s * 1000;
	}
}

int upkeep_wait_ms(const struct worker *w)
{
	double now = clock_ms();
	double until = now + (double)w->ctx->cfg.worker_block_seconds * 1000;
	double next[] = { w->next_heartbeat_ms, w->next_reap_ms, w->next_sweep_ms, w->next_due_ms, w->next_index_ms,
			 w->next_expire_ms };
	for (size_t i = 0; i < sizeof next / sizeof next[0]; i++)
		if (next[i] > 0 && next[i] < until)
			until = next[i];
	return until - now < 10 ? 10 : (int)(until - now);
}

void upkeep_note_delayed(struct worker *w, long long delay_ms)
{
	double due = clock_ms() + (double)delay_ms;
	if (w->next_due_ms == 0 || due < w->next_due_ms)
		w->next_due_ms = due;
}

void upkeep_stop(struct worker *w)
{
	char err[256];
	joblist_reclaim_own(w);
	freeReplyObject(redis_command(w->ctx->redis, err, sizeof err, "SREM %s %s", QUEUE_WORKERS, w->id));
	freeReplyObject(redis_command(w->ctx->redis, err, sizeof err, "DEL %s", w->heartbeat));
}
