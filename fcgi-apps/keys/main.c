/* keys.fcgi - tenant API keys under /api/v1/keys.
 *
 * The route table is the whole of this responder's surface; handlers of the
 * tenants-and-keys issue replace router_not_implemented as they land. */
#include "app.h"
#include "health.h"

#define NI router_not_implemented

static const struct route routes[] = {
	{ "GET",    "/api/v1/keys/health",          health_handle, 0 },
	{ "POST",   "/api/v1/keys/verify",          NI, ROUTE_JSON },
	{ "POST",   "/api/v1/keys",                 NI, ROUTE_JSON },
	{ "GET",    "/api/v1/keys",                 NI, 0 },
	{ "GET",    "/api/v1/keys/{keyId}",         NI, 0 },
	{ "DELETE", "/api/v1/keys/{keyId}",         NI, 0 },
	{ "POST",   "/api/v1/keys/{keyId}/disable", NI, 0 },
	{ "POST",   "/api/v1/keys/{keyId}/enable",  NI, 0 },
	{ "POST",   "/api/v1/keys/{keyId}/rotate",  NI, 0 },
};

static const struct app keys_app = {
	.area = "keys", .routes = routes, .nroutes = sizeof routes / sizeof routes[0],
	.deps = APP_DEP_POSTGRES | APP_DEP_REDIS,
};

int main(int argc, char **argv)
{
	return app_main(&keys_app, argc, argv);
}
