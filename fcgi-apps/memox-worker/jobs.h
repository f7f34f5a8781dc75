/* jobs.h - the job types the worker knows and how a batch of jobs is run.
 *
 * Each type runs all of its jobs of a batch in one call, so that embed jobs
 * share one provider call and one upsert; the other types run theirs one by
 * one.  A type whose failures clients must see (embed: the memory's status
 * and error) records them before the jobs leave the processing list. */
#ifndef AIGET_JOBS_H
#define AIGET_JOBS_H

#include "worker.h"

struct job_type {
	const char *name;
	const char *id_member;       /* the member holding the job's UUID */
	/* Runs the batch's n jobs of this type, setting each one's result. */
	void (*run)(struct worker *w, struct job **jobs, int n);
	/* Records jobs that will be retried (JOB_RETRY) or dead-lettered
	 * (JOB_FAILED); NULL when only the queue needs to know. */
	void (*record_failures)(struct worker *w, struct job **jobs, int n);
};

/* Parses and runs n jobs; afterwards every job's result is final: a retry
 * out of attempts (MEMOX_JOB_MAX_ATTEMPTS) has become JOB_FAILED, and the
 * failures are recorded.  Taking the jobs off the processing list is
 * joblist_finish()'s part. */
void jobs_run_batch(struct worker *w, struct job *jobs, int n);

/* embed_job.c */
void embed_jobs_run(struct worker *w, struct job **jobs, int n);
void embed_jobs_record_failures(struct worker *w, struct job **jobs, int n);

/* erase_job.c */
void vectors_delete_jobs_run(struct worker *w, struct job **jobs, int n);
void erase_jobs_run(struct worker *w, struct job **jobs, int n);
void tenant_erase_jobs_run(struct worker *w, struct job **jobs, int n);

#endif
