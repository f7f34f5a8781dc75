/* health.h - GET /api/v1/<area>/health, the same handler in every responder.
 *
 * It pings each dependency the area uses on the process's own connection and
 * reports its status and measured latency.  Any dependency down makes the
 * answer 503 "degraded" naming it; the responder stays up and answers 200
 * again as soon as the dependency is back, because connections reconnect. */
#ifndef AIGET_HEALTH_H
#define AIGET_HEALTH_H

#include "request.h"

void health_handle(struct request *req);

#endif
