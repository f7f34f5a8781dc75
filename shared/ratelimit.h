/* ratelimit.h - fixed-window counters in Redis for abuse limits.
 *
 * One atomic Lua script per hit (INCR, and EXPIRE on the first hit of a
 * window), called by SHA and loaded on NOSCRIPT, so a limit costs one round
 * trip.  Used for the auth area's per-IP and per-email limits; the tenants'
 * token buckets are a different mechanism. */
#ifndef AIGET_RATELIMIT_H
#define AIGET_RATELIMIT_H

#include <stddef.h>

#include "redis.h"

enum ratelimit_result { RATELIMIT_OK, RATELIMIT_LIMITED, RATELIMIT_ERROR };

/* Counts one hit on key; LIMITED (with *retry_after seconds) when this hit
 * is over limit within window_s. */
enum ratelimit_result ratelimit_hit(struct redis *r, const char *key, int limit, int window_s,
				    int *retry_after, char *err, size_t errlen);

#endif
