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
#define QUEUE_DELAYED          "{memox}:delayed"   /* sorted set: job -> due time in ms */
#define QUEUE_WORKERS          "{memox}:workers"   /* set of live worker ids */
#define QUEUE_HEARTBEAT_PREFIX "{memox}:heartbeat:" /* per worker id, expires when it dies */
/* hash: "<job type>:<outcome>" -> jobs finished so (outcome ok, retried or
 * dead), added to by every worker, read by memox's metrics route. */
#define QUEUE_STATS            "{memox}:stats"

/* Job types (each a JSON object with "type"):
 *   {"type":"embed","id":<memory id>,"version":<n>,"attempt":<k>}
 *       embed that version of a memory (skipped when it changed or went);
 *   {"type":"vectors.delete","id":<memory id>}
 *       drop the vectors of a deleted memory (when the responder could not);
 *   {"type":"erase","id":<memox_erasures id>}
 *       erase one end user's memories;
 *   {"type":"tenant.erase","tenantId":<id>}
 *       erase a deleted tenant's memories and vectors. */

#endif
