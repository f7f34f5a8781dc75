/* auth.fcgi - accounts, sessions and tokens under /api/v1/auth.
 *
 * The route table is the whole of this responder's surface; handlers of the
 * auth issue replace router_not_implemented as they land. */
#include "app.h"
#include "health.h"

#define NI router_not_implemented

static const struct route routes[] = {
	{ "GET",  "/api/v1/auth/health",          health_handle, 0 },
	{ "POST", "/api/v1/auth/register",        NI, ROUTE_JSON },
	{ "POST", "/api/v1/auth/login",           NI, ROUTE_JSON },
	{ "POST", "/api/v1/auth/otp/send",        NI, ROUTE_JSON },
	{ "POST", "/api/v1/auth/otp/verify",      NI, ROUTE_JSON },
	{ "POST", "/api/v1/auth/password/reset",  NI, ROUTE_JSON },
	{ "POST", "/api/v1/auth/refresh",         NI, 0 },
	{ "POST", "/api/v1/auth/logout",          NI, 0 },
	{ "GET",  "/api/v1/auth/me",              NI, 0 },
	{ "GET",  "/api/v1/auth/jwks",            NI, 0 },
	{ "POST", "/api/v1/auth/google/start",    NI, 0 },
	{ "POST", "/api/v1/auth/google/token",    NI, ROUTE_JSON },
	{ "POST", "/api/v1/auth/apple/start",     NI, 0 },
	{ "POST", "/api/v1/auth/apple/token",     NI, ROUTE_JSON },
};

static const struct app auth_app = {
	"auth", APP_ROUTES(routes), APP_DEP_POSTGRES | APP_DEP_REDIS,
};

int main(int argc, char **argv)
{
	return app_main(&auth_app, argc, argv);
}
