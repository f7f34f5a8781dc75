/* auth.fcgi - accounts, sessions and tokens under /api/v1/auth.
 *
 * The route table is the whole of this responder's surface. */
#include <stdio.h>

#include "app.h"
#include "auth.h"
#include "handlers.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "signing_keys.h"

#define JSON ROUTE_JSON
#define USER ROUTE_USER

static const struct route routes[] = {
	{ "GET",    "/api/v1/auth/health",          health_handle, 0 },
	{ "GET",    "/api/v1/auth/metrics",         metrics_handle, 0 },
	{ "POST",   "/api/v1/auth/register",        accounts_register, JSON },
	{ "POST",   "/api/v1/auth/login",           accounts_login, JSON },
	{ "GET",    "/api/v1/auth/me",              accounts_me, USER },
	{ "POST",   "/api/v1/auth/password/change", accounts_password_change, USER | JSON },
	{ "POST",   "/api/v1/auth/password/reset",  otp_password_reset, JSON },
	{ "POST",   "/api/v1/auth/otp/send",        otp_send, JSON },
	{ "POST",   "/api/v1/auth/otp/verify",      otp_verify, JSON },
	{ "POST",   "/api/v1/auth/refresh",         tokens_refresh, ROUTE_JSON_OPTIONAL },
	{ "POST",   "/api/v1/auth/logout",          sessions_logout, ROUTE_JSON_OPTIONAL },
	{ "GET",    "/api/v1/auth/sessions",        sessions_list, USER },
	{ "DELETE", "/api/v1/auth/sessions",        sessions_revoke_all, USER },
	{ "DELETE", "/api/v1/auth/sessions/{sessionId}", sessions_revoke_one, USER },
	{ "GET",    "/api/v1/auth/jwks",            jwks_get, 0 },
	{ "GET",    "/api/v1/auth/providers",       oauth_providers, 0 },
	{ "POST",   "/api/v1/auth/google/start",    oauth_google_start, 0 },
	{ "POST",   "/api/v1/auth/google/token",    oauth_google_token, JSON },
	{ "GET",    "/api/v1/auth/google/callback", oauth_google_return, 0 },
	{ "POST",   "/api/v1/auth/apple/start",     oauth_apple_start, 0 },
	{ "POST",   "/api/v1/auth/apple/token",     oauth_apple_token, JSON },
	{ "POST",   "/api/v1/auth/apple/callback",  oauth_apple_return, 0 },
};

/* The auth area signs tokens, so it loads the signing keys' private halves;
 * a first key is made if the database has none (aigetctl migrate normally
 * does it). */
static void auth_init(struct app_context *ctx)
{
	char err[256];
	ctx->signing_keys = signing_keys_new(1);
	if (signing_keys_ensure(ctx->db, err, sizeof err) != 0)
		log_warn("no signing key yet: %s", err);
}

static const struct app auth_app = {
	.area = "auth", .routes = routes, .nroutes = sizeof routes / sizeof routes[0],
	.deps = APP_DEP_POSTGRES | APP_DEP_REDIS, .config_needs = CONFIG_NEEDS_AUTH, .init = auth_init,
};

int main(int argc, char **argv)
{
	return app_main(&auth_app, argc, argv);
}
