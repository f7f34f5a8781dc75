/* key.c - `aigetctl key create|list|disable|enable|rotate|delete`.
 *
 * The keys responder's operations (fcgi-apps/keys/manage.c) for an
 * operator: the same statements (shared/api_key_store.c), the same secrets
 * (api_key_generate(): "agk_" and 256 random bits, only the SHA-256 kept), the
 * same rules (a deleted key is gone; a rotated-away or deleted key cannot be
 * enabled; an expired or rotated key cannot be rotated), the same cache
 * invalidation after every change (api_key_invalidate_key(), so a stopped key
 * fails everywhere within a second), and a tenant_audit row for each,
 * actor NULL and "by": "aigetctl".  A new secret is printed this once. */
#include "key.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api_key.h"
#include "api_key_store.h"
#include "ctl.h"
#include "membership.h"
#include "pg.h"
#include "tenant_audit.h"
#include "tenant_store.h"

#define LIST_PAGE 200
#define EXPIRES_DAYS_MAX 36500

const char key_synopsis[] =
	"key create TENANT_ID --name NAME [--scope SCOPE]... [--expires-in-days D] [--json]\n"
	"key list TENANT_ID [--json]\n"
	"key disable|enable|delete KEY_ID [--json]\n"
	"key rotate KEY_ID [--overlap-seconds S] [--json]";

static const char *const list_cols[] = { "id", "prefix", "name", "status", "scopes", "createdAt", "expiresAt",
					 "lastUsedAt", NULL };
static const char *const fields[] = { "id", "key", "prefix", "name", "tenantId", "scopes", "status", "createdAt",
				      "expiresAt", "lastUsedAt", "revokeAt", "rotatedTo", NULL };

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'F')
			*s = (char)(*s - 'A' + 'a');
}

/* 0 when the tenant exists and is not deleted (keys of a suspended tenant
 * are managed as usual: only their use is refused), else -1 with a message. */
static int tenant_usable(struct app_context *ctx, const char *id)
{
	char err[256], status[TENANT_STORE_STATUS_MAX];
	int found = tenant_store_status(ctx->db, id, status, err, sizeof err);
	if (found < 0)
		return ctl_fail("key", "database: %s", err), -1;
	int deleted = found && strcmp(status, "deleted") == 0;
	if (!found || deleted)
		return ctl_fail("key", found ? "the tenant %s is deleted" : "no tenant with the id %s", id), -1;
	return 0;
}

static void audit(struct app_context *ctx, const struct api_key_store_row *k, const char *action,
		  struct json_object *detail)
{
	char err[256];
	if (detail == NULL)
		detail = json_object_new_object();
	json_object_object_add(detail, "prefix", json_object_new_string(k->prefix));
	json_object_object_add(detail, "name", json_object_new_string(k->name));
	json_object_object_add(detail, "by", json_object_new_string("aigetctl"));
	/* As in the responder: the change has happened; a lost row is reported. */
	if (tenant_audit_insert(ctx->db, k->tenant_id, NULL, action, k->id, ctl_request_id(), detail, err,
				sizeof err) != 0)
		fprintf(stderr, "aigetctl key: warning: %s of key %s not audited: %s\n", action, k->id, err);
	json_object_put(detail);
}

static void invalidate(struct app_context *ctx, const struct api_key_store_row *k)
{
	if (api_key_invalidate_key(ctx, k->hash) != 0)
		fprintf(stderr, "aigetctl key: warning: cached copies of key %s could not be invalidated (Redis); "
			"they follow when they expire\n", k->id);
}

static void print_key(const struct api_key_store_row *k, const char *secret, int json, const char *what)
{
	struct json_object *o = api_key_store_json(k, secret);
	if (json) {
		ctl_print_json(o);
	} else {
		printf("key %s\n", what);
		ctl_print_fields(o, fields);
	}
	if (secret)
		fprintf(stderr, "aigetctl key: the secret is shown this once; store it now\n");
	json_object_put(o);
}

static int create(struct app_context *ctx, struct arena *a, char *tenant, int argc, char **argv, int json)
{
	struct api_key_store_new n = { .tenant_id = tenant };
	long long days = 0;
	for (int i = 0; i < argc; i++) {
		const char *v;
		int m;
		if ((m = ctl_option(argc, argv, &i, "--name", &v)) != 0) {
			if (m < 0 || *v == '\0' || strlen(v) > API_KEY_STORE_NAME_MAX)
				return ctl_usage(key_synopsis, "--name must be 1 to %d bytes",
						 API_KEY_STORE_NAME_MAX);
			for (const char *c = v; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					return ctl_usage(key_synopsis, "--name must not contain control characters");
			n.name = v;
		} else if ((m = ctl_option(argc, argv, &i, "--scope", &v)) != 0) {
			unsigned bit = m > 0 ? api_key_scope_parse(v) : 0;
			if (bit == 0)
				return ctl_usage(key_synopsis, "--scope must be memox:read or memox:write");
			n.scopes |= bit;
		} else if ((m = ctl_option(argc, argv, &i, "--expires-in-days", &v)) != 0) {
			if (m < 0 || ctl_integer(v, 1, EXPIRES_DAYS_MAX, &days) != 0)
				return ctl_usage(key_synopsis, "--expires-in-days must be from 1 to %d", EXPIRES_DAYS_MAX);
		} else {
			return ctl_usage(key_synopsis, "unexpected argument %s", argv[i]);
		}
	}
	if (n.name == NULL)
		return ctl_usage(key_synopsis, "key create needs --name NAME");
	if (n.scopes == 0)   /* as the API: no scopes named means both */
		n.scopes = API_KEY_SCOPE_MEMOX_READ | API_KEY_SCOPE_MEMOX_WRITE;
	n.expires = days ? (long long)time(NULL) + days * 86400 : 0;
	if (tenant_usable(ctx, tenant) != 0)
		return CTL_FAILED;

	char *secret, prefix[API_KEY_PREFIX_LEN + 1], hex[2 * CRYPTO_SHA256_LEN + 1], err[256];
	unsigned char hash[CRYPTO_SHA256_LEN];
	if (api_key_generate(a, &secret, prefix, hash) != 0)
		return ctl_fail("key", "no randomness for a key");
	crypto_hex(hash, sizeof hash, hex);
	n.prefix = prefix;
	n.hash_hex = hex;
	struct api_key_store_row k;
	int made = api_key_store_insert(ctx->db, a, &n, &k, err, sizeof err);
	if (made < 0)
		return ctl_fail("key", "database: %s", err);
	if (made == 0)
		return ctl_fail("key", "the tenant already has %d working keys; delete some first",
				API_KEY_STORE_PER_TENANT_MAX);
	struct json_object *d = json_object_new_object();
	json_object_object_add(d, "scopes", api_key_scopes_json(k.scopes));
	json_object_object_add(d, "expiresAt", k.expires_at ? json_object_new_string(k.expires_at) : NULL);
	audit(ctx, &k, "key.create", d);
	print_key(&k, secret, json, "created");
	explicit_bzero(secret, strlen(secret));
	return CTL_OK;
}

/* Every key of the tenant but deleted ones, newest first, a page at a time. */
static int list(struct app_context *ctx, struct arena *a, const char *tenant, int json)
{
	char err[256], fetch[16], *after_key = NULL, *after_id = NULL;
	snprintf(fetch, sizeof fetch, "%d", LIST_PAGE);
	if (tenant_usable(ctx, tenant) != 0)
		return CTL_FAILED;
	struct json_object *rows = json_object_new_array();
	for (;;) {
		PGresult *r = api_key_store_list(ctx->db, tenant, fetch, after_key, after_id, err,
						 sizeof err);
		if (r == NULL) {
			json_object_put(rows);
			return ctl_fail("key", "database: %s", err);
		}
		int n = PQntuples(r);
		for (int i = 0; i < n; i++) {
			struct api_key_store_row k;
			api_key_store_read_row(a, r, i, &k);
			json_object_array_add(rows, api_key_store_json(&k, NULL));
		}
		if (n > 0) {
			after_key = arena_strdup(a, PQgetvalue(r, n - 1, API_KEY_STORE_NCOLUMNS));
			after_id = arena_strdup(a, PQgetvalue(r, n - 1, 0));
		}
		PQclear(r);
		if (n < LIST_PAGE)
			break;
	}
	if (json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "tenantId", json_object_new_string(tenant));
		json_object_object_add(o, "keys", rows);
		ctl_print_json(o);
		json_object_put(o);
	} else {
		ctl_print_table(rows, list_cols);
		json_object_put(rows);
	}
	return CTL_OK;
}

/* The key, unless it does not exist or was deleted (as the API's 404). */
static int load(struct app_context *ctx, struct arena *a, const char *id, struct api_key_store_row *k)
{
	char err[256];
	int found = api_key_store_get(ctx->db, a, id, k, err, sizeof err);
	if (found < 0)
		return ctl_fail("key", "database: %s", err), -1;
	if (found == 0 || strcmp(k->status, "deleted") == 0)
		return ctl_fail("key", "no key with the id %s", id), -1;
	return 0;
}

static int set_status(struct app_context *ctx, struct arena *a, const char *id, const char *status,
		      const char *action, int json)
{
	struct api_key_store_row old, k;
	char err[256];
	if (load(ctx, a, id, &old) != 0)
		return CTL_FAILED;
	if (strcmp(status, "active") == 0 && old.rotated_to)
		return ctl_fail("key", "a rotated-away key cannot be enabled again; its replacement is %s",
				old.rotated_to);
	int done = api_key_store_set_status(ctx->db, a, &old, status, &k, err, sizeof err);
	if (done < 0)
		return ctl_fail("key", "database: %s", err);
	if (done == 0)
		return ctl_fail("key", "the key %s was changed meanwhile; look again", id);
	invalidate(ctx, &old);
	audit(ctx, &old, action, NULL);
	print_key(&k, NULL, json, strcmp(status, "active") == 0 ? "enabled" : status);
	return CTL_OK;
}

static int rotate(struct app_context *ctx, struct arena *a, const char *id, int argc, char **argv, int json)
{
	long long overlap = 0;
	for (int i = 0; i < argc; i++) {
		const char *v;
		int m = ctl_option(argc, argv, &i, "--overlap-seconds", &v);
		if (m == 0)
			return ctl_usage(key_synopsis, "unexpected argument %s", argv[i]);
		if (m < 0 || ctl_integer(v, 0, API_KEY_STORE_OVERLAP_MAX_S, &overlap) != 0)
			return ctl_usage(key_synopsis, "--overlap-seconds must be from 0 to %d",
					 API_KEY_STORE_OVERLAP_MAX_S);
	}
	struct api_key_store_row old, k;
	char err[256];
	if (load(ctx, a, id, &old) != 0)
		return CTL_FAILED;
	/* As in the API, a disabled key may be rotated (a leak: disable it at
	 * once, then rotate to get its replacement); it stays disabled. */
	if (old.rotated_to)
		return ctl_fail("key", "the key was already rotated; its replacement is %s", old.rotated_to);
	if (old.expired)
		return ctl_fail("key", "the key has expired; create a new one");
	char *secret, prefix[API_KEY_PREFIX_LEN + 1], hex[2 * CRYPTO_SHA256_LEN + 1];
	unsigned char hash[CRYPTO_SHA256_LEN];
	if (api_key_generate(a, &secret, prefix, hash) != 0)
		return ctl_fail("key", "no randomness for a key");
	crypto_hex(hash, sizeof hash, hex);
	int done = api_key_store_rotate(ctx->db, a, &old, prefix, hex, NULL, overlap, &k, err, sizeof err);
	if (done == API_KEY_STORE_FULL)
		return ctl_fail("key",
				"the tenant already has %d working keys, and an overlap would make one more; "
				"rotate without --overlap-seconds, or delete a key first",
				API_KEY_STORE_PER_TENANT_MAX);
	if (done < 0)
		return ctl_fail("key", "database: %s", err);
	if (done == 0)
		return ctl_fail("key", "the key %s was rotated or deleted meanwhile", id);
	invalidate(ctx, &old);
	struct json_object *d = json_object_new_object();
	json_object_object_add(d, "newKeyId", json_object_new_string(k.id));
	json_object_object_add(d, "newPrefix", json_object_new_string(k.prefix));
	json_object_object_add(d, "overlapSeconds", json_object_new_int64(overlap));
	audit(ctx, &old, "key.rotate", d);
	print_key(&k, secret, json, "rotated: the new key");
	explicit_bzero(secret, strlen(secret));
	return CTL_OK;
}

static int dispatch(struct app_context *ctx, struct arena *a, int argc, char **argv, int json)
{
	if (argc < 2)
		return ctl_usage(key_synopsis, "key needs a subcommand");
	const char *sub = argv[1];
	static const char *const subs[] = { "create", "list", "disable", "enable", "delete", "rotate", NULL };
	int known = 0;
	for (const char *const *s = subs; *s; s++)
		known |= strcmp(*s, sub) == 0;
	if (!known)
		return ctl_usage(key_synopsis, "unknown key subcommand %s", sub);
	int by_tenant = strcmp(sub, "create") == 0 || strcmp(sub, "list") == 0;
	if (argc < 3 || !membership_is_uuid(argv[2]))
		return ctl_usage(key_synopsis, "key %s needs a %s (a UUID)", sub, by_tenant ? "TENANT_ID" : "KEY_ID");
	char *id = arena_strdup(a, argv[2]);
	lower(id);
	if (strcmp(sub, "create") == 0)
		return create(ctx, a, id, argc - 3, argv + 3, json);
	if (strcmp(sub, "rotate") == 0)
		return rotate(ctx, a, id, argc - 3, argv + 3, json);
	if (argc > 3)
		return ctl_usage(key_synopsis, "unexpected argument %s", argv[3]);
	if (strcmp(sub, "list") == 0)
		return list(ctx, a, id, json);
	if (strcmp(sub, "disable") == 0)
		return set_status(ctx, a, id, "disabled", "key.disable", json);
	if (strcmp(sub, "enable") == 0)
		return set_status(ctx, a, id, "active", "key.enable", json);
	return set_status(ctx, a, id, "deleted", "key.delete", json);
}

int key_command(struct app_context *ctx, int argc, char **argv)
{
	int json = 0, n = 0;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else
			argv[++n] = argv[i];
	struct arena *a = arena_create(16384);
	if (a == NULL)
		return ctl_fail("key", "out of memory");
	int rc = dispatch(ctx, a, n + 1, argv, json);
	arena_destroy(a);
	return rc;
}
