/* config.h - process configuration from the environment plus one optional env file.
 *
 * The env file is the same KEY=VALUE file the spawn scripts and systemd units
 * read (AIGET_ENV_FILE, or --env-file for aigetctl).  A variable set in the
 * process environment wins over the file, so a one-off override such as
 * `LOG_LEVEL=debug aigetctl check` works.  Every variable is described once in
 * the table in config.c; an invalid value is an error naming the variable. */
#ifndef AIGET_CONFIG_H
#define AIGET_CONFIG_H

#include <stddef.h>

#include "log.h"

/* What a binary needs beyond the variables every binary needs. */
enum config_needs {
	CONFIG_NEEDS_VECTOR = 1 << 0, /* VECTOR_DATABASE_URL required */
	CONFIG_NEEDS_AUTH   = 1 << 1, /* AUTH_SECRET required */
};

/* One OpenID provider for sign-in (Google, Apple). */
struct config_provider {
	char *client_ids;              /* comma-separated audiences; the first runs the code flow */
	char *client_secret;           /* Google */
	char *team_id, *key_id, *private_key_file;  /* Apple: the client secret is a JWT we sign */
	char *redirect_uri;
	char *issuer, *authorization_url, *token_url, *jwks_url;
};

struct config {
	const char *env_file;          /* the file read, or NULL */
	char *database_url;
	char *vector_database_url;     /* NULL where not needed and not set */
	char *database_read_url;       /* a replica for reads that may lag; NULL: none */
	char *vector_database_read_url;
	char *redis_url;
	enum log_level log_level;
	int log_targets;               /* enum log_target bits */
	long long max_body_bytes;       /* routes that take documents (memox writes and search) */
	long long max_small_body_bytes; /* every other JSON route: a login is under 1 KiB */
	long long json_max_values, json_max_containers; /* what one body may cost json-c */
	long long redis_timeout_ms;
	long long pg_connect_timeout_s;
	long long pg_statement_timeout_ms;        /* responders: a client waits */
	long long pg_worker_statement_timeout_ms; /* the memox worker */
	long long pg_tool_statement_timeout_ms;   /* aigetctl; 0: none */
	char *sql_dir;
	long long worker_block_seconds;
	char *mail_transport;          /* "dir", "smtp" or "sendmail" */
	char *mail_dir;
	char *mail_from;
	char *smtp_url;                /* NULL unless set; required for smtp */
	char *smtp_user;
	char *smtp_password;
	char *smtp_ca_file;
	long long smtp_require_tls;    /* 0 or 1 */
	char *sendmail_command;
	long long mail_timeout_ms;
	char *public_base_url;
	char *auth_jwt_issuer;
	char *auth_jwt_audience;
	long long auth_access_ttl_s;
	long long auth_refresh_ttl_s;
	long long auth_refresh_grace_s;
	char *auth_secret;             /* HMAC key for one-time codes and grace copies */
	long long auth_otp_daily_wrong_max; /* wrong codes per address a day before its codes stop */
	long long auth_scrypt_n, auth_scrypt_r, auth_scrypt_p;
	char *allowed_origins;         /* comma-separated; "" allows none */
	char *cookie_domain;           /* NULL: a host-only cookie */
	long long cookie_secure;       /* 0 only for the local http dev setup */
	char *admin_email;             /* the first admin, made by aigetctl migrate */
	char *admin_password;
	long long tenant_default_qps, tenant_default_burst, tenant_default_concurrency;
	long long tenant_default_monthly, tenant_default_max_memories;
	/* how far owners may raise their tenant's limits, where it has no ceilings of its own */
	long long tenant_ceiling_qps, tenant_ceiling_burst, tenant_ceiling_concurrency;
	long long tenant_ceiling_monthly, tenant_ceiling_max_memories;
	char *ratelimit_redis_down;    /* "allow" or "deny" */
	char *keys_internal_token;     /* guards POST /api/v1/keys/verify; NULL: the route is off */
	long long tenant_invitation_hours;
	long long tenant_max_per_user;         /* tenants a user may have created, not deleted */
	long long oauth_timeout_ms;
	char *oauth_return_url;        /* the web page a provider's redirect lands on (auth/oauth_return.c) */
	struct config_provider google, apple;
	/* memox: the embedding provider and the bounds of requests and jobs */
	char *embedding_provider;      /* "local" or "openai" */
	char *embedding_model;         /* stored with every vector */
	long long embedding_dims;
	char *embedding_base_url;      /* openai: ".../v1"; "/embeddings" is appended */
	char *embedding_api_key;       /* openai: sent as a Bearer token; NULL: none */
	long long embedding_send_dims; /* openai: send "dimensions" (models that can shorten) */
	long long embedding_batch_size, embedding_timeout_ms, embedding_connect_timeout_ms;
	long long embedding_max_retries;
	long long memox_content_max, memox_metadata_max, memox_metadata_depth;
	long long memox_batch_max, memox_topk_max, memox_exact_scan_max, memox_ef_search;
	long long memox_query_cache_s, memox_idempotency_s;
	long long memox_rrf_k;                /* hybrid search's fusion constant, when the request gives none */
	long long memox_job_max_attempts, memox_retry_base_ms, memox_retry_max_ms;
	long long memox_heartbeat_s, memox_pending_sweep_s;
	long long memox_expiry_sweep_s;       /* expired memories are deleted this often (at most a minute) */
};

/* Fills cfg.  Returns 0, or -1 with a message naming the variable in err. */
int config_load(struct config *cfg, unsigned needs, const char *env_file,
		char *err, size_t errlen);

/* Frees what config_load() allocated; cfg may be reloaded afterwards. */
void config_free(struct config *cfg);

/* Looks a variable up the way config_load does (environment, then the env
 * file read by the last config_load).  For the few tools that need more. */
const char *config_get(const char *name);

#endif
