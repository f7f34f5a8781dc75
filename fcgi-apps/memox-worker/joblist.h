/* joblist.h - moving jobs between the queue, a worker's processing list, the
 * delayed set and the dead-letter list (keys in shared/queue.h).
 *
 * A job is in exactly one of those places at every moment: every move is one
 * Redis command or one Lua script, never a read followed by a write. */
#ifndef AIGET_JOBLIST_H
#define AIGET_JOBLIST_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "worker.h"

struct batch {
	redisReply *first, *rest;    /* own the jobs' texts */
	struct job *jobs;
	int n;
};

/* Moves up to max jobs from the queue into the worker's processing list,
 * waiting up to wait_ms for the first (0: not at all).  Returns the number
 * taken (b filled; joblist_free() it), or -1 with err when Redis failed. */
int joblist_take(struct worker *w, int max, int wait_ms, struct batch *b, char *err, size_t errlen);

/* Takes every job of the batch off the processing list by its result: done
 * ones are dropped, JOB_RETRY ones go to the delayed set with their attempt
 * counted, JOB_FAILED ones to the dead-letter list.  Returns the shortest
 * delay given to a retried job in ms, or -1 when none was retried. */
long long joblist_finish(struct worker *w, struct batch *b);

void joblist_free(struct batch *b);

/* Returns the jobs left in this worker's processing list (by an earlier
 * process with the same id, or by a batch Redis failed to finish) to the
 * front of the queue. */
void joblist_reclaim_own(struct worker *w);

#endif
