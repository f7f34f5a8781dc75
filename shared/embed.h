/* embed.h - the embedding provider in use: the built-in one or an OpenAI-compatible API.
 *
 * EMBEDDING_PROVIDER picks it: "local" (embed_local.c, in process, nothing
 * outside needed) or "openai", any server that speaks POST <base>/embeddings
 * the way OpenAI does (OpenAI, Ollama, vLLM, TEI, LocalAI).  Every vector is
 * stored with the model's name and its dimensions (EMBEDDING_MODEL,
 * EMBEDDING_DIMENSIONS), so vectors of two models never meet in one search. */
#ifndef AIGET_EMBED_H
#define AIGET_EMBED_H

#include <stddef.h>

#include "config.h"

enum embed_status {
	EMBED_OK,
	EMBED_RETRY,   /* worth trying again later: timeout, 429, 5xx, connection refused */
	EMBED_FAILED,  /* the provider refused this input or answered nonsense */
};

/* Embeds n texts in one provider call (the caller keeps n within
 * EMBEDDING_BATCH_SIZE); out gets n * cfg->embedding_dims floats, row i for
 * texts[i], L2-normalised.  For the openai provider, 429 and 5xx answers are
 * retried here up to EMBEDDING_MAX_RETRIES times, honouring Retry-After,
 * within EMBEDDING_TIMEOUT_MS in all.  err gets a short reason otherwise
 * (never the API key). */
enum embed_status embed_texts(const struct config *cfg, const char *const *texts, const size_t *lens, int n,
			      float *out, char *err, size_t errlen);

/* Writes v as pgvector's text form "[0.1,-0.2,...]" into buf (at least
 * EMBED_TEXT_MAX(dims) bytes).  Returns the length. */
#define EMBED_TEXT_MAX(dims) ((size_t)(dims) * 16 + 3)
size_t embed_vector_text(const float *v, int dims, char *buf);

#endif
