/* api_key_store.c - the api_keys statements and the JSON of a key.
 *
 * Every statement returns the same columns (KEY_COLUMNS), read by one
 * function.  Changes are single statements: a rotation inserts the new row
 * and points the old one at it in one statement, under a row lock on the
 * old one, so two rotations of one key cannot both succeed. */
#include "api_key_store.h"

#include <stdio.h>
#include <string.h>

#include "api_key.h"
#include "paging.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define KEY_COLUMNS \
	"k.id, k.tenant_id, k.name, k.prefix, array_to_string(k.scopes, ','), k.status, " \
	TS("k.created_at") ", " TS("k.expires_at") ", " TS("k.last_used_at") ", " TS("k.revoke_at") ", " \
	"k.rotated_to, coalesce(k.expires_at <= now(), false), coalesce(k.revoke_at <= now(), false), " \
	"encode(k.key_hash, 'hex')"

/* Keys that can still work: the ones API_KEY_STORE_PER_TENANT_MAX counts.
 * Two creations at the same moment may both pass the count; it is a bound
 * on what a tenant can pile up, not an exact quota. */
#define WORKING \
	"status <> 'deleted' AND (revoke_at IS NULL OR revoke_at > now()) AND (expires_at IS NULL OR expires_at > now())"

static const struct pg_statement st_get = {
	"keys_get", "SELECT " KEY_COLUMNS " FROM api_keys k WHERE k.id = $1::uuid", 1, 1, PG_PRIMARY,
};
static const struct pg_statement st_list = {
	"keys_list",
	"SELECT " KEY_COLUMNS ", " SQL_MICROS("k.created_at") " FROM api_keys k"
	" WHERE k.tenant_id = $1::uuid AND k.status <> 'deleted'"
	" AND ($3::bigint IS NULL OR (" SQL_MICROS("k.created_at") ", k.id) < ($3::bigint, $4::uuid))"
	" ORDER BY k.created_at DESC, k.id DESC LIMIT $2::int",
	4, 1, PG_PRIMARY,
};
static const struct pg_statement st_insert = {
	"keys_insert",
	"INSERT INTO api_keys AS k (tenant_id, name, prefix, key_hash, scopes, expires_at, created_by)"
	" SELECT $1::uuid, $2, $3, decode($4, 'hex'), string_to_array($5, ','), to_timestamp($6::bigint), $7::uuid"
	" WHERE (SELECT count(*) FROM api_keys WHERE tenant_id = $1::uuid AND " WORKING ") < $8::int"
	" RETURNING " KEY_COLUMNS,
	8, 0, PG_PRIMARY,
};
static const struct pg_statement st_set_status = {
	"keys_set_status",
	"UPDATE api_keys AS k SET status = $3, updated_at = now()"
	" WHERE k.id = $1::uuid AND k.tenant_id = $2::uuid AND k.status <> 'deleted'"
	" AND ($3 <> 'active' OR k.rotated_to IS NULL)"
	" RETURNING " KEY_COLUMNS,
	3, 1, PG_PRIMARY,
};
/* revoke_at is kept to the whole second, as expires_at, because the key
 * check compares whole seconds: without overlap it is now to the second
 * below (the old key stops at once; a fraction rounded up would let it work
 * on for up to half a second), with one it is now plus the overlap to the
 * second above (never shorter than asked for).
 *
 * A rotation with an overlap counts against API_KEY_STORE_PER_TENANT_MAX:
 * for the overlap both keys work, so at the cap it is refused (room is
 * false, nothing is written), or day-long overlaps could pile up working
 * keys without end.  One without overlap swaps a key for a key and is never
 * refused, so that a leaked key can always be replaced.  The one row
 * always returned says which: the new key's columns, or NULLs and room. */
static const struct pg_statement st_rotate = {
	"keys_rotate",
	"WITH prev AS (SELECT id, tenant_id, name, scopes, expires_at FROM api_keys"
	"  WHERE id = $1::uuid AND tenant_id = $2::uuid AND status <> 'deleted' AND rotated_to IS NULL FOR UPDATE),"
	" room AS (SELECT $6::int = 0 OR count(*) < $7::int AS ok FROM api_keys"
	"  WHERE tenant_id = $2::uuid AND " WORKING "),"
	" fresh AS (INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes, expires_at, created_by)"
	"  SELECT tenant_id, name, $3, decode($4, 'hex'), scopes, expires_at, $5::uuid FROM prev, room"
	"  WHERE room.ok RETURNING *),"
	" upd AS (UPDATE api_keys SET revoke_at = CASE WHEN $6::int = 0 THEN date_trunc('second', now())"
	"  ELSE date_trunc('second', now() + interval '999999 microseconds') + make_interval(secs => $6::int) END,"
	"  rotated_to = (SELECT id FROM fresh), updated_at = now()"
	"  WHERE id = (SELECT id FROM prev) AND EXISTS (SELECT 1 FROM fresh) RETURNING id)"
	" SELECT " KEY_COLUMNS ", room.ok FROM room LEFT JOIN fresh k ON true",
	7, 0, PG_PRIMARY,
};

static int hex_nibble(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0;
}

void api_key_store_read_row(struct arena *a, PGresult *r, int i, struct api_key_store_row *k)
{
	const char **text[] = { &k->id, &k->tenant_id, &k->name, &k->prefix };
	for (int c = 0; c < 4; c++)
		*text[c] = arena_strdup(a, PQgetvalue(r, i, c));
	k->scopes = api_key_scopes_from_list(PQgetvalue(r, i, 4));
	k->status = arena_strdup(a, PQgetvalue(r, i, 5));
	const char **nullable[] = { &k->created_at, &k->expires_at, &k->last_used_at, &k->revoke_at, &k->rotated_to };
	for (int c = 0; c < 5; c++)
		*nullable[c] = PQgetisnull(r, i, 6 + c) ? NULL : arena_strdup(a, PQgetvalue(r, i, 6 + c));
	k->expired = strcmp(PQgetvalue(r, i, 11), "t") == 0;
	k->revoked = strcmp(PQgetvalue(r, i, 12), "t") == 0;
	const char *hex = PQgetvalue(r, i, 13);
	memset(k->hash, 0, sizeof k->hash);
	for (size_t b = 0; b < sizeof k->hash && hex[2 * b] && hex[2 * b + 1]; b++)
		k->hash[b] = (unsigned char)(hex_nibble(hex[2 * b]) << 4 | hex_nibble(hex[2 * b + 1]));
}

/* Runs a statement expected to return at most one key. */
static int one(struct pg *db, struct arena *a, const struct pg_statement *st, const char *const *params,
	       struct api_key_store_row *k, char *err, size_t errlen)
{
	PGresult *r = pg_exec(db, st, params, err, errlen);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found)
		api_key_store_read_row(a, r, 0, k);
	PQclear(r);
	return found;
}

int api_key_store_get(struct pg *db, struct arena *a, const char *key_id, struct api_key_store_row *k,
		      char *err, size_t errlen)
{
	const char *params[] = { key_id };
	return one(db, a, &st_get, params, k, err, errlen);
}

int api_key_store_insert(struct pg *db, struct arena *a, const struct api_key_store_new *n,
			 struct api_key_store_row *k, char *err, size_t errlen)
{
	char scopes[64] = "", expires[24], cap[16];
	if (n->scopes & API_KEY_SCOPE_MEMOX_READ)
		strcat(scopes, "memox:read,");
	if (n->scopes & API_KEY_SCOPE_MEMOX_WRITE)
		strcat(scopes, "memox:write,");
	if (scopes[0])
		scopes[strlen(scopes) - 1] = '\0';
	snprintf(expires, sizeof expires, "%lld", n->expires);
	snprintf(cap, sizeof cap, "%d", API_KEY_STORE_PER_TENANT_MAX);
	const char *params[] = { n->tenant_id, n->name, n->prefix, n->hash_hex, scopes,
				 n->expires ? expires : NULL, n->created_by, cap };
	return one(db, a, &st_insert, params, k, err, errlen);
}

int api_key_store_set_status(struct pg *db, struct arena *a, const struct api_key_store_row *old,
			     const char *status, struct api_key_store_row *k, char *err, size_t errlen)
{
	const char *params[] = { old->id, old->tenant_id, status };
	return one(db, a, &st_set_status, params, k, err, errlen);
}

int api_key_store_rotate(struct pg *db, struct arena *a, const struct api_key_store_row *old,
			 const char *prefix, const char *hash_hex, const char *actor, long long overlap_s,
			 struct api_key_store_row *k, char *err, size_t errlen)
{
	char overlap[24], cap[16];
	snprintf(overlap, sizeof overlap, "%lld", overlap_s);
	snprintf(cap, sizeof cap, "%d", API_KEY_STORE_PER_TENANT_MAX);
	const char *params[] = { old->id, old->tenant_id, prefix, hash_hex, actor, overlap, cap };
	PGresult *r = pg_exec(db, &st_rotate, params, err, errlen);
	if (r == NULL)
		return -1;
	/* The new key, or no key: old went meanwhile, or there was no room. */
	int rc = 0;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		api_key_store_read_row(a, r, 0, k);
		rc = 1;
	} else if (PQntuples(r) == 1 && PQgetvalue(r, 0, API_KEY_STORE_NCOLUMNS)[0] != 't') {
		rc = API_KEY_STORE_FULL;
	}
	PQclear(r);
	return rc;
}

PGresult *api_key_store_list(struct pg *db, const char *tenant_id, const char *fetch, const char *after_key,
			     const char *after_id, char *err, size_t errlen)
{
	const char *params[] = { tenant_id, fetch, after_key, after_id };
	return pg_exec(db, &st_list, params, err, errlen);
}

const char *api_key_store_effective_status(const struct api_key_store_row *k)
{
	if (strcmp(k->status, "active") != 0)
		return k->status;
	return k->revoked ? "revoked" : k->expired ? "expired" : "active";
}

static struct json_object *string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

struct json_object *api_key_store_json(const struct api_key_store_row *k, const char *secret)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(k->id));
	if (secret)
		json_object_object_add(o, "key", json_object_new_string(secret));
	json_object_object_add(o, "prefix", json_object_new_string(k->prefix));
	json_object_object_add(o, "name", json_object_new_string(k->name));
	json_object_object_add(o, "tenantId", json_object_new_string(k->tenant_id));
	json_object_object_add(o, "scopes", api_key_scopes_json(k->scopes));
	json_object_object_add(o, "status", json_object_new_string(api_key_store_effective_status(k)));
	json_object_object_add(o, "createdAt", string_or_null(k->created_at));
	json_object_object_add(o, "expiresAt", string_or_null(k->expires_at));
	json_object_object_add(o, "lastUsedAt", string_or_null(k->last_used_at));
	json_object_object_add(o, "revokeAt", string_or_null(k->revoke_at));
	json_object_object_add(o, "rotatedTo", string_or_null(k->rotated_to));
	return o;
}
