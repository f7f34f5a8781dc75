/* memory_vectors.h - the one statement that writes embeddings into the vector database.
 *
 * The worker (new and changed memories) and `aigetctl memox reembed` (a new
 * model) write vectors the same way: rows as one JSON array parameter
 * (jsonb_to_recordset; json-c quotes the user text), upserted by memory and
 * model, never lowering a vector's version, so a stale writer cannot
 * overwrite a newer embedding.
 * Parameters: $1 model, $2 dimensions, $3 [{id, tenant_id, namespace,
 * external_user_id, metadata (JSON text), version, embedding ("[..]"),
 * created_at}]. */
#ifndef AIGET_MEMORY_VECTORS_H
#define AIGET_MEMORY_VECTORS_H

#include "pg.h"

extern const struct pg_statement memory_vectors_upsert;

#endif
