/* paging.c - query strings: known parameters only, keyset pages, search strings.
 *
 * Lists are keyset pages, never silently capped: each answer holds at most
 * `limit` rows and a `nextCursor` that is null only on the last page.  The
 * statements fetch one row more than the page to know whether another page
 * follows.  A cursor is the sort key (microseconds since the epoch, exact)
 * and the id of the page's last row, so a row inserted meanwhile neither
 * repeats nor shifts the pages that follow. */
#include "paging.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "membership.h"
#include "utf8.h"

int query_only(struct request *req, const char *const *allowed)
{
	size_t nallowed = 0;
	while (allowed[nallowed])
		nallowed++;
	int seen[16] = { 0 };
	size_t pos = 0;
	const char *key, *val;
	while (request_query_next(req, &pos, &key, &val)) {
		/* The dispatcher has refused malformed escapes already. */
		size_t k = 0;
		while (k < nallowed && key && strcmp(key, allowed[k]) != 0)
			k++;
		if (key == NULL || val == NULL || k == nallowed) {
			int plain = key && strlen(key) <= 32;
			for (const char *c = key; plain && *c; c++)
				plain = *c > 0x20 && *c < 0x7f;
			response_error(req, 400, "invalid_request", "unknown query parameter%s%s", plain ? ": " : "",
				       plain ? key : "");
			return -1;
		}
		if (k < sizeof seen / sizeof seen[0] && seen[k]++) {
			response_error(req, 400, "invalid_request", "query parameter %s is given twice", allowed[k]);
			return -1;
		}
		if (!utf8_valid((const unsigned char *)val, strlen(val))) {
			response_error(req, 400, "invalid_request", "query parameter %s is not valid UTF-8", allowed[k]);
			return -1;
		}
	}
	return 0;
}

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0;
}

int page_parse(struct request *req, struct page *p, int numeric)
{
	memset(p, 0, sizeof *p);
	p->limit = PAGE_LIMIT_DEFAULT;
	const char *limit = request_query(req, "limit");
	if (limit) {
		size_t n = strlen(limit);
		if (!all_digits(limit, n) || n > 3 || atoi(limit) < 1 || atoi(limit) > PAGE_LIMIT_MAX) {
			response_error(req, 400, "invalid_request", "limit must be an integer from 1 to %d",
				       PAGE_LIMIT_MAX);
			return -1;
		}
		p->limit = atoi(limit);
	}
	p->fetch = arena_printf(req->arena, "%d", p->limit + 1);
	const char *cursor = request_query(req, "cursor");
	if (cursor && *cursor && numeric) {
		if (!all_digits(cursor, strlen(cursor)) || strlen(cursor) > 18) {
			response_error(req, 400, "invalid_request", "cursor is not valid");
			return -1;
		}
		p->after_key = cursor;
	} else if (cursor && *cursor) {
		const char *dot = strchr(cursor, '.');
		size_t klen = dot ? (size_t)(dot - cursor) : 0;
		if (dot == NULL || !all_digits(cursor, klen) || klen > 18 || !membership_is_uuid(dot + 1)) {
			response_error(req, 400, "invalid_request", "cursor is not valid");
			return -1;
		}
		p->after_key = arena_strndup(req->arena, cursor, klen);
		p->after_id = dot + 1;
	}
	return 0;
}

int page_finish(struct request *req, const struct page *p, PGresult *r, int key_col, int id_col,
		struct json_object *body)
{
	int n = PQntuples(r);
	struct json_object *next = NULL;
	if (n > p->limit) {
		n = p->limit;
		next = json_object_new_string(id_col < 0 ? PQgetvalue(r, n - 1, key_col)
					      : arena_printf(req->arena, "%s.%s", PQgetvalue(r, n - 1, key_col),
							     PQgetvalue(r, n - 1, id_col)));
	}
	json_object_object_add(body, "nextCursor", next);
	return n;
}

int query_search(struct request *req, const char **out)
{
	const char *q = request_query(req, "query");
	*out = NULL;
	if (q == NULL || *q == '\0')
		return 0;
	if (strlen(q) > SEARCH_QUERY_MAX) {
		response_error(req, 400, "invalid_request", "query must be at most %d bytes", SEARCH_QUERY_MAX);
		return -1;
	}
	*out = q;
	return 0;
}
