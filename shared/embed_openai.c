/* embed_openai.c - placeholder until the OpenAI-compatible client lands. */
#include "embed_openai.h"

#include <stdio.h>

enum embed_status embed_openai(const struct config *cfg, const char *const *texts, const size_t *lens, int n,
			       float *out, char *err, size_t errlen)
{
	(void)cfg; (void)texts; (void)lens; (void)n; (void)out;
	snprintf(err, errlen, "the openai provider is not built yet");
	return EMBED_FAILED;
}
