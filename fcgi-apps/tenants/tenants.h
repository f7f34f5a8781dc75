/* tenants.h - what the tenants area's files share: statements, transactions,
 * paging, the tenant row, the audit.
 *
 * Handlers live in files named for what they handle: tenants.c (a user's own
 * tenants), members.c, invitations.c, limits.c (and their ceilings), usage.c,
 * audit.c and admin.c (the back office under /api/v1/admin); db.c holds
 * the tenant lock, shared/paging.c reads query strings, throttle.c holds
 * the abuse limits.  Statements and transactions run through
 * shared/db_request.h.  Every tenant route starts with
 * membership_require(), the one membership check; admin routes have the
 * dispatcher's ROUTE_ADMIN and name a tenant through admin_tenant_find().
 *
 * The back office's handlers of one tenant's limits, ceilings, usage and
 * audit log (admin_limits_*, admin_ceilings_*, admin_usage_get,
 * admin_audit_list) sit beside the members' twins in limits.c, usage.c and
 * audit.c, whose parsing and statements they share; the last section below
 * lists every back-office function, wherever it is defined.
 *
 * A change and its tenant_audit row are written in one transaction, so that
 * no change goes unrecorded: if the audit row cannot be written, the change
 * is rolled back and the caller gets a 503.  Statements that run inside a
 * transaction are declared non-idempotent, so that pg_exec() never retries
 * one on a fresh connection, outside the transaction it belonged to. */
#ifndef AIGET_TENANTS_AREA_H
#define AIGET_TENANTS_AREA_H

#include <stddef.h>

#include "api_key.h"
#include "db_request.h"
#include "membership.h"
#include "paging.h"
#include "pg.h"
#include "request.h"
#include "tenant_store.h"

#define INVITATIONS_PENDING_MAX 100   /* unexpired pending invitations per tenant */

/* An RFC 3339 UTC rendering of a timestamptz column (NULL stays NULL). */
#define SQL_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* ------------------------------------------------------------------ db.c */

/* Statements and transactions go through shared/db_request.h: a failure is
 * answered 503, results are the request's, a rollback is always safe. */

/* Inside a transaction: tenant_store_lock() for a request.  Fills status
 * (16 bytes); 1 found, 0 no such tenant, -1 answered 503. */
int db_lock_tenant(struct request *req, const char *tenant_id, char *status);

/* A path parameter lower-cased: ids may arrive in upper case, and the ids
 * published to other processes (key invalidations) and queued for the worker
 * must be the database's spelling.  NULL when absent. */
const char *path_id(struct request *req, const char *name);

/* ------------------------------------------------------------- members.c */

/* A member as member_json() reads them: from alias m joined with users u. */
#define MEMBER_COLUMNS "m.user_id, u.email, u.name, m.role, " SQL_TIME("m.created_at")
#define MEMBER_NCOLUMNS 5
struct json_object *member_json(PGresult *r, int i, int col);

/* --------------------------------------------------------- invitations.c */

/* An invitation as invitation_json() reads it: alias i joined with tenants t. */
#define INVITATION_COLUMNS "i.id, i.tenant_id, t.name, i.email, i.role, i.invited_by, " \
	SQL_TIME("i.created_at") ", " SQL_TIME("i.expires_at") ", i.expires_at <= now()"
#define INVITATION_NCOLUMNS 9
struct json_object *invitation_json(PGresult *r, int i, int col);

/* ------------------------------------------------------------- throttle.c */

enum throttle_rule { THROTTLE_INVITE_USER, THROTTLE_INVITE_IP, THROTTLE__MAX };

/* Counts one hit of the rule for the caller (ROUTE_USER routes only): 0, or
 * -1 when answered (429 with Retry-After, or 503 when Redis cannot count). */
int throttle_hit(struct request *req, enum throttle_rule rule);

/* ---------------------------------------------------------------- audit.c */

/* Records a change to a tenant (actor: the caller) in the caller's
 * transaction; detail is taken over.  0, or -1 (answered 503). */
int audit_record(struct request *req, const char *tenant_id, const char *action, const char *target,
		 struct json_object *detail);

/* -------------------------------------------------------------- handlers */

/* tenants.c */
void tenants_create(struct request *req);
void tenants_list(struct request *req);
void tenants_get(struct request *req);
void tenants_rename(struct request *req);
void tenants_delete(struct request *req);
/* members.c */
void members_list(struct request *req);
void members_add(struct request *req);
void members_change_role(struct request *req);
void members_remove(struct request *req);
/* invitations.c */
void invitations_mine(struct request *req);
void invitations_accept(struct request *req);
void invitations_list(struct request *req);
void invitations_revoke(struct request *req);
/* limits.c */
void limits_get(struct request *req);
void limits_put(struct request *req);
/* usage.c */
void usage_get(struct request *req);
/* audit.c */
void audit_list(struct request *req);

/* ---------------------------------------------------- admin back office */

/* The routes under /api/v1/admin, all ROUTE_ADMIN: site admins, who are not
 * members of the tenants they manage, so a tenant is named through
 * admin_tenant_find() instead of membership_require(). */

/* admin.c: the tenant named by the path's {tenantId} for an admin route: 1
 * with id and status (16 bytes) filled, or -1 when answered (404: malformed
 * or no such tenant; 503). */
int admin_tenant_find(struct request *req, char id[37], char *status);
/* admin.c: finding tenants and users, suspending and resuming a tenant */
void admin_tenants(struct request *req);
void admin_tenant_get(struct request *req);
void admin_users(struct request *req);
void admin_suspend(struct request *req);
void admin_resume(struct request *req);
/* limits.c, beside limits_get() and limits_put() */
void admin_limits_get(struct request *req);
void admin_limits_put(struct request *req);
void admin_ceilings_get(struct request *req);
void admin_ceilings_put(struct request *req);
/* usage.c, beside usage_get() */
void admin_usage_get(struct request *req);
/* audit.c, beside audit_list() */
void admin_audit_list(struct request *req);

#endif
