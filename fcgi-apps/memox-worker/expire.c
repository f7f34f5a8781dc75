/* expire.c - deleting memories whose expiresAt has passed.
 *
 * Responders already hide them (every read asks expires_at > now()); this
 * frees their space: every MEMOX_EXPIRY_SWEEP_SECONDS a worker takes the
 * expired memories a page at a time in expiry order (the partial index of
 * sql/main/0010), deletes their vectors, then their rows (their history goes
 * with the rows), and counts each tenant's in its usage.  Vectors go first,
 * so a crash between the two leaves rows that the next sweep deletes again,
 * never vectors without a row.  Every worker may run it at once: a row is
 * deleted, and counted, by one of them only (DELETE ... RETURNING). */
#include "expire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "memory_vectors.h"
#include "pg.h"
#include "quota.h"

#define EXPIRE_PAGE  1000
#define EXPIRE_PAGES 20             /* per sweep: 20,000 memories, then the queue's turn */

static const struct pg_statement st_expired = {
	"worker_expired_page",
	"SELECT id FROM memories WHERE expires_at <= now() ORDER BY expires_at LIMIT $1::int",
	1, 1, PG_PRIMARY,
};

static const struct pg_statement st_delete_expired = {
	"worker_expired_delete",
	"DELETE FROM memories WHERE id = ANY($1::uuid[]) AND expires_at <= now() RETURNING tenant_id",
	1, 1, PG_PRIMARY,
};

/* The rows' first column as one array literal "{a,b,...}" (malloc'd). */
static char *id_list(PGresult *r)
{
	int n = PQntuples(r);
	char *s = malloc((size_t)n * 37 + 3), *p = s;
	if (s == NULL)
		return NULL;
	*p++ = '{';
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s%.36s", i ? "," : "", PQgetvalue(r, i, 0));
	*p++ = '}';
	*p = '\0';
	return s;
}

/* Counts the deleted rows (their tenant_id) in each tenant's usage. */
static void count_expired(struct worker *w, PGresult *r)
{
	char err[256];
	int n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		const char *t = PQgetvalue(r, i, 0);
		int seen = 0, k = 0;
		for (int j = 0; j < n && !seen; j++)
			seen = j < i && strcmp(PQgetvalue(r, j, 0), t) == 0;
		if (seen)
			continue;
		for (int j = i; j < n; j++)
			k += strcmp(PQgetvalue(r, j, 0), t) == 0;
		if (quota_count_work(w->ctx, t, QUOTA_EXPIRED_MEMORIES, k, err, sizeof err) != 0)
			log_warn("redis: %d expired memories of tenant %s not counted: %s", k, t, err);
	}
}

/* One page: 1 when it was full (more may be due), 0 when not, -1 on an error. */
static int expire_page(struct worker *w)
{
	char err[256], limit[16];
	snprintf(limit, sizeof limit, "%d", EXPIRE_PAGE);
	const char *p1[] = { limit };
	PGresult *r = pg_exec(w->ctx->db, &st_expired, p1, err, sizeof err);
	if (r == NULL) {
		log_warn("postgres: finding expired memories failed: %s", err);
		return -1;
	}
	int n = PQntuples(r);
	char *ids = n ? id_list(r) : NULL;
	PQclear(r);
	if (n == 0 || ids == NULL)
		return n == 0 ? 0 : -1;
	int rc = -1;
	if (memory_vectors_delete_memories(w->ctx->vector, ids, err, sizeof err) != 0) {
		log_warn("vector database: deleting expired memories' vectors failed: %s", err);
	} else {
		const char *p2[] = { ids };
		PGresult *d = pg_exec(w->ctx->db, &st_delete_expired, p2, err, sizeof err);
		if (d == NULL) {
			log_warn("postgres: deleting expired memories failed: %s", err);
		} else {
			if (PQntuples(d) > 0)
				log_info("deleted %d expired memories", PQntuples(d));
			count_expired(w, d);
			PQclear(d);
			rc = n == EXPIRE_PAGE;
		}
	}
	free(ids);
	return rc;
}

void expire_sweep(struct worker *w)
{
	for (int page = 0; page < EXPIRE_PAGES; page++) {
		if (expire_page(w) != 1)
			return;
		worker_keepalive(w, 0);
	}
}
