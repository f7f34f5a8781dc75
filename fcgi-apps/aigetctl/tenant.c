/* tenant.c - `aigetctl tenant create|list|suspend|resume|limits`.
 *
 * The same changes as the tenants responder's (fcgi-apps/tenants: tenants.c
 * for create, admin.c for suspend and resume, limits.c for limits), through
 * the same statements and name rule (shared/tenant_store.c), with the same
 * rules: a tenant is created with its owner in one statement; a
 * change and its tenant_audit row commit together (actor NULL, "by":
 * "aigetctl"); a deleted tenant cannot be changed; after a commit that can
 * stop or slow keys, api_key_invalidate_tenant() drops every cached copy of
 * the tenant's keys in every process, so a suspension refuses its keys
 * within a second.  Limits go through shared/tenant_limits.c, the
 * responder's own names, bounds and statements.  A tenant is made only for
 * an owner whose address is verified (shared/email_proof.h): the operator
 * names a person by address, and an unverified account of it may be
 * someone else's. */
#include "tenant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_key.h"
#include "ctl.h"
#include "email.h"
#include "email_proof.h"
#include "membership.h"
#include "pg.h"
#include "tenant_audit.h"
#include "tenant_limits.h"
#include "tenant_store.h"

const char tenant_synopsis[] =
	"tenant create NAME --owner EMAIL [--json]\n"
	"tenant list [--status active|suspended|deleted] [--json]\n"
	"tenant suspend|resume TENANT_ID [--json]\n"
	"tenant limits TENANT_ID [--qps N] [--burst N] [--concurrency N] [--monthly-requests N]"
	" [--max-memories N] [--json]";

static const char *const table_cols[] = { "id", "name", "status", "members", "owners", "createdAt", NULL };
static const char *const fields[] = { "id", "name", "status", "members", "owners", "createdAt", "suspendedAt", NULL };

static struct json_object *nullable(PGresult *r, int i, int col)
{
	return PQgetisnull(r, i, col) ? NULL : json_object_new_string(PQgetvalue(r, i, col));
}

/* A tenant as tenant_store_summary() reads it. */
static struct json_object *tenant_json(PGresult *r, int i)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, i, 0)));
	json_object_object_add(o, "name", json_object_new_string(PQgetvalue(r, i, 1)));
	json_object_object_add(o, "status", json_object_new_string(PQgetvalue(r, i, 2)));
	json_object_object_add(o, "createdAt", json_object_new_string(PQgetvalue(r, i, 3)));
	json_object_object_add(o, "suspendedAt", nullable(r, i, 4));
	json_object_object_add(o, "members", json_object_new_int64(atoll(PQgetvalue(r, i, 5))));
	json_object_object_add(o, "owners", nullable(r, i, 6));
	return o;
}

/* A tenant just created (TENANT_STORE_COLUMNS) with its one owner, owner. */
static struct json_object *created_json(PGresult *r, const char *owner)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, 0, 0)));
	json_object_object_add(o, "name", json_object_new_string(PQgetvalue(r, 0, 1)));
	json_object_object_add(o, "status", json_object_new_string(PQgetvalue(r, 0, 2)));
	json_object_object_add(o, "createdAt", json_object_new_string(PQgetvalue(r, 0, 3)));
	json_object_object_add(o, "suspendedAt", nullable(r, 0, 5));
	json_object_object_add(o, "members", json_object_new_int64(1));
	json_object_object_add(o, "owners", json_object_new_string(owner));
	return o;
}

static void print_tenant(struct json_object *t, int json, const char *what)
{
	if (json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "tenant", json_object_get(t));
		if (what)
			json_object_object_add(o, "result", json_object_new_string(what));
		ctl_print_json(o);
		json_object_put(o);
		return;
	}
	if (what)
		printf("tenant %s\n", what);
	ctl_print_fields(t, fields);
}

static PGresult *exec(struct pg *db, const struct pg_statement *st, const char *const *params)
{
	char err[256];
	PGresult *r = pg_exec(db, st, params, err, sizeof err);
	if (r == NULL)
		ctl_fail("tenant", "database: %s", err);
	return r;
}

static int simple(struct pg *db, const struct pg_statement *st, const char *const *params)
{
	PGresult *r = exec(db, st, params);
	PQclear(r);
	return r ? 0 : -1;
}

static void rollback(struct pg *db)
{
	char err[256];
	PQclear(pg_exec(db, &pg_rollback, NULL, err, sizeof err));
}

/* The audit row, then COMMIT; rolled back when either fails.  0 or -1. */
static int audit_and_commit(struct app_context *ctx, const char *id, const char *action, struct json_object *detail)
{
	char err[256];
	json_object_object_add(detail, "by", json_object_new_string("aigetctl"));
	int rc = tenant_audit_insert(ctx->db, id, NULL, action, id, ctl_request_id(), detail, err, sizeof err);
	json_object_put(detail);
	if (rc != 0)
		ctl_fail("tenant", "audit: %s", err);
	if (rc != 0 || simple(ctx->db, &pg_commit, NULL) != 0) {
		rollback(ctx->db);
		return -1;
	}
	return 0;
}

/* After a commit: cached keys must see the new status or limits now. */
static void invalidate(struct app_context *ctx, const char *id)
{
	if (api_key_invalidate_tenant(ctx, id) != 0)
		fprintf(stderr, "aigetctl tenant: warning: the tenant's cached keys could not be invalidated "
			"(Redis); they follow when their cached copies expire\n");
}

static int create(struct app_context *ctx, const char *raw_name, const char *owner, int json)
{
	char name[TENANT_STORE_NAME_MAX + 1], email[EMAIL_MAX + 1];
	const char *start;
	size_t n;
	if (tenant_store_name_check(raw_name, &start, &n) != TENANT_NAME_OK)
		return ctl_usage(tenant_synopsis, "NAME must be 1 to %d bytes without control characters",
				 TENANT_STORE_NAME_MAX);
	memcpy(name, start, n);
	name[n] = '\0';
	if (email_normalize(owner, email) != 0)
		return ctl_usage(tenant_synopsis, "--owner %s is not a valid email address", owner);
	char uid[EMAIL_PROOF_ID_LEN + 1], err[256];
	switch (email_proof_lookup(ctx->db, email, uid, err, sizeof err)) {
	case EMAIL_PROOF_ERROR:
		return ctl_fail("tenant", "database: %s", err);
	case EMAIL_PROOF_NO_ACCOUNT:
		return ctl_fail("tenant", "no account with the email %s: the owner signs up first (or "
				"`aigetctl admin create`)", email);
	case EMAIL_PROOF_UNVERIFIED:
		return ctl_fail("tenant", "the address %s is not verified, so its account may belong to whoever "
				"registered it first: the owner verifies it first (an email code)", email);
	case EMAIL_PROOF_VERIFIED:
		break;
	}
	if (simple(ctx->db, &pg_begin, NULL) != 0)
		return CTL_FAILED;
	PGresult *r = tenant_store_create(ctx->db, name, uid, TENANT_STORE_UNBOUNDED, err, sizeof err);
	if (r == NULL) {
		ctl_fail("tenant", "database: %s", err);
		rollback(ctx->db);
		return CTL_FAILED;
	}
	struct json_object *t = created_json(r, email);
	struct json_object *detail = json_object_new_object();
	json_object_object_add(detail, "name", json_object_new_string(name));
	json_object_object_add(detail, "owner", json_object_new_string(uid));
	int rc = audit_and_commit(ctx, PQgetvalue(r, 0, 0), "tenant.create", detail);
	PQclear(r);
	if (rc == 0)
		print_tenant(t, json, "created");
	json_object_put(t);
	return rc == 0 ? CTL_OK : CTL_FAILED;
}

static int list(struct app_context *ctx, const char *status, int json)
{
	if (status && strcmp(status, "active") && strcmp(status, "suspended") && strcmp(status, "deleted"))
		return ctl_usage(tenant_synopsis, "--status must be active, suspended or deleted");
	char err[256];
	PGresult *r = tenant_store_summaries(ctx->db, status, err, sizeof err);
	if (r == NULL)
		return ctl_fail("tenant", "database: %s", err);
	struct json_object *rows = json_object_new_array();
	for (int i = 0; i < PQntuples(r); i++)
		json_object_array_add(rows, tenant_json(r, i));
	PQclear(r);
	if (json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "tenants", rows);
		ctl_print_json(o);
		json_object_put(o);
	} else {
		ctl_print_table(rows, table_cols);
		json_object_put(rows);
	}
	return CTL_OK;
}

/* The tenant's row as tenant_json(); NULL with a message when there is none. */
static struct json_object *get(struct app_context *ctx, const char *id)
{
	char err[256];
	PGresult *r = tenant_store_summary(ctx->db, id, err, sizeof err);
	if (r == NULL) {
		ctl_fail("tenant", "database: %s", err);
		return NULL;
	}
	struct json_object *t = PQntuples(r) == 1 ? tenant_json(r, 0) : NULL;
	if (PQntuples(r) != 1)
		ctl_fail("tenant", "no tenant with the id %s", id);
	PQclear(r);
	return t;
}

/* BEGIN and lock the tenant: 0 with status filled and the transaction open,
 * or -1 (rolled back, message printed) when it is missing or deleted. */
static int begin_change(struct app_context *ctx, const char *id, char status[16])
{
	char err[256];
	if (simple(ctx->db, &pg_begin, NULL) != 0)
		return -1;
	int found = tenant_store_lock(ctx->db, id, status, err, sizeof err);
	if (found < 0)
		ctl_fail("tenant", "database: %s", err);
	if (found <= 0 || strcmp(status, "deleted") == 0) {
		rollback(ctx->db);
		if (found >= 0)
			ctl_fail("tenant", found ? "the tenant %s is deleted" : "no tenant with the id %s", id);
		return -1;
	}
	return 0;
}

static int set_status(struct app_context *ctx, const char *id, const char *to, const char *action, int json)
{
	char status[16];
	if (begin_change(ctx, id, status) != 0)
		return CTL_FAILED;
	int unchanged = strcmp(status, to) == 0;
	if (unchanged) {
		rollback(ctx->db);
	} else {
		char err[256];
		PGresult *r = tenant_store_set_status(ctx->db, id, to, err, sizeof err);
		PQclear(r);
		if (r == NULL) {
			ctl_fail("tenant", "database: %s", err);
			rollback(ctx->db);
			return CTL_FAILED;
		}
		struct json_object *detail = json_object_new_object();
		json_object_object_add(detail, "from", json_object_new_string(status));
		if (audit_and_commit(ctx, id, action, detail) != 0)
			return CTL_FAILED;
		invalidate(ctx, id);
	}
	struct json_object *t = get(ctx, id);
	if (t == NULL)
		return CTL_FAILED;
	print_tenant(t, json, unchanged ? "unchanged" : strcmp(to, "active") == 0 ? "resumed" : "suspended");
	json_object_put(t);
	return CTL_OK;
}

static void print_limits(struct json_object *o, int json)
{
	if (json) {
		ctl_print_json(o);
		return;
	}
	struct json_object *lim, *def, *v, *d, *at;
	json_object_object_get_ex(o, "limits", &lim);
	json_object_object_get_ex(o, "isDefault", &def);
	struct json_object *rows = json_object_new_array();
	for (int i = 0; i < TENANT_LIMIT__MAX; i++) {
		json_object_object_get_ex(lim, tenant_limit_fields[i].field, &v);
		json_object_object_get_ex(def, tenant_limit_fields[i].field, &d);
		struct json_object *row = json_object_new_object();
		json_object_object_add(row, "limit", json_object_new_string(tenant_limit_fields[i].field));
		json_object_object_add(row, "value", json_object_new_string(json_object_get_string(v)));
		json_object_object_add(row, "source", json_object_new_string(json_object_get_boolean(d)
										? "default" : "tenant"));
		json_object_array_add(rows, row);
	}
	static const char *const cols[] = { "limit", "value", "source", NULL };
	ctl_print_table(rows, cols);
	json_object_put(rows);
	json_object_object_get_ex(o, "updatedAt", &at);
	if (at)
		printf("updated %s\n", json_object_get_string(at));
}

/* --qps N ... : values[i] decimal text or NULL ("default"), bit i in *mask. */
static int limit_option(int argc, char **argv, int *i, const char *value[TENANT_LIMIT__MAX], char text[][24],
			unsigned *mask)
{
	for (int l = 0; l < TENANT_LIMIT__MAX; l++) {
		const char *v;
		int m = ctl_option(argc, argv, i, tenant_limit_fields[l].option, &v);
		if (m == 0)
			continue;
		long long n;
		if (m < 0)
			return ctl_usage(tenant_synopsis, "%s needs a value", tenant_limit_fields[l].option);
		*mask |= 1u << l;
		if (strcmp(v, "default") == 0) {
			value[l] = NULL;
		} else if (ctl_integer(v, 1, tenant_limit_fields[l].max, &n) == 0) {
			snprintf(text[l], 24, "%lld", n);
			value[l] = text[l];
		} else {
			return ctl_usage(tenant_synopsis, "%s must be an integer from 1 to %lld, or default",
					 tenant_limit_fields[l].option, tenant_limit_fields[l].max);
		}
		return CTL_OK;
	}
	return ctl_usage(tenant_synopsis, "unexpected argument %s", argv[*i]);
}

static int limits(struct app_context *ctx, const char *id, int argc, char **argv, int json)
{
	const char *value[TENANT_LIMIT__MAX] = { 0 };
	char text[TENANT_LIMIT__MAX][24], err[256];
	unsigned mask = 0;
	for (int i = 0; i < argc; i++) {
		int rc = limit_option(argc, argv, &i, value, text, &mask);
		if (rc != CTL_OK)
			return rc;
	}
	struct json_object *t = get(ctx, id);
	if (t == NULL)
		return CTL_FAILED;
	json_object_put(t);
	PGresult *r;
	if (mask == 0) {
		r = tenant_limits_get(ctx->db, id, err, sizeof err);
		if (r == NULL)
			return ctl_fail("tenant", "database: %s", err);
	} else {
		char status[16];
		if (begin_change(ctx, id, status) != 0)
			return CTL_FAILED;
		r = tenant_limits_put(ctx->db, id, value, mask, err, sizeof err);
		if (r == NULL) {
			ctl_fail("tenant", "database: %s", err);
			rollback(ctx->db);
			return CTL_FAILED;
		}
		/* The audit's "changes" as the responder writes them: the body of the PUT. */
		struct json_object *changes = json_object_new_object(), *detail = json_object_new_object();
		for (int l = 0; l < TENANT_LIMIT__MAX; l++)
			if (mask & (1u << l))
				json_object_object_add(changes, tenant_limit_fields[l].field,
						       value[l] ? json_object_new_int64(atoll(value[l])) : NULL);
		json_object_object_add(detail, "changes", changes);
		if (audit_and_commit(ctx, id, "limits.set", detail) != 0) {
			PQclear(r);
			return CTL_FAILED;
		}
		invalidate(ctx, id);
	}
	struct json_object *o = tenant_limits_json(&ctx->cfg, id, r);
	PQclear(r);
	print_limits(o, json);
	json_object_put(o);
	return CTL_OK;
}

int tenant_command(struct app_context *ctx, int argc, char **argv)
{
	/* --json may stand anywhere; the rest is the subcommand's. */
	int json = 0, n = 0;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else
			argv[++n] = argv[i];
	argc = n + 1;
	if (argc < 2)
		return ctl_usage(tenant_synopsis, "tenant needs a subcommand");
	const char *sub = argv[1];
	if (strcmp(sub, "create") == 0) {
		const char *name = NULL, *owner = NULL;
		for (int i = 2; i < argc; i++) {
			int m = ctl_option(argc, argv, &i, "--owner", &owner);
			if (m < 0)
				return ctl_usage(tenant_synopsis, "--owner needs an EMAIL");
			if (m == 0 && (argv[i][0] == '-' || name))
				return ctl_usage(tenant_synopsis, "unexpected argument %s", argv[i]);
			if (m == 0)
				name = argv[i];
		}
		if (name == NULL || owner == NULL)
			return ctl_usage(tenant_synopsis, "tenant create needs a NAME and --owner EMAIL");
		return create(ctx, name, owner, json);
	}
	if (strcmp(sub, "list") == 0) {
		const char *status = NULL;
		for (int i = 2; i < argc; i++)
			if (ctl_option(argc, argv, &i, "--status", &status) != 1)
				return ctl_usage(tenant_synopsis, "unexpected argument %s", argv[i]);
		return list(ctx, status, json);
	}
	int known = strcmp(sub, "suspend") == 0 || strcmp(sub, "resume") == 0 || strcmp(sub, "limits") == 0;
	if (!known)
		return ctl_usage(tenant_synopsis, "unknown tenant subcommand %s", sub);
	if (argc < 3 || !membership_is_uuid(argv[2]))
		return ctl_usage(tenant_synopsis, "tenant %s needs a TENANT_ID (a UUID)", sub);
	char id[37];
	snprintf(id, sizeof id, "%s", argv[2]);
	for (char *c = id; *c; c++)   /* the database's spelling, as published to other processes */
		*c = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
	if (strcmp(sub, "limits") == 0)
		return limits(ctx, id, argc - 3, argv + 3, json);
	if (argc > 3)
		return ctl_usage(tenant_synopsis, "unexpected argument %s", argv[3]);
	return strcmp(sub, "suspend") == 0 ? set_status(ctx, id, "suspended", "tenant.suspend", json)
					   : set_status(ctx, id, "active", "tenant.resume", json);
}
