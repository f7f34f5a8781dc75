/* memox.fcgi - memories and semantic search under /api/v1/memox.
 *
 * The route table is the whole of this responder's surface; handlers of the
 * memox issue replace router_not_implemented as they land. */
#include "app.h"
#include "health.h"

#define NI router_not_implemented

static const struct route routes[] = {
	{ "GET",    "/api/v1/memox/health",         health_handle, 0 },
	{ "POST",   "/api/v1/memox/memories",       NI, ROUTE_JSON },
	{ "GET",    "/api/v1/memox/memories",       NI, 0 },
	{ "DELETE", "/api/v1/memox/memories",       NI, 0 },
	{ "POST",   "/api/v1/memox/memories/batch", NI, ROUTE_JSON },
	{ "GET",    "/api/v1/memox/memories/{id}",  NI, 0 },
	{ "PATCH",  "/api/v1/memox/memories/{id}",  NI, ROUTE_JSON },
	{ "DELETE", "/api/v1/memox/memories/{id}",  NI, 0 },
	{ "POST",   "/api/v1/memox/search",         NI, ROUTE_JSON },
};

static const struct app memox_app = {
	.area = "memox", .routes = routes, .nroutes = sizeof routes / sizeof routes[0],
	.deps = APP_DEP_POSTGRES | APP_DEP_REDIS | APP_DEP_VECTOR,
};

int main(int argc, char **argv)
{
	return app_main(&memox_app, argc, argv);
}
