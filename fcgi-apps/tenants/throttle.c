/* throttle.c - abuse limits of the tenants routes: fixed windows in Redis.
 *
 * As the auth area's (fcgi-apps/auth/limits.c), through shared/ratelimit:
 * one table of rules (what is counted, how many per window), counted per
 * user (the access token's subject) or per client address (nginx's
 * REMOTE_ADDR, set from the trusted proxy's header only).  Inviting is
 * limited both ways: an invitation reaches someone outside the tenant, and
 * any user can make tenants to send them from; the per-address rule bounds
 * what many accounts of one client can do together.  Redis unreachable is
 * a 503: these routes never go unlimited. */
#include "tenants.h"

#include <stdio.h>

#include "auth_token.h"
#include "metrics.h"
#include "ratelimit.h"

static const struct {
	const char *name;
	int per_user;                  /* 1: counted per user; 0: per client address */
	int limit, window_s;
} rules[THROTTLE__MAX] = {
	[THROTTLE_INVITE_USER] = { "invite-user", 1, 30, 600 },
	[THROTTLE_INVITE_IP]   = { "invite-ip",   0, 60, 600 },
};

int throttle_hit(struct request *req, enum throttle_rule rule)
{
	const char *subject = rules[rule].per_user ? req->user->id : req->remote_addr ? req->remote_addr : "unknown";
	char key[128];
	snprintf(key, sizeof key, "rl:tenants:%s:%s", rules[rule].name, subject);
	int retry_after;
	char err[256];
	switch (ratelimit_hit(req->ctx->redis, key, rules[rule].limit, rules[rule].window_s, &retry_after, err,
			      sizeof err)) {
	case RATELIMIT_OK:
		return 0;
	case RATELIMIT_LIMITED:
		metrics_rate_limited(METRICS_LIMIT_ABUSE);
		response_header(req, "Retry-After", arena_printf(req->arena, "%d", retry_after));
		response_error(req, 429, "rate_limited", "too many invitations; retry in %d seconds", retry_after);
		return -1;
	default:
		response_unavailable(req, arena_printf(req->arena, "rate limit %s", rules[rule].name), err);
		return -1;
	}
}
