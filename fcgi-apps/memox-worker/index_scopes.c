/* index_scopes.c - see index_scopes.h. */
#include "index_scopes.h"

#include <stdlib.h>

#include "log.h"
#include "pg.h"

#define INDEX_PAGE    "200"     /* ~0.5 s of HNSW inserts at 100k vectors: jobs wait no longer */
#define INDEX_IDLE_MS 2000.0    /* how often to look for a newly listed scope */
#define INDEX_BUSY_MS 500.0     /* the rows left are another worker's page: look again soon */

/* One page of the oldest incomplete scope: returns the scope and how many
 * of its vectors this page put into the index (no row: nothing to do). */
static const struct pg_statement index_page = {
	"worker_index_page",
	"WITH s AS (SELECT tenant_id, namespace, external_user_id, model FROM indexed_scopes"
	"  WHERE NOT complete ORDER BY created_at LIMIT 1),"
	" p AS (SELECT v.memory_id, v.model FROM memory_vectors v, s WHERE v.tenant_id = s.tenant_id"
	"  AND v.namespace = s.namespace AND v.external_user_id = s.external_user_id AND v.model = s.model"
	"  AND NOT v.in_index LIMIT " INDEX_PAGE " FOR UPDATE OF v SKIP LOCKED),"
	" u AS (UPDATE memory_vectors v SET in_index = true FROM p"
	"  WHERE v.memory_id = p.memory_id AND v.model = p.model RETURNING 1)"
	" SELECT s.tenant_id, s.namespace, s.external_user_id, s.model, (SELECT count(*) FROM u) FROM s",
	0, 1,
};

/* Complete when no vector of the scope is left out, locked ones included. */
static const struct pg_statement index_complete = {
	"worker_index_complete",
	"UPDATE indexed_scopes SET complete = true WHERE tenant_id = $1::uuid AND namespace = $2"
	" AND external_user_id = $3 AND model = $4 AND NOT EXISTS (SELECT 1 FROM memory_vectors v"
	"  WHERE v.tenant_id = $1::uuid AND v.namespace = $2 AND v.external_user_id = $3 AND v.model = $4"
	"  AND NOT v.in_index)",
	4, 1,
};

/* A page found nothing to index in its scope: complete it, unless another
 * worker's page still holds rows.  Returns 1 when it was completed. */
static int complete_scope(struct worker *w, PGresult *page)
{
	char err[256];
	const char *scope[] = { PQgetvalue(page, 0, 0), PQgetvalue(page, 0, 1), PQgetvalue(page, 0, 2),
				PQgetvalue(page, 0, 3) };
	PGresult *c = pg_exec(w->ctx->vector, &index_complete, scope, err, sizeof err);
	if (c == NULL)
		log_warn("vector database: marking a scope indexed failed: %s", err);
	int done = c && atoll(PQcmdTuples(c)) == 1;
	PQclear(c);
	return done;
}

int index_scopes_step(struct worker *w)
{
	char err[256];
	double now = clock_ms();
	int more = 0;
	w->next_index_ms = now + INDEX_IDLE_MS;
	PGresult *r = pg_exec(w->ctx->vector, &index_page, NULL, err, sizeof err);
	if (r == NULL) {
		log_warn("vector database: indexing a large scope failed: %s", err);
		return 0;
	}
	if (PQntuples(r) == 1) {
		long long n = atoll(PQgetvalue(r, 0, 4));
		if (n > 0)
			log_debug("indexed %lld vectors of a large scope", n);
		/* After a completed scope, the next one may be waiting. */
		more = n > 0 || complete_scope(w, r);
		if (!more)
			w->next_index_ms = now + INDEX_BUSY_MS;
	}
	PQclear(r);
	if (more)
		w->next_index_ms = now;
	return more;
}

void index_scopes_drain(struct worker *w, volatile sig_atomic_t *stop)
{
	while (!*stop && index_scopes_step(w))
		worker_keepalive(w, 0);
}
