-- 0011_memory_words.sql - keyword search (POST /search, mode keyword or hybrid).
--
-- Each memory's words as full-text lexemes of PostgreSQL's 'simple'
-- configuration: lower-cased, not stemmed, no stop words dropped, so text
-- of any language that separates words by spaces or punctuation is split
-- the same way, and a word matches only itself (stemming is the semantic
-- leg's job).  Stored, so that ranking reads it instead of parsing content
-- again; kept by PostgreSQL itself on every insert and change.
--
-- The GIN index finds the memories holding a word; the search statement
-- (fcgi-apps/memox/keyword.c) also names the scope, so the planner can AND
-- it with memories_scope_idx and visit only the scope's rows that match.
--
-- Adding a stored column rewrites the table once, under a lock that holds
-- writes and reads of memories until it is done (docs/operations.md gives
-- the time per million memories measured).
ALTER TABLE memories ADD COLUMN content_words tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, content)) STORED;
CREATE INDEX memories_words_idx ON memories USING gin (content_words);
