/* scope_size.c - is a scope small enough for the exact plan?
 *
 * A scope is searched through the HNSW index once the worker has listed it
 * as large (more than MEMOX_EXACT_SCAN_MAX vectors, sql/vector/0003) and
 * put all its vectors in the index; until then, the exact plan.  So the
 * answer is one primary-key lookup in indexed_scopes, no count of the
 * scope, and a scope being indexed is never searched through a half-built
 * index.  Each process remembers the answer for a few seconds: it only
 * picks the faster plan, as both give a full answer (the index plan merges
 * in vectors not indexed yet and falls back to the exact one when it finds
 * too few). */
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
	int indexed = memory_vectors_scope_indexed(req->ctx->vector, scope[0], ns, user, cfg->embedding_model, err,
						   sizeof err);
	if (indexed < 0) {
		response_unavailable(req, "memory_vectors_scope_indexed", err);
		return -1;
	}
	*small = !indexed;
	answers[slot].key = key;
	answers[slot].until = now + SCOPE_TTL_MS;
	answers[slot].small = *small;
	return 0;
}
