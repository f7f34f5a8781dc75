/* cookie.c - fuzzes the auth area's cookie reader (fcgi-apps/auth/cookies.c cookie_get) on any Cookie header.
 *
 * The first byte picks the name (the refresh token's, the sign-in
 * binding's, or one from the input) and the longest value taken; the rest
 * is HTTP_COOKIE.  Properties, against a reference that splits the header
 * at ';' by hand: cookie_get() answers the value of the first pair named
 * exactly so whose value is 1..maxlen bytes, or NULL when there is none;
 * a value never holds ';' and never comes from a pair of another name
 * (aiget_refresh_x=, x_aiget_refresh=). */
#include <string.h>

#include "../fcgi-apps/auth/auth.h"
#include "support/fuzz.h"

static const char *reference(const char *cookies, const char *name, size_t maxlen)
{
	size_t nlen = strlen(name);
	for (const char *p = cookies; *p;) {
		p += strspn(p, " ;");
		size_t n = strcspn(p, ";");
		if (n > nlen + 1 && memcmp(p, name, nlen) == 0 && p[nlen] == '=' && n - nlen - 1 <= maxlen)
			return arena_strndup(fuzz_arena(), p + nlen + 1, n - nlen - 1);
		p += n;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	static const size_t maxlens[] = { 64, 128, 1, 8 };
	unsigned pick = data[0];
	data++;
	size--;
	const char *name = (pick & 3) == 0 ? "aiget_refresh" : (pick & 3) == 1 ? "aiget_oauth" : "a";
	if ((pick & 3) == 3)
		name = fuzz_take(&data, &size, '=', NULL);
	if (*name == '\0' || strchr(name, ';') || strchr(name, ' '))
		return 0;
	size_t maxlen = maxlens[(pick >> 2) & 3];
	size_t n;
	const char *header = fuzz_take(&data, &size, '\0', &n);
	const char *param = arena_printf(fuzz_arena(), "HTTP_COOKIE=%s", header);
	struct request *req = fuzz_request(&param, 1, NULL, 0);

	const char *got = cookie_get(req, name, maxlen);
	const char *want = reference(header, name, maxlen);
	FUZZ_CHECK((got == NULL) == (want == NULL));
	if (got) {
		FUZZ_CHECK(strcmp(got, want) == 0);
		FUZZ_CHECK(*got != '\0' && strlen(got) <= maxlen && strchr(got, ';') == NULL);
		/* It was the value of a pair of exactly that name. */
		const char *pair = arena_printf(fuzz_arena(), "%s=%s", name, got);
		const char *at = strstr(header, pair);
		FUZZ_CHECK(at != NULL);
	}
	fuzz_end();
	return 0;
}
