-- 0003_index_large_scopes.sql - only large scopes' vectors go into the HNSW indexes.
--
-- A scope of up to MEMOX_EXACT_SCAN_MAX vectors is searched by the exact
-- plan, which never reads an HNSW index, yet every insert paid for one: an
-- HNSW insert is a graph walk of the whole model's index (about 3 ms of a
-- core at 100k vectors), and it capped ingestion at a few hundred memories a
-- second whatever the scope.  Now a vector enters its model's index only
-- once its scope is large (in_index), so small scopes are written at the
-- speed of a heap insert, and the index holds only the scopes that use it.
--
-- indexed_scopes lists the scopes that are large, per model: the worker adds
-- a scope when it grows past half of MEMOX_EXACT_SCAN_MAX (before search
-- switches to the index plan), new vectors of a listed scope are written
-- with in_index set, and the worker's upkeep sets in_index on the scope's
-- older vectors a page at a time, then marks the scope complete.  Search's
-- index plan adds the scope's vectors not yet in the index by an exact scan
-- of those alone, so a scope being indexed still gets its whole answer.
CREATE TABLE indexed_scopes (
    tenant_id         uuid NOT NULL,
    namespace         text NOT NULL,
    external_user_id  text NOT NULL,
    model             text NOT NULL,
    complete          boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, namespace, external_user_id, model)
);

-- No table rewrite: a constant default is stored in the catalogue.
ALTER TABLE memory_vectors ADD COLUMN in_index boolean NOT NULL DEFAULT false;

-- The scope btree gains in_index, so that "this scope's vectors not yet in
-- the index" is a range of it, however large the scope.
DROP INDEX memory_vectors_scope_idx;
CREATE INDEX memory_vectors_scope_idx ON memory_vectors (tenant_id, namespace, external_user_id, model, in_index);

-- Vectors stored before this migration: scopes of 12,500 or more (half the
-- default MEMOX_EXACT_SCAN_MAX) stay in the index; smaller ones leave it.
INSERT INTO indexed_scopes (tenant_id, namespace, external_user_id, model, complete)
SELECT tenant_id, namespace, external_user_id, model, true
  FROM memory_vectors GROUP BY 1, 2, 3, 4 HAVING count(*) >= 12500;

-- Every model's HNSW index (the local model's of 0002, and those
-- `aigetctl memox reembed` made) is rebuilt with in_index in its predicate.
-- The flag is set while no index exists, so that it costs no index writes.
DO $$
DECLARE
    ix record;
    defs text[] := '{}';
BEGIN
    FOR ix IN SELECT c.relname, pg_get_indexdef(c.oid) AS def
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
               WHERE i.indrelid = 'memory_vectors'::regclass AND a.amname = 'hnsw'
    LOOP
        defs := defs || (ix.def || ' AND in_index');
        EXECUTE format('DROP INDEX %I', ix.relname);
    END LOOP;
    UPDATE memory_vectors v SET in_index = true
      FROM indexed_scopes s
     WHERE (v.tenant_id, v.namespace, v.external_user_id, v.model)
         = (s.tenant_id, s.namespace, s.external_user_id, s.model);
    FOR i IN 1 .. coalesce(array_length(defs, 1), 0) LOOP
        EXECUTE defs[i];
    END LOOP;
END
$$;
