/* memory_vectors.h - the vector database's tables: every statement on memory_vectors and indexed_scopes.
 *
 * The memox responder (search, a scope's size, a changed or deleted
 * memory's vectors), the worker (embedding, erasing, indexing) and
 * `aigetctl memox reembed|drop-model` all reach the vectors through here,
 * so that a change of the table or its index is made in one file.  Each
 * function takes the vector database's connection and an err buffer the
 * caller owns; results are the caller's to PQclear() (a handler keeps them
 * with db_request_keep()).
 *
 * Writes: rows as one JSON array parameter (jsonb_to_recordset; json-c
 * quotes the user text), upserted by memory and model, never lowering a
 * vector's version, so a stale writer cannot overwrite a newer embedding.
 * A vector goes into its model's HNSW index (in_index) only when its scope
 * is listed in indexed_scopes as large; each write then lists the scopes it
 * made large, and the worker puts a listed scope's older vectors into the
 * index a page at a time (sql/vector/0003 says why).
 * Rows: [{id, tenant_id, namespace, external_user_id, metadata (JSON text),
 * version, embedding ("[..]"), created_at}]. */
#ifndef AIGET_MEMORY_VECTORS_H
#define AIGET_MEMORY_VECTORS_H

#include <stddef.h>

#include <libpq-fe.h>

#include "config.h"
#include "pg.h"

/* ------------------------------------------------------------- writing */

/* The number of vectors from which a scope is large enough to be indexed:
 * more than MEMOX_EXACT_SCAN_MAX.  Search keeps the exact plan until the
 * scope's index is complete (memory_vectors_index_complete()), so a scope
 * never pays for HNSW inserts while the exact plan serves it, and never
 * meets a half-built index. */
long long memory_vectors_index_from(const struct config *cfg);

/* Writes rows (JSON text as above) of model with dims dimensions.  0, or -1
 * with err.  Listing the scopes that became large is retried by the next
 * write when it fails, so it only logs. */
int memory_vectors_store(struct pg *vector, const struct config *cfg, const char *model, long long dims,
			 const char *rows_json, char *err, size_t errlen);

/* "id:version" of each of ids (an array literal "{..}") that has a vector of
 * model, one a row.  NULL with err. */
PGresult *memory_vectors_have(struct pg *vector, const char *model, const char *ids, char *err, size_t errlen);

/* ------------------------------------------------------------- search */

enum memory_vectors_plan {
	MEMORY_VECTORS_EXACT,        /* every vector of the scope compared */
	MEMORY_VECTORS_INDEX,        /* the model's HNSW index, merged with the scope's vectors not in it */
	MEMORY_VECTORS_PLAN__MAX
};

/* Writes the search statements for the configured model: its name and
 * dimensions are part of their text (the name is operator configuration
 * held to [A-Za-z0-9._:/-] by config.c, never client input; a literal, so
 * that the planner can match the model's partial HNSW index even in a
 * generic plan).  Once, before the first search; -1 when out of memory. */
int memory_vectors_search_init(const struct config *cfg);

struct memory_vectors_query {
	const char *tenant_id, *namespace_, *external_user_id;
	const char *vector;          /* the query's embedding as "[..]" */
	const char *model;
	const char *path, *vars;     /* the metadata filter's jsonpath and variables; NULL: none */
	int limit;
};

/* The scope's nearest vectors of the model by cosine similarity, best
 * first: memory_id, score (1 - distance), version.  NULL with err.  The
 * exact plan ranks memory_vectors_half when the database has it (sql/vector
 * 0004) and reranks by float32, with the same answer. */
/* How many candidates the half-precision ranking gives the float32 rerank
 * for limit results, and whether its answer r (columns memory_id, score,
 * version, candidates, the farthest candidate's half-precision distance)
 * is provably the exact one: fewer candidates than asked (every vector was
 * one), or the farthest more than half precision's error beyond the last
 * result.  Exported for t/unit/half_bound.c. */
#define HALF_CANDIDATES(limit) (2 * (limit) + 16)
int memory_vectors_half_is_exact(PGresult *r, int limit);

PGresult *memory_vectors_search(struct pg *vector, enum memory_vectors_plan plan, const struct memory_vectors_query *q,
				char *err, size_t errlen);

/* Whether the scope is listed as large for model and all its vectors are in
 * the index: 1, 0, or -1 with err. */
int memory_vectors_scope_indexed(struct pg *vector, const char *tenant_id, const char *namespace_,
				 const char *external_user_id, const char *model, char *err, size_t errlen);

/* ------------------------------------------------------------- deleting */

/* The vectors of one memory older than version (decimal text; the largest
 * bigint for all of them).  0, or -1 with err. */
int memory_vectors_drop_older(struct pg *vector, const char *memory_id, const char *version, char *err,
			      size_t errlen);
/* Every vector of one memory, or of each of ids (an array literal "{..}"). */
int memory_vectors_delete_memory(struct pg *vector, const char *memory_id, char *err, size_t errlen);
int memory_vectors_delete_memories(struct pg *vector, const char *ids, char *err, size_t errlen);

/* An erasure deletes in pages of MEMORY_VECTORS_PAGE rows, so that no
 * statement holds locks or builds a result of unbounded size, calling
 * between(arg) after each full page (a worker's keepalive; NULL: none), and
 * adds the rows deleted to *total.  0, or -1 with err. */
#define MEMORY_VECTORS_PAGE 1000
/* The scope's vectors made up to before (a timestamptz's text). */
int memory_vectors_erase_scope(struct pg *vector, const char *tenant_id, const char *namespace_,
			       const char *external_user_id, const char *before, void (*between)(void *), void *arg,
			       long long *total, char *err, size_t errlen);
/* Every vector of a tenant. */
int memory_vectors_erase_tenant(struct pg *vector, const char *tenant_id, void (*between)(void *), void *arg,
				long long *total, char *err, size_t errlen);
/* The scope's (every model's), or the tenant's, entries among the large
 * scopes: should new vectors keep one large, the next write lists it again. */
int memory_vectors_forget_scope(struct pg *vector, const char *tenant_id, const char *namespace_,
				const char *external_user_id, char *err, size_t errlen);
int memory_vectors_forget_tenant(struct pg *vector, const char *tenant_id, char *err, size_t errlen);

/* A model no longer in use: one page of its vectors (at most 5000; the
 * count deleted, 0 when none is left, or -1 with err), and its entries
 * among the large scopes (0, or -1). */
long long memory_vectors_drop_model_page(struct pg *vector, const char *model, char *err, size_t errlen);
int memory_vectors_forget_model(struct pg *vector, const char *model, char *err, size_t errlen);

/* ------------------------------------------------------------- indexing */

/* One page of the oldest listed scope that is not complete: up to
 * MEMORY_VECTORS_INDEX_PAGE of its vectors go into the index.  The result
 * has no row when nothing is waiting, else one: tenant_id, namespace,
 * external_user_id, model, and how many vectors the page indexed.  NULL
 * with err. */
#define MEMORY_VECTORS_INDEX_PAGE 200 /* ~0.5 s of HNSW inserts at 100k vectors: jobs wait no longer */
PGresult *memory_vectors_index_page(struct pg *vector, char *err, size_t errlen);
/* Marks the scope (the page's first four columns) complete unless a vector
 * of it is still out of the index, locked ones included: 1 when it was, 0
 * when not, -1 with err. */
int memory_vectors_index_complete(struct pg *vector, PGresult *page, char *err, size_t errlen);

/* ------------------------------------------------------------- a model's index */

/* Its name: memory_vectors_hnsw_<model with every other character as '_'>,
 * at most 63 bytes, as sql/vector/0002 names the local model's index. */
#define MEMORY_VECTORS_INDEX_NAME_MAX 64
void memory_vectors_index_name(const char *model, char out[MEMORY_VECTORS_INDEX_NAME_MAX]);

/* The DDL that makes the model's partial HNSW index if it is missing, the
 * one the index plan's statement is written for (CONCURRENTLY: the table
 * stays writable), its name and literal escaped by c.  malloc()ed; NULL
 * when out of memory. */
char *memory_vectors_index_sql(PGconn *c, const char *model, long long dims);

#endif
