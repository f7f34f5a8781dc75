/* embed_openai.c - fuzzes what the memox worker reads from an OpenAI-compatible provider (shared/embed_openai.c).
 *
 * The first byte's low bit picks the answer: a 2xx body of embeddings or
 * the body of a refusal; the other bits size the batch and the dimensions,
 * or pick the API key and the room for the message.  Properties:
 *  - embed_openai_read_answer() hands over rows only when it says EMBED_OK,
 *    and then every one of the n rows was given once, by its index, and is
 *    finite and of length 1 (or all zero); otherwise it says why;
 *  - embed_openai_provider_message() writes within its room, a
 *    NUL-terminated line without control characters, well-formed UTF-8 (a
 *    cut never splits a character), never the API key (some providers quote
 *    it), and a short message without a key whole. */
#include <math.h>
#include <string.h>

#include "body.h"
#include "embed_openai.h"
#include "support/fuzz.h"
#include "utf8.h"

#define KEY "sk-test-SECRET1234"

static void answer(const uint8_t *data, size_t size, unsigned bits)
{
	struct config cfg = fuzz_context()->cfg;
	int n = 1 + (bits & 3);
	cfg.embedding_dims = 1 + ((bits >> 2) & 7);
	size_t cells = (size_t)n * (size_t)cfg.embedding_dims;
	float *out = malloc(cells * sizeof *out);
	for (size_t i = 0; i < cells; i++)
		out[i] = NAN;
	char err[256] = "";
	enum embed_status st = embed_openai_read_answer(&cfg, (const char *)data, size, n, out, err, sizeof err);
	if (st != EMBED_OK) {
		FUZZ_CHECK(st == EMBED_FAILED && err[0] != '\0');
	} else {
		for (int r = 0; r < n; r++) {
			double sum = 0;
			for (int j = 0; j < cfg.embedding_dims; j++) {
				float v = out[(size_t)r * (size_t)cfg.embedding_dims + (size_t)j];
				FUZZ_CHECK(isfinite(v)); /* NaN where a row was never written */
				sum += (double)v * v;
			}
			FUZZ_CHECK(sum == 0 || fabs(sum - 1) < 1e-3);
		}
	}
	free(out);
}

static void message(const uint8_t *data, size_t size, unsigned bits)
{
	static const char *const keys[] = { KEY, "k", NULL, "" };
	const char *key = keys[bits & 3];
	size_t outlen = 4 + ((bits >> 2) & 63) * 4;
	char *out = malloc(outlen + 16);
	memset(out, 'Z', outlen + 16);
	if (embed_openai_provider_message((const char *)data, size, key, out, outlen) == 0) {
		free(out);
		return;
	}
	size_t len = strnlen(out, outlen + 16);
	FUZZ_CHECK(len < outlen);
	FUZZ_CHECK(out[outlen] == 'Z'); /* nothing past the room */
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK((unsigned char)out[i] >= 0x20 && out[i] != 0x7f);
	FUZZ_CHECK(utf8_valid((const unsigned char *)out, len));
	if (key && *key)
		FUZZ_CHECK(strstr(out, key) == NULL);
	/* The message as given, when it fits, has no key and no control character. */
	char why[64];
	struct json_object *answer = body_json_parse((const char *)data, size, why, sizeof why), *e, *m;
	if (json_object_object_get_ex(answer, "error", &e) && json_object_object_get_ex(e, "message", &m)) {
		const char *text = json_object_get_string(m);
		size_t tlen = (size_t)json_object_get_string_len(m);
		int plain = tlen + 4 <= outlen && tlen <= 200 && strlen(text) == tlen && !(key && *key && strstr(text, key));
		for (size_t i = 0; plain && i < tlen; i++)
			plain = (unsigned char)text[i] >= 0x20 && text[i] != 0x7f;
		if (plain)
			FUZZ_CHECK(strcmp(out, text) == 0);
	}
	json_object_put(answer);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned bits = data[0];
	if (bits & 1)
		message(data + 1, size - 1, bits >> 1);
	else
		answer(data + 1, size - 1, bits >> 1);
	fuzz_end();
	return 0;
}
