/* index_scopes.c - see index_scopes.h. */
#include "index_scopes.h"

#include <stdlib.h>

#include "log.h"
#include "memory_vectors.h"

#define INDEX_IDLE_MS 2000.0    /* how often to look for a newly listed scope */
#define INDEX_BUSY_MS 500.0     /* the rows left are another worker's page: look again soon */

/* A page found nothing to index in its scope: complete it, unless another
 * worker's page still holds rows.  Returns 1 when it was completed. */
static int complete_scope(struct worker *w, PGresult *page)
{
	char err[256];
	int done = memory_vectors_index_complete(w->ctx->vector, page, err, sizeof err);
	if (done < 0)
		log_warn("vector database: marking a scope indexed failed: %s", err);
	return done > 0;
}

int index_scopes_step(struct worker *w)
{
	char err[256];
	double now = clock_ms();
	int more = 0;
	w->next_index_ms = now + INDEX_IDLE_MS;
	PGresult *r = memory_vectors_index_page(w->ctx->vector, err, sizeof err);
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
