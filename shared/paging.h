/* paging.h - keyset paging and strict query strings for list routes.
 *
 * Lists are never silently capped: a page holds at most PAGE_LIMIT_MAX rows
 * and says where the next one starts (nextCursor), from the last row's sort
 * key and id, so a page stays right while rows come and go. */
#ifndef AIGET_PAGING_H
#define AIGET_PAGING_H

#include <libpq-fe.h>
#include <json-c/json.h>

#include "request.h"

#define PAGE_LIMIT_DEFAULT 50
#define PAGE_LIMIT_MAX 100
#define SEARCH_QUERY_MAX 254          /* bytes of a search string */

/* A row's position for keyset paging: microseconds since the epoch, exact
 * (extract() returns numeric since PostgreSQL 14, not a rounded double). */
#define SQL_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

/* Refuses (400) a query parameter not named in allowed (NULL-terminated), or
 * one given twice, or one whose value is not UTF-8.  0 or -1. */
int query_only(struct request *req, const char *const *allowed);

/* ?limit=&cursor= of a keyset page.  A cursor is "<micros>.<uuid>": the sort
 * key and id of the last row of the page before, or with numeric set just
 * the last row's serial id (the audit); clients treat it as opaque. */
struct page {
	int limit;                    /* rows to answer */
	const char *fetch;            /* limit + 1, as a statement parameter */
	const char *after_key;        /* the cursor's parts, NULL on the first page */
	const char *after_id;
};
/* 0, or -1 when limit or cursor is malformed (answered 400). */
int page_parse(struct request *req, struct page *p, int numeric);
/* Adds "nextCursor" to body: made from the columns key_col and id_col (-1:
 * none, a numeric cursor) of row p->limit - 1 when the result has more rows
 * than the page, else null.
 * Returns the number of rows that belong to the page. */
int page_finish(struct request *req, const struct page *p, PGresult *r, int key_col, int id_col,
		struct json_object *body);

/* A search string (?query=): NULL when absent or empty; -1 when too long. */
int query_search(struct request *req, const char **out);

#endif
