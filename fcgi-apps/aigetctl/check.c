/* check.c - `aigetctl check`: is this configuration usable, and is every dependency up?
 *
 * Checks, in order: the configuration (the same validation every binary
 * does), the main PostgreSQL, the vector PostgreSQL with the vector
 * extension, the read replicas when DATABASE_READ_URL or
 * VECTOR_DATABASE_READ_URL names one, Redis, the migrations (every file
 * under SQL_DIR applied and unchanged, in both databases), and the
 * embedding provider's settings.
 * Each reports ok or failed with its latency in ms; one failure makes the
 * exit status 1 (78 when the configuration itself is invalid: then nothing
 * else can be checked).
 *
 * It must answer quickly when a dependency is down, which is when it is
 * needed most: connections are lazy (shared/pg.c, shared/redis.c) and made
 * here with a connect timeout of at most CONNECT_TIMEOUT_S and Redis' own
 * REDIS_TIMEOUT_MS, and a database that cannot be reached skips its
 * migration check rather than trying again. */
#include "check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "ctl.h"
#include "embed.h"
#include "migrate.h"
#include "pg.h"
#include "redis.h"
#include "request.h"

#define CONNECT_TIMEOUT_S 3

const char check_synopsis[] = "check [--embed] [--json]";

static const struct pg_statement st_ping = { "ctl_check_ping", "SELECT 1", 0, 1, PG_PRIMARY };
static const struct pg_statement st_vector = {
	"ctl_check_vector", "SELECT extversion FROM pg_extension WHERE extname = 'vector'", 0, 1, PG_PRIMARY,
};

/* How far a replica is behind what it has received from its primary. */
static const struct pg_statement st_replica = {
	"ctl_check_replica",
	"SELECT pg_is_in_recovery(), pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())",
	0, 1, PG_PRIMARY,
};

enum { C_CONFIG, C_POSTGRES, C_VECTOR, C_REPLICAS, C_REDIS, C_MIGRATIONS, C_EMBEDDING, C__MAX };
static const char *const names[C__MAX] = { "config", "postgres", "vector", "replicas", "redis", "migrations",
					   "embedding" };

struct result {
	const char *status;           /* "ok", "failed" or "skipped" */
	double ms;                    /* < 0: not measured */
	char detail[512];             /* what was found, or why it failed */
};

static void set(struct result *r, const char *status, double ms, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set(struct result *r, const char *status, double ms, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	r->status = status;
	r->ms = ms;
	vsnprintf(r->detail, sizeof r->detail, fmt, ap);
	va_end(ap);
}

/* 1 when the database answered. */
static int check_pg(struct pg *db, struct result *r)
{
	char err[256];
	double t0 = clock_ms();
	PGresult *res = pg_exec(db, &st_ping, NULL, err, sizeof err);
	double ms = clock_ms() - t0;
	if (res == NULL)
		set(r, "failed", ms, "%s", err);
	else
		set(r, "ok", ms, "connected");
	PQclear(res);
	return res != NULL;
}

static int check_vector(struct pg *db, struct result *r)
{
	if (!check_pg(db, r))
		return 0;
	char err[256];
	double t0 = clock_ms();
	PGresult *res = pg_exec(db, &st_vector, NULL, err, sizeof err);
	double ms = r->ms + clock_ms() - t0;
	if (res == NULL)
		set(r, "failed", ms, "%s", err);
	else if (PQntuples(res) != 1)
		set(r, "failed", ms, "the vector extension (pgvector) is not installed in this database");
	else
		set(r, "ok", ms, "pgvector %s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 1;
}

/* One read URL: its description appended to detail; 0, or -1 when it does not answer. */
static int check_replica(const char *label, const char *url, int timeout, char *detail, size_t len)
{
	size_t n = strlen(detail);
	struct pg *db = pg_open(url, label, timeout);
	char err[256] = "out of memory";
	PGresult *r = db ? pg_exec(db, &st_replica, NULL, err, sizeof err) : NULL;
	if (r == NULL)
		snprintf(detail + n, len - n, "%s%s: %s", n ? "; " : "", label, err);
	else if (strcmp(PQgetvalue(r, 0, 0), "t") != 0)
		snprintf(detail + n, len - n, "%s%s: not in recovery (a primary)", n ? "; " : "", label);
	else
		snprintf(detail + n, len - n, "%s%s: a standby, %s bytes received and not replayed yet", n ? "; " : "",
			 label, PQgetisnull(r, 0, 1) ? "0" : PQgetvalue(r, 0, 1));
	int answered = r != NULL;
	PQclear(r);
	pg_close(db);
	return answered ? 0 : -1;
}

static void check_replicas(const struct config *cfg, int timeout, struct result *r)
{
	if (cfg->database_read_url == NULL && cfg->vector_database_read_url == NULL) {
		set(r, "skipped", -1, "no read URL is set");
		return;
	}
	char detail[sizeof r->detail] = "";
	int failed = 0;
	double t0 = clock_ms();
	if (cfg->database_read_url)
		failed |= check_replica("main", cfg->database_read_url, timeout, detail, sizeof detail) != 0;
	if (cfg->vector_database_read_url)
		failed |= check_replica("vector", cfg->vector_database_read_url, timeout, detail, sizeof detail) != 0;
	set(r, failed ? "failed" : "ok", clock_ms() - t0, "%s%s", detail,
	    failed ? " (responders read from the primary meanwhile)" : "");
}

static void check_redis(struct redis *rd, struct result *r)
{
	char err[256];
	double t0 = clock_ms();
	redisReply *rep = redis_command(rd, err, sizeof err, "PING");
	double ms = clock_ms() - t0;
	if (rep && rep->type == REDIS_REPLY_STATUS)
		set(r, "ok", ms, "PONG");
	else
		set(r, "failed", ms, "%s", rep && rep->str ? rep->str : err);
	freeReplyObject(rep);
}

static void check_migrations(const struct config *cfg, struct pg *db, int db_up, struct pg *vector, int vector_up,
			     struct result *r)
{
	if (!db_up || !vector_up) {
		set(r, "skipped", -1, "a database is unreachable");
		return;
	}
	struct { const char *label; struct pg *db; struct migrate_counts c; } sets[] = {
		{ "main", db, { 0 } }, { "vector", vector, { 0 } },
	};
	char dir[4096], err[256];
	double t0 = clock_ms();
	for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
		snprintf(dir, sizeof dir, "%s/%s", cfg->sql_dir, sets[i].label);
		if (migrate_count(sets[i].db, dir, &sets[i].c, err, sizeof err) != 0) {
			set(r, "failed", clock_ms() - t0, "%s: %s (run aigetctl migrate)", sets[i].label, err);
			return;
		}
	}
	const struct migrate_counts *m = &sets[0].c, *v = &sets[1].c;
	int bad = m->pending + m->changed + v->pending + v->changed > 0 || m->files == 0 || v->files == 0;
	set(r, bad ? "failed" : "ok", clock_ms() - t0,
	    "main %d of %d applied%s, vector %d of %d applied%s%s", m->applied, m->files,
	    m->changed ? " (some changed since)" : "", v->applied, v->files, v->changed ? " (some changed since)" : "",
	    bad ? ": run aigetctl migrate" : "");
}

/* The settings were validated by config_load(); this adds what it cannot
 * know, and with --embed (or the local provider, which costs nothing)
 * embeds one text to see the answer has the configured dimensions. */
static void check_embedding(const struct config *cfg, int probe, struct result *r)
{
	int openai = strcmp(cfg->embedding_provider, "openai") == 0;
	if (openai && strncmp(cfg->embedding_base_url, "http://", 7) != 0 &&
	    strncmp(cfg->embedding_base_url, "https://", 8) != 0) {
		set(r, "failed", -1, "EMBEDDING_BASE_URL must start with http:// or https://");
		return;
	}
	char what[300];
	snprintf(what, sizeof what, "%s, model %s, %lld dimensions", cfg->embedding_provider, cfg->embedding_model,
		 cfg->embedding_dims);
	if (openai && !probe) {
		set(r, "ok", -1, "%s (settings only; --embed calls %s)", what, cfg->embedding_base_url);
		return;
	}
	static const char *const texts[] = { "aigetctl check" };
	const size_t lens[] = { strlen(texts[0]) };
	float *v = calloc((size_t)cfg->embedding_dims, sizeof *v);
	char err[256];
	double t0 = clock_ms();
	enum embed_status s = v ? embed_texts(cfg, texts, lens, 1, v, err, sizeof err) : EMBED_FAILED;
	double ms = clock_ms() - t0;
	if (s == EMBED_OK)
		set(r, "ok", ms, "%s: embedded a test text", what);
	else
		set(r, "failed", ms, "%s: %s", what, v ? err : "out of memory");
	free(v);
}

static void print(const struct result *res, int json, const char *env_file)
{
	int failed = 0;
	for (int i = 0; i < C__MAX; i++)
		failed += strcmp(res[i].status, "failed") == 0;
	if (json) {
		struct json_object *o = json_object_new_object(), *checks = json_object_new_object();
		json_object_object_add(o, "status", json_object_new_string(failed ? "failed" : "ok"));
		json_object_object_add(o, "envFile", env_file ? json_object_new_string(env_file) : NULL);
		for (int i = 0; i < C__MAX; i++) {
			struct json_object *c = json_object_new_object();
			json_object_object_add(c, "status", json_object_new_string(res[i].status));
			/* Two decimals, as the health routes write them. */
			json_object_object_add(c, "latencyMs", res[i].ms >= 0
					       ? json_object_new_double(round(res[i].ms * 100.0) / 100.0) : NULL);
			json_object_object_add(c, "detail", json_object_new_string(res[i].detail));
			json_object_object_add(checks, names[i], c);
		}
		json_object_object_add(o, "checks", checks);
		ctl_print_json(o);
		json_object_put(o);
		return;
	}
	for (int i = 0; i < C__MAX; i++) {
		char ms[32] = "";
		if (res[i].ms >= 0)
			snprintf(ms, sizeof ms, "%.2f ms", res[i].ms);
		printf("%-10s  %-7s  %10s  %s\n", names[i], strcmp(res[i].status, "failed") == 0 ? "FAILED" : res[i].status,
		       ms, res[i].detail);
	}
	if (failed)
		printf("%d of %d checks failed\n", failed, C__MAX);
	else
		printf("all checks passed\n");
}

int check_command(const char *env_file, int argc, char **argv)
{
	int json = 0, probe = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--embed") == 0)
			probe = 1;
		else
			return ctl_usage(check_synopsis, "unexpected argument %s", argv[i]);
	}
	struct result res[C__MAX];
	for (int i = 0; i < C__MAX; i++)
		set(&res[i], "skipped", -1, "the configuration is invalid");
	struct config cfg;
	char err[512];
	if (config_load(&cfg, CONFIG_NEEDS_VECTOR, env_file, err, sizeof err) != 0) {
		set(&res[C_CONFIG], "failed", -1, "%s", err);
		print(res, json, env_file);
		config_free(&cfg);
		return EXIT_CONFIG;
	}
	log_init("aigetctl", cfg.log_level, cfg.log_targets);
	set(&res[C_CONFIG], "ok", -1, "%s", cfg.env_file ? cfg.env_file : "environment only");
	int timeout = cfg.pg_connect_timeout_s < CONNECT_TIMEOUT_S ? (int)cfg.pg_connect_timeout_s : CONNECT_TIMEOUT_S;
	struct pg *db = pg_open(cfg.database_url, "postgres", timeout);
	struct pg *vector = pg_open(cfg.vector_database_url, "vector", timeout);
	struct redis *rd = redis_open(cfg.redis_url, (int)cfg.redis_timeout_ms);
	if (db == NULL || vector == NULL || rd == NULL) {
		pg_close(db);
		pg_close(vector);
		redis_close(rd);
		config_free(&cfg);
		return ctl_fail("check", "out of memory");
	}
	int db_up = check_pg(db, &res[C_POSTGRES]);
	int vector_up = check_vector(vector, &res[C_VECTOR]);
	check_replicas(&cfg, timeout, &res[C_REPLICAS]);
	check_redis(rd, &res[C_REDIS]);
	check_migrations(&cfg, db, db_up, vector, vector_up, &res[C_MIGRATIONS]);
	check_embedding(&cfg, probe, &res[C_EMBEDDING]);
	print(res, json, cfg.env_file);
	int failed = 0;
	for (int i = 0; i < C__MAX; i++)
		failed |= strcmp(res[i].status, "failed") == 0;
	pg_close(db);
	pg_close(vector);
	redis_close(rd);
	config_free(&cfg);
	return failed ? CTL_FAILED : CTL_OK;
}
