/* aigetctl - the operators' command: one binary, one table of subcommands.
 *
 * Configuration is found the way every binary finds it (environment, then
 * --env-file or AIGET_ENV_FILE); run from a checkout while `make run` or
 * `make start` is up, it falls back to that stack's ./var/aiget.env, and
 * elsewhere to the installed /etc/aiget/aiget.env (what the units read).
 *
 * A command runs with the app context (configuration loaded, connections
 * opened lazily) unless it declares run_bare: `check` loads the
 * configuration itself, so that an invalid one is a reported check rather
 * than an exit before it runs.  `aigetctl COMMAND ... --help` prints the
 * command's synopsis and help wherever --help stands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "app.h"
#include "auth_keys.h"
#include "check.h"
#include "ctl.h"
#include "key.h"
#include "memox.h"
#include "reembed.h"
#include "migrate.h"
#include "tenant.h"

/* Where the systemd units read the configuration from. */
#define INSTALLED_ENV_FILE "/etc/aiget/aiget.env"

struct command {
	const char *name;
	int (*run)(struct app_context *ctx, int argc, char **argv);  /* with the app context */
	int (*run_bare)(const char *env_file, int argc, char **argv); /* or without: makes its own */
	const char *synopsis;                                         /* lines without "aigetctl " */
	const char *help;
};

#define EXITS "Exit status: 0 done, 1 runtime or database error (also: no such id),\n" \
	"64 usage, 78 invalid configuration.\n"

static const struct command commands[] = {
	{ "migrate", migrate_command, NULL, "migrate [--status]",
	  "Applies the numbered SQL files under SQL_DIR/main to DATABASE_URL and\n"
	  "SQL_DIR/vector to VECTOR_DATABASE_URL, each in a transaction, recording\n"
	  "them in schema_migrations; an advisory lock keeps two runs from racing.\n"
	  "--status lists applied and pending files without applying any.\n"
	  "Then it makes the first signing key, and the admin of ADMIN_EMAIL: a new\n"
	  "account with ADMIN_PASSWORD, or the existing one promoted (and given\n"
	  "ADMIN_PASSWORD when set).  An existing account whose address is not\n"
	  "verified is first claimed, which ends its password and every session,\n"
	  "and only with ADMIN_PASSWORD set: without it, exit 1.\n"
	  "Exit status: 0 done, 1 a migration failed, an applied file changed or\n"
	  "the admin could not be made, 64 usage, 78 invalid configuration.\n" },
	{ "auth", auth_command, NULL, "auth rotate-signing-key",
	  "Makes a new ES256 signing key the current one for access tokens.  The\n"
	  "previous key stays published in /api/v1/auth/jwks so that tokens it\n"
	  "signed verify until they expire; older keys are retired.  The new key\n"
	  "signs only once it is SIGNING_KEYS_ACTIVATE_S (10 s) old, so that every\n"
	  "responder knows it first.  Rotate at most once per access-token\n"
	  "lifetime (AUTH_ACCESS_TTL_SECONDS) plus a minute.\n"
	  "Exit status: 0 done, 1 database error, 64 usage, 78 invalid configuration.\n" },
	{ "memox", memox_command, NULL,
	  "memox queue|requeue-dead|drop-model MODEL [--json]\n"
	  "memox reembed [--provider P] [--model M] [--dimensions D] [--base-url U] [--json]",
	  "queue: the memox job queue at a glance: jobs queued (and how long the\n"
	  "next one has waited), jobs in each worker's processing list (a worker\n"
	  "without heartbeat is dead; the reaper returns its jobs), jobs delayed\n"
	  "for a retry (and when the next is due), dead-lettered jobs.\n"
	  "requeue-dead: returns every dead-lettered job to the queue with its\n"
	  "attempts reset; the memory of an embed job becomes 'pending' again if it\n"
	  "is still 'failed' at that version.  Run it once the cause is mended.\n"
	  "reembed: embeds every ready memory with the model of this command's\n"
	  "EMBEDDING_* settings; --provider, --model, --dimensions and --base-url\n"
	  "set those four for this run (the API key comes from EMBEDDING_API_KEY)\n"
	  "beside the vectors in use, and makes the model's HNSW index; search\n"
	  "keeps answering from the configured model meanwhile.  Idempotent: run it\n"
	  "again after switching to catch memories written in between.\n"
	  "drop-model MODEL: deletes an old model's vectors and its index.\n"
	  "--json prints one JSON object instead of text.\n"
	  "Exit status: 0 done, 1 Redis or database error, 64 usage,\n"
	  "78 invalid configuration.\n" },
	{ "admin", admin_command, NULL, admin_synopsis,
	  "create EMAIL: a new account with the admin role (email already verified).\n"
	  "An existing account is left alone (exit 1): reset its password instead.\n"
	  "reset-password EMAIL: a new password for any account, admin or not; every\n"
	  "session of the account ends and its access tokens stop at once.\n"
	  "promote EMAIL: the existing account gets the admin role, only when its\n"
	  "address is verified (else exit 1: it may belong to whoever registered it).\n"
	  "demote EMAIL: back to the user role; the admin routes refuse the account's\n"
	  "access tokens from the next request (the role is read from the database).\n"
	  "--password-stdin reads the password from the first line of stdin (never\n"
	  "give it as an argument: other users can read those); without it a strong\n"
	  "password (32 characters, 192 random bits) is generated and printed once.\n"
	  "The password follows the sign-up policy (8 to 128 bytes, not a common\n"
	  "one), is hashed with AUTH_SCRYPT_* as the auth area hashes it, and is\n"
	  "never logged.  Each writes an auth_audit row marked \"by\": \"aigetctl\".\n"
	  "--json prints one JSON object instead of text.\n"
	  EXITS },
	{ "tenant", tenant_command, NULL, tenant_synopsis,
	  "create NAME --owner EMAIL: a tenant owned by an existing account whose\n"
	  "address is verified.\n"
	  "list: every tenant (or those with --status), with members and owners.\n"
	  "suspend ID: the tenant's keys are refused (403 forbidden) within a second,\n"
	  "everywhere; members still manage the tenant.  resume ID: they work again.\n"
	  "Asking for the state the tenant is in already changes nothing.\n"
	  "limits ID: shows the tenant's limits and whether each is its own or the\n"
	  "configured default (TENANT_DEFAULT_*); with options, sets the ones named\n"
	  "(\"default\" returns one to the default).  Keys use new limits within a second.\n"
	  "Changes are audited in the tenant's log (actor none, \"by\": \"aigetctl\");\n"
	  "a deleted tenant cannot be changed (exit 1).\n"
	  "--json prints one JSON object instead of text.\n"
	  EXITS },
	{ "key", key_command, NULL, key_synopsis,
	  "create TENANT_ID --name NAME: a new API key; --scope (memox:read,\n"
	  "memox:write; repeat it) narrows it (default both), --expires-in-days ends\n"
	  "it.  The secret (agk_...) is printed this once and only its SHA-256 kept.\n"
	  "list TENANT_ID: the tenant's keys (not deleted ones), without secrets.\n"
	  "disable, enable, delete KEY_ID: as the API's; a disabled or deleted key is\n"
	  "refused everywhere within a second.\n"
	  "rotate KEY_ID: a new secret under a new key id, printed once; the old one\n"
	  "stops at once, or --overlap-seconds S later (at most 86400).\n"
	  "Changes are audited in the tenant's log (\"by\": \"aigetctl\").\n"
	  "--json prints one JSON object instead of text.\n"
	  EXITS },
	{ "check", NULL, check_command, check_synopsis,
	  "Checks the configuration and each dependency, with its latency: the main\n"
	  "PostgreSQL, the vector PostgreSQL and its vector extension, the read\n"
	  "replicas when a read URL is set (in recovery, and how far replay is\n"
	  "behind what they received), Redis, the migrations (every file under\n"
	  "SQL_DIR applied, none changed since), and the embedding settings (the\n"
	  "local provider embeds a test text; --embed makes one call to an openai\n"
	  "provider too).  Connections time out after\n"
	  "PG_CONNECT_TIMEOUT (at most 3 s) and REDIS_TIMEOUT_MS.\n"
	  "--json prints one JSON object instead of text.\n"
	  "Exit status: 0 all healthy, 1 a check failed, 64 usage,\n"
	  "78 invalid configuration.\n" },
};

static const struct app ctl_app = {
	.area = "aigetctl", .kind = APP_TOOL, .deps = APP_DEP_POSTGRES | APP_DEP_REDIS | APP_DEP_VECTOR,
};

/* Prints a synopsis' lines, the first after first, the others after rest. */
static void synopsis_lines(FILE *f, const char *synopsis, const char *first, const char *rest)
{
	for (const char *line = synopsis, *lead = first; *line; lead = rest) {
		size_t n = strcspn(line, "\n");
		fprintf(f, "%s%.*s\n", lead, (int)n, line);
		line += n + (line[n] == '\n');
	}
}

static void usage(FILE *f)
{
	fputs("usage: aigetctl [--env-file FILE] COMMAND [ARGS]\n\ncommands:\n", f);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		synopsis_lines(f, commands[i].synopsis, "  ", "  ");
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
	for (int h = i + 1; h < argc; h++)
		if (strcmp(argv[h], "--help") == 0 || strcmp(argv[h], "-h") == 0) {
			synopsis_lines(stdout, cmd->synopsis, "usage: aigetctl ", "       aigetctl ");
			printf("\n%s", cmd->help);
			return 0;
		}
	if (env_file == NULL && getenv("AIGET_ENV_FILE") == NULL) {
		if (access("var/aiget.env", R_OK) == 0)
			env_file = "var/aiget.env";
		else if (access(INSTALLED_ENV_FILE, R_OK) == 0)
			env_file = INSTALLED_ENV_FILE;
	}
	if (cmd->run_bare)
		return cmd->run_bare(env_file, argc - i, argv + i);

	int n = argc - i;
	if (strcmp(cmd->name, "memox") == 0 && n >= 2 && strcmp(argv[i + 1], "reembed") == 0 &&
	    reembed_options(&n, argv + i) != 0)
		return 64;

	struct app_context ctx;
	app_context_init(&ctx, &ctl_app, CONFIG_NEEDS_VECTOR, env_file);
	int rc = cmd->run(&ctx, n, argv + i);
	app_context_free(&ctx);
	return rc;
}
