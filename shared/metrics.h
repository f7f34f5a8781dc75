/* metrics.h - request, dependency and rate-limit counters, shared by an area's children.
 *
 * Every prefork child of an area maps one small file (AIGET_METRICS_FILE,
 * made by spawn-area beside the socket) MAP_SHARED and adds to its counters
 * with atomic instructions, so whichever child a scrape reaches reports the
 * whole area.  Counting is a handful of atomic adds into memory already
 * mapped: no system call per request.  The layout is fixed by the route
 * table (slots of [method][status] counters and latency buckets per route
 * pattern, plus one "unmatched" slot), so label cardinality is bounded by
 * construction: a raw path or a tenant never becomes a label.
 *
 * Without the file (not started by spawn-area, or the file unusable) the
 * same counters live in the process's own memory and the scrape says so
 * (aiget_metrics_shared 0).  Processes that never call metrics_open() (the
 * worker, aigetctl) count nothing: the hooks are no-ops there. */
#ifndef AIGET_METRICS_H
#define AIGET_METRICS_H

#include <stddef.h>
#include <stdio.h>

#include "router.h"

enum metrics_dep {
	METRICS_DEP_POSTGRES,
	METRICS_DEP_VECTOR,
	METRICS_DEP_REDIS,
	METRICS_DEP_EMBEDDING,
	METRICS_DEP_POSTGRES_READ,   /* the read replicas (DATABASE_READ_URL, VECTOR_DATABASE_READ_URL) */
	METRICS_DEP_VECTOR_READ,
	METRICS_DEP__MAX
};

/* Why a request was refused with 429. */
enum metrics_limit {
	METRICS_LIMIT_RATE,          /* the tenant's token bucket */
	METRICS_LIMIT_CONCURRENCY,   /* the tenant's requests in flight */
	METRICS_LIMIT_MONTHLY,       /* the tenant's monthly quota */
	METRICS_LIMIT_ABUSE,         /* auth's and tenants' per-address, -email and -user limits */
	METRICS_LIMIT__MAX
};

/* Maps the area's counters: the shared file at path when it is usable,
 * else private memory (path NULL, or a warning logged once).  Returns 1
 * when shared, 0 when private, -1 out of memory. */
int metrics_open(const char *area, const struct route *routes, size_t nroutes, unsigned deps,
		 const char *path);
void metrics_close(void);

/* One finished request.  route is the pattern the path matched (NULL for
 * none: the "unmatched" slot); method is folded into a fixed set. */
void metrics_observe(const char *route, const char *method, int status, double seconds);

void metrics_dependency_error(enum metrics_dep dep);
/* The same by the name a pg/redis handle carries ("postgres", "vector-read"). */
void metrics_dependency_error_named(const char *name);
void metrics_rate_limited(enum metrics_limit why);

/* Writes the area's metrics in Prometheus text format 0.0.4. */
void metrics_render(FILE *out);

/* GET /api/v1/<area>/metrics: metrics_render() plus the area's own
 * (struct app's metrics callback). */
void metrics_handle(struct request *req);

/* Writes one sample line; label values are escaped as the format wants.
 * labels: name/value pairs, NULL-terminated. */
void metrics_sample(FILE *out, const char *name, const char *const *labels, double value);
/* HELP and TYPE lines of a metric family. */
void metrics_family(FILE *out, const char *name, const char *type, const char *help);

#endif
