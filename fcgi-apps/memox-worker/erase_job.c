/* erase_job.c - deleting memories and vectors: one memory's, one end user's, a deleted tenant's.
 *
 * Each erasure deletes in pages of PAGE rows, so that no statement holds
 * locks or builds a result of unbounded size, and each page is complete in
 * itself, so a worker killed half-way leaves a state the next attempt simply
 * continues from.  Vectors go before memories (no vector is left without
 * its memory at any moment), and once more after them: a memory being
 * embedded while it was erased may have had its vector written between the
 * two passes.  After the second pass the memory rows are gone, so an
 * embedding still in flight finds nothing to mark ready and drops its own
 * vector (embed_job.c). */
#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "memory_vectors.h"
#include "pg.h"
#include "tenant_store.h"

#define PAGE "1000"

static const struct pg_statement memory_exists = {
	"worker_erase_memory_exists",
	"SELECT 1 FROM memories WHERE id = $1::uuid",
	1, 1, PG_PRIMARY,
};

static const struct pg_statement erasure_read = {
	"worker_erase_read",
	"SELECT tenant_id, namespace, external_user_id, requested_at, status FROM memox_erasures WHERE id = $1::uuid",
	1, 1, PG_PRIMARY,
};

static const struct pg_statement erasure_running = {
	"worker_erase_running",
	"UPDATE memox_erasures SET status = 'running' WHERE id = $1::uuid AND status = 'pending'",
	1, 1, PG_PRIMARY,
};

/* One page of the scope's memories, counted on the erasure in the same
 * statement, so the count stays right whenever the worker stops. */
static const struct pg_statement delete_scope_memories = {
	"worker_erase_scope_memories",
	"WITH e AS (SELECT tenant_id, namespace, external_user_id, requested_at FROM memox_erasures WHERE id = $1::uuid),"
	" d AS (DELETE FROM memories WHERE id IN ("
	"  SELECT m.id FROM memories m, e WHERE m.tenant_id = e.tenant_id AND m.namespace = e.namespace"
	"   AND m.external_user_id = e.external_user_id AND m.created_at <= e.requested_at LIMIT " PAGE ")"
	"  RETURNING 1)"
	" UPDATE memox_erasures SET deleted = deleted + (SELECT count(*) FROM d) WHERE id = $1::uuid"
	" RETURNING (SELECT count(*) FROM d)",
	1, 0, PG_PRIMARY,
};

static const struct pg_statement erasure_done = {
	"worker_erase_done",
	"UPDATE memox_erasures SET status = 'done', finished_at = now() WHERE id = $1::uuid AND status <> 'done'",
	1, 1, PG_PRIMARY,
};

/* The status is checked again on every page, in the statement that
 * deletes it: only a deleted tenant's memories are ever erased here. */
static const struct pg_statement delete_tenant_memories = {
	"worker_erase_tenant_memories",
	"DELETE FROM memories WHERE id IN (SELECT id FROM memories WHERE tenant_id = $1::uuid LIMIT " PAGE ")"
	" AND EXISTS (SELECT 1 FROM tenants WHERE id = $1::uuid AND status = 'deleted')",
	1, 1, PG_PRIMARY,
};

static void keepalive(void *w)
{
	worker_keepalive(w, 0);
}

/* Runs st until a page deletes nothing; the rows deleted go to *total.
 * count_column: the count is the statement's first value rather than its
 * command tag.  0, or -1 with err. */
static int delete_pages(struct worker *w, struct pg *db, const struct pg_statement *st, const char *const *params,
			int count_column, long long *total, char *err, size_t errlen)
{
	for (;;) {
		PGresult *r = pg_exec(db, st, params, err, errlen);
		if (r == NULL)
			return -1;
		long long n = count_column ? (PQntuples(r) ? atoll(PQgetvalue(r, 0, 0)) : 0) : atoll(PQcmdTuples(r));
		PQclear(r);
		*total += n;
		if (n < atoll(PAGE))
			return 0;
		worker_keepalive(w, 0);
	}
}

/* {"type":"vectors.delete","id":<memory id>}: queued by the responder when
 * it deleted a memory but could not reach the vector database. */
void vectors_delete_jobs_run(struct worker *w, struct job **jobs, int n)
{
	char err[256];
	for (int i = 0; i < n; i++) {
		const char *params[] = { jobs[i]->id };
		PGresult *r = pg_exec(w->ctx->db, &memory_exists, params, err, sizeof err);
		if (r == NULL) {
			job_set(jobs[i], JOB_RETRY, "postgres: %s", err);
			continue;
		}
		int exists = PQntuples(r) > 0;
		PQclear(r);
		if (exists) { /* the memory is there: its vectors are in use */
			log_warn("vectors.delete %s: the memory exists, its vectors are kept", jobs[i]->id);
			continue;
		}
		if (memory_vectors_delete_memory(w->ctx->vector, jobs[i]->id, err, sizeof err) != 0)
			job_set(jobs[i], JOB_RETRY, "vector database: %s", err);
	}
}

static void erase_one(struct worker *w, struct job *job)
{
	char err[256];
	const char *id[] = { job->id };
	PGresult *e = pg_exec(w->ctx->db, &erasure_read, id, err, sizeof err);
	if (e == NULL) {
		job_set(job, JOB_RETRY, "postgres: %s", err);
		return;
	}
	if (PQntuples(e) == 0 || strcmp(PQgetvalue(e, 0, 4), "done") == 0) {
		/* Gone with its tenant, or finished by an earlier run. */
		PQclear(e);
		return;
	}
	long long vectors = 0, memories = 0;
	const char *tenant = PQgetvalue(e, 0, 0), *ns = PQgetvalue(e, 0, 1), *user = PQgetvalue(e, 0, 2);
	const char *before = PQgetvalue(e, 0, 3);
	struct pg *vector = w->ctx->vector;
	PGresult *r = pg_exec(w->ctx->db, &erasure_running, id, err, sizeof err);
	if (r == NULL) {
		job_set(job, JOB_RETRY, "postgres: %s", err);
	} else if (memory_vectors_erase_scope(vector, tenant, ns, user, before, keepalive, w, &vectors, err,
					      sizeof err) != 0) {
		job_set(job, JOB_RETRY, "vector database: %s", err);
	} else if (delete_pages(w, w->ctx->db, &delete_scope_memories, id, 1, &memories, err, sizeof err) != 0) {
		job_set(job, JOB_RETRY, "postgres: %s", err);
	} else if (memory_vectors_erase_scope(vector, tenant, ns, user, before, keepalive, w, &vectors, err,
					      sizeof err) != 0 ||
		   memory_vectors_forget_scope(vector, tenant, ns, user, err, sizeof err) != 0) {
		job_set(job, JOB_RETRY, "vector database: %s", err);
	} else {
		PQclear(r);
		if ((r = pg_exec(w->ctx->db, &erasure_done, id, err, sizeof err)) == NULL)
			job_set(job, JOB_RETRY, "postgres: %s", err);
		else
			log_info("erasure %s done: %lld memories, %lld vectors", job->id, memories, vectors);
	}
	PQclear(r);
	PQclear(e);
}

/* {"type":"erase","id":<memox_erasures id>}: one end user's memories made
 * up to the moment the erasure was asked for. */
void erase_jobs_run(struct worker *w, struct job **jobs, int n)
{
	for (int i = 0; i < n; i++)
		erase_one(w, jobs[i]);
}

static void erase_tenant(struct worker *w, struct job *job)
{
	char err[256];
	const char *id[] = { job->id };
	char status[TENANT_STORE_STATUS_MAX];
	int found = tenant_store_status(w->ctx->db, job->id, status, err, sizeof err);
	if (found < 0) {
		job_set(job, JOB_RETRY, "postgres: %s", err);
		return;
	}
	/* No row: removed for good, its memories with it (ON DELETE CASCADE);
	 * only vectors can be left.  A live tenant is never erased. */
	int deleted = found && strcmp(status, "deleted") == 0;
	if (found && !deleted) {
		job_set(job, JOB_FAILED, "tenant %s is not deleted: refusing to erase it", job->id);
		return;
	}
	long long vectors = 0, memories = 0;
	struct pg *vector = w->ctx->vector;
	if (memory_vectors_erase_tenant(vector, job->id, keepalive, w, &vectors, err, sizeof err) != 0)
		job_set(job, JOB_RETRY, "vector database: %s", err);
	else if (delete_pages(w, w->ctx->db, &delete_tenant_memories, id, 0, &memories, err, sizeof err) != 0)
		job_set(job, JOB_RETRY, "postgres: %s", err);
	else if (memory_vectors_erase_tenant(vector, job->id, keepalive, w, &vectors, err, sizeof err) != 0 ||
		 memory_vectors_forget_tenant(vector, job->id, err, sizeof err) != 0)
		job_set(job, JOB_RETRY, "vector database: %s", err);
	else
		log_info("tenant %s erased: %lld memories, %lld vectors", job->id, memories, vectors);
}

/* {"type":"tenant.erase","tenantId":<id>}: queued when a tenant is deleted. */
void tenant_erase_jobs_run(struct worker *w, struct job **jobs, int n)
{
	for (int i = 0; i < n; i++)
		erase_tenant(w, jobs[i]);
}
