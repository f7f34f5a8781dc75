/* embed.c - dispatching to the embedding provider in use. */
#include "embed.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "embed_local.h"
#include "embed_openai.h"
#include "metrics.h"

enum embed_status embed_texts(const struct config *cfg, const char *const *texts, const size_t *lens, int n,
			      float *out, char *err, size_t errlen)
{
	if (strcmp(cfg->embedding_provider, "openai") == 0) {
		enum embed_status s = embed_openai(cfg, texts, lens, n, out, err, errlen);
		if (s != EMBED_OK)
			metrics_dependency_error(METRICS_DEP_EMBEDDING);
		return s;
	}
	int dims = (int)cfg->embedding_dims;
	for (int i = 0; i < n; i++)
		embed_local(texts[i], lens[i], out + (size_t)i * dims, dims);
	return EMBED_OK;
}

/* One component as text that reads back (strtof) as the same float.  For
 * 0.001 <= |f| < 1, the range of nearly every component of a unit vector,
 * twelve decimals from integer arithmetic: they are at least ten
 * significant digits, and their error (5e-13) is far under half a float's
 * spacing there (6e-11), so the nearest float is f.  That is ten times
 * faster than printf, which the worker spent most of its time in; other
 * values take printf's %.9g, which round-trips every float.  At most 15
 * characters. */
static size_t float_text(float f, char *out)
{
	double x = fabs((double)f);
	if (f == 0.0f) {
		out[0] = '0';
		return 1;
	}
	if (!(x >= 1e-3 && x < 1.0))
		return (size_t)snprintf(out, 16, "%.9g", (double)f);
	unsigned long long m = (unsigned long long)llround(x * 1e12);
	if (m >= 1000000000000ULL) /* rounded up to 1 */
		return (size_t)snprintf(out, 16, "%.9g", (double)f);
	size_t len = 0;
	if (f < 0)
		out[len++] = '-';
	out[len++] = '0';
	out[len++] = '.';
	char digits[12];
	for (int i = 11; i >= 0; i--, m /= 10)
		digits[i] = (char)('0' + m % 10);
	int last = 11;
	while (digits[last] == '0') /* m >= 1e9, so a non-zero digit exists */
		last--;
	memcpy(out + len, digits, (size_t)last + 1);
	return len + (size_t)last + 1;
}

size_t embed_vector_text(const float *v, int dims, char *buf)
{
	size_t len = 0;
	buf[len++] = '[';
	for (int i = 0; i < dims; i++) {
		if (i)
			buf[len++] = ',';
		len += float_text(v[i], buf + len);
	}
	buf[len++] = ']';
	buf[len] = '\0';
	return len;
}
