/* embed.c - dispatching to the embedding provider in use. */
#include "embed.h"

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

size_t embed_vector_text(const float *v, int dims, char *buf)
{
	size_t len = 0;
	buf[len++] = '[';
	for (int i = 0; i < dims; i++) {
		if (i)
			buf[len++] = ',';
		/* %.9g round-trips a float exactly; most values are much shorter. */
		len += (size_t)snprintf(buf + len, 16, "%.9g", (double)v[i]);
	}
	buf[len++] = ']';
	buf[len] = '\0';
	return len;
}
