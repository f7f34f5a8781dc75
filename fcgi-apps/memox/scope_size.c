/* scope_size.c - is a scope small enough for the exact plan?
 *
 * Counting the scope's vectors (up to MEMOX_EXACT_SCAN_MAX + 1) costs 1.7 ms
 * at 10k, a seventh of the search it decides, so each process remembers the
 * answer for a few seconds.  The answer only picks the faster plan: both
 * plans give a full answer (the index plan falls back to the exact one when
 * it finds too few), so a scope that just crossed the line is searched the
 * old way for at most SCOPE_TTL_MS. */
#include "memox.h"

#include <stdint.h>

#include "api_key.h"
#include "memory_vectors.h"

#define SCOPE_SLOTS  256
#define SCOPE_TTL_MS 10000.0

/* Answers by a hash of (tenant, namespace, user, model); a collision only
 * picks the slower plan for a while. */
static struct {
	uint64_t key;
	double until;
	int small;
} answers[SCOPE_SLOTS];

static uint64_t scope_hash(const char *const *parts, int n)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a, the terminating NULs included */
	for (int i = 0; i < n; i++)
		for (const unsigned char *p = (const unsigned char *)parts[i];; p++) {
			h = (h ^ *p) * 1099511628211ULL;
			if (*p == '\0')
				break;
		}
	return h;
}

int scope_is_small(struct request *req, const char *ns, const char *user, int *small)
{
	const struct config *cfg = &req->ctx->cfg;
	const char *scope[] = { req->key->tenant_id, ns, user, cfg->embedding_model };
	uint64_t key = scope_hash(scope, 4);
	size_t slot = key % SCOPE_SLOTS;
	double now = clock_ms();
	if (answers[slot].key == key && answers[slot].until > now) {
		*small = answers[slot].small;
		return 0;
	}
	char err[256];
	long long n = memory_vectors_count(req->ctx->vector, scope[0], ns, user, cfg->embedding_model,
					   cfg->memox_exact_scan_max + 1, err, sizeof err);
	if (n < 0) {
		response_unavailable(req, "memory_vectors_count", err);
		return -1;
	}
	*small = n <= cfg->memox_exact_scan_max;
	answers[slot].key = key;
	answers[slot].until = now + SCOPE_TTL_MS;
	answers[slot].small = *small;
	return 0;
}
