/* tenants.fcgi - tenants, members, invitations, limits, usage and audit under
 * /api/v1/tenants, and the admin back office under /api/v1/admin.
 *
 * The route table is the whole of this responder's surface.  The fixed
 * paths (/health, /invitations) come before /{tenantId}, so that they are
 * never taken for a tenant id. */
#include "app.h"
#include "health.h"
#include "metrics.h"
#include "tenants.h"

#define JSON ROUTE_JSON
#define USER ROUTE_USER
#define ADMIN (ROUTE_USER | ROUTE_ADMIN)

static const struct route routes[] = {
	{ "GET",    "/api/v1/tenants/health",                         health_handle, 0 },
	{ "GET",    "/api/v1/tenants/metrics",                        metrics_handle, 0 },
	{ "POST",   "/api/v1/tenants",                                tenants_create, USER | JSON },
	{ "GET",    "/api/v1/tenants",                                tenants_list, USER },
	{ "GET",    "/api/v1/tenants/invitations",                    invitations_mine, USER },
	{ "POST",   "/api/v1/tenants/invitations/{invitationId}/accept", invitations_accept, USER },
	{ "GET",    "/api/v1/tenants/{tenantId}",                     tenants_get, USER },
	{ "PATCH",  "/api/v1/tenants/{tenantId}",                     tenants_rename, USER | JSON },
	{ "DELETE", "/api/v1/tenants/{tenantId}",                     tenants_delete, USER },
	{ "GET",    "/api/v1/tenants/{tenantId}/members",             members_list, USER },
	{ "POST",   "/api/v1/tenants/{tenantId}/members",             members_add, USER | JSON },
	{ "PATCH",  "/api/v1/tenants/{tenantId}/members/{userId}",    members_change_role, USER | JSON },
	{ "DELETE", "/api/v1/tenants/{tenantId}/members/{userId}",    members_remove, USER },
	{ "GET",    "/api/v1/tenants/{tenantId}/invitations",         invitations_list, USER },
	{ "DELETE", "/api/v1/tenants/{tenantId}/invitations/{invitationId}", invitations_revoke, USER },
	{ "GET",    "/api/v1/tenants/{tenantId}/limits",              limits_get, USER },
	{ "PUT",    "/api/v1/tenants/{tenantId}/limits",              limits_put, USER | JSON },
	{ "GET",    "/api/v1/tenants/{tenantId}/usage",               usage_get, USER },
	{ "GET",    "/api/v1/tenants/{tenantId}/audit",               audit_list, USER },
	{ "GET",    "/api/v1/admin/tenants",                          admin_tenants, ADMIN },
	{ "GET",    "/api/v1/admin/users",                            admin_users, ADMIN },
	{ "GET",    "/api/v1/admin/tenants/{tenantId}",               admin_tenant_get, ADMIN },
	{ "POST",   "/api/v1/admin/tenants/{tenantId}/suspend",       admin_suspend, ADMIN },
	{ "POST",   "/api/v1/admin/tenants/{tenantId}/resume",        admin_resume, ADMIN },
	{ "GET",    "/api/v1/admin/tenants/{tenantId}/limits",        admin_limits_get, ADMIN },
	{ "PUT",    "/api/v1/admin/tenants/{tenantId}/limits",        admin_limits_put, ADMIN | JSON },
	{ "GET",    "/api/v1/admin/tenants/{tenantId}/ceilings",      admin_ceilings_get, ADMIN },
	{ "PUT",    "/api/v1/admin/tenants/{tenantId}/ceilings",      admin_ceilings_put, ADMIN | JSON },
	{ "GET",    "/api/v1/admin/tenants/{tenantId}/usage",         admin_usage_get, ADMIN },
	{ "GET",    "/api/v1/admin/tenants/{tenantId}/audit",         admin_audit_list, ADMIN },
};

static const struct app tenants_app = {
	.area = "tenants", .routes = routes, .nroutes = sizeof routes / sizeof routes[0],
	.deps = APP_DEP_POSTGRES | APP_DEP_REDIS,
};

int main(int argc, char **argv)
{
	return app_main(&tenants_app, argc, argv);
}
