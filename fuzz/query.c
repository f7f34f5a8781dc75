/* query.c - fuzzes the query string's walker and percent-decoding (request_form_next, request_percent_decode).
 *
 * The first byte says whether '+' is a space for the decoder; the rest is a
 * query string (also a form body: application/x-www-form-urlencoded).
 * Properties:
 *  - request_percent_decode() agrees with a reference decoder written here:
 *    the same refusals (a cut or non-hex escape, an encoded NUL), the same
 *    bytes otherwise;
 *  - the walk ends, visits each non-empty part between '&' once, in order,
 *    and its keys and values are those parts' decoded halves (NULL exactly
 *    where the reference refuses), with no NUL inside;
 *  - what is decoded, encoded again, decodes to the same bytes. */
#include <string.h>

#include "request.h"
#include "support/fuzz.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static char *reference(const char *s, size_t n, int plus, size_t *outlen)
{
	char *out = arena_alloc(fuzz_arena(), n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 3 > n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return NULL;
			char c = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			if (c == '\0')
				return NULL;
			out[o++] = c;
			i += 2;
		} else {
			out[o++] = plus && s[i] == '+' ? ' ' : s[i];
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static char *encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = arena_alloc(fuzz_arena(), 3 * strlen(s) + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_' || *p == '.' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

static void check_decoded(const char *got, const char *s, size_t n, int plus)
{
	size_t want_len;
	const char *want = reference(s, n, plus, &want_len);
	FUZZ_CHECK((got == NULL) == (want == NULL));
	if (got == NULL)
		return;
	FUZZ_CHECK(strlen(got) == want_len && memcmp(got, want, want_len) == 0);
	const char *again = encode(got);
	const char *back = request_percent_decode(fuzz_arena(), again, strlen(again), plus);
	FUZZ_CHECK(back != NULL && strcmp(back, got) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int plus = data[0] & 1;
	data++;
	size--;
	size_t n;
	const char *text = fuzz_take(&data, &size, '\0', &n);

	check_decoded(request_percent_decode(fuzz_arena(), text, n, plus), text, n, plus);

	/* The walk, against splitting at '&' by hand. */
	size_t pos = 0, parts = 0;
	const char *p = text;
	const char *key, *value;
	while (request_form_next(fuzz_arena(), text, &pos, &key, &value)) {
		FUZZ_CHECK(pos <= n);
		while (*p == '&')
			p++;
		size_t len = strcspn(p, "&");
		FUZZ_CHECK(len > 0);
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		check_decoded(key, p, klen, 1);
		if (eq)
			check_decoded(value, eq + 1, len - klen - 1, 1);
		else
			FUZZ_CHECK(value != NULL && *value == '\0');
		p += len;
		parts++;
		FUZZ_CHECK(parts <= n);
	}
	while (*p == '&')
		p++;
	FUZZ_CHECK(*p == '\0');
	fuzz_end();
	return 0;
}
