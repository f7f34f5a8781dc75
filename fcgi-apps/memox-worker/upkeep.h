/* upkeep.h - what a worker does besides jobs: heartbeat, reaper, delayed jobs, sweeper, indexing, expiry.
 *
 * Heartbeat: the worker's id is in {memox}:workers and its key
 * {memox}:heartbeat:<id> lives MEMOX_WORKER_HEARTBEAT_SECONDS, refreshed
 * three times as often.  Reaper: a worker whose heartbeat expired is dead;
 * any worker returns its processing list to the queue.  Delayed jobs: those
 * due are moved back to the queue.  Sweeper: once a minute (or every
 * MEMOX_PENDING_SWEEP_SECONDS when shorter) one worker re-queues embed jobs
 * for memories left pending longer than that, whose job was lost between
 * the responder's commit and its LPUSH.  Indexing: index_scopes.h.  Expiry:
 * expire.h, every MEMOX_EXPIRY_SWEEP_SECONDS. */
#ifndef AIGET_UPKEEP_H
#define AIGET_UPKEEP_H

#include "worker.h"

/* Returns the worker's own leftovers to the queue and registers it. */
void upkeep_start(struct worker *w);

/* Runs each step that is due; called before every take from the queue. */
void upkeep_tick(struct worker *w);

/* Redis answers again after the worker could not reach it: sweep at once,
 * for the memories responders kept but could not queue meanwhile. */
void upkeep_redis_back(struct worker *w);

/* How long the next take may block: until the next step is due, at most
 * WORKER_BLOCK_SECONDS, at least 10 ms. */
int upkeep_wait_ms(const struct worker *w);

/* This worker delayed a job by delay_ms: promote it in time. */
void upkeep_note_delayed(struct worker *w, long long delay_ms);

/* Deregisters the worker (after returning anything it still holds). */
void upkeep_stop(struct worker *w);

#endif
