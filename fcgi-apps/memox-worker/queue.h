/* queue.h - the memox job queue's Redis keys, shared by the worker and its producers.
 *
 * Reliable-queue pattern: producers LPUSH onto QUEUE_JOBS; a worker BLMOVEs
 * the oldest job into its own processing list, and removes it from there only
 * once the job is done or dead-lettered, so a worker that dies mid-job leaves
 * the job where a reaper can return it.  All keys share the {memox} hash tag,
 * so the moves stay single-slot on a Redis Cluster. */
#ifndef AIGET_QUEUE_H
#define AIGET_QUEUE_H

#define QUEUE_JOBS             "{memox}:jobs"
#define QUEUE_PROCESSING_PREFIX "{memox}:processing:"
#define QUEUE_DEAD             "{memox}:dead"

#endif
