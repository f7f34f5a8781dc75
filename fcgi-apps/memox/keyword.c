/* keyword.c - the keyword leg of POST /search: the scope's memories ranked
 * by the words they share with the query.
 *
 * PostgreSQL full-text search over memories.content_words (the 'simple'
 * configuration, sql/main/0011): a memory matches when it holds any of the
 * query's words, and is ranked by BM25 with presence for term frequency
 * (memories are short: a word said twice in one is rarely twice the
 * answer).  Each word weighs by how rare it is in the scope (its inverse
 * document frequency, over the scope's memory count that memox_scopes
 * keeps and the matches' own count of the word), so "the" and "of" in a
 * query barely count and an invoice number or a name counts most; a longer
 * memory weighs a little less (b = 0.75 over the matches' mean length).
 * PostgreSQL's own ts_rank sums matches without the rarity, which puts a
 * short memory sharing "the" before one holding the rare word asked for.
 *
 * The main database holds the content and its words, so this leg sees
 * every memory as it is now, whatever its embedding: a memory written a
 * moment ago (pending) is found by its words at once, and each result says
 * its status.  Expired memories are absent, the metadata filter applies as
 * in semantic search (to the current metadata). */
#include "memox.h"

#include <stdlib.h>

#include "api_key.h"

/* $1 tenant, $2 namespace, $3 end user, $4 the query, $5 $6 the filter
 * (NULL for none), $7 how many.  words: the query's first 64 distinct
 * lexemes in order of appearance (the rest do not count), each as a one-word tsquery (quoted, so no
 * word is read as an operator); matched: the scope's memories holding any;
 * hits: each (memory, word) pair.  BM25's k1 = 1.2, b = 0.75. */
static const struct pg_statement st_keyword = {
	"memox_search_keyword",
	"WITH words AS ("
	"  SELECT w.lexeme, ('''' || replace(replace(w.lexeme, '\\', '\\\\'), '''', '''''') || '''')::tsquery AS q"
	"    FROM unnest(to_tsvector('simple'::regconfig, $4::text)) AS w"
	"   ORDER BY w.positions[1] LIMIT 64),"
	" matched AS MATERIALIZED ("
	"  SELECT m.id, length(m.content_words) AS len, m.content_words"
	"    FROM memories m"
	"   WHERE m.tenant_id = $1::uuid AND m.namespace = $2 AND m.external_user_id = $3 AND " MEMORY_LIVE
	"     AND m.content_words @@ (SELECT string_agg(q::text, ' | ')::tsquery FROM words)"
	"     AND ($5::jsonpath IS NULL OR jsonb_path_match(m.metadata, $5::jsonpath, $6::jsonb, true))),"
	" hits AS (SELECT x.id, x.len, w.lexeme FROM matched x JOIN words w ON x.content_words @@ w.q),"
	" df AS (SELECT lexeme, count(*) AS n FROM hits GROUP BY lexeme),"
	" docs AS (SELECT greatest((SELECT count(*) FROM matched),"
	"                          (SELECT s.memories FROM memox_scopes s WHERE s.tenant_id = $1::uuid"
	"                              AND s.namespace = $2 AND s.external_user_id = $3)) AS n,"
	"                 (SELECT greatest(avg(len), 1) FROM matched) AS mean_len),"
	" scored AS (SELECT h.id, sum(ln(1 + (d.n - df.n + 0.5)::float8 / (df.n + 0.5))"
	"                              * 2.2 / (1 + 1.2 * (0.25 + 0.75 * h.len / d.mean_len::float8))) AS score"
	"              FROM hits h JOIN df USING (lexeme) CROSS JOIN docs d GROUP BY h.id)"
	" SELECT s.id, round(s.score::numeric, 6), m.content, m.metadata::text, "
	MEMOX_SQL_TIME("m.created_at") ", m.version, m.status"
	"   FROM scored s JOIN memories m ON m.id = s.id"
	"  ORDER BY s.score DESC, m.created_at DESC, s.id"
	"  LIMIT $7::int",
	7, 1, PG_MAY_LAG,
};

PGresult *keyword_rows(struct request *req, const struct search_input *in, int limit)
{
	const char *params[] = { req->key->tenant_id, in->ns, in->user, in->query, in->path, in->vars,
				 arena_printf(req->arena, "%d", limit) };
	return db_request_exec(req, &st_keyword, params);
}

struct json_object *keyword_result(struct request *req, PGresult *r, int i)
{
	/* The words matched are the current version's. */
	return search_result(req, PQgetvalue(r, i, 0), r, i, 2, atof(PQgetvalue(r, i, 1)), atoll(PQgetvalue(r, i, 5)));
}
