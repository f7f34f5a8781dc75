/* jobs.c - the table of job types and their handlers.
 *
 * A job is a JSON object with a "type".  The embedding jobs arrive with the
 * memox issue; until then every job is refused as of an unknown type, which
 * sends it to the dead-letter list rather than losing it. */
#include "jobs.h"

#include <stdio.h>
#include <string.h>

#include "body.h"

struct job_type {
	const char *name;
	enum job_result (*run)(struct app_context *ctx, struct json_object *job, char *err, size_t errlen);
};

static const struct job_type job_types[] = {
	{ NULL, NULL }, /* sentinel: the memox issue adds "embed" here */
};

enum job_result jobs_run(struct app_context *ctx, const char *text, size_t len, char *err, size_t errlen)
{
	char why[256];
	struct json_object *job = body_json_parse(text, len, why, sizeof why);
	if (job == NULL || !json_object_is_type(job, json_type_object)) {
		snprintf(err, errlen, "job is not a JSON object");
		json_object_put(job);
		return JOB_FAILED;
	}
	struct json_object *type;
	const char *name = json_object_object_get_ex(job, "type", &type) ? json_object_get_string(type) : NULL;
	enum job_result result = JOB_FAILED;
	snprintf(err, errlen, "unknown job type");
	for (const struct job_type *t = job_types; t->name && name; t++)
		if (strcmp(t->name, name) == 0) {
			result = t->run(ctx, job, err, errlen);
			break;
		}
	json_object_put(job);
	return result;
}
