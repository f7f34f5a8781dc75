/* config.c - unit tests of shared/config.c: env file, precedence, validation. */
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static const char *write_file(const char *text)
{
	static char path[64];
	strcpy(path, "/tmp/aiget-config-test.XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return path;
}

static void clear_env(void)
{
	const char *names[] = { "DATABASE_URL", "VECTOR_DATABASE_URL", "REDIS_URL", "LOG_LEVEL", "LOG_TARGET",
				"MAX_BODY_BYTES", "AIGET_ENV_FILE", "REDIS_TIMEOUT_MS", "DATABASE_READ_URL",
				"VECTOR_DATABASE_READ_URL" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unsetenv(names[i]);
}

int main(void)
{
	struct config cfg;
	char err[256];

	clear_env();
	ok(config_load(&cfg, 0, NULL, err, sizeof err) != 0, "missing DATABASE_URL is an error");
	is_str(err, "DATABASE_URL is required", "the error names the variable");

	const char *path = write_file(
		"# comment\n"
		"\n"
		"DATABASE_URL=postgresql://u:p@127.0.0.1:5432/db\n"
		"export REDIS_URL='redis://:secret@127.0.0.1:6379/0'\n"
		"LOG_LEVEL=\"debug\"\n"
		"MAX_BODY_BYTES=2048\n");
	ok(config_load(&cfg, 0, path, err, sizeof err) == 0, "a valid env file loads");
	is_str(cfg.database_url, "postgresql://u:p@127.0.0.1:5432/db", "plain value");
	is_str(cfg.redis_url, "redis://:secret@127.0.0.1:6379/0", "export and single quotes");
	is_int(cfg.log_level, LOG_LEVEL_DEBUG, "double quotes");
	is_int(cfg.max_body_bytes, 2048, "integer");
	is_int(cfg.redis_timeout_ms, 1000, "default applies");
	ok(cfg.vector_database_url == NULL, "optional URL stays unset");
	ok(cfg.database_read_url == NULL && cfg.vector_database_read_url == NULL, "no read replica unless named");
	config_free(&cfg);

	setenv("VECTOR_DATABASE_READ_URL", "postgresql://u:p@127.0.0.1:5433/vec", 1);
	ok(config_load(&cfg, 0, path, err, sizeof err) == 0 && cfg.vector_database_read_url &&
	   strcmp(cfg.vector_database_read_url, "postgresql://u:p@127.0.0.1:5433/vec") == 0, "a read URL is kept");
	config_free(&cfg);
	setenv("DATABASE_READ_URL", "mysql://x", 1);
	ok(config_load(&cfg, 0, path, err, sizeof err) != 0 && strncmp(err, "DATABASE_READ_URL:", 18) == 0,
	   "a read URL that is not postgresql:// is refused by name");
	unsetenv("DATABASE_READ_URL");
	unsetenv("VECTOR_DATABASE_READ_URL");

	ok(config_load(&cfg, CONFIG_NEEDS_VECTOR, path, err, sizeof err) != 0, "vector URL required when needed");
	is_str(err, "VECTOR_DATABASE_URL is required", "and named");

	setenv("LOG_LEVEL", "warn", 1);
	ok(config_load(&cfg, 0, path, err, sizeof err) == 0 && cfg.log_level == LOG_LEVEL_WARN,
	   "the environment wins over the file");
	config_free(&cfg);

	setenv("LOG_LEVEL", "verbose", 1);
	ok(config_load(&cfg, 0, path, err, sizeof err) != 0, "a bad level is refused");
	ok(strncmp(err, "LOG_LEVEL:", 10) == 0, "the error names LOG_LEVEL");
	unsetenv("LOG_LEVEL");

	setenv("MAX_BODY_BYTES", "12abc", 1);
	ok(config_load(&cfg, 0, path, err, sizeof err) != 0, "a non-number is refused");
	ok(strncmp(err, "MAX_BODY_BYTES:", 15) == 0, "the error names MAX_BODY_BYTES");
	setenv("MAX_BODY_BYTES", "99999999999999999999", 1);
	ok(config_load(&cfg, 0, path, err, sizeof err) != 0, "an overflowing number is refused");
	setenv("MAX_BODY_BYTES", "10", 1);
	ok(config_load(&cfg, 0, path, err, sizeof err) != 0, "a number below the minimum is refused");
	unsetenv("MAX_BODY_BYTES");

	setenv("REDIS_URL", "http://x", 1);
	ok(config_load(&cfg, 0, path, err, sizeof err) != 0 && strncmp(err, "REDIS_URL:", 10) == 0,
	   "a non-redis URL is refused by name");
	unsetenv("REDIS_URL");
	unlink(path);

	path = write_file("DATABASE_URL postgresql://x\n");
	ok(config_load(&cfg, 0, path, err, sizeof err) != 0, "a line without = is refused");
	ok(strstr(err, "line 1") != NULL, "with its line number");
	unlink(path);

	ok(config_load(&cfg, 0, "/nonexistent/aiget.env", err, sizeof err) != 0, "a missing env file is an error");
	ok(strncmp(err, "AIGET_ENV_FILE:", 15) == 0, "naming AIGET_ENV_FILE");
	return done_testing();
}
