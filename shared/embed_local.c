/* embed_local.c - tokenising, feature hashing and normalising for embed_local(). */
#include "embed_local.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define WORD_MAX 64
#define WEIGHT_UNIGRAM 1.0f
#define WEIGHT_BIGRAM 0.7f
#define WEIGHT_TRIGRAM 0.35f

/* FNV-1a, 64 bits, over a kind tag and the feature's bytes: the tag keeps a
 * word and a trigram with the same letters apart. */
static uint64_t hash(char kind, const char *a, size_t alen, const char *b, size_t blen)
{
	uint64_t h = 1469598103934665603ULL;
	h = (h ^ (unsigned char)kind) * 1099511628211ULL;
	for (size_t i = 0; i < alen; i++)
		h = (h ^ (unsigned char)a[i]) * 1099511628211ULL;
	if (b) {
		h = (h ^ 0x1f) * 1099511628211ULL;
		for (size_t i = 0; i < blen; i++)
			h = (h ^ (unsigned char)b[i]) * 1099511628211ULL;
	}
	/* Final mix so that the low bits (the dimension) use every input bit. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static void add(float *v, int dims, uint64_t h, float w)
{
	v[h % (uint64_t)dims] += (h >> 63) ? -w : w;
}

/* Word characters: ASCII letters and digits (letters lower-cased), and every
 * byte of a multi-byte UTF-8 sequence, kept as it is. */
static int word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static void add_trigrams(float *v, int dims, const char *w, size_t n)
{
	char padded[WORD_MAX + 2];
	padded[0] = '^';
	memcpy(padded + 1, w, n);
	padded[n + 1] = '$';
	for (size_t i = 0; i + 3 <= n + 2; i++)
		add(v, dims, hash('c', padded + i, 3, NULL, 0), WEIGHT_TRIGRAM);
}

void embed_local(const char *text, size_t len, float *out, int dims)
{
	memset(out, 0, (size_t)dims * sizeof *out);
	char prev[WORD_MAX], word[WORD_MAX];
	size_t prevlen = 0, i = 0;
	while (i < len) {
		while (i < len && !word_byte((unsigned char)text[i]))
			i++;
		size_t n = 0;
		while (i < len && word_byte((unsigned char)text[i])) {
			char c = text[i++];
			if (n < WORD_MAX)
				word[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		}
		if (n == 0)
			break;
		add(out, dims, hash('w', word, n, NULL, 0), WEIGHT_UNIGRAM);
		if (prevlen)
			add(out, dims, hash('b', prev, prevlen, word, n), WEIGHT_BIGRAM);
		add_trigrams(out, dims, word, n);
		memcpy(prev, word, n);
		prevlen = n;
	}
	/* Sublinear: a word said ten times is not ten times the topic. */
	double norm = 0;
	for (int d = 0; d < dims; d++) {
		float x = out[d];
		out[d] = x < 0 ? -log1pf(-x) : log1pf(x);
		norm += (double)out[d] * out[d];
	}
	if (norm > 0) {
		float inv = (float)(1.0 / sqrt(norm));
		for (int d = 0; d < dims; d++)
			out[d] *= inv;
	}
}
