/* store.c - a memory row as the API shows it.
 *
 * Statements run through shared/db_request.h: a failure is answered 503
 * with Retry-After, the cause logged and never shown, since memox callers
 * (a notes app's backend with tight timeouts) retry on 503 and their
 * writes are safe to repeat (dedup, Idempotency-Key). */
#include "memox.h"

#include <stdlib.h>

#include "json_text.h"

static struct json_object *text_or_null(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : json_object_new_string(PQgetvalue(r, row, col));
}

struct json_object *store_memory_json(PGresult *r, int row)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(PQgetvalue(r, row, 0)));
	json_object_object_add(o, "namespace", json_object_new_string(PQgetvalue(r, row, 1)));
	json_object_object_add(o, "externalUserId", json_object_new_string(PQgetvalue(r, row, 2)));
	json_object_object_add(o, "content", json_object_new_string(PQgetvalue(r, row, 3)));
	/* jsonb's own text, copied into the answer as it is (json_text.h). */
	struct json_object *meta = json_text_object(PQgetvalue(r, row, 4));
	json_object_object_add(o, "metadata", meta ? meta : json_object_new_object());
	json_object_object_add(o, "status", json_object_new_string(PQgetvalue(r, row, 5)));
	json_object_object_add(o, "error", text_or_null(r, row, 6));
	json_object_object_add(o, "version", json_object_new_int64(atoll(PQgetvalue(r, row, 7))));
	json_object_object_add(o, "createdAt", json_object_new_string(PQgetvalue(r, row, 8)));
	json_object_object_add(o, "updatedAt", json_object_new_string(PQgetvalue(r, row, 9)));
	json_object_object_add(o, "embeddedAt", text_or_null(r, row, 10));
	json_object_object_add(o, "model", text_or_null(r, row, 11));
	json_object_object_add(o, "dimensions", PQgetisnull(r, row, 12) ? NULL
				: json_object_new_int(atoi(PQgetvalue(r, row, 12))));
	json_object_object_add(o, "expiresAt", text_or_null(r, row, 13));
	return o;
}
