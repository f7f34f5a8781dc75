/* embed_openai.h - embeddings from an OpenAI-compatible POST /embeddings.
 *
 * One libcurl call per batch ({"model","input":[...]}), with a connect and a
 * total timeout, retries on 429 and 5xx that honour Retry-After, and answers
 * checked for their count, order (by "index") and dimensions. */
#ifndef AIGET_EMBED_OPENAI_H
#define AIGET_EMBED_OPENAI_H

#include "embed.h"

enum embed_status embed_openai(const struct config *cfg, const char *const *texts, const size_t *lens, int n,
			       float *out, char *err, size_t errlen);

#endif
