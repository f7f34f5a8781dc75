/* memox.h - what the memox area's files share.
 *
 * Handlers live in files named for what they handle: memories.c (write,
 * read, list, change, delete one memory), history.c (a memory's versions), erase.c (one end user's data),
 * search.c (semantic search, with filter.c turning a metadata filter into a
 * jsonpath).  input.c checks what clients send; statements on either
 * database run through shared/db_request.h (a failure is answered 503, the
 * result is the request's); store.c renders a memory; enqueue.c hands jobs
 * to the worker. */
#ifndef AIGET_MEMOX_H
#define AIGET_MEMOX_H

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "app.h"
#include "db_request.h"
#include "pg.h"
#include "request.h"

#define MEMOX_SCOPE_MAX 128           /* bytes of a namespace or external user id */
#define MEMOX_QUERY_MAX 4096          /* bytes of a search query */
#define MEMOX_RRF_K_MAX 1000          /* hybrid search's rrfK (and MEMOX_RRF_K) */

#define MEMOX_TTL_MAX 3153600000LL   /* ttlSeconds: 100 years */

/* One memory to write, checked. */
struct memory_input {
	const char *namespace_, *external_user_id, *content, *metadata; /* metadata: JSON text */
	const char *expires_at;        /* RFC 3339 as the client wrote it, or NULL */
	long long ttl_s;               /* ttlSeconds, or 0 */
};

/* ------------------------------------------------------------- input.c */

/* 400 when the body or query names tenantId: the key says which tenant. */
int input_refuse_tenant(struct request *req, struct json_object *obj);
/* A namespace or externalUserId: 1-128 of A-Z a-z 0-9 _ - . : @ / (0, or -1 answered). */
int input_scope_value(struct request *req, const char *field, const char *value);
/* Whether value is such a string (nothing answered). */
int input_scope_ok(const char *value);
/* The fields of one memory from a JSON object (a body or a batch item);
 * where names it in errors ("memories[3].content").  0, or -1 answered. */
int input_memory(struct request *req, struct json_object *obj, const char *where, struct memory_input *m);
/* content: valid UTF-8 (json_check saw to it), 1..MEMOX_CONTENT_MAX_BYTES (413 beyond). */
int input_content(struct request *req, const char *where, struct json_object *v, const char **out);
/* metadata: a JSON object within MEMOX_METADATA_MAX_BYTES and _DEPTH; *out its text. */
int input_metadata(struct request *req, const char *where, struct json_object *v, const char **out);
/* expiresAt or ttlSeconds of obj into m (neither: never expires).  0, or -1 answered. */
int input_expiry(struct request *req, struct json_object *obj, const char *where, struct memory_input *m);
/* A memory id from the path: a UUID, else 404 (no such memory). */
const char *input_memory_id(struct request *req);

/* ------------------------------------------------------------- store.c */

/* A timestamp column as RFC 3339 UTC with microseconds (a memory's createdAt
 * orders its list, so seconds would not do). */
#define MEMOX_SQL_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* A memory row as the API shows it (columns of MEMORY_COLUMNS). */
#define MEMORY_COLUMNS \
	"id, namespace, external_user_id, content, metadata::text, status, error, version, " \
	MEMOX_SQL_TIME("created_at") ", " MEMOX_SQL_TIME("updated_at") ", " \
	MEMOX_SQL_TIME("embedded_at") ", model, dimensions, " MEMOX_SQL_TIME("expires_at")
/* A memory that expired is absent from every read, before the worker deletes it. */
#define MEMORY_LIVE "(expires_at IS NULL OR expires_at > now())"
struct json_object *store_memory_json(PGresult *r, int row);

/* ------------------------------------------------------------- history.c */

/* When a memory row's (tbl's) current version was made: version 1 when it
 * was written, a later one when its change was; NULL for a change made
 * before sql/main/0008 kept the time. */
#define MEMORY_VERSION_MADE_AT(tbl) \
	"coalesce(" tbl ".changed_at, CASE WHEN " tbl ".version = 1 THEN " tbl ".created_at END)"
/* The request's key id as a statement parameter (NULL when unknown), kept
 * as the maker of the versions it writes. */
const char *memory_key_id(struct request *req);
void memories_history(struct request *req);

/* ------------------------------------------------------------- enqueue.c */

/* Pushes embed jobs for ids[i] at versions[i] in one LPUSH.  0, or -1 with err. */
int enqueue_embed(struct app_context *ctx, const char *const *ids, const char *const *versions, int n,
		  char *err, size_t errlen);
/* Pushes one job of another type ("vectors.delete", "erase") for id. */
int enqueue_simple(struct app_context *ctx, const char *type, const char *id, char *err, size_t errlen);

/* ------------------------------------------------------------- idempotency.c */

/* With an Idempotency-Key header: 1 when an earlier answer was replayed (the
 * request is answered), -1 when answered with an error, 0 to go on. */
int idempotency_replay(struct request *req);
/* Keeps this answer for the key (when the request had one). */
void idempotency_keep(struct request *req, int status, struct json_object *body);

/* ------------------------------------------------------------- handlers */

void memories_create(struct request *req);
void memories_batch(struct request *req);
void memories_get(struct request *req);
void memories_list(struct request *req);
void memories_patch(struct request *req);
void memories_delete(struct request *req);
void erase_scope(struct request *req);
void erase_get(struct request *req);
void search_memories(struct request *req);
/* scopes.c: GET /namespaces and GET /users?namespace= (what a tenant holds). */
void scopes_namespaces(struct request *req);
void scopes_users(struct request *req);
/* Writes the vector statements for the configured model and sets the vector
 * connection's planner settings (app init). */
void search_init(struct app_context *ctx);
/* scope_size.c: whether the scope is searched exactly: not (yet) a large
 * scope whose vectors are all in the index (remembered a few seconds).  0,
 * or -1 answered. */
int scope_is_small(struct request *req, const char *ns, const char *user, int *small);

/* ------------------------------------------------------------- search.c, keyword.c, hybrid.c */

/* How POST /search ranks: by meaning (the query's embedding), by words
 * (PostgreSQL full-text search), or both fused by reciprocal rank. */
enum search_mode { SEARCH_SEMANTIC, SEARCH_KEYWORD, SEARCH_HYBRID };

struct search_input {
	const char *ns, *user, *query, *path, *vars;   /* path, vars: the compiled filter, or NULL */
	enum search_mode mode;
	int top_k, exact;
	double min_score;                              /* -INFINITY when not asked */
	int rrf_k;                                     /* hybrid: the fusion's k */
	double keyword_weight;                         /* hybrid: the keyword leg's share, 0..1 */
};

/* keyword.c: the scope's limit memories best matching the query's words,
 * best first (columns: id, score, content, metadata, createdAt, version,
 * status); NULL when answered.  keyword_result() is row i as a search
 * result. */
PGresult *keyword_rows(struct request *req, const struct search_input *in, int limit);
struct json_object *keyword_result(struct request *req, PGresult *r, int i);
/* hybrid.c: the topK results of both legs' ranked lists fused by
 * reciprocal rank; semantic is an array of search results (taken). */
struct json_object *hybrid_fuse(struct request *req, const struct search_input *in, struct json_object *semantic,
				PGresult *keyword);
/* search.c: a number written with the given decimals; and one search
 * result, the memory as it is now from row's columns col.. (content,
 * metadata, createdAt, version, status), its score and the version that
 * matched. */
struct json_object *search_number(struct request *req, double v, int decimals);
struct json_object *search_result(struct request *req, const char *id, PGresult *r, int row, int col, double score,
				  long long matched_version);

/* filter.c: a metadata filter as a jsonpath predicate and its variables.
 * 0, or -1 with a reason for a 400 in err. */
int filter_compile(struct json_object *filter, struct arena *a, const char **path, const char **vars,
		   char *err, size_t errlen);

/* ------------------------------------------------------------- mcp.c, mcp_tools.c */

/* POST /mcp: MCP's Streamable HTTP transport (JSON-RPC 2.0). */
void mcp_handle(struct request *req);
/* tools/list's tools. */
struct json_object *mcp_tools_list(void);
/* Runs the tool on its REST route; *result the tool result (isError on a
 * refusal).  -1 when no tool has that name. */
int mcp_tools_call(struct request *req, const char *name, struct json_object *arguments, struct json_object **result);

/* ------------------------------------------------------ queue_metrics.c */

/* The queue's depth and the workers' job counts, for GET /metrics. */
void memox_metrics(struct app_context *ctx, FILE *out);

#endif
