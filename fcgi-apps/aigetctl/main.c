/* aigetctl - the operators' command: one binary, one table of subcommands.
 *
 * Configuration is found the way every binary finds it (environment, then
 * --env-file or AIGET_ENV_FILE); run from a checkout while `make run` or
 * `make start` is up, it falls back to that stack's ./var/aiget.env. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "auth_keys.h"
#include "memox.h"
#include "migrate.h"

struct command {
	const char *name;
	int (*run)(struct app_context *ctx, int argc, char **argv);
	const char *synopsis;
	const char *help;
};

static const struct command commands[] = {
	{ "migrate", migrate_command, "migrate [--status]",
	  "Applies the numbered SQL files under SQL_DIR/main to DATABASE_URL and\n"
	  "SQL_DIR/vector to VECTOR_DATABASE_URL, each in a transaction, recording\n"
	  "them in schema_migrations; an advisory lock keeps two runs from racing.\n"
	  "--status lists applied and pending files without applying any.\n"
	  "Exit status: 0 done, 1 a migration failed or an applied file changed,\n"
	  "64 usage, 78 invalid configuration.\n" },
	{ "auth", auth_command, "auth rotate-signing-key",
	  "Makes a new ES256 signing key the current one for access tokens.  The\n"
	  "previous key stays published in /api/v1/auth/jwks so that tokens it\n"
	  "signed verify until they expire; older keys are retired.  The new key\n"
	  "signs only once it is KEYRING_ACTIVATE_S (10 s) old, so that every\n"
	  "responder knows it first.  Rotate at most once per access-token\n"
	  "lifetime (AUTH_ACCESS_TTL_SECONDS) plus a minute.\n"
	  "Exit status: 0 done, 1 database error, 64 usage, 78 invalid configuration.\n" },
	{ "memox", memox_command, "memox queue|requeue-dead|reembed|drop-model MODEL [--json]",
	  "queue: the memox job queue at a glance: jobs queued (and how long the\n"
	  "next one has waited), jobs in each worker's processing list (a worker\n"
	  "without heartbeat is dead; the reaper returns its jobs), jobs delayed\n"
	  "for a retry (and when the next is due), dead-lettered jobs.\n"
	  "requeue-dead: returns every dead-lettered job to the queue with its\n"
	  "attempts reset; the memory of an embed job becomes 'pending' again if it\n"
	  "is still 'failed' at that version.  Run it once the cause is mended.\n"
	  "reembed: embeds every ready memory with the model of this command's\n"
	  "EMBEDDING_* settings (set them in the environment to name a new model)\n"
	  "beside the vectors in use, and makes the model's HNSW index; search\n"
	  "keeps answering from the configured model meanwhile.  Idempotent: run it\n"
	  "again after switching to catch memories written in between.\n"
	  "drop-model MODEL: deletes an old model's vectors and its index.\n"
	  "--json prints one JSON object instead of text.\n"
	  "Exit status: 0 done, 1 Redis or database error, 64 usage,\n"
	  "78 invalid configuration.\n" },
};

static const struct app ctl_app = {
	.area = "aigetctl", .deps = APP_DEP_POSTGRES | APP_DEP_REDIS | APP_DEP_VECTOR,
};

static void usage(FILE *f)
{
	fputs("usage: aigetctl [--env-file FILE] COMMAND [ARGS]\n\ncommands:\n", f);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %s\n", commands[i].synopsis);
	fputs("\n`aigetctl COMMAND --help` describes one command.\n", f);
}

int main(int argc, char **argv)
{
	const char *env_file = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--env-file") == 0 && i + 1 < argc) {
			env_file = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 64;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 64;
	}
	const struct command *cmd = NULL;
	for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
		if (strcmp(commands[c].name, argv[i]) == 0)
			cmd = &commands[c];
	if (cmd == NULL) {
		fprintf(stderr, "aigetctl: unknown command %s\n", argv[i]);
		usage(stderr);
		return 64;
	}
	if (i + 1 < argc && (strcmp(argv[i + 1], "--help") == 0 || strcmp(argv[i + 1], "-h") == 0)) {
		printf("usage: aigetctl %s\n\n%s", cmd->synopsis, cmd->help);
		return 0;
	}
	if (env_file == NULL && getenv("AIGET_ENV_FILE") == NULL && access("var/aiget.env", R_OK) == 0)
		env_file = "var/aiget.env";

	struct app_context ctx;
	app_context_init(&ctx, &ctl_app, CONFIG_NEEDS_VECTOR, env_file);
	int rc = cmd->run(&ctx, argc - i, argv + i);
	app_context_free(&ctx);
	return rc;
}
