/* memox.fcgi - memories and semantic search under /api/v1/memox.
 *
 * The route table is the whole of this responder's surface.  Every route but
 * health takes a tenant API key (the tenant comes from the key, never from
 * the request) and is admitted by that tenant's limits; reads need the key's
 * memox:read scope, writes memox:write (MCP's tools each theirs). */
#include "app.h"
#include "health.h"
#include "metrics.h"
#include "memox.h"

#define READ  (ROUTE_APIKEY | ROUTE_SCOPE_READ)
#define WRITE (ROUTE_APIKEY | ROUTE_SCOPE_WRITE)

static const struct route routes[] = {
	{ "GET",    "/api/v1/memox/health",         health_handle, 0 },
	{ "GET",    "/api/v1/memox/metrics",        metrics_handle, 0 },
	{ "POST",   "/api/v1/memox/memories",       memories_create, WRITE | ROUTE_JSON | ROUTE_LARGE_BODY },
	{ "GET",    "/api/v1/memox/memories",       memories_list, READ },
	{ "DELETE", "/api/v1/memox/memories",       erase_scope, WRITE },
	{ "POST",   "/api/v1/memox/memories/batch", memories_batch, WRITE | ROUTE_JSON | ROUTE_LARGE_BODY },
	{ "GET",    "/api/v1/memox/memories/{id}",  memories_get, READ },
	{ "PATCH",  "/api/v1/memox/memories/{id}",  memories_patch, WRITE | ROUTE_JSON | ROUTE_LARGE_BODY },
	{ "DELETE", "/api/v1/memox/memories/{id}",  memories_delete, WRITE },
	{ "POST",   "/api/v1/memox/search",         search_memories, READ | ROUTE_JSON | ROUTE_LARGE_BODY },
	{ "GET",    "/api/v1/memox/erasures/{id}",  erase_get, READ },
	{ "GET",    "/api/v1/memox/memories/{id}/history", memories_history, READ },
	{ "GET",    "/api/v1/memox/namespaces",     scopes_namespaces, READ },
	{ "GET",    "/api/v1/memox/users",          scopes_users, READ },
	/* MCP: each tool checks its own route's scope (mcp_tools.c), and the
	 * body is read raw, so that bad JSON is JSON-RPC's -32700. */
	{ "POST",   "/api/v1/memox/mcp",            mcp_handle, ROUTE_APIKEY | ROUTE_LARGE_BODY },
};

static const struct app memox_app = {
	.area = "memox", .routes = routes, .nroutes = sizeof routes / sizeof routes[0],
	.deps = APP_DEP_POSTGRES | APP_DEP_REDIS | APP_DEP_VECTOR,
	.config_needs = CONFIG_NEEDS_VECTOR,
	.init = search_init,
	.metrics = memox_metrics,
};

int main(int argc, char **argv)
{
	return app_main(&memox_app, argc, argv);
}
