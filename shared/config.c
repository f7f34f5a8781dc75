/* config.c - the table of configuration variables, their parsers and the env file.
 *
 * kcgi-style: one row per variable with its type, default and bounds; the
 * loader walks the table so that adding a variable is one line and every
 * variable gets the same validation and the same error message shape. */
#include "config.h"
#include "embed_local.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum var_type { VAR_STRING, VAR_URL_PG, VAR_URL_REDIS, VAR_URL_SMTP, VAR_INT, VAR_LOG_LEVEL, VAR_LOG_TARGET,
		VAR_TRANSPORT, VAR_SECRET };

struct var {
	const char *name;
	enum var_type type;
	size_t offset;          /* into struct config */
	const char *fallback;   /* NULL: no default */
	long long min, max;     /* VAR_INT only */
	unsigned required;      /* 1: always; or enum config_needs bits */
};

#define REQUIRED_ALWAYS 0x80000000u
#define OFF(f) offsetof(struct config, f)

static const struct var vars[] = {
	{ "DATABASE_URL",         VAR_URL_PG,     OFF(database_url),         NULL,      0, 0, REQUIRED_ALWAYS },
	{ "VECTOR_DATABASE_URL",  VAR_URL_PG,     OFF(vector_database_url),  NULL,      0, 0, CONFIG_NEEDS_VECTOR },
	{ "DATABASE_READ_URL",    VAR_URL_PG,     OFF(database_read_url),    NULL,      0, 0, 0 },
	{ "VECTOR_DATABASE_READ_URL", VAR_URL_PG, OFF(vector_database_read_url), NULL,  0, 0, 0 },
	{ "REDIS_URL",            VAR_URL_REDIS,  OFF(redis_url),            NULL,      0, 0, REQUIRED_ALWAYS },
	{ "LOG_LEVEL",            VAR_LOG_LEVEL,  OFF(log_level),            "info",    0, 0, 0 },
	{ "LOG_TARGET",           VAR_LOG_TARGET, OFF(log_targets),          "stderr",  0, 0, 0 },
	{ "MAX_BODY_BYTES",       VAR_INT,        OFF(max_body_bytes),       "1048576", 1024, 64LL << 20, 0 },
	{ "MAX_SMALL_BODY_BYTES", VAR_INT,        OFF(max_small_body_bytes), "8192",    1024, 1048576, 0 },
	{ "JSON_MAX_VALUES",      VAR_INT,        OFF(json_max_values),      "100000",  100, 10000000, 0 },
	{ "JSON_MAX_CONTAINERS",  VAR_INT,        OFF(json_max_containers),  "10000",   10, 1000000, 0 },
	{ "REDIS_TIMEOUT_MS",     VAR_INT,        OFF(redis_timeout_ms),     "1000",    10, 60000, 0 },
	{ "PG_CONNECT_TIMEOUT",   VAR_INT,        OFF(pg_connect_timeout_s), "2",       1, 60, 0 },
	{ "PG_STATEMENT_TIMEOUT_MS", VAR_INT,     OFF(pg_statement_timeout_ms), "5000", 100, 600000, 0 },
	{ "PG_WORKER_STATEMENT_TIMEOUT_MS", VAR_INT, OFF(pg_worker_statement_timeout_ms), "60000", 100, 86400000, 0 },
	{ "PG_TOOL_STATEMENT_TIMEOUT_MS", VAR_INT, OFF(pg_tool_statement_timeout_ms), "0", 0, 86400000, 0 },
	{ "SQL_DIR",              VAR_STRING,     OFF(sql_dir),              "sql",     0, 0, 0 },
	{ "WORKER_BLOCK_SECONDS", VAR_INT,        OFF(worker_block_seconds), "1",       1, 60, 0 },
	{ "MAIL_TRANSPORT",       VAR_TRANSPORT,  OFF(mail_transport),       "dir",     0, 0, 0 },
	{ "MAIL_DIR",             VAR_STRING,     OFF(mail_dir),             "var/mail", 0, 0, 0 },
	{ "MAIL_FROM",            VAR_STRING,     OFF(mail_from),            "Aiget <no-reply@aiget.dev>", 0, 0, 0 },
	{ "SMTP_URL",             VAR_URL_SMTP,   OFF(smtp_url),             NULL,      0, 0, 0 },
	{ "SMTP_USER",            VAR_STRING,     OFF(smtp_user),            NULL,      0, 0, 0 },
	{ "SMTP_PASSWORD",        VAR_SECRET,     OFF(smtp_password),        NULL,      0, 0, 0 },
	{ "SMTP_CA_FILE",         VAR_STRING,     OFF(smtp_ca_file),         NULL,      0, 0, 0 },
	{ "SMTP_REQUIRE_TLS",     VAR_INT,        OFF(smtp_require_tls),     "1",       0, 1, 0 },
	{ "SENDMAIL_COMMAND",     VAR_STRING,     OFF(sendmail_command),     "/usr/sbin/sendmail -t -i", 0, 0, 0 },
	{ "MAIL_TIMEOUT_MS",      VAR_INT,        OFF(mail_timeout_ms),      "5000",    100, 60000, 0 },
	{ "PUBLIC_BASE_URL",      VAR_STRING,     OFF(public_base_url),      "http://127.0.0.1:8080", 0, 0, 0 },
	{ "AUTH_JWT_ISSUER",      VAR_STRING,     OFF(auth_jwt_issuer),      "aiget",   0, 0, 0 },
	{ "AUTH_JWT_AUDIENCE",    VAR_STRING,     OFF(auth_jwt_audience),    "aiget-api", 0, 0, 0 },
	{ "AUTH_ACCESS_TTL_SECONDS",  VAR_INT,    OFF(auth_access_ttl_s),    "900",     60, 86400, 0 },
	{ "AUTH_REFRESH_TTL_SECONDS", VAR_INT,    OFF(auth_refresh_ttl_s),   "2592000", 3600, 31536000, 0 },
	{ "AUTH_REFRESH_GRACE_SECONDS", VAR_INT,  OFF(auth_refresh_grace_s), "20",      0, 60, 0 },
	{ "AUTH_SECRET",          VAR_SECRET,     OFF(auth_secret),          NULL,      32, 0, CONFIG_NEEDS_AUTH },
	{ "AUTH_OTP_DAILY_WRONG_MAX", VAR_INT,  OFF(auth_otp_daily_wrong_max), "20",    1, 10000, 0 },
	{ "AUTH_SCRYPT_N",        VAR_INT,        OFF(auth_scrypt_n),        "16384",   1024, 1048576, 0 },
	{ "AUTH_SCRYPT_R",        VAR_INT,        OFF(auth_scrypt_r),        "8",       1, 32, 0 },
	{ "AUTH_SCRYPT_P",        VAR_INT,        OFF(auth_scrypt_p),        "1",       1, 16, 0 },
	{ "ALLOWED_ORIGINS",      VAR_STRING,     OFF(allowed_origins),      "",        0, 0, 0 },
	{ "COOKIE_DOMAIN",        VAR_STRING,     OFF(cookie_domain),        NULL,      0, 0, 0 },
	{ "COOKIE_SECURE",        VAR_INT,        OFF(cookie_secure),        "1",       0, 1, 0 },
	{ "ADMIN_EMAIL",          VAR_STRING,     OFF(admin_email),          NULL,      0, 0, 0 },
	{ "ADMIN_PASSWORD",       VAR_SECRET,     OFF(admin_password),       NULL,      8, 0, 0 },
	{ "TENANT_DEFAULT_QPS",   VAR_INT,        OFF(tenant_default_qps),   "20",      1, 1000000, 0 },
	{ "TENANT_DEFAULT_BURST", VAR_INT,        OFF(tenant_default_burst), "40",      1, 1000000, 0 },
	{ "TENANT_DEFAULT_CONCURRENCY", VAR_INT,  OFF(tenant_default_concurrency), "10", 1, 100000, 0 },
	{ "TENANT_DEFAULT_MONTHLY_REQUESTS", VAR_INT, OFF(tenant_default_monthly), "1000000", 1, 1000000000000LL, 0 },
	{ "TENANT_DEFAULT_MAX_MEMORIES", VAR_INT, OFF(tenant_default_max_memories), "100000", 1, 1000000000000LL, 0 },
	{ "TENANT_CEILING_QPS",   VAR_INT,        OFF(tenant_ceiling_qps),   "200",     1, 1000000, 0 },
	{ "TENANT_CEILING_BURST", VAR_INT,        OFF(tenant_ceiling_burst), "400",     1, 1000000, 0 },
	{ "TENANT_CEILING_CONCURRENCY", VAR_INT,  OFF(tenant_ceiling_concurrency), "100", 1, 100000, 0 },
	{ "TENANT_CEILING_MONTHLY_REQUESTS", VAR_INT, OFF(tenant_ceiling_monthly), "10000000", 1, 1000000000000LL, 0 },
	{ "TENANT_CEILING_MAX_MEMORIES", VAR_INT, OFF(tenant_ceiling_max_memories), "1000000", 1, 1000000000000LL, 0 },
	{ "RATELIMIT_REDIS_DOWN", VAR_STRING,     OFF(ratelimit_redis_down), "allow",   0, 0, 0 },
	{ "KEYS_INTERNAL_TOKEN",  VAR_SECRET,     OFF(keys_internal_token),  NULL,      32, 0, 0 },
	{ "TENANT_INVITATION_HOURS", VAR_INT,     OFF(tenant_invitation_hours), "48",   1, 720, 0 },
	{ "TENANT_MAX_PER_USER",  VAR_INT,        OFF(tenant_max_per_user),  "20",      1, 100000, 0 },
	{ "EMBEDDING_PROVIDER",   VAR_STRING,     OFF(embedding_provider),   "local",   0, 0, 0 },
	{ "EMBEDDING_MODEL",      VAR_STRING,     OFF(embedding_model),      NULL,      0, 0, 0 },
	{ "EMBEDDING_DIMENSIONS", VAR_INT,        OFF(embedding_dims),       "384",     8, 4000, 0 },
	{ "EMBEDDING_BASE_URL",   VAR_STRING,     OFF(embedding_base_url),   "https://api.openai.com/v1", 0, 0, 0 },
	{ "EMBEDDING_API_KEY",    VAR_SECRET,     OFF(embedding_api_key),    NULL,      1, 0, 0 },
	{ "EMBEDDING_SEND_DIMENSIONS", VAR_INT,   OFF(embedding_send_dims),  "0",       0, 1, 0 },
	{ "EMBEDDING_BATCH_SIZE", VAR_INT,        OFF(embedding_batch_size), "64",      1, 2048, 0 },
	{ "EMBEDDING_TIMEOUT_MS", VAR_INT,        OFF(embedding_timeout_ms), "10000",   100, 600000, 0 },
	{ "EMBEDDING_CONNECT_TIMEOUT_MS", VAR_INT, OFF(embedding_connect_timeout_ms), "2000", 50, 60000, 0 },
	{ "EMBEDDING_MAX_RETRIES", VAR_INT,       OFF(embedding_max_retries), "2",      0, 10, 0 },
	{ "MEMOX_CONTENT_MAX_BYTES", VAR_INT,     OFF(memox_content_max),    "16384",   16, 1048576, 0 },
	{ "MEMOX_METADATA_MAX_BYTES", VAR_INT,    OFF(memox_metadata_max),   "8192",    2, 1048576, 0 },
	{ "MEMOX_METADATA_MAX_DEPTH", VAR_INT,    OFF(memox_metadata_depth), "4",       1, 32, 0 },
	{ "MEMOX_BATCH_MAX",      VAR_INT,        OFF(memox_batch_max),      "100",     1, 1000, 0 },
	{ "MEMOX_TOPK_MAX",       VAR_INT,        OFF(memox_topk_max),       "50",      1, 1000, 0 },
	{ "MEMOX_EXACT_SCAN_MAX", VAR_INT,        OFF(memox_exact_scan_max), "100000",  0, 100000000, 0 },
	{ "MEMOX_HNSW_EF_SEARCH", VAR_INT,        OFF(memox_ef_search),      "1000",    10, 1000, 0 },
	{ "MEMOX_RRF_K",          VAR_INT,        OFF(memox_rrf_k),          "60",      1, 1000, 0 },
	{ "MEMOX_QUERY_CACHE_SECONDS", VAR_INT,   OFF(memox_query_cache_s),  "3600",    0, 2592000, 0 },
	{ "MEMOX_IDEMPOTENCY_SECONDS", VAR_INT,   OFF(memox_idempotency_s),  "86400",   60, 2592000, 0 },
	{ "MEMOX_JOB_MAX_ATTEMPTS", VAR_INT,      OFF(memox_job_max_attempts), "20",    1, 100, 0 },
	{ "MEMOX_RETRY_BASE_MS",  VAR_INT,        OFF(memox_retry_base_ms),  "1000",    1, 3600000, 0 },
	{ "MEMOX_RETRY_MAX_MS",   VAR_INT,        OFF(memox_retry_max_ms),   "300000",  1, 86400000, 0 },
	{ "MEMOX_WORKER_HEARTBEAT_SECONDS", VAR_INT, OFF(memox_heartbeat_s), "15",      2, 3600, 0 },
	{ "MEMOX_PENDING_SWEEP_SECONDS", VAR_INT, OFF(memox_pending_sweep_s), "600",    5, 86400, 0 },
	{ "MEMOX_EXPIRY_SWEEP_SECONDS", VAR_INT,  OFF(memox_expiry_sweep_s), "30",      1, 60, 0 },
	{ "OAUTH_RETURN_URL",     VAR_STRING,     OFF(oauth_return_url),     NULL,      0, 0, 0 },
	{ "OAUTH_TIMEOUT_MS",     VAR_INT,        OFF(oauth_timeout_ms),     "5000",    100, 60000, 0 },
	{ "GOOGLE_CLIENT_IDS",    VAR_STRING,     OFF(google.client_ids),    NULL,      0, 0, 0 },
	{ "GOOGLE_CLIENT_SECRET", VAR_SECRET,     OFF(google.client_secret), NULL,      1, 0, 0 },
	{ "GOOGLE_REDIRECT_URI",  VAR_STRING,     OFF(google.redirect_uri),  NULL,      0, 0, 0 },
	{ "GOOGLE_ISSUER",        VAR_STRING,     OFF(google.issuer),        "https://accounts.google.com", 0, 0, 0 },
	{ "GOOGLE_AUTHORIZATION_URL", VAR_STRING, OFF(google.authorization_url), "https://accounts.google.com/o/oauth2/v2/auth", 0, 0, 0 },
	{ "GOOGLE_TOKEN_URL",     VAR_STRING,     OFF(google.token_url),     "https://oauth2.googleapis.com/token", 0, 0, 0 },
	{ "GOOGLE_JWKS_URL",      VAR_STRING,     OFF(google.jwks_url),      "https://www.googleapis.com/oauth2/v3/certs", 0, 0, 0 },
	{ "APPLE_CLIENT_IDS",     VAR_STRING,     OFF(apple.client_ids),     NULL,      0, 0, 0 },
	{ "APPLE_TEAM_ID",        VAR_STRING,     OFF(apple.team_id),        NULL,      0, 0, 0 },
	{ "APPLE_KEY_ID",         VAR_STRING,     OFF(apple.key_id),         NULL,      0, 0, 0 },
	{ "APPLE_PRIVATE_KEY_FILE", VAR_STRING,   OFF(apple.private_key_file), NULL,    0, 0, 0 },
	{ "APPLE_REDIRECT_URI",   VAR_STRING,     OFF(apple.redirect_uri),   NULL,      0, 0, 0 },
	{ "APPLE_ISSUER",         VAR_STRING,     OFF(apple.issuer),         "https://appleid.apple.com", 0, 0, 0 },
	{ "APPLE_AUTHORIZATION_URL", VAR_STRING,  OFF(apple.authorization_url), "https://appleid.apple.com/auth/authorize", 0, 0, 0 },
	{ "APPLE_TOKEN_URL",      VAR_STRING,     OFF(apple.token_url),      "https://appleid.apple.com/auth/token", 0, 0, 0 },
	{ "APPLE_JWKS_URL",       VAR_STRING,     OFF(apple.jwks_url),       "https://appleid.apple.com/auth/keys", 0, 0, 0 },
};

/* ---------------------------------------------------------------- env file */

struct file_var {
	char *name, *value;
};

static struct file_var *file_vars;
static size_t file_nvars;

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/* Accepts KEY=VALUE, `export KEY=VALUE`, comments and blank lines, and one
 * level of matching single or double quotes around the value, which is what
 * both systemd's EnvironmentFile= and a shell `. file` understand. */
static int parse_env_line(char *line, char **name, char **value)
{
	char *s = trim(line);
	if (*s == '\0' || *s == '#')
		return 0;
	if (strncmp(s, "export ", 7) == 0)
		s = trim(s + 7);
	char *eq = strchr(s, '=');
	if (eq == NULL || eq == s)
		return -1;
	*eq = '\0';
	char *k = trim(s), *v = trim(eq + 1);
	for (char *p = k; *p; p++)
		if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (p > k && *p >= '0' && *p <= '9')))
			return -1;
	size_t n = strlen(v);
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v[n - 1] = '\0';
		v++;
	}
	*name = k;
	*value = v;
	return 1;
}

static void forget_env_file(void)
{
	for (size_t i = 0; i < file_nvars; i++) {
		free(file_vars[i].name);
		free(file_vars[i].value);
	}
	free(file_vars);
	file_vars = NULL;
	file_nvars = 0;
}

static int read_env_file(const char *path, char *err, size_t errlen)
{
	forget_env_file();
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "AIGET_ENV_FILE: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	char line[8192];
	int lineno = 0;
	while (fgets(line, sizeof line, f)) {
		char *name, *value;
		lineno++;
		int r = parse_env_line(line, &name, &value);
		if (r < 0) {
			snprintf(err, errlen, "AIGET_ENV_FILE: %s line %d is not KEY=VALUE", path, lineno);
			fclose(f);
			return -1;
		}
		if (r == 0)
			continue;
		struct file_var *grown = realloc(file_vars, (file_nvars + 1) * sizeof *grown);
		if (grown == NULL) {
			fclose(f);
			snprintf(err, errlen, "AIGET_ENV_FILE: out of memory");
			return -1;
		}
		file_vars = grown;
		file_vars[file_nvars].name = strdup(name);
		file_vars[file_nvars].value = strdup(value);
		file_nvars++;
	}
	fclose(f);
	return 0;
}

const char *config_get(const char *name)
{
	const char *v = getenv(name);
	if (v != NULL)
		return v;
	/* The last assignment in the file wins, as in a shell. */
	for (size_t i = file_nvars; i-- > 0;)
		if (strcmp(file_vars[i].name, name) == 0)
			return file_vars[i].value;
	return NULL;
}

/* ------------------------------------------------------------- validation */

static int parse_int(const char *s, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int parse_var(const struct var *v, const char *value, struct config *cfg, char *err, size_t errlen)
{
	void *field = (char *)cfg + v->offset;
	switch (v->type) {
	case VAR_URL_PG:
		if (!starts_with(value, "postgresql://") && !starts_with(value, "postgres://")) {
			snprintf(err, errlen, "%s: expected a postgresql:// URL", v->name);
			return -1;
		}
		*(char **)field = strdup(value);
		return 0;
	case VAR_URL_REDIS:
		if (!starts_with(value, "redis://") && !starts_with(value, "redis+sentinel://")) {
			snprintf(err, errlen, "%s: expected a redis:// or redis+sentinel:// URL", v->name);
			return -1;
		}
		*(char **)field = strdup(value);
		return 0;
	case VAR_URL_SMTP: {
		const char *rest = starts_with(value, "smtp://") ? value + 7 : starts_with(value, "smtps://") ? value + 8 : NULL;
		if (rest == NULL) {
			snprintf(err, errlen, "%s: expected an smtp:// or smtps:// URL", v->name);
			return -1;
		}
		/* Not echoing the URL: it would print the password. */
		if (memchr(rest, '@', strcspn(rest, "/?#")) != NULL) {
			snprintf(err, errlen, "%s: put credentials in SMTP_USER and SMTP_PASSWORD, not in the URL", v->name);
			return -1;
		}
		*(char **)field = strdup(value);
		return 0;
	}
	case VAR_TRANSPORT:
		if (strcmp(value, "dir") != 0 && strcmp(value, "smtp") != 0 && strcmp(value, "sendmail") != 0) {
			snprintf(err, errlen, "%s: expected one of dir, smtp, sendmail", v->name);
			return -1;
		}
		*(char **)field = strdup(value);
		return 0;
	case VAR_STRING:
		*(char **)field = strdup(value);
		return 0;
	case VAR_SECRET:
		if ((long long)strlen(value) < v->min) {
			snprintf(err, errlen, "%s: must be at least %lld characters", v->name, v->min);
			return -1;
		}
		*(char **)field = strdup(value);
		return 0;
	case VAR_INT: {
		long long n;
		if (parse_int(value, &n) != 0 || n < v->min || n > v->max) {
			snprintf(err, errlen, "%s: expected an integer from %lld to %lld", v->name, v->min, v->max);
			return -1;
		}
		*(long long *)field = n;
		return 0;
	}
	case VAR_LOG_LEVEL:
		if (log_level_parse(value, field) != 0) {
			snprintf(err, errlen, "%s: expected one of debug, info, warn, error", v->name);
			return -1;
		}
		return 0;
	case VAR_LOG_TARGET: {
		int t = strcmp(value, "stderr") == 0 ? LOG_TO_STDERR
		      : strcmp(value, "syslog") == 0 ? LOG_TO_SYSLOG
		      : strcmp(value, "both") == 0   ? LOG_TO_STDERR | LOG_TO_SYSLOG : 0;
		if (t == 0) {
			snprintf(err, errlen, "%s: expected one of stderr, syslog, both", v->name);
			return -1;
		}
		*(int *)field = t;
		return 0;
	}
	}
	return -1;
}

static int is_string_type(enum var_type t)
{
	return t == VAR_STRING || t == VAR_URL_PG || t == VAR_URL_REDIS || t == VAR_URL_SMTP ||
	       t == VAR_TRANSPORT || t == VAR_SECRET;
}

/* The embedding provider and its model: a model name is stored with every
 * vector and goes into index names, so it is kept to a safe alphabet. */
static int check_embedding(struct config *cfg, char *err, size_t errlen)
{
	if (strcmp(cfg->embedding_provider, "local") != 0 && strcmp(cfg->embedding_provider, "openai") != 0) {
		snprintf(err, errlen, "EMBEDDING_PROVIDER: expected local or openai");
		return -1;
	}
	if (strcmp(cfg->embedding_provider, "local") == 0) {
		/* The built-in embedder has one model and one size; another is a typo. */
		if (cfg->embedding_model == NULL && (cfg->embedding_model = strdup(EMBED_LOCAL_MODEL)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (strcmp(cfg->embedding_model, EMBED_LOCAL_MODEL) != 0 || cfg->embedding_dims != EMBED_LOCAL_DIMS) {
			snprintf(err, errlen, "EMBEDDING_MODEL/EMBEDDING_DIMENSIONS: the local provider is "
				 EMBED_LOCAL_MODEL " with %d dimensions", EMBED_LOCAL_DIMS);
			return -1;
		}
	} else if (cfg->embedding_model == NULL) {
		snprintf(err, errlen, "EMBEDDING_MODEL is required when EMBEDDING_PROVIDER=openai");
		return -1;
	}
	size_t n = strlen(cfg->embedding_model);
	if (n == 0 || n > 128 || strspn(cfg->embedding_model, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					  "0123456789._:/-") != n) {
		snprintf(err, errlen, "EMBEDDING_MODEL: 1-128 of A-Z a-z 0-9 . _ : / -");
		return -1;
	}
	if (cfg->memox_retry_max_ms < cfg->memox_retry_base_ms) {
		snprintf(err, errlen, "MEMOX_RETRY_MAX_MS must be at least MEMOX_RETRY_BASE_MS");
		return -1;
	}
	return 0;
}

/* A default above its ceiling would be a limit that owners of a tenant
 * following the default could lower but never return to. */
static int check_ceilings(const struct config *cfg, char *err, size_t errlen)
{
	static const struct {
		const char *suffix;
		size_t def, ceiling;
	} pairs[] = {
		{ "QPS", OFF(tenant_default_qps), OFF(tenant_ceiling_qps) },
		{ "BURST", OFF(tenant_default_burst), OFF(tenant_ceiling_burst) },
		{ "CONCURRENCY", OFF(tenant_default_concurrency), OFF(tenant_ceiling_concurrency) },
		{ "MONTHLY_REQUESTS", OFF(tenant_default_monthly), OFF(tenant_ceiling_monthly) },
		{ "MAX_MEMORIES", OFF(tenant_default_max_memories), OFF(tenant_ceiling_max_memories) },
	};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
		if (*(const long long *)((const char *)cfg + pairs[i].ceiling) <
		    *(const long long *)((const char *)cfg + pairs[i].def)) {
			snprintf(err, errlen, "TENANT_CEILING_%s must be at least TENANT_DEFAULT_%s", pairs[i].suffix,
				 pairs[i].suffix);
			return -1;
		}
	return 0;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		if (is_string_type(vars[i].type)) {
			char **field = (char **)((char *)cfg + vars[i].offset);
			if (*field && vars[i].type == VAR_SECRET)
				explicit_bzero(*field, strlen(*field));
			free(*field);
			*field = NULL;
		}
}

int config_load(struct config *cfg, unsigned needs, const char *env_file, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	forget_env_file();
	if (env_file == NULL || *env_file == '\0')
		env_file = getenv("AIGET_ENV_FILE");
	if (env_file != NULL && *env_file != '\0') {
		if (read_env_file(env_file, err, errlen) != 0)
			return -1;
		cfg->env_file = env_file;
	}
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		const struct var *v = &vars[i];
		const char *value = config_get(v->name);
		if (value != NULL && *value == '\0')
			value = NULL;
		if (value == NULL) {
			if (v->required == REQUIRED_ALWAYS || (v->required & needs)) {
				snprintf(err, errlen, "%s is required", v->name);
				config_free(cfg);
				return -1;
			}
			value = v->fallback;
		}
		if (value != NULL && parse_var(v, value, cfg, err, errlen) != 0) {
			config_free(cfg);
			return -1;
		}
	}
	/* What the table cannot say: a dependency between rows, a choice of two. */
	if (strcmp(cfg->mail_transport, "smtp") == 0 && cfg->smtp_url == NULL) {
		snprintf(err, errlen, "SMTP_URL is required when MAIL_TRANSPORT=smtp");
		config_free(cfg);
		return -1;
	}
	if (strcmp(cfg->ratelimit_redis_down, "allow") != 0 && strcmp(cfg->ratelimit_redis_down, "deny") != 0) {
		snprintf(err, errlen, "RATELIMIT_REDIS_DOWN: expected allow or deny");
		config_free(cfg);
		return -1;
	}
	if (check_embedding(cfg, err, errlen) != 0 || check_ceilings(cfg, err, errlen) != 0) {
		config_free(cfg);
		return -1;
	}
	return 0;
}
