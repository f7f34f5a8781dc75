-- 0002_memory_vectors.sql - one embedding per memory and model.
--
-- Every row carries its scope (tenant, namespace, external user) and the
-- metadata that search filters on, so a search never leaves this database
-- before it has its candidates.  The column is dimension-free so that a new
-- model can be embedded beside the old one while search keeps answering; each
-- model gets its own partial HNSW index over its fixed dimensions (pgvector
-- indexes need one), made by `aigetctl memox reembed`.  version is the
-- memory's version the vector was made from: an upsert only ever raises it.
CREATE TABLE memory_vectors (
    memory_id         uuid NOT NULL,
    model             text NOT NULL,
    tenant_id         uuid NOT NULL,
    namespace         text NOT NULL,
    external_user_id  text NOT NULL,
    metadata          jsonb NOT NULL DEFAULT '{}',
    dimensions        integer NOT NULL,
    version           bigint NOT NULL,
    embedding         vector NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (memory_id, model)
);
CREATE INDEX memory_vectors_scope_idx ON memory_vectors (tenant_id, namespace, external_user_id, model);
-- The built-in embedder's index: cosine distance over its 384 dimensions.
CREATE INDEX memory_vectors_hnsw_local_hash_v1 ON memory_vectors
    USING hnsw ((embedding::vector(384)) vector_cosine_ops)
    WHERE model = 'local-hash-v1';
