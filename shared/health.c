/* health.c - dependency pings with latency, for the health route.
 *
 * The route is public (load balancers probe it), so a dependency that is
 * down is named and nothing more: libpq's and hiredis' reasons carry hosts,
 * ports, user names and authentication failures.  The reason goes to the
 * log, and the loopback-only metrics count the failures per dependency. */
#include "health.h"

#include <math.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

#include "app.h"
#include "log.h"
#include "pg.h"
#include "redis.h"

/* AIGET_VERSION: build/<build>/version.h, which the GNUmakefile rewrites
 * when `git describe` changes, so that this object is rebuilt exactly then. */
#include "version.h"

static const struct pg_statement ping_statement = {
	"health_ping", "SELECT 1", 0, 1, PG_PRIMARY,
};

struct probe {
	int ok;
	double latency_ms;
	char error[256];
};

static void probe_pg(struct pg *db, struct probe *p)
{
	double t0 = clock_ms();
	PGresult *r = pg_exec(db, &ping_statement, NULL, p->error, sizeof p->error);
	p->latency_ms = clock_ms() - t0;
	p->ok = r != NULL;
	PQclear(r);
}

static void probe_redis(struct redis *rd, struct probe *p)
{
	/* redis_command retries once on a fresh connection, so a restarted
	 * Redis reads as up at once. */
	double t0 = clock_ms();
	redisReply *rep = redis_command(rd, p->error, sizeof p->error, "PING");
	p->latency_ms = clock_ms() - t0;
	p->ok = rep != NULL && rep->type == REDIS_REPLY_STATUS;
	if (rep && !p->ok)
		snprintf(p->error, sizeof p->error, "%.*s", (int)rep->len, rep->str ? rep->str : "");
	freeReplyObject(rep);
}

static struct json_object *probe_json(const struct probe *p)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(p->ok ? "ok" : "down"));
	/* Two decimals: sub-millisecond latencies are the normal case here. */
	json_object_object_add(o, "latencyMs", json_object_new_double(round(p->latency_ms * 100.0) / 100.0));
	return o;
}

void health_handle(struct request *req)
{
	struct app_context *ctx = req->ctx;
	struct json_object *deps = json_object_new_object();
	int all_ok = 1;
	char names[64] = "";

	struct { unsigned flag; const char *name; } order[] = {
		{ APP_DEP_POSTGRES, "postgres" }, { APP_DEP_REDIS, "redis" }, { APP_DEP_VECTOR, "vector" },
	};
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		if (!(ctx->app->deps & order[i].flag))
			continue;
		struct probe p = { 0 };
		if (order[i].flag == APP_DEP_REDIS)
			probe_redis(ctx->redis, &p);
		else
			probe_pg(order[i].flag == APP_DEP_VECTOR ? ctx->vector : ctx->db, &p);
		if (!p.ok) {
			all_ok = 0;
			log_warn("health: %s is down: %s", order[i].name, p.error);
			size_t n = strlen(names);
			snprintf(names + n, sizeof names - n, "%s%s", n ? ", " : "", order[i].name);
		}
		json_object_object_add(deps, order[i].name, probe_json(&p));
	}

	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "status", json_object_new_string(all_ok ? "ok" : "degraded"));
	json_object_object_add(body, "area", json_object_new_string(ctx->app->area));
	json_object_object_add(body, "version", json_object_new_string(AIGET_VERSION));
	json_object_object_add(body, "uptimeSeconds", json_object_new_int64((int64_t)(time(NULL) - ctx->started)));
	json_object_object_add(body, "dependencies", deps);
	if (!all_ok) {
		log_warn("health degraded: %s down", names);
		response_header(req, "Retry-After", "5");
	}
	response_json(req, all_ok ? 200 : 503, body);
}
