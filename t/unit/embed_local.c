/* embed_local.c - unit tests of the built-in embedder. */
#include <math.h>

#include "embed_local.h"
#include "tap.h"

static float cosine(const char *a, const char *b)
{
	float va[EMBED_LOCAL_DIMS], vb[EMBED_LOCAL_DIMS], dot = 0;
	embed_local(a, strlen(a), va, EMBED_LOCAL_DIMS);
	embed_local(b, strlen(b), vb, EMBED_LOCAL_DIMS);
	for (int i = 0; i < EMBED_LOCAL_DIMS; i++)
		dot += va[i] * vb[i];
	return dot;
}

int main(void)
{
	float v[EMBED_LOCAL_DIMS], w[EMBED_LOCAL_DIMS];
	const char *t = "The user prefers dark roast coffee in the morning.";
	embed_local(t, strlen(t), v, EMBED_LOCAL_DIMS);
	embed_local(t, strlen(t), w, EMBED_LOCAL_DIMS);
	ok(memcmp(v, w, sizeof v) == 0, "deterministic");
	double norm = 0;
	for (int i = 0; i < EMBED_LOCAL_DIMS; i++)
		norm += (double)v[i] * v[i];
	ok(fabs(norm - 1.0) < 1e-4, "unit length");

	ok(cosine(t, t) > 0.9999f, "a text is closest to itself");
	ok(fabs(cosine("Dark Roast COFFEE", "dark roast coffee") - 1.0f) < 1e-5, "case does not matter");
	ok(fabs(cosine("dark, roast; coffee!", "dark roast coffee") - 1.0f) < 1e-5, "punctuation does not matter");
	float related = cosine("which coffee does the user like", t);
	float unrelated = cosine("the meeting with Bob moved to Friday", t);
	ok(related > unrelated + 0.15f, "sharing words scores higher than not");
	ok(cosine("coffees", "coffee") > cosine("tennis", "coffee"), "word pieces count (trigrams)");
	ok(cosine("user likes coffee", "coffee likes user") < 0.999f, "word order counts a little (bigrams)");

	embed_local("  ,,, !!! ", 10, v, EMBED_LOCAL_DIMS);
	int zero = 1;
	for (int i = 0; i < EMBED_LOCAL_DIMS; i++)
		zero &= v[i] == 0.0f;
	ok(zero, "no words: the zero vector");
	ok(cosine("caf\xc3\xa9 cr\xc3\xa8me", "caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9") > 0.5f, "UTF-8 words are words");
	char big[20000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	embed_local(big, strlen(big), v, EMBED_LOCAL_DIMS);
	ok(isfinite(v[0]), "a very long word is cut, not overflowed");
	return done_testing();
}
