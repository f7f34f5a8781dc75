/* hybrid.c - POST /search's hybrid mode: the semantic and the keyword
 * legs' ranked lists fused by reciprocal rank (RRF, Cormack et al. 2009).
 *
 * A memory at rank r (1 = best) of a leg earns weight / (k + r) from it;
 * its fused score is the sum over the legs that found it, so one found by
 * both is lifted, and one found by a single leg still competes by its rank
 * there.  Only ranks count, not the legs' scores, which are on different
 * scales (a cosine; a BM25 sum).  k (rrfK, MEMOX_RRF_K, 60 by default as in
 * the paper) flattens the difference between a leg's first places; the
 * keyword leg weighs keywordWeight and the semantic one the rest (0.5 each
 * by default). */
#include "memox.h"

#include <stdlib.h>
#include <string.h>

struct fused {
	struct json_object *result;    /* a search result, owned */
	int semantic_rank, keyword_rank; /* 1-based; 0 when that leg did not find it */
	double semantic_score, keyword_score, score;
};

static int best_rank(const struct fused *f)
{
	int s = f->semantic_rank ? f->semantic_rank : 1 << 30, k = f->keyword_rank ? f->keyword_rank : 1 << 30;
	return s < k ? s : k;
}

/* Best fused score first; on a tie, the better rank in either leg, then
 * the id, so that the order never depends on qsort. */
static int by_fused_score(const void *a, const void *b)
{
	const struct fused *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (best_rank(x) != best_rank(y))
		return best_rank(x) - best_rank(y);
	return strcmp(json_object_get_string(json_object_object_get(x->result, "id")),
		      json_object_get_string(json_object_object_get(y->result, "id")));
}

static struct fused *find(struct fused *all, int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(json_object_get_string(json_object_object_get(all[i].result, "id")), id) == 0)
			return &all[i];
	return NULL;
}

static struct json_object *leg_score(struct request *req, int rank, double score)
{
	return rank ? search_number(req, score, 6) : NULL;
}

struct json_object *hybrid_fuse(struct request *req, const struct search_input *in, struct json_object *semantic,
				PGresult *keyword)
{
	int ns = (int)json_object_array_length(semantic), nk = PQntuples(keyword);
	struct fused *all = arena_alloc(req->arena, sizeof *all * (size_t)(ns + nk + 1));
	int n = 0;
	for (int i = 0; i < ns; i++) {
		struct json_object *r = json_object_array_get_idx(semantic, (size_t)i);
		all[n++] = (struct fused){ json_object_get(r), i + 1, 0,
					   json_object_get_double(json_object_object_get(r, "score")), 0, 0 };
	}
	json_object_put(semantic);
	/* A few dozen each: a linear look-up is cheaper than building a table. */
	for (int j = 0; j < nk; j++) {
		struct fused *f = find(all, n, PQgetvalue(keyword, j, 0));
		if (f == NULL) {
			f = &all[n++];
			*f = (struct fused){ keyword_result(req, keyword, j), 0, 0, 0, 0, 0 };
		}
		f->keyword_rank = j + 1;
		f->keyword_score = atof(PQgetvalue(keyword, j, 1));
	}
	for (int i = 0; i < n; i++) {
		struct fused *f = &all[i];
		if (f->semantic_rank)
			f->score += (1 - in->keyword_weight) / (in->rrf_k + f->semantic_rank);
		if (f->keyword_rank)
			f->score += in->keyword_weight / (in->rrf_k + f->keyword_rank);
	}
	qsort(all, (size_t)n, sizeof *all, by_fused_score);
	struct json_object *results = json_object_new_array();
	for (int i = 0; i < n; i++) {
		struct fused *f = &all[i];
		if (i >= in->top_k) {
			json_object_put(f->result);
			continue;
		}
		json_object_object_add(f->result, "score", search_number(req, f->score, 8));
		json_object_object_add(f->result, "semanticScore", leg_score(req, f->semantic_rank, f->semantic_score));
		json_object_object_add(f->result, "keywordScore", leg_score(req, f->keyword_rank, f->keyword_score));
		json_object_array_add(results, f->result);
	}
	return results;
}
