/* memory_vectors.c - see memory_vectors.h. */
#include "memory_vectors.h"

const struct pg_statement memory_vectors_upsert = {
	"memory_vectors_upsert",
	"INSERT INTO memory_vectors AS v (memory_id, model, tenant_id, namespace, external_user_id, metadata,"
	"  dimensions, version, embedding, created_at, updated_at)"
	" SELECT r.id, $1, r.tenant_id, r.namespace, r.external_user_id, r.metadata::jsonb, $2::integer,"
	"  r.version, r.embedding::vector, r.created_at, now()"
	" FROM jsonb_to_recordset($3::jsonb) AS r(id uuid, tenant_id uuid, namespace text, external_user_id text,"
	"  metadata text, version bigint, embedding text, created_at timestamptz)"
	" ON CONFLICT (memory_id, model) DO UPDATE SET tenant_id = EXCLUDED.tenant_id,"
	"  namespace = EXCLUDED.namespace, external_user_id = EXCLUDED.external_user_id,"
	"  metadata = EXCLUDED.metadata, dimensions = EXCLUDED.dimensions, version = EXCLUDED.version,"
	"  embedding = EXCLUDED.embedding, updated_at = now()"
	" WHERE v.version <= EXCLUDED.version",
	3, 1,
};
