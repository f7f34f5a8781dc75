/* cookies.c - the auth area's cookies: reading one from a request, setting one on the answer.
 *
 * There are two, both for browsers only (requests with an allowed Origin):
 * the refresh token (tokens.c) and the binding of a web sign-in's state to
 * the browser that started it (oauth.c).  Both are scoped alike:
 * Path=/api/v1/auth, so no other area's responder ever sees them; HttpOnly,
 * so no script reads them; SameSite=Lax, so no other site's page sends them
 * with a POST (the only method these routes take); Secure unless
 * COOKIE_SECURE=0; Domain=COOKIE_DOMAIN when set, host-only otherwise. */
#include "auth.h"

#include <string.h>

void cookie_set(struct request *req, const char *name, const char *value, long max_age)
{
	struct config *cfg = &req->ctx->cfg;
	char *domain = cfg->cookie_domain && *cfg->cookie_domain
		? arena_printf(req->arena, "; Domain=%s", cfg->cookie_domain) : "";
	response_header(req, "Set-Cookie",
			arena_printf(req->arena, "%s=%s; Path=/api/v1/auth%s; Max-Age=%ld; HttpOnly%s; SameSite=Lax",
				     name, value ? value : "", domain, value ? max_age : 0,
				     cfg->cookie_secure ? "; Secure" : ""));
}

const char *cookie_get(struct request *req, const char *name, size_t maxlen)
{
	const char *cookies = FCGX_GetParam("HTTP_COOKIE", req->fcgx->envp);
	size_t nlen = strlen(name);
	for (const char *p = cookies; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		size_t n = strcspn(p, ";");
		if (n > nlen + 1 && strncmp(p, name, nlen) == 0 && p[nlen] == '=' && n - nlen - 1 <= maxlen)
			return arena_strndup(req->arena, p + nlen + 1, n - nlen - 1);
		p += n;
	}
	return NULL;
}
