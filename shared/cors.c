/* cors.c - origin matching and the preflight answer. */
#include "cors.h"

#include <string.h>

#include "app.h"

int cors_origin_allowed(const char *list, const char *origin)
{
	size_t olen = strlen(origin);
	for (const char *p = list; p && *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m > 0 && p[m - 1] == ' ')
			m--;
		if (m == olen && m > 0 && memcmp(p, origin, m) == 0)
			return 1;
		p += n;
	}
	return 0;
}

int cors_headers(struct request *req)
{
	const char *origin = FCGX_GetParam("HTTP_ORIGIN", req->fcgx->envp);
	if (origin == NULL)
		return 0;
	if (!cors_origin_allowed(req->ctx->cfg.allowed_origins, origin))
		return -1;
	response_header(req, "Access-Control-Allow-Origin", origin);
	response_header(req, "Access-Control-Allow-Credentials", "true");
	response_header(req, "Vary", "Origin");
	response_header(req, "Access-Control-Expose-Headers", "X-Request-Id, Retry-After, WWW-Authenticate, "
			"RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset");
	return 1;
}

void cors_preflight(struct request *req, const char *allow)
{
	if (cors_headers(req) != 1) {
		response_header(req, "Allow", allow);
		response_error(req, 403, "forbidden", "this origin is not allowed");
		return;
	}
	response_header(req, "Access-Control-Allow-Methods", allow);
	response_header(req, "Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id, Idempotency-Key");
	response_header(req, "Access-Control-Max-Age", "600");
	response_no_content(req);
}
