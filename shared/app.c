/* app.c - configuration, connections and the prefork child's accept loop.
 *
 * Each child is single-threaded and blocks in libfcgi's accept on the socket
 * spawn-fcgi handed it as fd 0; multiwatch keeps N such children alive.
 * SIGTERM (or another of multiwatch's stop signals) is blocked while a request is in
 * flight, so the request finishes; it is unblocked only around accept, which
 * FCGI_FAIL_ACCEPT_ON_INTR lets the signal interrupt. */
#include "app.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "api_key.h"
#include "log.h"
#include "metrics.h"
#include "pg.h"
#include "redis.h"
#include "signing_keys.h"

/* AIGET_VERSION: build/<build>/version.h, which the GNUmakefile rewrites
 * when `git describe` changes, so that this object is rebuilt exactly then. */
#include "version.h"

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void app_context_init(struct app_context *ctx, const struct app *app, unsigned needs, const char *env_file)
{
	char err[512];
	memset(ctx, 0, sizeof *ctx);
	ctx->app = app;
	ctx->started = time(NULL);
	needs |= app->config_needs;
	if (app->deps & APP_DEP_VECTOR)
		needs |= CONFIG_NEEDS_VECTOR;
	if (config_load(&ctx->cfg, needs, env_file, err, sizeof err) != 0) {
		fprintf(stderr, "%s: configuration error: %s\n", app->area, err);
		exit(EXIT_CONFIG);
	}
	log_init(app->area, ctx->cfg.log_level, ctx->cfg.log_targets);
	int timeout = (int)ctx->cfg.pg_connect_timeout_s;
	ctx->db = pg_open(ctx->cfg.database_url, "postgres", timeout);
	/* Only the areas that use the vector database connect to it, even
	 * though the shared env file names it for all of them. */
	if (app->deps & APP_DEP_VECTOR)
		ctx->vector = pg_open(ctx->cfg.vector_database_url, "vector", timeout);
	ctx->redis = redis_open(ctx->cfg.redis_url, (int)ctx->cfg.redis_timeout_ms);
	if (ctx->redis == NULL) {
		fprintf(stderr, "%s: configuration error: REDIS_URL: not a valid redis:// or redis+sentinel:// URL\n", app->area);
		exit(EXIT_CONFIG);
	}
	if (ctx->db == NULL || ((app->deps & APP_DEP_VECTOR) && ctx->vector == NULL)) {
		fprintf(stderr, "%s: out of memory\n", app->area);
		exit(1);
	}
	long long limit = app->kind == APP_WORKER ? ctx->cfg.pg_worker_statement_timeout_ms
			: app->kind == APP_TOOL	  ? ctx->cfg.pg_tool_statement_timeout_ms
						  : ctx->cfg.pg_statement_timeout_ms;
	pg_set_statement_timeout(ctx->db, limit);
	if (ctx->vector)
		pg_set_statement_timeout(ctx->vector, limit);
	/* Read replicas serve responders only: a worker's and a tool's reads
	 * follow writes they must see (a job reads the memory it embeds). */
	if (app->kind == APP_RESPONDER && ctx->cfg.database_read_url)
		pg_set_replica(ctx->db, ctx->cfg.database_read_url);
	if (app->kind == APP_RESPONDER && ctx->vector && ctx->cfg.vector_database_read_url)
		pg_set_replica(ctx->vector, ctx->cfg.vector_database_read_url);
}

void app_context_free(struct app_context *ctx)
{
	pg_close(ctx->db);
	pg_close(ctx->vector);
	redis_close(ctx->redis);
	signing_keys_free(ctx->signing_keys);
	if (ctx->outbox_close)
		ctx->outbox_close(ctx->outbox);
	config_free(&ctx->cfg);
}

/* libfcgi closes a connection by shutting its side down and waiting, up to
 * 2 s, for nginx to close first, so that input left unread cannot turn the
 * close into a reset that loses the answer: a round trip through nginx's
 * event loop in every request, during which the child serves no one (keys
 * health: 6,250 -> 9,450 req/s without it).  Once the input has been read
 * to its end nothing more can come, and the request may close at once
 * (FCGX_Request.detached skips the wait).  What is left of a request
 * without a body, or whose body was read whole, is nginx's empty
 * end-of-input record, sent with the rest, so reading it does not wait; a
 * body left unread (refused early) keeps libfcgi's careful close. */
static int input_finished(const struct request *req)
{
	FCGX_Stream *in = req->fcgx->in;
	if (FCGX_HasSeenEOF(in) == EOF)
		return 1;
	const char *length = req->content_length;
	int bodyless = length == NULL || *length == '\0' || strcmp(length, "0") == 0;
	if (!bodyless && req->body == NULL)
		return 0;
	return FCGX_GetChar(in) == EOF;
}

/* glibc keeps what a process frees for its next allocations, so one
 * unusually large request would leave a child at its peak size for good.
 * Buffers above APP_MMAP_BYTES are mapped on their own and unmapped when
 * freed (a fixed threshold: glibc's default one rises after each large
 * free, so that the next 1 MiB body would come from the heap).  After a
 * request whose body was large enough to have cost much (only the
 * document routes take more than MAX_SMALL_BODY_BYTES), the heap is
 * trimmed back when more than APP_HEAP_SLACK_BYTES of it lies free: json-c
 * allocates many small objects, which no threshold maps.  Small requests,
 * nearly all of them, never pay for the check. */
#define APP_MMAP_BYTES (128 * 1024)
#define APP_TRIM_CHECK_BODY_BYTES 8192
#define APP_HEAP_SLACK_BYTES (1024 * 1024)

static void release_after(const struct request *req)
{
	if (req->body_len <= APP_TRIM_CHECK_BODY_BYTES)
		return;
	struct mallinfo2 mi = mallinfo2();
	if (mi.fordblks > APP_HEAP_SLACK_BYTES)
		malloc_trim(0);
}

static void usage(const struct app *app, FILE *f)
{
	fprintf(f,
		"usage: %s.fcgi [--env-file FILE] | --routes | --version\n"
		"\n"
		"The %s FastCGI responder.  Start it under spawn-fcgi (which hands it the\n"
		"listening socket as fd 0), normally through spawn/spawn-area %s.\n"
		"Configuration comes from the environment and the env file named by\n"
		"--env-file or AIGET_ENV_FILE.  Exit status 78 means invalid configuration.\n"
		"--routes prints the route table and exits: METHOD PATH FLAGS per line,\n"
		"FLAGS the route's preconditions (shared/router.h's names without ROUTE_,\n"
		"comma-separated; - for none).  The tests compare it with docs/openapi.yaml\n"
		"and read from it what each route needs.\n",
		app->area, app->area, app->area);
}

/* The names --routes prints for enum route_flags.  A flag missing here is
 * printed as a number rather than dropped, so that a test reading the
 * flags fails on it instead of taking the route for one without it. */
static const struct {
	unsigned flag;
	const char *name;
} route_flag_names[] = {
	{ ROUTE_JSON, "JSON" },
	{ ROUTE_USER, "USER" },
	{ ROUTE_ADMIN, "ADMIN" },
	{ ROUTE_JSON_OPTIONAL, "JSON_OPTIONAL" },
	{ ROUTE_APIKEY, "APIKEY" },
	{ ROUTE_SCOPE_READ, "SCOPE_READ" },
	{ ROUTE_SCOPE_WRITE, "SCOPE_WRITE" },
	{ ROUTE_LARGE_BODY, "LARGE_BODY" },
};

static void print_routes(const struct app *app)
{
	for (size_t r = 0; r < app->nroutes; r++) {
		unsigned left = app->routes[r].flags;
		const char *sep = "";
		printf("%s %s ", app->routes[r].method, app->routes[r].pattern);
		if (left == 0)
			fputs("-", stdout);
		for (size_t f = 0; f < sizeof route_flag_names / sizeof route_flag_names[0]; f++) {
			if (left & route_flag_names[f].flag) {
				printf("%s%s", sep, route_flag_names[f].name);
				sep = ",";
				left &= ~route_flag_names[f].flag;
			}
		}
		if (left)
			printf("%s0x%x", sep, left);
		putchar('\n');
	}
}

static void install_signals(sigset_t *stop_set)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal; /* no SA_RESTART: accept must return */
	sigemptyset(&sa.sa_mask);
	sigemptyset(stop_set);
	/* Every signal multiwatch may pass on for a graceful stop: its -s
	 * choices.  multiwatch 1.0.0 as packaged in Debian 12 was seen sending
	 * SIGQUIT when told -s TERM; QUIT is also nginx's graceful stop.  USR2
	 * is the reload: multiwatch forwards it without stopping itself, so
	 * each child finishes its request and exits, and multiwatch starts a
	 * fresh one (the binary and env file as they are now) on the listening
	 * socket it keeps open, where nginx's connections wait meanwhile. */
	int stops[] = { SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGHUP, SIGUSR2 };
	for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
		sigaction(stops[i], &sa, NULL);
		sigaddset(stop_set, stops[i]);
	}
	signal(SIGPIPE, SIG_IGN);
}

/* The tenant a request acted for, when known: its API key's, else the one
 * its path names. */
static const char *request_tenant(struct request *req)
{
	if (req->key != NULL && req->key->tenant_id[0] != '\0')
		return req->key->tenant_id;
	const char *t = request_param(req, "tenantId");
	return t != NULL ? t : "-";
}

/* One line per request: the request id is in every line's prefix; no body,
 * query string or credential is ever logged. */
static void log_access(struct request *req)
{
	log_info("%s %s %d %.2fms route=%s tenant=%s", req->method, req->path, req->status,
		 clock_ms() - req->started_ms, req->route ? req->route : "-", request_tenant(req));
}

int app_main(const struct app *app, int argc, char **argv)
{
	const char *env_file = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--env-file") == 0 && i + 1 < argc) {
			env_file = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(app, stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", app->area, AIGET_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--routes") == 0) {
			print_routes(app);
			return 0;
		} else {
			usage(app, stderr);
			return 64;
		}
	}

	mallopt(M_MMAP_THRESHOLD, APP_MMAP_BYTES);
	struct app_context ctx;
	app_context_init(&ctx, app, 0, env_file);

	sigset_t stop_set;
	install_signals(&stop_set);
	if (FCGX_Init() != 0 || FCGX_IsCGI()) {
		log_error("fd 0 is not a FastCGI listening socket: start me with spawn-fcgi");
		app_context_free(&ctx);
		return 1;
	}
	/* spawn-area names the file the area's children share; without it
	 * (a responder started by hand) each child counts for itself. */
	if (metrics_open(app->area, app->routes, app->nroutes, app->deps, getenv("AIGET_METRICS_FILE")) < 0) {
		log_error("out of memory for metrics");
		app_context_free(&ctx);
		return 1;
	}
	FCGX_Request fcgx;
	FCGX_InitRequest(&fcgx, 0, FCGI_FAIL_ACCEPT_ON_INTR);
	struct arena *arena = arena_create(16384);

	/* Connect now so the first request does not pay for it; failure is
	 * fine here, the next use retries and health reports it. */
	char err[256];
	pg_conn(ctx.db, err, sizeof err);
	if (ctx.vector)
		pg_conn(ctx.vector, err, sizeof err);
	if (app->init)
		app->init(&ctx);
	log_info("ready, pid %ld", (long)getpid());

	while (!stop_requested) {
		int rc = FCGX_Accept_r(&fcgx);
		sigprocmask(SIG_BLOCK, &stop_set, NULL);
		if (rc < 0) {
			if (stop_requested)
				break;
			log_error("accept failed (%d), exiting", rc);
			break;
		}
		struct request req;
		request_begin(&req, &fcgx, arena, &ctx);
		log_set_request_id(req.request_id);
		router_dispatch(&req, app->routes, app->nroutes);
		log_access(&req);
		metrics_observe(req.route, req.method, req.status, (clock_ms() - req.started_ms) / 1000.0);
		fcgx.detached = input_finished(&req);
		FCGX_Finish_r(&fcgx);
		fcgx.detached = 0;
		for (struct request_deferred *d = req.deferred; d; d = d->next)
			d->fn(&ctx, d->arg);
		arena_reset(arena);
		release_after(&req);
		log_set_request_id(NULL);
		/* A stop signal that came in during the request is delivered
		 * here, before the next accept, and ends the loop. */
		sigprocmask(SIG_UNBLOCK, &stop_set, NULL);
	}
	log_info("stopping");
	FCGX_Free(&fcgx, 0);
	arena_destroy(arena);
	metrics_close();
	app_context_free(&ctx);
	return 0;
}
