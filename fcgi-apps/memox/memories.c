/* memories.c - writing, reading, listing, changing and deleting memories.
 *
 * A write is committed to the main database, then its embed job is pushed,
 * then it is answered 202: from then on the memory cannot be lost, and it
 * becomes searchable once the worker has embedded it (status "ready").  The
 * same content in the same scope is one memory: writing it again answers the
 * existing one (200, "duplicate": true).  Every statement names the key's
 * tenant, so another tenant's memory id is simply not found. */
#include "memox.h"

#include <stdio.h>
#include <string.h>

#include "api_key.h"
#include "fields.h"
#include "log.h"
#include "memory_vectors.h"
#include "paging.h"

/* Inserts a batch given as a JSON array of {namespace, externalUserId,
 * content, metadata, expiresAt | ttlSeconds}; answers one row per item in
 * order: ord, id, status, version, created (this statement made it), room
 * (the tenant had room), expired (the same content's memory expired, not
 * yet deleted by the worker). */
static const struct pg_statement st_insert = {
	"memox_insert",
	"WITH input AS ("
	"  SELECT e.ord, e.item->>'namespace' AS namespace, e.item->>'externalUserId' AS external_user_id,"
	"         e.item->>'content' AS content, e.item->'metadata' AS metadata,"
	"         sha256(convert_to(e.item->>'content', 'UTF8')) AS content_hash,"
	"         CASE WHEN e.item ? 'ttlSeconds' THEN now() + (e.item->>'ttlSeconds')::bigint * interval '1 second'"
	"              ELSE (e.item->>'expiresAt')::timestamptz END AS expires_at"
	"    FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(item, ord)),"
	" room AS ("
	"  SELECT coalesce((SELECT memories FROM tenant_memory_counts WHERE tenant_id = $1::uuid), 0)"
	"         + (SELECT count(*) FROM input) <= $3::bigint AS ok),"
	" ins AS ("
	"  INSERT INTO memories (tenant_id, namespace, external_user_id, content, content_hash, metadata, expires_at,"
	"                        changed_by_key)"
	"  SELECT $1::uuid, namespace, external_user_id, content, content_hash, metadata, expires_at, $4::uuid FROM input"
	"   WHERE (SELECT ok FROM room) ORDER BY ord"
	"  ON CONFLICT (tenant_id, namespace, external_user_id, content_hash) DO NOTHING"
	"  RETURNING id, namespace, external_user_id, content_hash, status, version)"
	" SELECT i.ord, coalesce(n.id, m.id), coalesce(n.status, m.status), coalesce(n.version, m.version),"
	"        n.id IS NOT NULL, (SELECT ok FROM room), n.id IS NULL AND m.expires_at <= now()"
	"   FROM input i"
	"   LEFT JOIN ins n ON (n.namespace, n.external_user_id, n.content_hash)"
	"                    = (i.namespace, i.external_user_id, i.content_hash)"
	"   LEFT JOIN memories m ON m.tenant_id = $1::uuid AND (m.namespace, m.external_user_id, m.content_hash)"
	"                    = (i.namespace, i.external_user_id, i.content_hash)"
	"  ORDER BY i.ord",
	4, 0, PG_PRIMARY,
};

/* Expired memories that a write of the same content meets: deleted now
 * rather than answered as its duplicate (their vectors go with them). */
static const struct pg_statement st_drop_expired = {
	"memox_drop_expired",
	"DELETE FROM memories WHERE id = ANY($1::uuid[]) AND tenant_id = $2::uuid AND expires_at <= now() RETURNING id",
	2, 0, PG_PRIMARY,
};

/* Undoes the rows of a write whose jobs could not be queued. */
static const struct pg_statement st_unwrite = {
	"memox_unwrite",
	"DELETE FROM memories WHERE id = ANY($1::uuid[]) AND tenant_id = $2::uuid AND version = 1"
	" AND status = 'pending'",
	2, 1, PG_PRIMARY,
};

/* Memories whose embed job could not be pushed (the worker's sweep queues
 * them once Redis answers: sql/main/0007_memories_queued.sql). */
static const struct pg_statement st_unqueued = {
	"memox_unqueued",
	"UPDATE memories SET queued = false WHERE id = ANY($1::uuid[]) AND tenant_id = $2::uuid AND status = 'pending'",
	2, 0, PG_PRIMARY,
};

static const struct pg_statement st_get = {
	"memox_get",
	"SELECT " MEMORY_COLUMNS " FROM memories WHERE id = $1::uuid AND tenant_id = $2::uuid AND " MEMORY_LIVE,
	2, 1, PG_MAY_LAG,
};

#define LIST_KEY_COLUMN 14
static const struct pg_statement st_list = {
	"memox_list",
	"SELECT " MEMORY_COLUMNS ", " SQL_MICROS("created_at") " FROM memories"
	" WHERE tenant_id = $1::uuid AND namespace = $2 AND external_user_id = $3"
	"   AND ($5::bigint IS NULL OR (created_at, id)"
	"        < ('epoch'::timestamptz + $5::bigint * interval '1 microsecond', $6::uuid))"
	"   AND ($7::text IS NULL OR status = $7) AND " MEMORY_LIVE
	" ORDER BY created_at DESC, id DESC LIMIT $4::int",
	7, 1, PG_MAY_LAG,
};

/* A PATCH's expires_at from (how, expiresAt, ttlSeconds): how is keep,
 * clear or set (by ttlSeconds when given, else by expiresAt). */
#define NEW_EXPIRY(how, at, ttl) \
	"CASE " how " WHEN 'keep' THEN expires_at WHEN 'clear' THEN NULL" \
	" ELSE coalesce(now() + " ttl "::bigint * interval '1 second', " at "::timestamptz) END"

/* The version it replaces goes to memory_versions in the same statement
 * (sql/main/0008).  old locks the row before the update reaches it (the
 * update's condition reads old), and under a concurrent change it is the
 * row that change committed, the one this update replaces; a refused
 * change (23505) keeps nothing. */
static const struct pg_statement st_patch = {
	"memox_patch",
	"WITH old AS (SELECT id, tenant_id, version, content, metadata, " MEMORY_VERSION_MADE_AT("memories") " AS made_at,"
	"                    changed_by_key"
	"               FROM memories WHERE id = $1::uuid AND tenant_id = $2::uuid AND " MEMORY_LIVE " FOR UPDATE),"
	" kept AS (INSERT INTO memory_versions (memory_id, tenant_id, version, content, metadata, made_at,"
	"                                       made_by_key, replaced_by_key)"
	"  SELECT id, tenant_id, version, content, metadata, made_at, changed_by_key, $5::uuid FROM old)"
	" UPDATE memories SET content = coalesce($3, content),"
	"       content_hash = CASE WHEN $3 IS NULL THEN content_hash ELSE sha256(convert_to($3, 'UTF8')) END,"
	"       metadata = coalesce($4::jsonb, metadata), status = 'pending', version = version + 1,"
	"       attempts = 0, error = NULL, updated_at = now(), changed_at = now(), changed_by_key = $5::uuid,"
	"       expires_at = " NEW_EXPIRY("$6", "$7", "$8")
	" WHERE id = (SELECT id FROM old) AND tenant_id = $2::uuid RETURNING " MEMORY_COLUMNS,
	8, 0, PG_PRIMARY,
};

/* A PATCH of the expiry alone: not a new version, nothing to embed. */
static const struct pg_statement st_patch_expiry = {
	"memox_patch_expiry",
	"UPDATE memories SET expires_at = " NEW_EXPIRY("$3", "$4", "$5") ", updated_at = now()"
	" WHERE id = $1::uuid AND tenant_id = $2::uuid AND " MEMORY_LIVE " RETURNING " MEMORY_COLUMNS,
	5, 0, PG_PRIMARY,
};

static const struct pg_statement st_delete = {
	"memox_delete",
	"DELETE FROM memories WHERE id = $1::uuid AND tenant_id = $2::uuid AND " MEMORY_LIVE " RETURNING id",
	2, 0, PG_PRIMARY,
};

/* ------------------------------------------------------------- writing */

struct written {
	const char *id, *status, *version;
	int created, duplicate;
};

/* ids as one PostgreSQL array literal, "{a,b,...}". */
static const char *id_array(struct request *req, const char *const *ids, int n)
{
	char *list = arena_strdup(req->arena, "{");
	for (int i = 0; i < n; i++)
		list = arena_printf(req->arena, "%s%s%s", list, i ? "," : "", ids[i]);
	return arena_printf(req->arena, "%s}", list);
}

/* The rows are committed but their jobs were not pushed (Redis down): the
 * write stands, marked so that the worker's sweep queues it as soon as
 * Redis answers again.  Only when even the mark cannot be written are the
 * new rows undone and the write refused (503), so that the client's retry
 * writes them afresh.  0 when the write stands. */
static int kept_unqueued(struct request *req, const char *const *ids, int n, const char *why)
{
	const char *list = id_array(req, ids, n);
	const char *params[] = { list, req->key->tenant_id };
	char err[256];
	if (db_request_keep(req, pg_exec(req->ctx->db, &st_unqueued, params, err, sizeof err)) != NULL) {
		log_warn("embed job queue unreachable (%s): %d memories kept, queued when it is back", why, n);
		return 0;
	}
	if (db_request_keep(req, pg_exec(req->ctx->db, &st_unwrite, params, err, sizeof err)) == NULL)
		log_error("memories %s written but neither queued nor undone (%s); the sweeper will queue them",
			  list, err);
	response_unavailable(req, "embed job queue", why);
	return -1;
}

/* Deletes the expired memories that st_insert's rows r met, with their
 * vectors (or leaves those to the worker's expiry sweep).  0, or -1 answered. */
static int drop_expired(struct request *req, PGresult *r)
{
	const char **ids = arena_alloc(req->arena, sizeof *ids * (size_t)PQntuples(r));
	int n = 0;
	for (int i = 0; i < PQntuples(r); i++)
		if (strcmp(PQgetvalue(r, i, 6), "t") == 0)
			ids[n++] = PQgetvalue(r, i, 1);
	const char *list = id_array(req, ids, n);
	const char *params[] = { list, req->key->tenant_id };
	if (db_request_exec(req, &st_drop_expired, params) == NULL)
		return -1;
	char err[256];
	if (memory_vectors_delete_memories(req->ctx->vector, list, err, sizeof err) != 0)
		log_warn("expired memories %s deleted; their vectors stay until the expiry sweep: %s", list, err);
	return 0;
}

/* Inserts items (a JSON array of checked memories) and queues their jobs.
 * Fills out[n]; 0, or -1 when answered. */
static int write_memories(struct request *req, struct json_object *items, int n, struct written *out)
{
	const struct api_key_info *k = req->key;
	char max[24], err[256];
	snprintf(max, sizeof max, "%lld", k->limits.max_memories);
	const char *params[] = { k->tenant_id, json_object_to_json_string_ext(items, JSON_C_TO_STRING_PLAIN), max,
				 memory_key_id(req) };
	PGresult *r = NULL;
	/* Again at most twice: a concurrent write of the same content that
	 * committed after this statement's snapshot is neither inserted nor
	 * seen once; an expired memory of the same content is deleted first. */
	for (int attempt = 0; attempt < 3; attempt++) {
		if ((r = db_request_exec(req, &st_insert, params)) == NULL)
			return -1;
		int missing = 0, expired = 0;
		for (int i = 0; i < PQntuples(r); i++) {
			missing |= PQgetisnull(r, i, 1);
			expired |= strcmp(PQgetvalue(r, i, 6), "t") == 0;
		}
		if (expired && attempt < 2) {
			if (drop_expired(req, r) != 0)
				return -1;
			continue;
		}
		if (!missing || strcmp(PQgetvalue(r, 0, 5), "t") != 0)
			break;
	}
	if (PQntuples(r) != n) {
		response_error(req, 500, "internal", "the write answered an unexpected number of rows");
		return -1;
	}
	const char *ids[1000], *versions[1000];
	int queued = 0;
	for (int i = 0; i < n; i++) {
		if (PQgetisnull(r, i, 1)) {
			int room = strcmp(PQgetvalue(r, 0, 5), "t") == 0;
			if (!room)
				response_error(req, 403, "forbidden",
					       "the tenant has reached its maxMemories limit (%lld)", k->limits.max_memories);
			else
				response_unavailable(req, "memox_insert", "a row could not be written or found");
			return -1;
		}
		out[i].id = PQgetvalue(r, i, 1);
		out[i].status = PQgetvalue(r, i, 2);
		out[i].version = PQgetvalue(r, i, 3);
		out[i].created = strcmp(PQgetvalue(r, i, 4), "t") == 0;
		out[i].duplicate = !out[i].created;
		/* The same content twice in one batch: one memory, one job. */
		int seen = 0;
		for (int j = 0; j < i && !seen; j++)
			if (strcmp(out[j].id, out[i].id) == 0) {
				seen = 1;
				out[i].duplicate = 1;
			}
		if (out[i].created && !seen) {
			ids[queued] = out[i].id;
			versions[queued++] = out[i].version;
		}
	}
	if (enqueue_embed(req->ctx, ids, versions, queued, err, sizeof err) != 0)
		return kept_unqueued(req, ids, queued, err);
	return 0;
}

static struct json_object *written_json(const struct written *w)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(w->id));
	json_object_object_add(o, "status", json_object_new_string(w->status));
	json_object_object_add(o, "duplicate", json_object_new_boolean(w->duplicate));
	return o;
}

/* The checked memory as the insert statement reads it. */
static struct json_object *item_json(const struct memory_input *m)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "namespace", json_object_new_string(m->namespace_));
	json_object_object_add(o, "externalUserId", json_object_new_string(m->external_user_id));
	json_object_object_add(o, "content", json_object_new_string(m->content));
	json_object_object_add(o, "metadata", json_tokener_parse(m->metadata));
	if (m->expires_at)
		json_object_object_add(o, "expiresAt", json_object_new_string(m->expires_at));
	if (m->ttl_s)
		json_object_object_add(o, "ttlSeconds", json_object_new_int64(m->ttl_s));
	return o;
}

void memories_create(struct request *req)
{
	struct memory_input m;
	if (idempotency_replay(req) != 0 || input_memory(req, req->json, "", &m) != 0)
		return;
	struct json_object *items = json_object_new_array();
	json_object_array_add(items, item_json(&m));
	struct written w;
	int rc = write_memories(req, items, 1, &w);
	json_object_put(items);
	if (rc != 0)
		return;
	struct json_object *body = written_json(&w);
	int status = w.created ? 202 : 200;
	idempotency_keep(req, status, body);
	response_json(req, status, body);
}

void memories_batch(struct request *req)
{
	if (idempotency_replay(req) != 0)
		return;
	struct json_object *list = NULL;
	json_object_object_foreach(req->json, key, val) {
		(void)val;
		if (strcmp(key, "memories") != 0) {
			response_error(req, 400, "invalid_request", strcmp(key, "tenantId") == 0
				       ? "tenantId is not accepted here: the API key says which tenant"
				       : "%s is not a known field", key);
			return;
		}
	}
	long long max = req->ctx->cfg.memox_batch_max;
	if (!json_object_object_get_ex(req->json, "memories", &list) || !json_object_is_type(list, json_type_array)) {
		response_error(req, 400, "invalid_request", "memories must be an array of 1-%lld memories", max);
		return;
	}
	int n = (int)json_object_array_length(list);
	if (n < 1 || n > max) {
		response_error(req, n < 1 ? 400 : 413, n < 1 ? "invalid_request" : "payload_too_large",
			       "memories must hold 1-%lld memories; it has %d", max, n);
		return;
	}
	struct json_object *items = json_object_new_array();
	for (int i = 0; i < n; i++) {
		struct json_object *obj = json_object_array_get_idx(list, i);
		struct memory_input m;
		const char *where = arena_printf(req->arena, "memories[%d]", i);
		if (!json_object_is_type(obj, json_type_object)) {
			json_object_put(items);
			response_error(req, 400, "invalid_request", "%s must be an object", where);
			return;
		}
		if (input_memory(req, obj, where, &m) != 0) {
			json_object_put(items);
			return;
		}
		json_object_array_add(items, item_json(&m));
	}
	struct written *w = arena_zalloc(req->arena, sizeof *w * (size_t)n);
	int rc = write_memories(req, items, n, w);
	json_object_put(items);
	if (rc != 0)
		return;
	struct json_object *body = json_object_new_object(), *arr = json_object_new_array();
	for (int i = 0; i < n; i++)
		json_object_array_add(arr, written_json(&w[i]));
	json_object_object_add(body, "memories", arr);
	idempotency_keep(req, 202, body);
	response_json(req, 202, body);
}

/* ------------------------------------------------------------- reading */

void memories_get(struct request *req)
{
	const char *id;
	if (query_only(req, (const char *const[]){ NULL }) != 0 || (id = input_memory_id(req)) == NULL)
		return;
	const char *params[] = { id, req->key->tenant_id };
	PGresult *r = db_request_one(req, &st_get, params, 404, "no such memory");
	if (r != NULL)
		response_json(req, 200, store_memory_json(r, 0));
}

void memories_list(struct request *req)
{
	static const char *const allowed[] = { "namespace", "externalUserId", "limit", "cursor", "status", NULL };
	static const char *const statuses[] = { "pending", "ready", "failed", NULL };
	struct page p;
	if (input_refuse_tenant(req, NULL) != 0 || query_only(req, allowed) != 0)
		return;
	const char *ns = request_query(req, "namespace"), *user = request_query(req, "externalUserId");
	const char *status = request_query(req, "status");
	if (input_scope_value(req, "namespace", ns) != 0 || input_scope_value(req, "externalUserId", user) != 0 ||
	    page_parse(req, &p, 0) != 0)
		return;
	if (status) {
		int known = 0;
		for (const char *const *s = statuses; *s; s++)
			known |= strcmp(*s, status) == 0;
		if (!known) {
			response_error(req, 400, "invalid_request", "status must be pending, ready or failed");
			return;
		}
	}
	const char *params[] = { req->key->tenant_id, ns, user, p.fetch, p.after_key, p.after_id, status };
	PGresult *r = db_request_exec(req, &st_list, params);
	if (r == NULL)
		return;
	struct json_object *body = json_object_new_object(), *arr = json_object_new_array();
	int n = page_finish(req, &p, r, LIST_KEY_COLUMN, 0, body);
	for (int i = 0; i < n; i++)
		json_object_array_add(arr, store_memory_json(r, i));
	json_object_object_add(body, "memories", arr);
	response_json(req, 200, body);
}

/* ------------------------------------------------------------- changing */

/* The expiry a PATCH asks for: how "keep" (neither field), "clear"
 * (expiresAt or ttlSeconds null, the other not given) or "set"; 0, or -1
 * answered. */
static int patch_expiry(struct request *req, struct memory_input *m, const char **how)
{
	*how = "keep";
	if (!json_object_object_get_ex(req->json, "expiresAt", NULL) &&
	    !json_object_object_get_ex(req->json, "ttlSeconds", NULL))
		return 0;
	if (input_expiry(req, req->json, "", m) != 0)
		return -1;
	*how = m->expires_at || m->ttl_s ? "set" : "clear";
	return 0;
}

void memories_patch(struct request *req)
{
	static const char *const allowed[] = { "content", "metadata", "expiresAt", "ttlSeconds", NULL };
	const char *id, *content = NULL, *metadata = NULL, *how;
	struct json_object *c = NULL, *md = NULL;
	struct memory_input expiry = { 0 };
	if ((id = input_memory_id(req)) == NULL || input_refuse_tenant(req, req->json) != 0 ||
	    fields_only(req, allowed) != 0)
		return;
	json_object_object_get_ex(req->json, "content", &c);
	json_object_object_get_ex(req->json, "metadata", &md);
	if (patch_expiry(req, &expiry, &how) != 0)
		return;
	if (c == NULL && md == NULL && strcmp(how, "keep") == 0) {
		response_error(req, 400, "invalid_request", "name content, metadata, expiresAt or ttlSeconds");
		return;
	}
	if ((c && input_content(req, "", c, &content) != 0) || (md && input_metadata(req, "", md, &metadata) != 0))
		return;
	const char *ttl = expiry.ttl_s ? arena_printf(req->arena, "%lld", expiry.ttl_s) : NULL;
	if (c == NULL && md == NULL) {
		const char *p[] = { id, req->key->tenant_id, how, expiry.expires_at, ttl };
		PGresult *r = db_request_one(req, &st_patch_expiry, p, 404, "no such memory");
		if (r)
			response_json(req, 200, store_memory_json(r, 0));
		return;
	}
	const char *params[] = { id, req->key->tenant_id, content, metadata, memory_key_id(req), how, expiry.expires_at,
				 ttl };
	char err[256];
	PGresult *r = db_request_keep(req, pg_exec(req->ctx->db, &st_patch, params, err, sizeof err));
	if (r == NULL) {
		if (strcmp(pg_last_sqlstate(req->ctx->db), "23505") == 0)
			response_error(req, 409, "conflict", "another memory of this end user has that content");
		else
			response_unavailable(req, "memox_patch", err);
		return;
	}
	if (PQntuples(r) == 0) {
		response_error(req, 404, "not_found", "no such memory");
		return;
	}
	const char *version = PQgetvalue(r, 0, 7);
	struct json_object *body = store_memory_json(r, 0);
	/* The replaced version's vector stays until the worker's upsert of the
	 * new one replaces it: search keeps finding the memory meanwhile by
	 * what it said before (search.c, matchedVersion). */
	const char *ids[] = { id }, *versions[] = { version };
	if (enqueue_embed(req->ctx, ids, versions, 1, err, sizeof err) != 0) {
		/* The change is committed and the memory pending: marked, the
		 * worker's sweep queues it once Redis answers; unmarked (the
		 * database failed too), its sweeper for lost jobs does, later. */
		const char *mark[] = { arena_printf(req->arena, "{%s}", id), req->key->tenant_id };
		char err2[256];
		if (db_request_keep(req, pg_exec(req->ctx->db, &st_unqueued, mark, err2, sizeof err2)) == NULL)
			log_warn("memory %s changed but neither queued (%s) nor marked (%s)", id, err, err2);
		else
			log_warn("embed job queue unreachable (%s): memory %s changed, queued when it is back", err, id);
	}
	response_json(req, 202, body);
}

void memories_delete(struct request *req)
{
	const char *id;
	if (query_only(req, (const char *const[]){ NULL }) != 0 || (id = input_memory_id(req)) == NULL)
		return;
	const char *params[] = { id, req->key->tenant_id };
	if (db_request_one(req, &st_delete, params, 404, "no such memory") == NULL)
		return;
	/* Gone from reads and search now (search keeps only rows that exist
	 * here); the vectors go too, or are left to the worker. */
	char err[256];
	if (memory_vectors_drop_older(req->ctx->vector, id, "9223372036854775807", err, sizeof err) != 0 &&
	    enqueue_simple(req->ctx, "vectors.delete", id, err, sizeof err) != 0)
		log_warn("memory %s deleted; its vectors stay until an erase: %s", id, err);
	response_no_content(req);
}
