/* embed_local.h - the built-in embedder: signed feature hashing, no model needed.
 *
 * A text becomes a vector of EMBED_LOCAL_DIMS floats: normalised word
 * unigrams, word bigrams and character trigrams of each word are hashed to a
 * dimension and a sign, weighted, damped sublinearly and L2-normalised.  It is
 * deterministic and fast, and texts that share words or word pieces come out
 * close under cosine similarity.  It is lexical, not semantic: "car" and
 * "automobile" are strangers to it.  For semantic recall configure a real
 * model (the openai provider: OpenAI, Ollama, vLLM, TEI, LocalAI). */
#ifndef AIGET_EMBED_LOCAL_H
#define AIGET_EMBED_LOCAL_H

#include <stddef.h>

#define EMBED_LOCAL_DIMS 384
#define EMBED_LOCAL_MODEL "local-hash-v1"

/* Writes dims floats into out; all zero when the text has no word at all. */
void embed_local(const char *text, size_t len, float *out, int dims);

#endif
