/* half_bound.c - unit tests of memory_vectors_half_is_exact() (shared/memory_vectors.c):
 * when the half-precision ranking's candidates provably hold the exact answer. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "memory_vectors.h"
#include "tap.h"

/* An answer as st_exact_half's: rows of (id, score), every row carrying the
 * candidates' count and the farthest candidate's half-precision distance. */
static PGresult *answer(int rows, const double *scores, long long candidates, const char *farthest)
{
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc cols[5];
	const char *names[] = { "memory_id", "score", "version", "n", "d" };
	memset(cols, 0, sizeof cols);
	for (int c = 0; c < 5; c++) {
		cols[c].name = (char *)names[c];
		cols[c].format = 0;
	}
	PQsetResultAttrs(r, 5, cols);
	for (int i = 0; i < rows; i++) {
		char score[32], n[32];
		snprintf(score, sizeof score, "%.6f", scores[i]);
		snprintf(n, sizeof n, "%lld", candidates);
		PQsetvalue(r, i, 0, (char *)"00000000-0000-0000-0000-000000000001", 36);
		PQsetvalue(r, i, 1, score, (int)strlen(score));
		PQsetvalue(r, i, 2, (char *)"1", 1);
		PQsetvalue(r, i, 3, n, (int)strlen(n));
		PQsetvalue(r, i, 4, (char *)farthest, (int)strlen(farthest));
	}
	return r;
}

static int exact(int rows, const double *scores, long long candidates, const char *farthest, int limit)
{
	PGresult *r = answer(rows, scores, candidates, farthest);
	int e = memory_vectors_half_is_exact(r, limit);
	PQclear(r);
	return e;
}

int main(void)
{
	const double scores[] = { 0.95, 0.90, 0.80 };   /* the last result's distance is 0.2 */
	int full = HALF_CANDIDATES(3);
	ok(HALF_CANDIDATES(18) == 52, "18 results take 52 candidates");
	ok(exact(0, scores, 0, "0", 3), "no candidate: nothing passes the scope and filter, exact");
	ok(exact(3, scores, full - 1, "0.2001", 3), "fewer candidates than asked: every vector was one, exact");
	ok(exact(3, scores, full, "0.2030", 3), "the farthest 0.003 beyond the last: nothing nearer was left out");
	ok(!exact(3, scores, full, "0.2020", 3), "only 0.002 beyond: half precision's error could hide a nearer one");
	ok(!exact(3, scores, full, "0.2024", 3), "just within the error's width: not proven");
	ok(!exact(3, scores, full, "0.1", 3), "the farthest candidate nearer than the last result: not proven");
	ok(!exact(3, scores, full, "NaN", 3), "a NaN distance (a zero vector): not proven");
	const double nan_score[] = { 0.95, 0.90, NAN };
	ok(!exact(3, nan_score, full, "0.9", 3), "a NaN score: not proven");
	return done_testing();
}
