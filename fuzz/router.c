/* router.c - fuzzes router_match() against the areas' patterns, and the header checks beside it.
 *
 * The first byte picks a pattern of the four route tables (copied here: a
 * fixture; they are constants of the code, not input) and what the rest
 * is: a path, a Content-Type or a request id.  Properties, each against a
 * reference written here the plain way (split at '/', compare, decode):
 *  - router_match() matches exactly when every literal segment is equal
 *    and every placeholder's segment is non-empty and decodes, and then its
 *    parameters are those segments decoded, by name, in order;
 *  - router_is_json_media_type() accepts only application/json, any case,
 *    with no parameter or a charset of utf-8;
 *  - request_id_is_sane() accepts exactly 1-128 of [A-Za-z0-9._:-]. */
#include <string.h>
#include <strings.h>

#include "request.h"
#include "router.h"
#include "support/fuzz.h"

static const char *const patterns[] = {
	"/api/v1/auth/login", "/api/v1/auth/sessions", "/api/v1/auth/sessions/{sessionId}",
	"/api/v1/auth/google/callback", "/api/v1/keys", "/api/v1/keys/self", "/api/v1/keys/{keyId}",
	"/api/v1/keys/{keyId}/rotate", "/api/v1/admin/tenants/{tenantId}/limits", "/api/v1/tenants/{tenantId}",
	"/api/v1/tenants/invitations/{invitationId}/accept", "/api/v1/tenants/{tenantId}/members/{userId}",
	"/api/v1/tenants/{tenantId}/invitations/{invitationId}", "/api/v1/memox/memories",
	"/api/v1/memox/memories/batch", "/api/v1/memox/memories/{id}", "/api/v1/memox/erasures/{id}", "/",
};
#define NPATTERNS (sizeof patterns / sizeof patterns[0])

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The reference decoder: %XX (not %00), nothing else special; NULL if bad. */
static char *decode(const char *s, size_t n)
{
	char *out = arena_alloc(fuzz_arena(), n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (n - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
			return NULL;
		int v = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
		if (v == 0)
			return NULL;
		*o++ = (char)v;
		i += 2;
	}
	*o = '\0';
	return out;
}

/* The reference matcher: segment by segment.  Fills names and values. */
static int reference_match(const char *pattern, const char *path, const char **names, const char **values, int *n)
{
	*n = 0;
	if (*pattern != '/' || *path != '/')
		return *pattern == *path && *pattern == '\0';
	if (strcmp(pattern, "/") == 0 || strcmp(path, "/") == 0)
		return strcmp(pattern, path) == 0;
	const char *p = pattern + 1, *s = path + 1;
	for (;;) {
		size_t plen = strcspn(p, "/"), slen = strcspn(s, "/");
		if (p[0] == '{') {
			if (slen == 0 || *n >= REQUEST_MAX_PARAMS)
				return 0;
			const char *v = decode(s, slen);
			if (v == NULL)
				return 0;
			names[*n] = arena_strndup(fuzz_arena(), p + 1, plen - 2);
			values[(*n)++] = v;
		} else if (plen != slen || memcmp(p, s, plen) != 0) {
			return 0;
		}
		p += plen;
		s += slen;
		if (*p == '\0' || *s == '\0')
			return *p == *s;
		p++;
		s++;
	}
}

static int reference_json_type(const char *ct)
{
	ct += strspn(ct, " ");
	if (strncasecmp(ct, "application/json", 16) != 0)
		return 0;
	ct += 16;
	ct += strspn(ct, " ");
	if (*ct == '\0')
		return 1;
	if (*ct++ != ';')
		return 0;
	ct += strspn(ct, " ");
	if (strncasecmp(ct, "charset=", 8) != 0)
		return 0;
	ct += 8;
	if (*ct == '"')
		ct++;
	return strncasecmp(ct, "utf-8", 5) == 0 && (ct[5] == '\0' || ct[5] == '"' || ct[5] == ' ');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned pick = data[0];
	data++;
	size--;
	char *text = fuzz_take(&data, &size, '\0', NULL);
	switch (pick >> 6) {
	case 0:
	case 1: {
		const char *pattern = patterns[pick % NPATTERNS];
		struct request req;
		memset(&req, 0, sizeof req);
		req.arena = fuzz_arena();
		req.path = text;
		const char *names[REQUEST_MAX_PARAMS], *values[REQUEST_MAX_PARAMS];
		int n;
		int want = reference_match(pattern, text, names, values, &n);
		int got = router_match(&req, pattern);
		FUZZ_CHECK(got == want);
		if (got) {
			FUZZ_CHECK(req.nparams == n);
			for (int i = 0; i < n; i++) {
				FUZZ_CHECK(strcmp(req.params[i].name, names[i]) == 0);
				FUZZ_CHECK(strcmp(req.params[i].value, values[i]) == 0);
				FUZZ_CHECK(request_param(&req, names[i]) != NULL);
			}
		}
		break;
	}
	case 2:
		FUZZ_CHECK(router_is_json_media_type(text) == reference_json_type(text));
		break;
	default: {
		size_t len = strlen(text);
		int want = len >= 1 && len <= REQUEST_ID_MAX &&
			   strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == len;
		FUZZ_CHECK(request_id_is_sane(text) == want);
	}
	}
	fuzz_end();
	return 0;
}
