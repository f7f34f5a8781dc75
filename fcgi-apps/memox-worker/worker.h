/* worker.h - one memox worker process and the jobs it holds, as its files share them.
 *
 * A worker takes a batch of jobs at a time into its own processing list,
 * runs them grouped by type (embed jobs in one provider call), and then
 * finishes each: done jobs leave the list, failed ones go to the delayed set
 * for a later attempt or, out of attempts, to the dead-letter list.  The
 * struct job keeps the job's text exactly as taken, because that is what
 * removes it from the processing list (LREM compares bytes). */
#ifndef AIGET_WORKER_H
#define AIGET_WORKER_H

#include <stddef.h>
#include <signal.h>

#include <json-c/json.h>

#include "app.h"

struct worker {
	struct app_context *ctx;
	const char *id;
	char processing[256];        /* {memox}:processing:<id> */
	char heartbeat[256];         /* {memox}:heartbeat:<id> */
	int once;                    /* --once: drain the queue, then exit */
	double next_heartbeat_ms;    /* clock_ms() times of the next upkeep steps */
	double next_reap_ms;
	double next_sweep_ms;
	double next_due_ms;          /* when the first delayed job is due; 0: none known */
	double next_index_ms;        /* the next page of index_scopes.c */
	double next_expire_ms;       /* the next sweep of expire.c */
	int reclaim_pending;         /* jobs were left in the processing list by a Redis failure */
	long done, retried, dead;
};

enum job_result {
	JOB_DONE,
	JOB_RETRY,   /* worth another attempt later: a database, Redis or provider outage */
	JOB_FAILED,  /* never worth another attempt: straight to the dead-letter list */
};

struct job_type;

struct job {
	const char *text;            /* as taken from the queue (owned by the batch) */
	size_t len;
	struct json_object *obj;     /* the parsed job; NULL when it is not a JSON object */
	const struct job_type *type;
	char id[37];                 /* "id" (or "tenantId"), a lower-case UUID, or "" */
	long long version;           /* embed jobs */
	int attempt;                 /* attempts made before this one */
	enum job_result result;
	char why[256];               /* the reason, for a result other than JOB_DONE (logs, dead list) */
	char reason[160];            /* the same as a client may see it (a memory's error): no hosts */
};

/* Sets a job's result and reason. */
void job_set(struct job *job, enum job_result result, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Refreshes this worker's heartbeat when it is due, so that a long job
 * (an erasure of many pages, a slow provider) is not taken for a dead
 * worker's.  extra_s lengthens the heartbeat's life for a call that may
 * block that much longer. */
void worker_keepalive(struct worker *w, int extra_s);

#endif
