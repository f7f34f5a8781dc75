/* memory_vectors.c - see memory_vectors.h. */
#include "memory_vectors.h"

#include <stdio.h>

#include "log.h"

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
	3, 1,
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
	3, 1,
};

long long memory_vectors_index_from(const struct config *cfg)
{
	return cfg->memox_exact_scan_max / 2 > 0 ? cfg->memox_exact_scan_max / 2 : 1;
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
