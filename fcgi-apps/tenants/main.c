/* tenants.fcgi - tenants, members, limits and usage under /api/v1/tenants,
 * and the admin back office under /api/v1/admin.
 *
 * The route table is the whole of this responder's surface; handlers of the
 * tenants-and-keys issue replace router_not_implemented as they land. */
#include "app.h"
#include "health.h"

#define NI router_not_implemented

static const struct route routes[] = {
	{ "GET",    "/api/v1/tenants/health",                         health_handle, 0 },
	{ "POST",   "/api/v1/tenants",                                NI, ROUTE_JSON },
	{ "GET",    "/api/v1/tenants",                                NI, 0 },
	{ "GET",    "/api/v1/tenants/{tenantId}",                     NI, 0 },
	{ "PATCH",  "/api/v1/tenants/{tenantId}",                     NI, ROUTE_JSON },
	{ "DELETE", "/api/v1/tenants/{tenantId}",                     NI, 0 },
	{ "GET",    "/api/v1/tenants/{tenantId}/members",             NI, 0 },
	{ "POST",   "/api/v1/tenants/{tenantId}/members",             NI, ROUTE_JSON },
	{ "PATCH",  "/api/v1/tenants/{tenantId}/members/{userId}",    NI, ROUTE_JSON },
	{ "DELETE", "/api/v1/tenants/{tenantId}/members/{userId}",    NI, 0 },
	{ "GET",    "/api/v1/tenants/{tenantId}/limits",              NI, 0 },
	{ "PUT",    "/api/v1/tenants/{tenantId}/limits",              NI, ROUTE_JSON },
	{ "GET",    "/api/v1/tenants/{tenantId}/usage",               NI, 0 },
	{ "GET",    "/api/v1/admin/tenants",                          NI, 0 },
	{ "GET",    "/api/v1/admin/users",                            NI, 0 },
	{ "POST",   "/api/v1/admin/tenants/{tenantId}/suspend",       NI, 0 },
	{ "POST",   "/api/v1/admin/tenants/{tenantId}/resume",        NI, 0 },
	{ "PUT",    "/api/v1/admin/tenants/{tenantId}/limits",        NI, ROUTE_JSON },
};

static const struct app tenants_app = {
	.area = "tenants", .routes = routes, .nroutes = sizeof routes / sizeof routes[0],
	.deps = APP_DEP_POSTGRES | APP_DEP_REDIS,
};

int main(int argc, char **argv)
{
	return app_main(&tenants_app, argc, argv);
}
