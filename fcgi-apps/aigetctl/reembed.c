/* reembed.c - `aigetctl memox reembed` and `drop-model`: switching embedding models.
 *
 * Vectors are stored per model (memory_vectors' key is memory and model), so
 * a new model is embedded beside the one in use while search keeps
 * answering from the old.  reembed takes the model to build from its own
 * EMBEDDING_* settings (the environment or --env-file overrides the stack's),
 * makes that model's partial HNSW index if it is missing (CONCURRENTLY: the
 * table stays writable), then embeds every ready memory that lacks a vector
 * of that model at its current version, in batches of EMBEDDING_BATCH_SIZE,
 * printing its progress.  It is idempotent: a second run only fills what is
 * missing, so it is also how to catch memories written during the switch.
 * The switch itself is the operator's: set the new EMBEDDING_* for the
 * responders and the worker and restart them area by area (docs/operations.md).
 * drop-model then deletes the old model's vectors and its index. */
#include "reembed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "embed.h"
#include "memory_vectors.h"
#include "pg.h"

int reembed_options(int *argc, char **argv)
{
	static const char *const map[][2] = {
		{ "--provider", "EMBEDDING_PROVIDER" }, { "--model", "EMBEDDING_MODEL" },
		{ "--dimensions", "EMBEDDING_DIMENSIONS" }, { "--base-url", "EMBEDDING_BASE_URL" },
	};
	int out = 0;
	for (int i = 0; i < *argc; i++) {
		const char *var = NULL;
		for (size_t m = 0; m < sizeof map / sizeof map[0]; m++)
			if (strcmp(argv[i], map[m][0]) == 0)
				var = map[m][1];
		if (var == NULL) {
			argv[out++] = argv[i];
			continue;
		}
		if (i + 1 >= *argc || argv[i + 1][0] == '\0' || argv[i + 1][0] == '-') {
			fprintf(stderr, "aigetctl: %s needs a value\n", argv[i]);
			return -1;
		}
		setenv(var, argv[++i], 1);
	}
	*argc = out;
	return 0;
}

static const struct pg_statement st_page = {
	"ctl_reembed_page",
	"SELECT id, version, tenant_id, namespace, external_user_id, content, metadata::text, created_at"
	"  FROM memories WHERE status = 'ready' AND ($1::uuid IS NULL OR id > $1::uuid) ORDER BY id LIMIT $2::int",
	2, 1, PG_PRIMARY,
};

/* Runs DDL (no parameters possible); names and literals escaped by libpq. */
static int run_ddl(struct app_context *ctx, const char *sql)
{
	char err[256];
	PGconn *c = pg_conn(ctx->vector, err, sizeof err);
	if (c == NULL) {
		fprintf(stderr, "aigetctl: vector database: %s\n", err);
		return -1;
	}
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "aigetctl: %s", PQerrorMessage(c));
	PQclear(r);
	return ok ? 0 : -1;
}

static int ensure_index(struct app_context *ctx)
{
	const struct config *cfg = &ctx->cfg;
	if (cfg->embedding_dims > 2000) {
		fprintf(stderr, "aigetctl: %lld dimensions is over pgvector's 2000 for HNSW: search will scan\n",
			cfg->embedding_dims);
		return 0;
	}
	char err[256];
	PGconn *c = pg_conn(ctx->vector, err, sizeof err);
	if (c == NULL) {
		fprintf(stderr, "aigetctl: vector database: %s\n", err);
		return -1;
	}
	char *sql = memory_vectors_index_sql(c, cfg->embedding_model, cfg->embedding_dims);
	int rc = sql ? run_ddl(ctx, sql) : -1;
	free(sql);
	return rc;
}

/* One page of memories: those without a current vector of the model are
 * embedded and written.  Returns rows read (0: done), or -1. */
static int reembed_page(struct app_context *ctx, char *after, long long *embedded)
{
	const struct config *cfg = &ctx->cfg;
	char err[256], limit[16];
	snprintf(limit, sizeof limit, "%lld", cfg->embedding_batch_size);
	const char *pp[] = { after[0] ? after : NULL, limit };
	PGresult *page = pg_exec(ctx->db, &st_page, pp, err, sizeof err);
	if (page == NULL) {
		fprintf(stderr, "aigetctl: database: %s\n", err);
		return -1;
	}
	int n = PQntuples(page);
	if (n == 0) {
		PQclear(page);
		return 0;
	}
	size_t idlen = (size_t)n * 38 + 3;
	char *ids = malloc(idlen), *p = ids;
	*p++ = '{';
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? "," : "", PQgetvalue(page, i, 0));
	strcpy(p, "}");
	PGresult *have = memory_vectors_have(ctx->vector, cfg->embedding_model, ids, err, sizeof err);
	free(ids);
	if (have == NULL) {
		fprintf(stderr, "aigetctl: vector database: %s\n", err);
		PQclear(page);
		return -1;
	}
	const char **texts = calloc((size_t)n, sizeof *texts);
	size_t *lens = calloc((size_t)n, sizeof *lens);
	int *rows = calloc((size_t)n, sizeof *rows), todo = 0;
	for (int i = 0; i < n; i++) {
		char key[80];
		snprintf(key, sizeof key, "%s:%s", PQgetvalue(page, i, 0), PQgetvalue(page, i, 1));
		int done = 0;
		for (int j = 0; j < PQntuples(have) && !done; j++)
			done = strcmp(PQgetvalue(have, j, 0), key) == 0;
		if (!done) {
			rows[todo] = i;
			texts[todo] = PQgetvalue(page, i, 5);
			lens[todo++] = (size_t)PQgetlength(page, i, 5);
		}
	}
	PQclear(have);
	int dims = (int)cfg->embedding_dims, rc = n;
	float *vectors = malloc(sizeof(float) * (size_t)dims * (size_t)(todo ? todo : 1));
	char *vtext = malloc(EMBED_TEXT_MAX(dims));
	enum embed_status s = EMBED_OK;
	for (int attempt = 0; todo && attempt < 3; attempt++) {
		s = embed_texts(cfg, texts, lens, todo, vectors, err, sizeof err);
		if (s != EMBED_RETRY)
			break;
		fprintf(stderr, "aigetctl: embedding provider: %s; trying again\n", err);
		sleep(2);
	}
	if (todo && s != EMBED_OK) {
		fprintf(stderr, "aigetctl: embedding provider: %s\n", err);
		rc = -1;
	} else if (todo) {
		struct json_object *list = json_object_new_array();
		for (int k = 0; k < todo; k++) {
			int i = rows[k];
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "id", json_object_new_string(PQgetvalue(page, i, 0)));
			json_object_object_add(o, "version", json_object_new_int64(atoll(PQgetvalue(page, i, 1))));
			json_object_object_add(o, "tenant_id", json_object_new_string(PQgetvalue(page, i, 2)));
			json_object_object_add(o, "namespace", json_object_new_string(PQgetvalue(page, i, 3)));
			json_object_object_add(o, "external_user_id", json_object_new_string(PQgetvalue(page, i, 4)));
			json_object_object_add(o, "metadata", json_object_new_string(PQgetvalue(page, i, 6)));
			json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(page, i, 7)));
			embed_vector_text(vectors + (size_t)k * dims, dims, vtext);
			json_object_object_add(o, "embedding", json_object_new_string(vtext));
			json_object_array_add(list, o);
		}
		if (memory_vectors_store(ctx->vector, cfg, cfg->embedding_model, dims,
					 json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN), err, sizeof err) != 0) {
			fprintf(stderr, "aigetctl: vector database: %s\n", err);
			rc = -1;
		}
		json_object_put(list);
		*embedded += todo;
	}
	if (rc > 0)
		snprintf(after, 37, "%s", PQgetvalue(page, n - 1, 0));
	free(vectors);
	free(vtext);
	free(texts);
	free(lens);
	free(rows);
	PQclear(page);
	return rc;
}

int memox_reembed(struct app_context *ctx, int json)
{
	const struct config *cfg = &ctx->cfg;
	if (ensure_index(ctx) != 0)
		return 1;
	char after[37] = "";
	long long read = 0, embedded = 0;
	int n;
	while ((n = reembed_page(ctx, after, &embedded)) > 0) {
		read += n;
		if (!json && read % 10000 < cfg->embedding_batch_size)
			fprintf(stderr, "reembed: %lld memories read, %lld embedded with %s\n", read, embedded,
				cfg->embedding_model);
	}
	if (n < 0)
		return 1;
	if (json)
		printf("{\"model\":\"%s\",\"dimensions\":%lld,\"memories\":%lld,\"embedded\":%lld}\n",
		       cfg->embedding_model, cfg->embedding_dims, read, embedded);
	else
		printf("%s (%lld dimensions): %lld ready memories, %lld embedded now, the rest already were\n",
		       cfg->embedding_model, cfg->embedding_dims, read, embedded);
	return 0;
}

int memox_drop_model(struct app_context *ctx, const char *model, int json)
{
	if (strcmp(model, ctx->cfg.embedding_model) == 0) {
		fprintf(stderr, "aigetctl: %s is the model in use (EMBEDDING_MODEL); switch first\n", model);
		return 64;
	}
	char err[256], name[MEMORY_VECTORS_INDEX_NAME_MAX];
	long long deleted = 0;
	for (;;) {
		long long n = memory_vectors_drop_model_page(ctx->vector, model, err, sizeof err);
		if (n < 0) {
			fprintf(stderr, "aigetctl: vector database: %s\n", err);
			return 1;
		}
		deleted += n;
		if (n == 0)
			break;
	}
	if (memory_vectors_forget_model(ctx->vector, model, err, sizeof err) != 0) {
		fprintf(stderr, "aigetctl: vector database: %s\n", err);
		return 1;
	}
	memory_vectors_index_name(model, name);
	PGconn *c = pg_conn(ctx->vector, err, sizeof err);
	char *ident = c ? PQescapeIdentifier(c, name, strlen(name)) : NULL, *sql = NULL;
	int rc = ident && asprintf(&sql, "DROP INDEX CONCURRENTLY IF EXISTS %s", ident) >= 0 ? run_ddl(ctx, sql) : -1;
	free(sql);
	PQfreemem(ident);
	if (rc != 0)
		return 1;
	if (json)
		printf("{\"model\":\"%s\",\"vectorsDeleted\":%lld}\n", model, deleted);
	else
		printf("%s: %lld vectors deleted, index %s dropped\n", model, deleted, name);
	return 0;
}
