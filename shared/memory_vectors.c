/* memory_vectors.c - see memory_vectors.h. */
#include "memory_vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "request.h"

#define TEXT(n) #n
#define NUMBER_TEXT(n) TEXT(n)        /* a page size in the SQL text */
#define PAGE NUMBER_TEXT(MEMORY_VECTORS_PAGE)
#define INDEX_PAGE NUMBER_TEXT(MEMORY_VECTORS_INDEX_PAGE)

/* ------------------------------------------------------------- writing */

static const struct pg_statement upsert = {
	"memory_vectors_upsert",
	"INSERT INTO memory_vectors AS v (memory_id, model, tenant_id, namespace, external_user_id, metadata,"
	"  dimensions, version, embedding, created_at, updated_at, in_index)"
	" SELECT r.id, $1, r.tenant_id, r.namespace, r.external_user_id, r.metadata::jsonb, $2::integer,"
	"  r.version, r.embedding::vector, r.created_at, now(),"
	"  EXISTS (SELECT 1 FROM indexed_scopes s WHERE s.tenant_id = r.tenant_id AND s.namespace = r.namespace"
	"   AND s.external_user_id = r.external_user_id AND s.model = $1)"
	" FROM jsonb_to_recordset($3::jsonb) AS r(id uuid, tenant_id uuid, namespace text, external_user_id text,"
	"  metadata text, version bigint, embedding text, created_at timestamptz)"
	" ON CONFLICT (memory_id, model) DO UPDATE SET tenant_id = EXCLUDED.tenant_id,"
	"  namespace = EXCLUDED.namespace, external_user_id = EXCLUDED.external_user_id,"
	"  metadata = EXCLUDED.metadata, dimensions = EXCLUDED.dimensions, version = EXCLUDED.version,"
	"  embedding = EXCLUDED.embedding, updated_at = now(), in_index = EXCLUDED.in_index"
	" WHERE v.version <= EXCLUDED.version",
	3, 1, PG_PRIMARY,
};

/* The scopes among the rows that have at least $3 vectors of model $1 and
 * are not listed yet.  The count stops at $3, so a scope costs at most that
 * many btree entries, and only until it is listed. */
static const struct pg_statement note_large_scopes = {
	"memory_vectors_note_large_scopes",
	"INSERT INTO indexed_scopes (tenant_id, namespace, external_user_id, model)"
	" SELECT s.tenant_id, s.namespace, s.external_user_id, $1"
	" FROM (SELECT DISTINCT tenant_id, namespace, external_user_id FROM jsonb_to_recordset($2::jsonb)"
	"  AS r(tenant_id uuid, namespace text, external_user_id text)) s"
	" WHERE NOT EXISTS (SELECT 1 FROM indexed_scopes i WHERE i.tenant_id = s.tenant_id"
	"  AND i.namespace = s.namespace AND i.external_user_id = s.external_user_id AND i.model = $1)"
	" AND (SELECT count(*) FROM (SELECT 1 FROM memory_vectors v WHERE v.tenant_id = s.tenant_id"
	"  AND v.namespace = s.namespace AND v.external_user_id = s.external_user_id AND v.model = $1"
	"  LIMIT $3::int) c) >= $3::int"
	" ON CONFLICT DO NOTHING",
	3, 1, PG_PRIMARY,
};

long long memory_vectors_index_from(const struct config *cfg)
{
	return cfg->memox_exact_scan_max + 1;
}

int memory_vectors_store(struct pg *vector, const struct config *cfg, const char *model, long long dims,
			 const char *rows_json, char *err, size_t errlen)
{
	char dims_text[24], from[24], note_err[256];
	snprintf(dims_text, sizeof dims_text, "%lld", dims);
	snprintf(from, sizeof from, "%lld", memory_vectors_index_from(cfg));
	const char *up[] = { model, dims_text, rows_json };
	PGresult *r = pg_exec(vector, &upsert, up, err, errlen);
	if (r == NULL)
		return -1;
	PQclear(r);
	const char *note[] = { model, rows_json, from };
	if ((r = pg_exec(vector, &note_large_scopes, note, note_err, sizeof note_err)) == NULL)
		log_warn("vector database: large scopes not listed (the next write retries): %s", note_err);
	PQclear(r);
	return 0;
}

static const struct pg_statement st_have = {
	"memory_vectors_have",
	"SELECT memory_id::text || ':' || version FROM memory_vectors WHERE model = $1 AND memory_id = ANY($2::uuid[])",
	2, 1, PG_PRIMARY,
};

PGresult *memory_vectors_have(struct pg *vector, const char *model, const char *ids, char *err, size_t errlen)
{
	const char *params[] = { model, ids };
	return pg_exec(vector, &st_have, params, err, errlen);
}

/* Runs a statement whose rows are not needed: 0, or -1 with err. */
static int run(struct pg *vector, const struct pg_statement *st, const char *const *params, char *err, size_t errlen)
{
	PGresult *r = pg_exec(vector, st, params, err, errlen);
	PQclear(r);
	return r ? 0 : -1;
}

/* ------------------------------------------------------------- search */

/* Written by memory_vectors_search_init(): their text names the model. */
static struct pg_statement st_exact, st_index, st_exact_half;

/* The exact plan on memory_vectors_half (sql/vector/0004): the scope's
 * HALF_CANDIDATES(limit) nearest by half precision, reranked by their
 * float32 vectors.  Converting a unit vector's components to half precision
 * moves each by at most 2^-11 of itself, so a cosine distance computed on
 * both converted vectors is within about 4 * 2^-11 (0.00195) of the float32
 * one; HALF_ERROR adds room for float32's own rounding over the sums.  The
 * candidates hold every true nearest neighbour when the farthest candidate
 * is, by half precision, more than HALF_ERROR beyond the last result by
 * float32 (or when the scope has no more rows than candidates); otherwise
 * the float32 scan answers. */
#define HALF_ERROR 0.0025
#define HALF_RECHECK_MS 10000.0       /* how often a process looks for the table while it is absent */

#define FILTER_SQL \
	" AND ($6::jsonpath IS NULL OR jsonb_path_match(metadata, $6::jsonpath, $7::jsonb, true))"

int memory_vectors_search_init(const struct config *cfg)
{
	int dims = (int)cfg->embedding_dims;
	st_exact = (struct pg_statement){
		"memory_vectors_search_exact",
		strdup("SELECT memory_id, 1 - (embedding <=> $4::vector) AS score, version FROM memory_vectors"
		       " WHERE tenant_id = $1::uuid AND namespace = $2 AND external_user_id = $3 AND model = $5"
		       FILTER_SQL " ORDER BY score DESC, memory_id LIMIT $8::int"),
		8, 1, PG_MAY_LAG,
	};
	/* The index holds a large scope's vectors once the worker has indexed
	 * them (sql/vector/0003): those not in it yet, a page or a freshly
	 * listed scope's older ones, are compared one by one and merged in, so
	 * the answer never misses them.  The indexed part compares the scope
	 * with IS NOT DISTINCT FROM, which the scope btree cannot serve: when a
	 * scope has just grown and the statistics still think it small, the
	 * planner would otherwise read it through that btree and sort it, the
	 * slow exact plan that the count has ruled out. */
	char *sql = NULL;
	if (asprintf(&sql,
		     "SELECT memory_id, 1 - distance AS score, version FROM ("
		     "(SELECT memory_id, embedding::vector(%d) <=> $4::vector(%d) AS distance, version"
		     " FROM memory_vectors"
		     " WHERE (tenant_id, namespace, external_user_id) IS NOT DISTINCT FROM ($1::uuid, $2, $3)"
		     " AND model = '%s' AND in_index"
		     " AND $5::text IS NOT NULL" FILTER_SQL
		     " ORDER BY embedding::vector(%d) <=> $4::vector(%d) LIMIT $8::int)"
		     " UNION ALL "
		     "(SELECT memory_id, embedding <=> $4::vector AS distance, version FROM memory_vectors"
		     " WHERE tenant_id = $1::uuid AND namespace = $2 AND external_user_id = $3 AND model = $5"
		     " AND NOT in_index" FILTER_SQL " ORDER BY 2 LIMIT $8::int)"
		     ") candidates ORDER BY distance, memory_id LIMIT $8::int",
		     dims, dims, cfg->embedding_model, dims, dims) < 0)
		sql = NULL;
	st_index = (struct pg_statement){ "memory_vectors_search_index", sql, 8, 1, PG_MAY_LAG };
	/* Columns as st_exact's, then how many candidates and the farthest
	 * one's half-precision distance, the same in every row.  The query is
	 * a float32 vector ($4's first use decides its type: a parameter first
	 * read as halfvec made the "float32" rerank compare with the rounded
	 * query, scores off by up to 1e-5), made half precision once (an
	 * InitPlan), not once a row. */
	st_exact_half = (struct pg_statement){
		"memory_vectors_search_exact_half",
		strdup("WITH q AS MATERIALIZED (SELECT $4::vector AS v),"
		       " c AS (SELECT memory_id, embedding <=> (SELECT v::halfvec FROM q) AS d FROM memory_vectors_half"
		       " WHERE tenant_id = $1::uuid AND namespace = $2 AND external_user_id = $3 AND model = $5"
		       FILTER_SQL " ORDER BY d, memory_id LIMIT $9::int),"
		       " far AS (SELECT count(*) AS n, max(d) AS d FROM c)"
		       " SELECT r.memory_id, 1 - (r.embedding <=> (SELECT v FROM q)) AS score, r.version, far.n, far.d"
		       " FROM c JOIN memory_vectors r ON r.memory_id = c.memory_id AND r.model = $5 CROSS JOIN far"
		       " ORDER BY score DESC, r.memory_id LIMIT $8::int"),
		9, 1, PG_MAY_LAG,
	};
	return st_exact.sql && st_index.sql && st_exact_half.sql ? 0 : -1;
}

/* Whether this process's vector database has memory_vectors_half: looked
 * up once, and while it is absent again every HALF_RECHECK_MS, so that a
 * responder started before the migration moves to it without a restart. */
static int half_present = -1;
static double half_checked_ms;

static const struct pg_statement st_half_present = {
	"memory_vectors_half_present",
	"SELECT to_regclass('memory_vectors_half') IS NOT NULL",
	0, 1, PG_MAY_LAG,   /* asks the server the search will run on */
};

static int half_available(struct pg *vector)
{
	double now = clock_ms();
	if (half_present == 1 || (half_present == 0 && now - half_checked_ms < HALF_RECHECK_MS))
		return half_present;
	char err[256];
	PGresult *r = pg_exec(vector, &st_half_present, NULL, err, sizeof err);
	half_checked_ms = now;
	if (r == NULL)
		return 0;   /* the search that follows meets the same failure and says it */
	half_present = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return half_present;
}

int memory_vectors_half_is_exact(PGresult *r, int limit)
{
	int n = PQntuples(r);
	if (n == 0)
		return 1;   /* no candidate: the scope has no vector that passes */
	if (atoll(PQgetvalue(r, 0, 3)) < HALF_CANDIDATES(limit))
		return 1;   /* every vector that passes was a candidate */
	double farthest = atof(PQgetvalue(r, 0, 4)), last = 1 - atof(PQgetvalue(r, n - 1, 1));
	return farthest - HALF_ERROR > last;   /* false for NaN (a zero vector): the float32 scan decides */
}

PGresult *memory_vectors_search(struct pg *vector, enum memory_vectors_plan plan, const struct memory_vectors_query *q,
				char *err, size_t errlen)
{
	char limit[24];
	snprintf(limit, sizeof limit, "%d", q->limit);
	const char *params[] = { q->tenant_id, q->namespace_, q->external_user_id, q->vector, q->model, q->path, q->vars,
				 limit, NULL };
	if (plan == MEMORY_VECTORS_EXACT && half_available(vector)) {
		char candidates[24];
		snprintf(candidates, sizeof candidates, "%d", HALF_CANDIDATES(q->limit));
		params[8] = candidates;
		PGresult *r = pg_exec(vector, &st_exact_half, params, err, errlen);
		if (r && memory_vectors_half_is_exact(r, q->limit))
			return r;
		if (r == NULL && strcmp(pg_last_sqlstate(vector), "42P01") != 0)
			return NULL;
		if (r == NULL)
			half_present = 0;   /* dropped since: the float32 table answers */
		PQclear(r);
	}
	return pg_exec(vector, plan == MEMORY_VECTORS_EXACT ? &st_exact : &st_index, params, err, errlen);
}

static const struct pg_statement st_scope_indexed = {
	"memory_vectors_scope_indexed",
	"SELECT EXISTS (SELECT 1 FROM indexed_scopes WHERE tenant_id = $1::uuid AND namespace = $2"
	" AND external_user_id = $3 AND model = $4 AND complete)",
	4, 1, PG_MAY_LAG,   /* a scope just completed is searched exactly a moment longer */
};

int memory_vectors_scope_indexed(struct pg *vector, const char *tenant_id, const char *namespace_,
				 const char *external_user_id, const char *model, char *err, size_t errlen)
{
	const char *params[] = { tenant_id, namespace_, external_user_id, model };
	PGresult *r = pg_exec(vector, &st_scope_indexed, params, err, errlen);
	if (r == NULL)
		return -1;
	int indexed = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return indexed;
}

/* ------------------------------------------------------------- deleting */

/* Vectors of a memory that changed or went: search would skip them anyway
 * (it keeps only memories that are ready), but they would take its places. */
static const struct pg_statement st_drop_older = {
	"memory_vectors_drop_older",
	"DELETE FROM memory_vectors WHERE memory_id = $1::uuid AND version < $2::bigint",
	2, 1, PG_PRIMARY,
};
static const struct pg_statement st_delete_memory = {
	"memory_vectors_delete_memory",
	"DELETE FROM memory_vectors WHERE memory_id = $1::uuid",
	1, 1, PG_PRIMARY,
};
static const struct pg_statement st_delete_memories = {
	"memory_vectors_delete_memories",
	"DELETE FROM memory_vectors WHERE memory_id = ANY($1::uuid[])",
	1, 1, PG_PRIMARY,
};

int memory_vectors_drop_older(struct pg *vector, const char *memory_id, const char *version, char *err,
			      size_t errlen)
{
	const char *params[] = { memory_id, version };
	return run(vector, &st_drop_older, params, err, errlen);
}

int memory_vectors_delete_memory(struct pg *vector, const char *memory_id, char *err, size_t errlen)
{
	const char *params[] = { memory_id };
	return run(vector, &st_delete_memory, params, err, errlen);
}

int memory_vectors_delete_memories(struct pg *vector, const char *ids, char *err, size_t errlen)
{
	const char *params[] = { ids };
	return run(vector, &st_delete_memories, params, err, errlen);
}

/* One page of the scope's vectors made before the erasure was asked for. */
static const struct pg_statement st_erase_scope = {
	"memory_vectors_erase_scope",
	"DELETE FROM memory_vectors WHERE (memory_id, model) IN ("
	" SELECT memory_id, model FROM memory_vectors WHERE tenant_id = $1::uuid AND namespace = $2"
	"  AND external_user_id = $3 AND created_at <= $4::timestamptz LIMIT " PAGE ")",
	4, 1, PG_PRIMARY,
};
static const struct pg_statement st_erase_tenant = {
	"memory_vectors_erase_tenant",
	"DELETE FROM memory_vectors WHERE (memory_id, model) IN ("
	" SELECT memory_id, model FROM memory_vectors WHERE tenant_id = $1::uuid LIMIT " PAGE ")",
	1, 1, PG_PRIMARY,
};
/* The scope's entry among the large ones names the end user too. */
static const struct pg_statement st_forget_scope = {
	"memory_vectors_forget_scope",
	"DELETE FROM indexed_scopes WHERE tenant_id = $1::uuid AND namespace = $2 AND external_user_id = $3",
	3, 1, PG_PRIMARY,
};
static const struct pg_statement st_forget_tenant = {
	"memory_vectors_forget_tenant",
	"DELETE FROM indexed_scopes WHERE tenant_id = $1::uuid",
	1, 1, PG_PRIMARY,
};

/* Runs st until a page deletes fewer than a page's rows. */
static int erase_pages(struct pg *vector, const struct pg_statement *st, const char *const *params,
		       void (*between)(void *), void *arg, long long *total, char *err, size_t errlen)
{
	for (;;) {
		PGresult *r = pg_exec(vector, st, params, err, errlen);
		if (r == NULL)
			return -1;
		long long n = atoll(PQcmdTuples(r));
		PQclear(r);
		*total += n;
		if (n < MEMORY_VECTORS_PAGE)
			return 0;
		if (between)
			between(arg);
	}
}

int memory_vectors_erase_scope(struct pg *vector, const char *tenant_id, const char *namespace_,
			       const char *external_user_id, const char *before, void (*between)(void *), void *arg,
			       long long *total, char *err, size_t errlen)
{
	const char *params[] = { tenant_id, namespace_, external_user_id, before };
	return erase_pages(vector, &st_erase_scope, params, between, arg, total, err, errlen);
}

int memory_vectors_erase_tenant(struct pg *vector, const char *tenant_id, void (*between)(void *), void *arg,
				long long *total, char *err, size_t errlen)
{
	const char *params[] = { tenant_id };
	return erase_pages(vector, &st_erase_tenant, params, between, arg, total, err, errlen);
}

int memory_vectors_forget_scope(struct pg *vector, const char *tenant_id, const char *namespace_,
				const char *external_user_id, char *err, size_t errlen)
{
	const char *params[] = { tenant_id, namespace_, external_user_id };
	return run(vector, &st_forget_scope, params, err, errlen);
}

int memory_vectors_forget_tenant(struct pg *vector, const char *tenant_id, char *err, size_t errlen)
{
	const char *params[] = { tenant_id };
	return run(vector, &st_forget_tenant, params, err, errlen);
}

static const struct pg_statement st_drop_model_page = {
	"memory_vectors_drop_model_page",
	"DELETE FROM memory_vectors WHERE ctid = ANY(ARRAY(SELECT ctid FROM memory_vectors WHERE model = $1 LIMIT 5000))",
	1, 1, PG_PRIMARY,
};
static const struct pg_statement st_forget_model = {
	"memory_vectors_forget_model",
	"DELETE FROM indexed_scopes WHERE model = $1",
	1, 1, PG_PRIMARY,
};

long long memory_vectors_drop_model_page(struct pg *vector, const char *model, char *err, size_t errlen)
{
	const char *params[] = { model };
	PGresult *r = pg_exec(vector, &st_drop_model_page, params, err, errlen);
	if (r == NULL)
		return -1;
	long long n = atoll(PQcmdTuples(r));
	PQclear(r);
	return n;
}

int memory_vectors_forget_model(struct pg *vector, const char *model, char *err, size_t errlen)
{
	const char *params[] = { model };
	return run(vector, &st_forget_model, params, err, errlen);
}

/* ------------------------------------------------------------- indexing */

static const struct pg_statement st_index_page = {
	"memory_vectors_index_page",
	"WITH s AS (SELECT tenant_id, namespace, external_user_id, model FROM indexed_scopes"
	"  WHERE NOT complete ORDER BY created_at LIMIT 1),"
	" p AS (SELECT v.memory_id, v.model FROM memory_vectors v, s WHERE v.tenant_id = s.tenant_id"
	"  AND v.namespace = s.namespace AND v.external_user_id = s.external_user_id AND v.model = s.model"
	"  AND NOT v.in_index LIMIT " INDEX_PAGE " FOR UPDATE OF v SKIP LOCKED),"
	" u AS (UPDATE memory_vectors v SET in_index = true FROM p"
	"  WHERE v.memory_id = p.memory_id AND v.model = p.model RETURNING 1)"
	" SELECT s.tenant_id, s.namespace, s.external_user_id, s.model, (SELECT count(*) FROM u) FROM s",
	0, 1, PG_PRIMARY,
};
static const struct pg_statement st_index_complete = {
	"memory_vectors_index_complete",
	"UPDATE indexed_scopes SET complete = true WHERE tenant_id = $1::uuid AND namespace = $2"
	" AND external_user_id = $3 AND model = $4 AND NOT EXISTS (SELECT 1 FROM memory_vectors v"
	"  WHERE v.tenant_id = $1::uuid AND v.namespace = $2 AND v.external_user_id = $3 AND v.model = $4"
	"  AND NOT v.in_index)",
	4, 1, PG_PRIMARY,
};

PGresult *memory_vectors_index_page(struct pg *vector, char *err, size_t errlen)
{
	return pg_exec(vector, &st_index_page, NULL, err, errlen);
}

int memory_vectors_index_complete(struct pg *vector, PGresult *page, char *err, size_t errlen)
{
	const char *scope[] = { PQgetvalue(page, 0, 0), PQgetvalue(page, 0, 1), PQgetvalue(page, 0, 2),
				PQgetvalue(page, 0, 3) };
	PGresult *r = pg_exec(vector, &st_index_complete, scope, err, errlen);
	if (r == NULL)
		return -1;
	int done = atoll(PQcmdTuples(r)) == 1;
	PQclear(r);
	return done;
}

/* ------------------------------------------------------------- a model's index */

void memory_vectors_index_name(const char *model, char out[MEMORY_VECTORS_INDEX_NAME_MAX])
{
	int n = snprintf(out, MEMORY_VECTORS_INDEX_NAME_MAX, "memory_vectors_hnsw_");
	for (const char *s = model; *s && n < MEMORY_VECTORS_INDEX_NAME_MAX - 1; s++, n++)
		out[n] = (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ? *s
			 : (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : '_';
	out[n] = '\0';
}

char *memory_vectors_index_sql(PGconn *c, const char *model, long long dims)
{
	char name[MEMORY_VECTORS_INDEX_NAME_MAX];
	memory_vectors_index_name(model, name);
	char *ident = PQescapeIdentifier(c, name, strlen(name));
	char *literal = PQescapeLiteral(c, model, strlen(model));
	char *sql = NULL;
	if (ident && literal &&
	    asprintf(&sql, "CREATE INDEX CONCURRENTLY IF NOT EXISTS %s ON memory_vectors"
		     " USING hnsw ((embedding::vector(%lld)) vector_cosine_ops) WHERE model = %s AND in_index",
		     ident, dims, literal) < 0)
		sql = NULL;
	PQfreemem(ident);
	PQfreemem(literal);
	return sql;
}
