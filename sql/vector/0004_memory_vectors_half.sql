-- 0004_memory_vectors_half.sql - a narrow half-precision copy of the vectors for the exact plan.
--
-- The exact plan compares the query with every vector of a scope.  Measured
-- on 2 cores over a 10k scope: 7.6 ms from memory_vectors (rows of ~1.7 KB,
-- float32), 5.8 ms from a table of the scope, metadata and a halfvec (rows
-- of ~0.9 KB); a narrow float32 table gave 6.9, so the gain is the halving
-- of the bytes read and converted.  Search ranks candidates here, then
-- reranks them by their float32 vectors in memory_vectors, and keeps the
-- answer only when half precision's error (bounded, shared/memory_vectors.c)
-- cannot have left a nearer vector out; otherwise it ranks memory_vectors
-- itself.  Exact results stay exact.
--
-- Kept by triggers on memory_vectors, so every writer (the worker's upsert,
-- a re-embed) keeps it without knowing it, and deleted with it by the
-- foreign key.  An update of in_index alone (the index upkeep) is not a
-- change of anything here, so the update trigger names its columns.
--
-- Converting an installation: the triggers are made first, then the rows
-- are copied in the same transaction.  Search keeps answering from
-- memory_vectors meanwhile (the copy only reads it) and the responders
-- switch to this table once it exists, that is once the copy is committed;
-- writes of vectors wait for the copy (the trigger's lock), for a time
-- that grows with the vectors, and go on after it: nothing is lost, the worker
-- retries.
CREATE TABLE memory_vectors_half (
    memory_id         uuid NOT NULL,
    model             text NOT NULL,
    tenant_id         uuid NOT NULL,
    namespace         text NOT NULL,
    external_user_id  text NOT NULL,
    metadata          jsonb NOT NULL,
    version           bigint NOT NULL,
    embedding         halfvec NOT NULL,
    PRIMARY KEY (memory_id, model),
    FOREIGN KEY (memory_id, model) REFERENCES memory_vectors (memory_id, model) ON DELETE CASCADE
);

CREATE FUNCTION memory_vectors_half_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO memory_vectors_half AS h (memory_id, model, tenant_id, namespace, external_user_id, metadata,
                                          version, embedding)
    VALUES (NEW.memory_id, NEW.model, NEW.tenant_id, NEW.namespace, NEW.external_user_id, NEW.metadata,
            NEW.version, NEW.embedding::halfvec)
    ON CONFLICT (memory_id, model) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, namespace = EXCLUDED.namespace,
        external_user_id = EXCLUDED.external_user_id, metadata = EXCLUDED.metadata, version = EXCLUDED.version,
        embedding = EXCLUDED.embedding;
    RETURN NULL;
END
$$;

CREATE TRIGGER memory_vectors_half_inserted AFTER INSERT ON memory_vectors
    FOR EACH ROW EXECUTE FUNCTION memory_vectors_half_keep();
CREATE TRIGGER memory_vectors_half_changed
    AFTER UPDATE OF tenant_id, namespace, external_user_id, metadata, version, embedding ON memory_vectors
    FOR EACH ROW EXECUTE FUNCTION memory_vectors_half_keep();

INSERT INTO memory_vectors_half (memory_id, model, tenant_id, namespace, external_user_id, metadata, version, embedding)
SELECT memory_id, model, tenant_id, namespace, external_user_id, metadata, version, embedding::halfvec
  FROM memory_vectors
    ON CONFLICT DO NOTHING;

CREATE INDEX memory_vectors_half_scope_idx ON memory_vectors_half (tenant_id, namespace, external_user_id, model);
ANALYZE memory_vectors_half;
