/* app.h - what every responder shares: its context and the accept loop.
 *
 * A responder's main() is a struct app (area name, route table, dependencies)
 * handed to app_main(), which reads the configuration, opens the process's
 * own connections, and runs the libfcgi blocking accept loop until SIGTERM.
 * Connections are made lazily on first use, so a responder starts even while
 * a database is down and reports it through its health route. */
#ifndef AIGET_APP_H
#define AIGET_APP_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "config.h"
#include "router.h"

enum app_deps {
	APP_DEP_POSTGRES = 1 << 0,
	APP_DEP_REDIS    = 1 << 1,
	APP_DEP_VECTOR   = 1 << 2,
};

/* What runs: it decides how long a statement may take. */
enum app_kind {
	APP_RESPONDER = 0,           /* PG_STATEMENT_TIMEOUT_MS: a client is waiting */
	APP_WORKER,                  /* PG_WORKER_STATEMENT_TIMEOUT_MS */
	APP_TOOL,                    /* PG_TOOL_STATEMENT_TIMEOUT_MS: migrations, re-embedding */
};

struct app {
	const char *area;            /* "auth", "keys", "tenants", "memox" */
	enum app_kind kind;
	const struct route *routes;
	size_t nroutes;
	unsigned deps;               /* enum app_deps */
	unsigned config_needs;       /* enum config_needs beyond what deps imply */
	/* Runs once the context is ready, before the first request. */
	void (*init)(struct app_context *ctx);
	/* Appends the area's own metrics to a scrape (memox: its queue);
	 * NULL when it has none. */
	void (*metrics)(struct app_context *ctx, FILE *out);
};

struct app_context {
	const struct app *app;
	struct config cfg;
	struct pg *db;               /* main database */
	struct pg *vector;           /* NULL unless APP_DEP_VECTOR */
	struct redis *redis;
	struct signing_keys *signing_keys; /* loaded on first use */
	struct outbox *outbox;       /* mail, opened by the areas that send it, */
	void (*outbox_close)(struct outbox *); /* which set this: the others never link mail (libcurl) */
	time_t started;
};

/* Exit codes shared by every binary (documented in docs/operations.md). */
enum { EXIT_CONFIG = 78 /* sysexits' EX_CONFIG */ };

/* Loads configuration and opens connections (lazily) for a binary.
 * Exits with EXIT_CONFIG and a message naming the variable when invalid. */
void app_context_init(struct app_context *ctx, const struct app *app, unsigned config_needs,
		      const char *env_file);
void app_context_free(struct app_context *ctx);

/* The responder's whole life: returns the process exit status. */
int app_main(const struct app *app, int argc, char **argv);


#endif
