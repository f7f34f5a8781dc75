/* tenant_store.h - the tenants table: every statement that reads or changes a tenant's row.
 *
 * The tenants responder (a user's tenants, the back office), aigetctl
 * (`tenant create|list|suspend|resume`, `key`), the memox worker (a deleted
 * tenant's erasure) and shared/membership.c read and change tenants
 * through here, so that a tenant made, locked, suspended or deleted either
 * way follows the same rules: a tenant is created with its owner in one
 * statement, so it never exists without one; a change to a tenant or its
 * members first takes the row's lock; deletion is soft (status 'deleted').
 * Callers check who may act and write the audit; this module only runs the
 * statements.  Each function takes the connection and an err buffer the
 * caller owns; a returned result is the caller's to PQclear() (a handler
 * keeps it with db_request_keep()).  Functions that change a row run
 * inside the caller's transaction: their statements are not idempotent, so
 * that pg_exec() never retries one outside it.
 *
 * Statements of other tables that join tenants to read a tenant's name or
 * status along with their own rows (a key's lookup in shared/api_key.c,
 * invitations, the worker's memory pages) keep them beside their own
 * statements, using TENANT_STORE_COLUMNS for the row. */
#ifndef AIGET_TENANT_STORE_H
#define AIGET_TENANT_STORE_H

#include <stddef.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "pg.h"

#define TENANT_STORE_NAME_MAX 128     /* bytes of a name, after trimming */
#define TENANT_STORE_STATUS_MAX 16    /* bytes of a status with its NUL */

/* An RFC 3339 UTC rendering of a timestamptz column (NULL stays NULL). */
#define TENANT_STORE_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* A tenant's row as tenant_store_json() reads it, from alias t. */
#define TENANT_STORE_COLUMNS "t.id, t.name, t.status, " TENANT_STORE_TIME("t.created_at") ", " \
	TENANT_STORE_TIME("t.updated_at") ", " TENANT_STORE_TIME("t.suspended_at") ", " \
	TENANT_STORE_TIME("t.deleted_at")
#define TENANT_STORE_NCOLUMNS 7

/* The tenant at row i of r (TENANT_STORE_COLUMNS from column col), with
 * the caller's role when role is not NULL. */
struct json_object *tenant_store_json(PGresult *r, int i, int col, const char *role);

/* --------------------------------------------------------------- the name */

enum tenant_store_name {
	TENANT_NAME_OK,
	TENANT_NAME_BLANK,            /* nothing but white space */
	TENANT_NAME_LONG,             /* more than TENANT_STORE_NAME_MAX bytes */
	TENANT_NAME_CONTROL,          /* a control character */
};

/* raw without the white space around it (' ', \t, \n, \r) is *start for
 * *len bytes; whether that is a name, checked in the order of the enum. */
enum tenant_store_name tenant_store_name_check(const char *raw, const char **start, size_t *len);

/* ------------------------------------------------------------- one tenant */

/* The tenant's status (TENANT_STORE_STATUS_MAX bytes): 1, 0 when there is
 * no such tenant, -1 with err.  _lock: inside a transaction, and the row
 * is locked against other changes to the tenant and its members (FOR NO
 * KEY UPDATE, so foreign-key checks of inserts into its members or keys
 * still pass). */
int tenant_store_status(struct pg *db, const char *tenant_id, char *status, char *err, size_t errlen);
int tenant_store_lock(struct pg *db, const char *tenant_id, char *status, char *err, size_t errlen);

/* user_id's membership of a tenant that is not deleted: the tenant's
 * status and the role (TENANT_STORE_STATUS_MAX bytes each).  1, 0 when not
 * a member (or no such tenant), -1 with err. */
int tenant_store_member(struct pg *db, const char *tenant_id, const char *user_id, char *status, char *role,
			char *err, size_t errlen);

/* Inside a transaction: a tenant named name, with creator as its owner.
 * Only while the creator has fewer than max tenants that are not deleted,
 * counted under a lock per creator, so that two creates at the same moment
 * count one after the other (no row: the creator has max already); max
 * TENANT_STORE_UNBOUNDED: no such bound (an operator's create).
 * TENANT_STORE_COLUMNS. */
#define TENANT_STORE_UNBOUNDED (-1LL)
PGresult *tenant_store_create(struct pg *db, const char *name, const char *creator, long long max, char *err,
			      size_t errlen);

/* TENANT_STORE_COLUMNS (no row: no such tenant). */
PGresult *tenant_store_get(struct pg *db, const char *tenant_id, char *err, size_t errlen);

/* Inside a transaction, the row locked: TENANT_STORE_COLUMNS and then the
 * name before. */
PGresult *tenant_store_rename(struct pg *db, const char *tenant_id, const char *name, char *err, size_t errlen);

/* Inside a transaction: status 'deleted'; the name it had, no row when
 * there is no such tenant or it was deleted already. */
PGresult *tenant_store_delete(struct pg *db, const char *tenant_id, char *err, size_t errlen);

/* Inside a transaction, the row locked: to "suspended" or "active"; the
 * row as the back office reads it (tenant_store_admin_json()). */
PGresult *tenant_store_set_status(struct pg *db, const char *tenant_id, const char *to, char *err, size_t errlen);

/* ------------------------------------------------------------- many tenants */

/* Up to fetch (decimal text) of the tenants user_id is a member of (no
 * deleted ones), oldest first, after the keyset position (after_key,
 * after_id; NULL for the first page): TENANT_STORE_COLUMNS, the role, the
 * sort key. */
PGresult *tenant_store_list_member(struct pg *db, const char *user_id, const char *after_key, const char *after_id,
				   const char *fetch, char *err, size_t errlen);

/* --------------------------------------------------------- the back office */

/* TENANT_STORE_COLUMNS, the creator, the member count; admin json reads them. */
#define TENANT_STORE_ADMIN_NCOLUMNS (TENANT_STORE_NCOLUMNS + 2)
struct json_object *tenant_store_admin_json(PGresult *r, int i);

/* One tenant (no row: none), deleted ones too. */
PGresult *tenant_store_admin_get(struct pg *db, const char *tenant_id, char *err, size_t errlen);

/* Up to fetch tenants, newest first: query (NULL: any) matches a name
 * anywhere without regard to case, or an id exactly; status NULL: any.
 * TENANT_STORE_ADMIN_NCOLUMNS columns, then the sort key. */
PGresult *tenant_store_admin_list(struct pg *db, const char *query, const char *status, const char *after_key,
				  const char *after_id, const char *fetch, char *err, size_t errlen);

/* --------------------------------------------------------------- aigetctl */

/* As an operator lists them: id, name, status, created_at, suspended_at,
 * the member count, the owners' emails (comma-separated, NULL: none).
 * _summary: one tenant (no row: none); _summaries: all, or those of status,
 * oldest first. */
PGresult *tenant_store_summary(struct pg *db, const char *tenant_id, char *err, size_t errlen);
PGresult *tenant_store_summaries(struct pg *db, const char *status, char *err, size_t errlen);

#endif
