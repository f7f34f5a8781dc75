/* jobs.h - what the worker does with one job taken from the queue. */
#ifndef AIGET_JOBS_H
#define AIGET_JOBS_H

#include <stddef.h>

#include "app.h"

enum job_result { JOB_DONE, JOB_FAILED };

/* Runs one job (its JSON text as queued).  On JOB_FAILED, err says why. */
enum job_result jobs_run(struct app_context *ctx, const char *job, size_t len, char *err, size_t errlen);

#endif
