-- 0004_memox.sql - memories: their text and metadata, and end-user erasures.
--
-- The main database holds what a memory says; its embedding lives in the
-- vector database, written by the worker.  A memory is searchable only while
-- it is 'ready' here, so a crash between the two databases can leave at most
-- an orphan vector that no search returns.  version grows with every change
-- of the text or metadata; the worker writes a vector only for the version it
-- read, so a stale job never overwrites a newer embedding.
CREATE TABLE memories (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    namespace         text NOT NULL,
    external_user_id  text NOT NULL,
    content           text NOT NULL,
    content_hash      bytea NOT NULL,                -- SHA-256 of content: one copy per scope
    metadata          jsonb NOT NULL DEFAULT '{}',
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'failed')),
    version           bigint NOT NULL DEFAULT 1,
    attempts          integer NOT NULL DEFAULT 0,    -- embedding attempts of this version
    error             text,                          -- the last embedding error
    model             text,                          -- of the vector in use, once ready
    dimensions        integer,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    embedded_at       timestamptz
);
CREATE UNIQUE INDEX memories_dedup_idx ON memories (tenant_id, namespace, external_user_id, content_hash);
CREATE INDEX memories_scope_idx ON memories (tenant_id, namespace, external_user_id, created_at DESC, id DESC);
-- The worker's safety net finds memories whose job was lost.
CREATE INDEX memories_pending_idx ON memories (updated_at) WHERE status = 'pending';

-- Memories per tenant, for maxMemories and usage: kept by statement triggers
-- so a batch insert costs one counter update, not a count(*).
CREATE TABLE tenant_memory_counts (
    tenant_id  uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    memories   bigint NOT NULL DEFAULT 0
);

CREATE FUNCTION memories_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_memory_counts AS c (tenant_id, memories)
        SELECT tenant_id, count(*) FROM new_rows GROUP BY tenant_id ORDER BY tenant_id
    ON CONFLICT (tenant_id) DO UPDATE SET memories = c.memories + EXCLUDED.memories;
    RETURN NULL;
END $$;

CREATE FUNCTION memories_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenant_memory_counts c SET memories = greatest(c.memories - d.n, 0)
      FROM (SELECT tenant_id, count(*) AS n FROM old_rows GROUP BY tenant_id) d
     WHERE c.tenant_id = d.tenant_id;
    RETURN NULL;
END $$;

CREATE TRIGGER memories_count_insert AFTER INSERT ON memories
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION memories_count_inserted();
CREATE TRIGGER memories_count_delete AFTER DELETE ON memories
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION memories_count_deleted();

-- DELETE /memories?namespace=&externalUserId=: one end user's data, erased
-- in the background by the worker; the row is its visible progress.
CREATE TABLE memox_erasures (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    namespace         text NOT NULL,
    external_user_id  text NOT NULL,
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done')),
    deleted           bigint NOT NULL DEFAULT 0,
    requested_at      timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz
);
CREATE INDEX memox_erasures_tenant_idx ON memox_erasures (tenant_id, requested_at DESC);
