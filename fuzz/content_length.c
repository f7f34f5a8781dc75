/* content_length.c - fuzzes CONTENT_LENGTH and the capped read of a body (body_parse_length, body_read).
 *
 * The first byte is the cap (0-255 bytes), then a line: the CONTENT_LENGTH
 * ("-" for none), then the bytes the client sends.  Properties:
 *  - body_parse_length() agrees with strtoull() held to digits only and no
 *    overflow;
 *  - a bad length is BODY_BAD_LENGTH; an announced length over the cap is
 *    BODY_TOO_LARGE with not one byte read; fewer bytes than announced is
 *    BODY_SHORT; else the body is exactly the announced bytes, NUL-ended;
 *  - without a length the body is all that was sent, or BODY_TOO_LARGE when
 *    that is more than the cap. */
#include <errno.h>
#include <string.h>

#include "body.h"
#include "support/fuzz.h"

static int reference_length(const char *s, unsigned long long *out)
{
	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		return -1;
	errno = 0;
	*out = strtoull(s, NULL, 10);
	return errno == ERANGE ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned long long cap = data[0];
	data++;
	size--;
	size_t llen;
	const char *length = fuzz_take(&data, &size, '\n', &llen);
	if (strlen(length) != llen)
		return 0; /* a FastCGI value holds no NUL */
	int have = strcmp(length, "-") != 0;

	unsigned long long got = 0, want = 0;
	if (have) {
		int rc = body_parse_length(length, &got);
		FUZZ_CHECK(rc == reference_length(length, &want));
		FUZZ_CHECK(rc != 0 || got == want);
	}

	char *param = have ? arena_printf(fuzz_arena(), "CONTENT_LENGTH=%s", length) : NULL;
	const char *params[] = { param };
	struct request *req = fuzz_request(params, have ? 1 : 0, (const char *)data, size);
	const unsigned char *start = req->fcgx->in->rdNext;
	enum body_status st = body_read(req, cap);
	if (have && *length == '\0') {
		have = 0; /* an empty CONTENT_LENGTH is none */
	} else if (have && reference_length(length, &want) != 0) {
		FUZZ_CHECK(st == BODY_BAD_LENGTH);
		goto done;
	}
	if (have && want > cap) {
		FUZZ_CHECK(st == BODY_TOO_LARGE);
		FUZZ_CHECK(req->fcgx->in->rdNext == start); /* refused unread */
	} else if (have && size < want) {
		FUZZ_CHECK(st == BODY_SHORT);
	} else if (have) {
		FUZZ_CHECK(st == BODY_OK && req->body_len == want);
		FUZZ_CHECK(memcmp(req->body, data, (size_t)want) == 0 && req->body[want] == '\0');
	} else if (size > cap) {
		FUZZ_CHECK(st == BODY_TOO_LARGE);
	} else {
		FUZZ_CHECK(st == BODY_OK && req->body_len == size);
		FUZZ_CHECK(memcmp(req->body, data, size) == 0 && req->body[size] == '\0');
	}
done:
	fuzz_end();
	return 0;
}
