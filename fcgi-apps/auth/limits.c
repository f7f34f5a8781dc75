/* limits.c - per-IP and per-email abuse limits of the auth routes, and the browser Origin check.
 *
 * One table of rules (route, what is counted, how many per window), checked
 * through shared/ratelimit.  The client address is nginx's REMOTE_ADDR, which
 * nginx sets from the proxy's header only for connections from the trusted
 * proxy (set_real_ip_from); the responder never reads forwarding headers. */
#include "auth.h"

#include <stdio.h>
#include <string.h>

#include "cors.h"
#include "crypto.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"

static const struct {
	const char *name;
	int limit, window_s;
} rules[LIMIT__MAX] = {
	[LIMIT_LOGIN_IP]       = { "login-ip",        30, 60 },
	[LIMIT_LOGIN_EMAIL]    = { "login-email",     10, 300 },
	[LIMIT_REGISTER_IP]    = { "register-ip",     20, 3600 },
	[LIMIT_OTP_SEND_IP]    = { "otp-send-ip",     20, 600 },
	[LIMIT_OTP_SEND_EMAIL] = { "otp-send-email",   5, 3600 },
	[LIMIT_OTP_VERIFY_IP]  = { "otp-verify-ip",   30, 600 },
	[LIMIT_RESET_IP]       = { "reset-ip",        20, 600 },
	[LIMIT_REFRESH_IP]     = { "refresh-ip",     120, 60 },
	[LIMIT_OAUTH_START_IP] = { "oauth-start-ip",  30, 600 },
	[LIMIT_PASSWORD_CHANGE_USER] = { "password-change-user", 10, 900 },
};

const char *limits_client_ip(struct request *req)
{
	return req->remote_addr ? req->remote_addr : "unknown";
}

int limits_hit(struct request *req, enum limit_rule rule, const char *subject)
{
	/* Emails are counted by digest: Redis keys never hold an address.  The
	 * digest is of the lower-cased address, since accounts are found
	 * without regard to case: "Ann@x.io" and "ann@x.io" share one count. */
	char key[160], digest[2 * CRYPTO_SHA256_LEN + 1];
	if (subject) {
		unsigned char d[CRYPTO_SHA256_LEN];
		size_t n = strlen(subject);
		char *lower = arena_strndup(req->arena, subject, n);
		for (char *p = lower; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		crypto_sha256(lower, n, d);
		crypto_hex(d, sizeof d, digest);
	}
	snprintf(key, sizeof key, "rl:auth:%s:%s", rules[rule].name, subject ? digest : limits_client_ip(req));
	int retry_after;
	char err[256];
	switch (ratelimit_hit(req->ctx->redis, key, rules[rule].limit, rules[rule].window_s, &retry_after, err, sizeof err)) {
	case RATELIMIT_OK:
		return 0;
	case RATELIMIT_LIMITED:
		metrics_rate_limited(METRICS_LIMIT_ABUSE);
		response_header(req, "Retry-After", arena_printf(req->arena, "%d", retry_after));
		response_error(req, 429, "rate_limited", "too many requests; retry in %d seconds", retry_after);
		return -1;
	default:
		response_unavailable(req, arena_printf(req->arena, "rate limit %s", rules[rule].name), err);
		return -1;
	}
}

int origin_check(struct request *req)
{
	const char *origin = FCGX_GetParam("HTTP_ORIGIN", req->fcgx->envp);
	if (origin == NULL)
		return 0;
	/* The CORS headers of an allowed origin are the router's (cors_headers). */
	if (!cors_origin_allowed(req->ctx->cfg.allowed_origins, origin)) {
		response_error(req, 403, "forbidden", "this origin is not allowed");
		return -1;
	}
	return 1;
}
