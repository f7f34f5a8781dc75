/* embed_openai.h - embeddings from an OpenAI-compatible POST <base>/embeddings.
 *
 * One call is one POST of the whole batch
 * ({"model","input":[...],"encoding_format":"float"}, and "dimensions" when
 * EMBEDDING_SEND_DIMENSIONS=1), on one libcurl handle kept for the life of
 * the process so that batches reuse the provider's connection.  The answer is
 * checked for its count, its indexes (rows are placed by "index", not by
 * position) and its dimensions, then every row is L2-normalised.
 *
 * What is retried, inside the call: an HTTP 429 or 5xx, up to
 * EMBEDDING_MAX_RETRIES more times, after Retry-After when it is given in
 * seconds, else after 250 ms * 2^attempt with jitter.  Nothing else is:
 * a transport failure (refused, reset, timed out) returns EMBED_RETRY at once,
 * and so do 429/5xx once the retries are spent; other answers and any answer
 * that does not check out return EMBED_FAILED.
 *
 * The time bound: EMBEDDING_TIMEOUT_MS covers the whole call, every attempt
 * and every wait.  Each attempt gets what is left as its libcurl timeout
 * (connecting within EMBEDDING_CONNECT_TIMEOUT_MS of it), and a wait that
 * would reach past the budget is not slept: the call returns EMBED_RETRY
 * then.  So a call returns within EMBEDDING_TIMEOUT_MS plus libcurl's
 * timer granularity.
 *
 * Not thread-safe (one handle per process, made on first use: a process that
 * forks before its first call gives each child its own). */
#ifndef AIGET_EMBED_OPENAI_H
#define AIGET_EMBED_OPENAI_H

#include "embed.h"

enum embed_status embed_openai(const struct config *cfg, const char *const *texts, const size_t *lens, int n,
			       float *out, char *err, size_t errlen);

/* What embed_openai() makes of the provider's answers (exposed for the fuzz
 * harness).  A 2xx answer's rows for n texts, checked (count, indexes,
 * dimensions, finite numbers) and L2-normalised into out by their index:
 * EMBED_OK, or EMBED_FAILED with err. */
enum embed_status embed_openai_read_answer(const struct config *cfg, const char *text, size_t len, int n, float *out,
					   char *err, size_t errlen);
/* An error answer's error.message (OpenAI's error JSON) into out: cut at a
 * character boundary (then "..."), control characters as spaces, the API
 * key as "***".  outlen is at least 4.  1, or 0 when there is none. */
int embed_openai_provider_message(const char *text, size_t len, const char *key, char *out, size_t outlen);

#endif
