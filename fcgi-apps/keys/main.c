/* keys.fcgi - tenant API keys under /api/v1/keys.
 *
 * The route table is the whole of this responder's surface.  The fixed
 * paths (/verify, /self) come before /{keyId}, so that they are never taken
 * for a key id. */
#include "app.h"
#include "health.h"
#include "metrics.h"
#include "keys.h"

#define JSON ROUTE_JSON
#define USER ROUTE_USER

static const struct route routes[] = {
	{ "GET",    "/api/v1/keys/health",          health_handle, 0 },
	{ "GET",    "/api/v1/keys/metrics",         metrics_handle, 0 },
	{ "POST",   "/api/v1/keys/verify",          verify_key, JSON },
	{ "GET",    "/api/v1/keys/self",            verify_self, ROUTE_APIKEY },
	{ "POST",   "/api/v1/keys",                 manage_create, USER | JSON },
	{ "GET",    "/api/v1/keys",                 manage_list, USER },
	{ "GET",    "/api/v1/keys/{keyId}",         manage_get, USER },
	{ "DELETE", "/api/v1/keys/{keyId}",         manage_delete, USER },
	{ "POST",   "/api/v1/keys/{keyId}/disable", manage_disable, USER },
	{ "POST",   "/api/v1/keys/{keyId}/enable",  manage_enable, USER },
	{ "POST",   "/api/v1/keys/{keyId}/rotate",  manage_rotate, USER | ROUTE_JSON_OPTIONAL },
};

static const struct app keys_app = {
	.area = "keys", .routes = routes, .nroutes = sizeof routes / sizeof routes[0],
	.deps = APP_DEP_POSTGRES | APP_DEP_REDIS,
};

int main(int argc, char **argv)
{
	return app_main(&keys_app, argc, argv);
}
