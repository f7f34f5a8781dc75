/* expire.h - the worker deletes memories whose expiresAt has passed (expire.c). */
#ifndef AIGET_EXPIRE_H
#define AIGET_EXPIRE_H

#include "worker.h"

/* Deletes the memories that expired, with their vectors, a page at a time
 * (a bounded number of pages), and counts them in their tenants' usage. */
void expire_sweep(struct worker *w);

#endif
