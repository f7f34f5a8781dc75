-- 0008_memory_versions.sql - the versions a change of a memory replaced.
--
-- PATCH copies the row it changes here in the same statement (a CTE), so a
-- replaced version is never lost and never half-kept.  A version belongs to
-- its memory: deleting the memory (DELETE /memories/{id}, an end user's
-- erasure, a deleted tenant's tenant.erase) deletes its versions through the
-- foreign key, with no statement of its own to forget.  tenant_id is the
-- memory's, so that every read names the key's tenant as every other memox
-- statement does.  Key ids are kept as they were, without a foreign key: the
-- record of who made a change outlives the key.
CREATE TABLE memory_versions (
    memory_id        uuid NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    tenant_id        uuid NOT NULL,
    version          bigint NOT NULL,
    content          text NOT NULL,
    metadata         jsonb NOT NULL,
    made_at          timestamptz,              -- when this version was made; NULL: before history was kept
    replaced_at      timestamptz NOT NULL DEFAULT now(),
    made_by_key      uuid,                     -- the key that made this version; NULL: unknown
    replaced_by_key  uuid,                     -- the key whose change replaced it
    -- Read newest first (a backward scan): GET /memories/{id}/history and
    -- search's check that a matched vector is of a kept version.
    PRIMARY KEY (memory_id, version)
);

-- Who made the current version, and when (version 1: created_at; a memory
-- changed before this file left it NULL, shown as unknown).
ALTER TABLE memories ADD COLUMN changed_by_key uuid, ADD COLUMN changed_at timestamptz;
