/* memory_vectors.h - how embeddings are written into the vector database.
 *
 * The worker (new and changed memories) and `aigetctl memox reembed` (a new
 * model) write vectors the same way: rows as one JSON array parameter
 * (jsonb_to_recordset; json-c quotes the user text), upserted by memory and
 * model, never lowering a vector's version, so a stale writer cannot
 * overwrite a newer embedding.  A vector goes into its model's HNSW index
 * (in_index) only when its scope is listed in indexed_scopes as large; each
 * write then lists the scopes it made large (sql/vector/0003 says why).
 * Rows: [{id, tenant_id, namespace, external_user_id, metadata (JSON text),
 * version, embedding ("[..]"), created_at}]. */
#ifndef AIGET_MEMORY_VECTORS_H
#define AIGET_MEMORY_VECTORS_H

#include "config.h"
#include "pg.h"

/* The number of vectors from which a scope is large enough to be indexed:
 * half of MEMOX_EXACT_SCAN_MAX, so that its index is (mostly) built by the
 * time search switches to the index plan. */
long long memory_vectors_index_from(const struct config *cfg);

/* Writes rows (JSON text as above) of model with dims dimensions.  0, or -1
 * with err.  Listing the scopes that became large is retried by the next
 * write when it fails, so it only logs. */
int memory_vectors_store(struct pg *vector, const struct config *cfg, const char *model, long long dims,
			 const char *rows_json, char *err, size_t errlen);

#endif
