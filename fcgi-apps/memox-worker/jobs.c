/* jobs.c - the table of job types, parsing, and a batch from start to outcome.
 *
 * A job is a JSON object with a "type" (shared/queue.h lists them).  One that
 * is not, or whose type is unknown, or whose id is not a UUID, is dead-
 * lettered at once: running it again cannot help, and keeping it in the
 * dead list lets an operator see what a producer sent. */
#include "jobs.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "body.h"
#include "membership.h"

static const struct job_type job_types[] = {
	{ "embed",          "id",       embed_jobs_run,          embed_jobs_record_failures },
	{ "vectors.delete", "id",       vectors_delete_jobs_run, NULL },
	{ "erase",          "id",       erase_jobs_run,          NULL },
	{ "tenant.erase",   "tenantId", tenant_erase_jobs_run,   NULL },
};
#define NTYPES (sizeof job_types / sizeof job_types[0])

void job_set(struct job *job, enum job_result result, const char *fmt, ...)
{
	job->result = result;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(job->why, sizeof job->why, fmt, ap);
	va_end(ap);
}

static long long member_int(struct json_object *obj, const char *name, long long dflt)
{
	struct json_object *v;
	if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_int))
		return dflt;
	return json_object_get_int64(v);
}

/* Fills job's parsed fields; a job that cannot run is JOB_FAILED. */
static void parse(struct job *job)
{
	char why[128];
	job->result = JOB_DONE;
	job->why[0] = '\0';
	if (strlen(job->text) != job->len ||
	    (job->obj = body_json_parse(job->text, job->len, why, sizeof why)) == NULL ||
	    !json_object_is_type(job->obj, json_type_object)) {
		job_set(job, JOB_FAILED, "job is not a JSON object");
		return;
	}
	struct json_object *v;
	const char *name = json_object_object_get_ex(job->obj, "type", &v) ? json_object_get_string(v) : NULL;
	for (size_t i = 0; i < NTYPES && name; i++)
		if (strcmp(job_types[i].name, name) == 0)
			job->type = &job_types[i];
	if (job->type == NULL) {
		job_set(job, JOB_FAILED, "unknown job type");
		return;
	}
	const char *id = json_object_object_get_ex(job->obj, job->type->id_member, &v) &&
			 json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
	if (!membership_is_uuid(id)) {
		job_set(job, JOB_FAILED, "job has no valid %s", job->type->id_member);
		return;
	}
	/* Lower case, as PostgreSQL prints UUIDs: ids are matched as text.
	 * (membership_is_uuid(NULL) is 0, which the analyzer cannot see.) */
	for (int i = 0; i < 36; i++)
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
		job->id[i] = (char)tolower((unsigned char)id[i]);
	job->id[36] = '\0';
	job->version = member_int(job->obj, "version", 0);
	long long attempt = member_int(job->obj, "attempt", 0);
	job->attempt = attempt < 0 ? 0 : attempt > 1000000 ? 1000000 : (int)attempt;
}

void jobs_run_batch(struct worker *w, struct job *jobs, int n)
{
	struct job *list[n > 0 ? n : 1];
	for (int i = 0; i < n; i++)
		parse(&jobs[i]);
	for (size_t t = 0; t < NTYPES; t++) {
		int k = 0;
		for (int i = 0; i < n; i++)
			if (jobs[i].type == &job_types[t] && jobs[i].result == JOB_DONE)
				list[k++] = &jobs[i];
		if (k > 0)
			job_types[t].run(w, list, k);
	}
	long long max = w->ctx->cfg.memox_job_max_attempts;
	for (int i = 0; i < n; i++)
		if (jobs[i].result == JOB_RETRY && jobs[i].attempt + 1 >= max) {
			char why[sizeof jobs[i].why];
			snprintf(why, sizeof why, "%s", jobs[i].why);
			job_set(&jobs[i], JOB_FAILED, "%.200s (after %d attempts)", why, jobs[i].attempt + 1);
		}
	for (size_t t = 0; t < NTYPES; t++) {
		if (job_types[t].record_failures == NULL)
			continue;
		int k = 0;
		for (int i = 0; i < n; i++)
			if (jobs[i].type == &job_types[t] && jobs[i].result != JOB_DONE)
				list[k++] = &jobs[i];
		if (k > 0)
			job_types[t].record_failures(w, list, k);
	}
}
