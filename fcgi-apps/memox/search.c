/* search.c - POST /search: the caller's end user's memories nearest to a query.
 *
 * The query is embedded with the configured model (remote embeddings are
 * cached in Redis by tenant and the query's hash), then the vector database ranks that
 * one scope (tenant, namespace, external user) by cosine similarity, with
 * the metadata filter applied inside the same statement.  Two plans:
 *  - exact: every vector of the scope is compared (the btree on the scope
 *    finds them); the true nearest neighbours, used until the scope has
 *    grown past MEMOX_EXACT_SCAN_MAX vectors and the worker has put all of
 *    them in the index: below that line it is about as fast as an index walk
 *    wide enough for 95% recall, and writes skip the HNSW insert
 *    (docs/performance.md has the figures);
 *  - index: the model's HNSW index with pgvector's iterative scan, so that
 *    the scope filter does not starve it, with ef_search MEMOX_HNSW_EF_SEARCH
 *    (at least topK), merged with the scope's vectors not in the index yet
 *    (only large scopes are indexed, sql/vector/0003); if it still finds
 *    fewer than asked while the scope has more, the exact plan answers
 *    instead, so a search never returns fewer than topK results when that
 *    many match.
 * Candidates are then read from the main database, which keeps only
 * memories that exist and are ready at the version that was embedded, or
 * pending after a change whose replaced version was embedded (found by what
 * it said until its new embedding replaces the old one): a deleted or
 * failed memory, or a new one not embedded yet, never appears. */
#include "memox.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_key.h"
#include "crypto.h"
#include "embed.h"
#include "fields.h"
#include "json_text.h"
#include "log.h"
#include "memory_vectors.h"
#include "redis.h"

#define TOPK_DEFAULT 10
#define FETCH_ROUNDS 3                /* over-fetch rounds when candidates were dropped */
#define CANDIDATE_ID_MAX 36           /* a uuid's text */

/* The candidates in the order given (ordinality), so that matching each
 * row to its candidate is a lookup, not a search.  A candidate is kept when
 * its vector is of the memory's current version and the memory is ready;
 * or when the memory is pending after a change (version > 1) and the vector
 * is of a version a change replaced (kept in memory_versions: the vector of
 * a changed memory stays until its new one replaces it, memories.c), or
 * already of the current version (written by the worker, which marks the
 * memory ready next), so that it is found all the way through.  A new
 * memory (version 1) stays out until it is ready, whatever vector it has.
 * Each candidate is one primary-key lookup (LATERAL ... LIMIT 1 keeps the
 * planner from joining the other way): with a plain join the cached plan
 * was seen to read every memory of the tenant through the scope index and
 * hash them (all 1,000 of a 1,000-memory tenant: 0.41 ms against 0.06). */
static const struct pg_statement st_fetch = {
	"memox_search_fetch",
	"SELECT c.ord, m.content, m.metadata::text, " MEMOX_SQL_TIME("m.created_at") ", m.version, m.status"
	"  FROM unnest($1::uuid[], $3::bigint[]) WITH ORDINALITY AS c(id, version, ord)"
	"  CROSS JOIN LATERAL (SELECT m.content, m.metadata, m.created_at, m.version, m.status FROM memories m"
	"   WHERE m.id = c.id AND m.tenant_id = $2::uuid AND " MEMORY_LIVE
	"     AND ((m.status = 'ready' AND m.version = c.version)"
	"       OR (m.status = 'pending' AND m.version > 1 AND (c.version = m.version OR EXISTS (SELECT 1"
	"             FROM memory_versions h WHERE h.memory_id = m.id AND h.tenant_id = $2::uuid"
	"              AND h.version = c.version))))"
	"   LIMIT 1) m"
	" ORDER BY c.ord",
	3, 1, PG_MAY_LAG,
};

/* The vector statements are shared/memory_vectors.c's; this sets the
 * planner settings of the responder's vector connection. */
void search_init(struct app_context *ctx)
{
	const struct config *cfg = &ctx->cfg;
	if (memory_vectors_search_init(cfg) != 0) {
		log_error("out of memory preparing search statements");
		exit(1);
	}
	/* strict_order: iterative scans keep going until LIMIT rows pass the
	 * scope and filter, in true distance order of the index.  No parallel
	 * workers: a search is one of many at once, and on a 100k scope the
	 * planner's parallel scan took 100-170 ms where one process takes 50
	 * (2 cores: the workers' start and the gather cost more than they
	 * share, and they take the cores of the other searches). */
	char options[240];
	long long ef = cfg->memox_ef_search < cfg->memox_topk_max ? cfg->memox_topk_max : cfg->memox_ef_search;
	snprintf(options, sizeof options,
		 "-c hnsw.ef_search=%lld -c hnsw.iterative_scan=strict_order -c hnsw.max_scan_tuples=%lld"
		 " -c max_parallel_workers_per_gather=0",
		 ef, cfg->memox_exact_scan_max * 4 > 20000 ? cfg->memox_exact_scan_max * 4 : 20000);
	pg_set_options(ctx->vector, options);
}

/* ------------------------------------------------------------- the query's vector */

/* The query's embedding in out; remote ones are cached in Redis.  0, or -1 answered. */
static int query_vector(struct request *req, const char *query, float *out)
{
	const struct config *cfg = &req->ctx->cfg;
	size_t len = strlen(query), bytes = sizeof(float) * (size_t)cfg->embedding_dims;
	char err[256], key[256];
	/* The built-in embedder takes microseconds, less than a Redis round trip. */
	int cache = strcmp(cfg->embedding_provider, "local") != 0 && cfg->memox_query_cache_s > 0;
	if (cache) {
		unsigned char d[CRYPTO_SHA256_LEN];
		char hex[2 * CRYPTO_SHA256_LEN + 1];
		crypto_sha256(query, len, d);
		crypto_hex(d, sizeof d, hex);
		/* Per tenant: a shared entry would tell one tenant, by the time a
		 * search takes, whether another searched the same words. */
		snprintf(key, sizeof key, "{memox}:qcache:%s:%.64s:%lld:%s", req->key->tenant_id, cfg->embedding_model,
			 cfg->embedding_dims, hex);
		redisReply *rep = redis_command(req->ctx->redis, err, sizeof err, "GET %s", key);
		int hit = rep && rep->type == REDIS_REPLY_STRING && rep->len == bytes;
		if (hit)
			memcpy(out, rep->str, bytes);
		freeReplyObject(rep);
		if (hit)
			return 0;
	}
	const char *texts[] = { query };
	enum embed_status s = embed_texts(cfg, texts, &len, 1, out, err, sizeof err);
	if (s != EMBED_OK) {
		if (s == EMBED_FAILED) {
			log_warn("query embedding refused: %s", err);
			response_error(req, 502, "bad_gateway", "the embedding provider refused the query");
		} else {
			response_unavailable(req, "query embedding", err);
		}
		return -1;
	}
	if (cache)
		freeReplyObject(redis_command(req->ctx->redis, err, sizeof err, "SET %s %b EX %lld", key, (const char *)out,
					      bytes, cfg->memox_query_cache_s));
	return 0;
}

/* ------------------------------------------------------------- the request */

/* Each mode as the request and the answer name it. */
static const char *const mode_names[] = { [SEARCH_SEMANTIC] = "semantic", [SEARCH_KEYWORD] = "keyword",
					  [SEARCH_HYBRID] = "hybrid" };

/* mode: semantic (the default), keyword or hybrid. */
static int read_mode(struct request *req, struct search_input *in)
{
	struct json_object *v;
	in->mode = SEARCH_SEMANTIC;
	if (!json_object_object_get_ex(req->json, "mode", &v) || json_object_is_type(v, json_type_null))
		return 0;
	for (int m = 0; json_object_is_type(v, json_type_string) && m < 3; m++)
		if (strcmp(json_object_get_string(v), mode_names[m]) == 0) {
			in->mode = (enum search_mode)m;
			return 0;
		}
	response_error(req, 400, "invalid_request", "mode must be semantic, keyword or hybrid");
	return -1;
}

/* Whether the body has field, not null. */
static int given(struct request *req, const char *field)
{
	struct json_object *v;
	return json_object_object_get_ex(req->json, field, &v) && !json_object_is_type(v, json_type_null);
}

/* rrfK and keywordWeight, hybrid mode's; and the fields a mode has no use
 * for, refused rather than ignored so that a caller who means them learns
 * they do nothing there. */
static int read_fusion(struct request *req, struct search_input *in)
{
	struct json_object *v;
	in->rrf_k = (int)req->ctx->cfg.memox_rrf_k;
	in->keyword_weight = 0.5;
	if (in->mode == SEARCH_KEYWORD) {
		static const char *const semantic_only[] = { "minScore", "exact", NULL };
		for (int i = 0; semantic_only[i]; i++)
			if (given(req, semantic_only[i])) {
				response_error(req, 400, "invalid_request",
					       "%s applies to the semantic ranking: not in keyword mode", semantic_only[i]);
				return -1;
			}
	}
	if (in->mode != SEARCH_HYBRID) {
		static const char *const hybrid_only[] = { "rrfK", "keywordWeight", NULL };
		for (int i = 0; hybrid_only[i]; i++)
			if (given(req, hybrid_only[i])) {
				response_error(req, 400, "invalid_request", "%s applies to hybrid mode only",
					       hybrid_only[i]);
				return -1;
			}
		return 0;
	}
	if (json_object_object_get_ex(req->json, "rrfK", &v) && !json_object_is_type(v, json_type_null)) {
		int64_t k = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || k < 1 || k > MEMOX_RRF_K_MAX) {
			response_error(req, 400, "invalid_request", "rrfK must be an integer from 1 to %d",
				       MEMOX_RRF_K_MAX);
			return -1;
		}
		in->rrf_k = (int)k;
	}
	if (json_object_object_get_ex(req->json, "keywordWeight", &v) && !json_object_is_type(v, json_type_null)) {
		double w = json_object_get_double(v);
		if (!(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) ||
		    !(w >= 0 && w <= 1)) {
			response_error(req, 400, "invalid_request", "keywordWeight must be a number from 0 to 1");
			return -1;
		}
		in->keyword_weight = w;
	}
	return 0;
}

static int read_input(struct request *req, struct search_input *in)
{
	static const char *const allowed[] = { "namespace", "externalUserId", "query", "mode", "topK", "minScore",
					       "filter", "exact", "rrfK", "keywordWeight", NULL };
	const struct config *cfg = &req->ctx->cfg;
	struct json_object *v;
	char err[256];
	if (input_refuse_tenant(req, req->json) != 0 || fields_only(req, allowed) != 0 ||
	    field_string(req, "namespace", 1, MEMOX_SCOPE_MAX, &in->ns) != 0 ||
	    input_scope_value(req, "namespace", in->ns) != 0 ||
	    field_string(req, "externalUserId", 1, MEMOX_SCOPE_MAX, &in->user) != 0 ||
	    input_scope_value(req, "externalUserId", in->user) != 0 ||
	    field_string(req, "query", 1, MEMOX_QUERY_MAX, &in->query) != 0)
		return -1;
	if (strspn(in->query, " \t\r\n") == strlen(in->query)) {
		response_error(req, 400, "invalid_request", "query must not be empty");
		return -1;
	}
	if (read_mode(req, in) != 0)
		return -1;
	in->top_k = TOPK_DEFAULT < cfg->memox_topk_max ? TOPK_DEFAULT : (int)cfg->memox_topk_max;
	if (json_object_object_get_ex(req->json, "topK", &v) && !json_object_is_type(v, json_type_null)) {
		int64_t k = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || k < 1 || k > cfg->memox_topk_max) {
			response_error(req, 400, "invalid_request", "topK must be an integer from 1 to %lld",
				       cfg->memox_topk_max);
			return -1;
		}
		in->top_k = (int)k;
	}
	in->min_score = -INFINITY;
	if (json_object_object_get_ex(req->json, "minScore", &v) && !json_object_is_type(v, json_type_null)) {
		double s = json_object_get_double(v);
		if (!(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) ||
		    !(s >= -1 && s <= 1)) {
			response_error(req, 400, "invalid_request", "minScore must be a number from -1 to 1");
			return -1;
		}
		in->min_score = s;
	}
	in->exact = 0;
	if (json_object_object_get_ex(req->json, "exact", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			response_error(req, 400, "invalid_request", "exact must be true or false");
			return -1;
		}
		in->exact = json_object_get_boolean(v);
	}
	if (read_fusion(req, in) != 0)
		return -1;
	json_object_object_get_ex(req->json, "filter", &v);
	if (filter_compile(v, req->arena, &in->path, &in->vars, err, sizeof err) != 0) {
		response_error(req, 400, "invalid_request", "%s", err);
		return -1;
	}
	return 0;
}

/* A number written with the given decimals: json-c would print a rounded
 * double's binary tail (0.38197599999999998). */
struct json_object *search_number(struct request *req, double v, int decimals)
{
	return json_object_new_double_s(v, arena_printf(req->arena, "%.*f", decimals, v));
}

struct json_object *search_result(struct request *req, const char *id, PGresult *r, int row, int col, double score,
				  long long matched_version)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "content", json_object_new_string(PQgetvalue(r, row, col)));
	struct json_object *meta = json_text_object(PQgetvalue(r, row, col + 1));
	json_object_object_add(o, "metadata", meta ? meta : json_object_new_object());
	json_object_object_add(o, "score", search_number(req, score, 6));
	json_object_object_add(o, "createdAt", json_object_new_string(PQgetvalue(r, row, col + 2)));
	json_object_object_add(o, "version", json_object_new_int64(atoll(PQgetvalue(r, row, col + 3))));
	json_object_object_add(o, "matchedVersion", json_object_new_int64(matched_version));
	json_object_object_add(o, "status", json_object_new_string(PQgetvalue(r, row, col + 4)));
	return o;
}

struct candidate {
	const char *id, *version;
	double score;
};

/* Each plan as the answer's searchMode names it, and the statement it runs,
 * as a failure's log line names it. */
static const struct {
	const char *mode, *statement;
} plans[MEMORY_VECTORS_PLAN__MAX] = {
	[MEMORY_VECTORS_EXACT] = { "exact", "memory_vectors_search_exact" },
	[MEMORY_VECTORS_INDEX] = { "index", "memory_vectors_search_index" },
};

static const char *plan_name(enum memory_vectors_plan plan)
{
	return plans[plan].mode;
}

/* The query's embedding as the vector statements take it ("[..]"), or
 * NULL when answered. */
static const char *query_text(struct request *req, const char *query)
{
	int dims = (int)req->ctx->cfg.embedding_dims;
	float *q = arena_alloc(req->arena, sizeof(float) * (size_t)dims);
	char *qtext = arena_alloc(req->arena, EMBED_TEXT_MAX(dims));
	if (query_vector(req, query, q) != 0)
		return NULL;
	embed_vector_text(q, dims, qtext);
	return qtext;
}

/* The scope's limit nearest vectors by the plan: memory_id, score,
 * version.  NULL when answered. */
static PGresult *nearest(struct request *req, enum memory_vectors_plan plan, const struct search_input *in,
			 const char *qtext, int limit)
{
	struct memory_vectors_query mq = { req->key->tenant_id, in->ns, in->user, qtext,
					   req->ctx->cfg.embedding_model, in->path, in->vars, limit };
	char err[256];
	return db_request_result(req, memory_vectors_search(req->ctx->vector, plan, &mq, err, sizeof err),
				 plans[plan].statement, err);
}

/* The n candidates of r into *out, and their ids and vector versions as
 * array literals "{id,id,...}" and "{v,v,...}" for the main database. */
static const char *read_candidates(struct request *req, PGresult *r, int n, struct candidate **out,
				   const char **versions)
{
	struct candidate *c = arena_alloc(req->arena, sizeof *c * (size_t)(n ? n : 1));
	/* Each array in one buffer: 37 bytes an id, 20 a bigint and its comma. */
	char *ids = arena_alloc(req->arena, (size_t)n * (CANDIDATE_ID_MAX + 1) + 3), *w = ids;
	char *vs = arena_alloc(req->arena, (size_t)n * 21 + 3), *v = vs;
	*w++ = '{';
	*v++ = '{';
	for (int i = 0; i < n; i++) {
		c[i].id = PQgetvalue(r, i, 0);
		c[i].score = atof(PQgetvalue(r, i, 1));
		c[i].version = PQgetvalue(r, i, 2);
		size_t len = strnlen(c[i].id, CANDIDATE_ID_MAX), vlen = strnlen(c[i].version, 19);
		if (i) {
			*w++ = ',';
			*v++ = ',';
		}
		memcpy(w, c[i].id, len);
		w += len;
		memcpy(v, c[i].version, vlen);
		v += vlen;
	}
	*w++ = '}';
	*w = '\0';
	*v++ = '}';
	*v = '\0';
	*out = c;
	*versions = vs;
	return ids;
}

/* Adds to results, in score order, the memories of m (st_fetch's rows for
 * the n candidates c, each kept at the version that was embedded), up to
 * topK and down to minScore.  A result shows the memory as it is now
 * (content, metadata, version, status) and the version whose embedding
 * matched (matchedVersion): older than version while a change is being
 * embedded; *cut counts those that would have been results but for
 * minScore.  The number added. */
static int add_ready(struct request *req, PGresult *m, const struct candidate *c, int n,
		     const struct search_input *in, struct json_object *results, int *cut)
{
	int found = 0;
	*cut = 0;
	for (int j = 0; j < PQntuples(m) && found + *cut < in->top_k; j++) {
		long ord = atol(PQgetvalue(m, j, 0));
		if (ord < 1 || ord > n)
			continue;
		const struct candidate *ci = &c[ord - 1];
		if (!(ci->score >= in->min_score)) {
			++*cut;
			continue;
		}
		json_object_array_add(results, search_result(req, ci->id, m, j, 1, ci->score, atoll(ci->version)));
		found++;
	}
	return found;
}

/* The results: candidates from the vector database, kept by the main one,
 * in up to FETCH_ROUNDS rounds of more candidates while too many were
 * dropped.  *plan becomes the exact one when the index runs out before
 * limit rows pass the filter.  NULL when answered. */
static struct json_object *find_results(struct request *req, const struct search_input *in, const char *qtext,
					enum memory_vectors_plan *plan, int *cut)
{
	struct json_object *results = json_object_new_array();
	int limit = in->top_k + 8;
	for (int pass = 0; pass < FETCH_ROUNDS;) {
		PGresult *r = nearest(req, *plan, in, qtext, limit);
		if (r == NULL) {
			json_object_put(results);
			return NULL;
		}
		int n = PQntuples(r);
		if (n < limit && *plan == MEMORY_VECTORS_INDEX) {
			/* The index ran out before limit rows passed the filter:
			 * only the exact plan can say whether more exist. */
			*plan = MEMORY_VECTORS_EXACT;
			continue;
		}
		struct candidate *c;
		const char *versions;
		const char *ids = read_candidates(req, r, n, &c, &versions);
		const char *fp[] = { ids, req->key->tenant_id, versions };
		PGresult *m = db_request_exec(req, &st_fetch, fp);
		if (m == NULL) {
			json_object_put(results);
			return NULL;
		}
		json_object_put(results);
		results = json_object_new_array();
		int found = add_ready(req, m, c, n, in, results, cut);
		int exhausted = n < limit || (n > 0 && !(c[n - 1].score >= in->min_score));
		if (found + *cut >= in->top_k || exhausted)
			break;
		pass++;
		limit *= 4;
	}
	return results;
}

/* Each leg of hybrid mode ranks this many, so that a memory just below
 * topK in one leg can still rise by the other. */
static int hybrid_depth(int top_k)
{
	int depth = top_k < 10 ? 20 : 2 * top_k;
	return depth > top_k + 100 ? top_k + 100 : depth;
}

/* The semantic leg's results (topK of in), *plan the plan that ranked
 * them; NULL when answered. */
static struct json_object *semantic_results(struct request *req, const struct search_input *in,
					    enum memory_vectors_plan *plan, int *cut)
{
	const char *qtext = query_text(req, in->query);
	if (qtext == NULL)
		return NULL;
	int small = 1;
	if (!in->exact && scope_is_small(req, in->ns, in->user, &small) != 0)
		return NULL;
	*plan = in->exact || small ? MEMORY_VECTORS_EXACT : MEMORY_VECTORS_INDEX;
	return find_results(req, in, qtext, plan, cut);
}

/* The keyword mode's results; NULL when answered. */
static struct json_object *keyword_results(struct request *req, const struct search_input *in)
{
	PGresult *r = keyword_rows(req, in, in->top_k);
	if (r == NULL)
		return NULL;
	struct json_object *results = json_object_new_array();
	for (int i = 0; i < PQntuples(r); i++)
		json_object_array_add(results, keyword_result(req, r, i));
	return results;
}

/* The hybrid mode's: both legs hybrid_depth() deep, fused.  NULL when answered. */
static struct json_object *hybrid_results(struct request *req, const struct search_input *in,
					  enum memory_vectors_plan *plan, int *cut)
{
	struct search_input leg = *in;
	leg.top_k = hybrid_depth(in->top_k);
	struct json_object *semantic = semantic_results(req, &leg, plan, cut);
	if (semantic == NULL)
		return NULL;
	PGresult *keyword = keyword_rows(req, &leg, leg.top_k);
	if (keyword == NULL) {
		json_object_put(semantic);
		return NULL;
	}
	return hybrid_fuse(req, in, semantic, keyword);
}

void search_memories(struct request *req)
{
	double started = clock_ms();
	struct search_input in;
	if (read_input(req, &in) != 0)
		return;
	enum memory_vectors_plan plan = MEMORY_VECTORS_EXACT;
	int cut = 0;
	struct json_object *results = in.mode == SEARCH_KEYWORD  ? keyword_results(req, &in)
				      : in.mode == SEARCH_HYBRID ? hybrid_results(req, &in, &plan, &cut)
								 : semantic_results(req, &in, &plan, &cut);
	if (results == NULL)
		return;
	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "results", results);
	json_object_object_add(body, "belowMinScore", json_object_new_int(cut));
	json_object_object_add(body, "mode", json_object_new_string(mode_names[in.mode]));
	if (in.mode != SEARCH_KEYWORD) {
		json_object_object_add(body, "model", json_object_new_string(req->ctx->cfg.embedding_model));
		json_object_object_add(body, "searchMode", json_object_new_string(plan_name(plan)));
	} else {
		json_object_object_add(body, "searchMode", json_object_new_string("keyword"));
	}
	if (in.mode == SEARCH_HYBRID)
		json_object_object_add(body, "rrfK", json_object_new_int(in.rrf_k));
	json_object_object_add(body, "tookMs", search_number(req, clock_ms() - started, 3));
	response_json(req, 200, body);
}
