/* index_scopes.h - putting the older vectors of a scope that became large into the HNSW index.
 *
 * A vector enters its model's HNSW index only once its scope is listed as
 * large (sql/vector/0003).  A scope is listed when it grows past the line
 * (memory_vectors_store), and from then on its new vectors go in straight
 * away; this upkeep step sets in_index on the vectors it had before, a page
 * at a time between job batches, oldest listed scope first, and marks the
 * scope complete when none is left.  Every worker runs it: the pages are
 * taken with SKIP LOCKED, so two workers index different rows. */
#ifndef AIGET_INDEX_SCOPES_H
#define AIGET_INDEX_SCOPES_H

#include "worker.h"

/* Indexes one page; sets w->next_index_ms: now when more is waiting, a
 * while later when nothing was.  Returns 1 when more is waiting. */
int index_scopes_step(struct worker *w);

/* --once: indexes until nothing is waiting (or a stop signal), since no
 * daemon worker may be running to do it. */
void index_scopes_drain(struct worker *w, volatile sig_atomic_t *stop);

#endif
