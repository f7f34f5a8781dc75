/* embed_job.c - embed jobs: a batch of pending memories to vectors, then 'ready'.
 *
 * The order of writes is what keeps search right without a transaction
 * across the two databases: the vector is written first, and the memory
 * becomes 'ready' only afterwards and only at the version that was embedded,
 * so a memory search can find is never without its vector.  The upsert
 * never lowers a vector's version, so a slow worker holding an old version
 * cannot overwrite a newer embedding.  A memory deleted while it was being
 * embedded is noticed when it cannot be marked ready, and its vector goes.
 *
 * Arrays of rows travel as one JSON parameter (jsonb_to_recordset) rather
 * than as PostgreSQL array literals: json-c does the quoting of user text. */
#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embed.h"
#include "log.h"
#include "memory_vectors.h"
#include "pg.h"
#include "quota.h"
#include "redis.h"

/* The current version of each memory still waiting for its embedding. */
static const struct pg_statement select_pending = {
	"worker_embed_select",
	"SELECT id, version, tenant_id, namespace, external_user_id, content, metadata, created_at"
	" FROM memories WHERE id = ANY($1::uuid[]) AND status = 'pending'",
	1, 1, PG_PRIMARY,
};

static const struct pg_statement mark_ready = {
	"worker_embed_ready",
	"UPDATE memories m SET status = 'ready', model = $1, dimensions = $2::integer, embedded_at = now(),"
	"  error = NULL, updated_at = now()"
	" FROM unnest($3::uuid[], $4::bigint[]) AS e(id, version)"
	" WHERE m.id = e.id AND m.version = e.version AND m.status = 'pending'"
	" RETURNING m.id",
	4, 1, PG_PRIMARY,
};

static const struct pg_statement select_existing = {
	"worker_embed_existing",
	"SELECT id FROM memories WHERE id = ANY($1::uuid[])",
	1, 1, PG_PRIMARY,
};

/* A retried job's attempt counted on its memory, and a dead one's failure. */
static const struct pg_statement record_failure = {
	"worker_embed_failed",
	"UPDATE memories m SET attempts = f.attempts, error = f.error, updated_at = now(),"
	"  status = CASE WHEN f.dead THEN 'failed' ELSE m.status END"
	" FROM jsonb_to_recordset($1::jsonb) AS f(id uuid, version bigint, attempts integer, error text, dead boolean)"
	" WHERE m.id = f.id AND m.version = f.version AND m.status = 'pending'",
	1, 1, PG_PRIMARY,
};

/* One pending memory of the batch, as read. */
struct row {
	const char *id, *tenant;     /* into the PGresult */
	enum job_result result;      /* JOB_DONE: embedded */
	char why[256], reason[160];
	int ready;                   /* marked ready at the version read */
};

static void row_fail(struct row *row, enum job_result result, const char *why, const char *reason)
{
	row->result = result;
	snprintf(row->why, sizeof row->why, "%.255s", why);
	snprintf(row->reason, sizeof row->reason, "%.159s", reason);
}

static void rows_fail(struct row *rows, int n, enum job_result result, const char *why, const char *reason)
{
	for (int i = 0; i < n; i++)
		if (rows[i].result == JOB_DONE)
			row_fail(&rows[i], result, why, reason);
}

/* "{a,b,c}" of UUIDs or integers: a PostgreSQL array literal of values that
 * need no quoting.  NULL when out of memory. */
static char *array_literal(const char *const *values, int n)
{
	size_t len = 3;
	for (int i = 0; i < n; i++)
		len += strlen(values[i]) + 1;
	char *s = malloc(len), *p = s;
	if (s == NULL)
		return NULL;
	*p++ = '{';
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? "," : "", values[i]);
	*p++ = '}';
	*p = '\0';
	return s;
}

/* Adds each tenant's embedded texts to its usage hash of the month (UTC),
 * beside the request counts of shared/quota.c, which reads them back.  Texts
 * the provider embedded are counted, even when storing the vectors fails
 * afterwards: they were paid for. */
static void count_calls(struct worker *w, const struct row *rows, int n)
{
	char err[256];
	for (int i = 0; i < n; i++) {
		int seen = 0, k = 0;
		for (int j = 0; j < n; j++) {
			if (rows[j].result != JOB_DONE || strcmp(rows[j].tenant, rows[i].tenant) != 0)
				continue;
			if (j < i)
				seen = 1;
			k++;
		}
		if (seen || rows[i].result != JOB_DONE)
			continue;
		if (quota_count_work(w->ctx, rows[i].tenant, QUOTA_EMBEDDING_CALLS, k, err, sizeof err) != 0)
			log_warn("redis: %d embedding calls of tenant %s not counted: %s", k, rows[i].tenant, err);
	}
}

/* Embeds the rows' contents into vecs, one provider call for all; when the
 * provider refuses the batch, each text is tried alone so that one bad text
 * fails only its own memory. */
static void embed_rows(struct worker *w, PGresult *r, struct row *rows, int n, float *vecs)
{
	const struct config *cfg = &w->ctx->cfg;
	int dims = (int)cfg->embedding_dims;
	const char **texts = calloc((size_t)n, sizeof *texts);
	size_t *lens = calloc((size_t)n, sizeof *lens);
	if (texts == NULL || lens == NULL) {
		rows_fail(rows, n, JOB_RETRY, "out of memory", "worker out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		texts[i] = PQgetvalue(r, i, 5);
		lens[i] = (size_t)PQgetlength(r, i, 5);
	}
	/* A remote provider may take its whole timeout: the heartbeat must outlive it. */
	if (strcmp(cfg->embedding_provider, "local") != 0)
		worker_keepalive(w, (int)(cfg->embedding_timeout_ms / 1000) + 1);
	char err[256], why[300], reason[160];
	enum embed_status s = embed_texts(cfg, texts, lens, n, vecs, err, sizeof err);
	if (s == EMBED_FAILED && n > 1) {
		log_warn("embedding: the provider refused a batch of %d (%s); trying each text alone", n, err);
		for (int i = 0; i < n; i++) {
			s = embed_texts(cfg, texts + i, lens + i, 1, vecs + (size_t)i * dims, err, sizeof err);
			snprintf(why, sizeof why, "embedding: %s", err);
			snprintf(reason, sizeof reason, "embedding provider: %.130s", err);
			if (s != EMBED_OK)
				row_fail(&rows[i], s == EMBED_RETRY ? JOB_RETRY : JOB_FAILED, why, reason);
		}
	} else if (s != EMBED_OK) {
		snprintf(why, sizeof why, "embedding: %s", err);
		snprintf(reason, sizeof reason, "embedding provider: %.130s", err);
		rows_fail(rows, n, s == EMBED_RETRY ? JOB_RETRY : JOB_FAILED, why, reason);
	}
	count_calls(w, rows, n);
out:
	free(texts);
	free(lens);
}

/* Writes the embedded rows' vectors in one statement. */
static void store_vectors(struct worker *w, PGresult *r, struct row *rows, int n, const float *vecs)
{
	const struct config *cfg = &w->ctx->cfg;
	int dims = (int)cfg->embedding_dims;
	char *buf = malloc(EMBED_TEXT_MAX(dims));
	struct json_object *list = json_object_new_array();
	int k = 0;
	for (int i = 0; buf && i < n; i++) {
		if (rows[i].result != JOB_DONE)
			continue;
		size_t len = embed_vector_text(vecs + (size_t)i * dims, dims, buf);
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(rows[i].id));
		json_object_object_add(o, "tenant_id", json_object_new_string(rows[i].tenant));
		json_object_object_add(o, "namespace", json_object_new_string(PQgetvalue(r, i, 3)));
		json_object_object_add(o, "external_user_id", json_object_new_string(PQgetvalue(r, i, 4)));
		json_object_object_add(o, "metadata", json_object_new_string(PQgetvalue(r, i, 6)));
		json_object_object_add(o, "version", json_object_new_int64(atoll(PQgetvalue(r, i, 1))));
		json_object_object_add(o, "embedding", json_object_new_string_len(buf, (int)len));
		json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(r, i, 7)));
		json_object_array_add(list, o);
		k++;
	}
	if (buf == NULL) {
		rows_fail(rows, n, JOB_RETRY, "out of memory", "worker out of memory");
	} else if (k > 0) {
		char err[256], why[300];
		if (memory_vectors_store(w->ctx->vector, cfg, cfg->embedding_model, dims,
					 json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN), err, sizeof err) != 0) {
			snprintf(why, sizeof why, "vector database: %s", err);
			rows_fail(rows, n, JOB_RETRY, why, "vector database unavailable");
		}
	}
	json_object_put(list);
	free(buf);
}

/* Marks the embedded rows ready at the version read; sets rows[i].ready. */
static void make_ready(struct worker *w, PGresult *r, struct row *rows, int n)
{
	const struct config *cfg = &w->ctx->cfg;
	const char **ids = calloc((size_t)n, sizeof *ids), **versions = calloc((size_t)n, sizeof *versions);
	char *id_list = NULL, *version_list = NULL;
	int k = 0;
	for (int i = 0; ids && versions && i < n; i++)
		if (rows[i].result == JOB_DONE) {
			ids[k] = rows[i].id;
			versions[k++] = PQgetvalue(r, i, 1);
		}
	if (k == 0)
		goto out;
	if ((id_list = array_literal(ids, k)) == NULL || (version_list = array_literal(versions, k)) == NULL) {
		rows_fail(rows, n, JOB_RETRY, "out of memory", "worker out of memory");
		goto out;
	}
	char dims_text[16], err[256], why[300];
	snprintf(dims_text, sizeof dims_text, "%lld", cfg->embedding_dims);
	const char *params[] = { cfg->embedding_model, dims_text, id_list, version_list };
	PGresult *u = pg_exec(w->ctx->db, &mark_ready, params, err, sizeof err);
	if (u == NULL) {
		snprintf(why, sizeof why, "postgres: %s", err);
		rows_fail(rows, n, JOB_RETRY, why, "database unavailable");
		goto out;
	}
	for (int j = 0; j < PQntuples(u); j++)
		for (int i = 0; i < n; i++)
			if (strcmp(rows[i].id, PQgetvalue(u, j, 0)) == 0)
				rows[i].ready = 1;
	PQclear(u);
out:
	free(ids);
	free(versions);
	free(id_list);
	free(version_list);
}

/* Embedded but not made ready: changed since (a newer job embeds it) or
 * deleted since.  A deleted memory's vector would be an orphan: it goes. */
static void drop_orphans(struct worker *w, struct row *rows, int n)
{
	const char **ids = calloc((size_t)n, sizeof *ids);
	char *list = NULL, err[256];
	PGresult *found = NULL;
	int k = 0;
	for (int i = 0; ids && i < n; i++)
		if (rows[i].result == JOB_DONE && !rows[i].ready)
			ids[k++] = rows[i].id;
	if (k == 0 || (list = array_literal(ids, k)) == NULL)
		goto out;
	const char *p1[] = { list };
	if ((found = pg_exec(w->ctx->db, &select_existing, p1, err, sizeof err)) == NULL)
		goto fail;
	int gone = 0;
	for (int i = 0; i < k; i++) {
		int exists = 0;
		for (int j = 0; j < PQntuples(found) && !exists; j++)
			exists = strcmp(ids[i], PQgetvalue(found, j, 0)) == 0;
		if (!exists)
			ids[gone++] = ids[i];
	}
	if (gone == 0)
		goto out;
	free(list);
	if ((list = array_literal(ids, gone)) == NULL)
		goto out;
	if (memory_vectors_delete_memories(w->ctx->vector, list, err, sizeof err) != 0)
		goto fail;
	log_info("dropped the vectors of %d memories deleted while being embedded", gone);
	goto out;
fail:
	/* Harmless to search, which needs the memory's row; logged for the record. */
	log_warn("vectors of memories deleted while being embedded may remain: %s", err);
out:
	PQclear(found);
	free(ids);
	free(list);
}

void embed_jobs_run(struct worker *w, struct job **jobs, int n)
{
	const char **ids = calloc((size_t)n, sizeof *ids);
	char *list = NULL, err[256];
	PGresult *r = NULL;
	struct row *rows = NULL;
	float *vecs = NULL;
	for (int i = 0; ids && i < n; i++)
		ids[i] = jobs[i]->id;
	if (ids == NULL || (list = array_literal(ids, n)) == NULL) {
		for (int i = 0; i < n; i++)
			job_set(jobs[i], JOB_RETRY, "out of memory");
		goto out;
	}
	const char *params[] = { list };
	if ((r = pg_exec(w->ctx->db, &select_pending, params, err, sizeof err)) == NULL) {
		for (int i = 0; i < n; i++) {
			job_set(jobs[i], JOB_RETRY, "postgres: %s", err);
			snprintf(jobs[i]->reason, sizeof jobs[i]->reason, "database unavailable");
		}
		goto out;
	}
	int nrows = PQntuples(r);
	if (nrows == 0) /* all gone or no longer pending: nothing to do */
		goto out;
	rows = calloc((size_t)nrows, sizeof *rows);
	vecs = calloc((size_t)nrows * (size_t)w->ctx->cfg.embedding_dims, sizeof *vecs);
	if (rows == NULL || vecs == NULL) {
		for (int i = 0; i < n; i++)
			job_set(jobs[i], JOB_RETRY, "out of memory");
		goto out;
	}
	for (int i = 0; i < nrows; i++) {
		rows[i].id = PQgetvalue(r, i, 0);
		rows[i].tenant = PQgetvalue(r, i, 2);
	}
	embed_rows(w, r, rows, nrows, vecs);
	store_vectors(w, r, rows, nrows, vecs);
	make_ready(w, r, rows, nrows);
	drop_orphans(w, rows, nrows);
	/* A job whose memory was not read (gone, ready, failed) is done as it is. */
	int ready = 0;
	for (int i = 0; i < nrows; i++) {
		ready += rows[i].ready;
		for (int j = 0; j < n; j++)
			if (strcmp(jobs[j]->id, rows[i].id) == 0 && rows[i].result != JOB_DONE) {
				job_set(jobs[j], rows[i].result, "%s", rows[i].why);
				snprintf(jobs[j]->reason, sizeof jobs[j]->reason, "%s", rows[i].reason);
			}
	}
	log_debug("embed: %d jobs, %d memories read, %d ready", n, nrows, ready);
out:
	PQclear(r);
	free(ids);
	free(list);
	free(rows);
	free(vecs);
}

void embed_jobs_record_failures(struct worker *w, struct job **jobs, int n)
{
	struct json_object *list = json_object_new_array();
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (jobs[i]->id[0] == '\0' || jobs[i]->version <= 0)
			continue;
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(jobs[i]->id));
		json_object_object_add(o, "version", json_object_new_int64(jobs[i]->version));
		json_object_object_add(o, "attempts", json_object_new_int(jobs[i]->attempt + 1));
		json_object_object_add(o, "error", json_object_new_string(jobs[i]->reason[0] ? jobs[i]->reason
										  : jobs[i]->why));
		json_object_object_add(o, "dead", json_object_new_boolean(jobs[i]->result == JOB_FAILED));
		json_object_array_add(list, o);
		k++;
	}
	if (k > 0) {
		char err[256];
		const char *params[] = { json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN) };
		PGresult *r = pg_exec(w->ctx->db, &record_failure, params, err, sizeof err);
		if (r == NULL)
			/* The memory stays pending as it was; the sweeper queues it
			 * again should its job die meanwhile. */
			log_warn("postgres: %d embedding failures not recorded on their memories: %s", k, err);
		PQclear(r);
	}
	json_object_put(list);
}
