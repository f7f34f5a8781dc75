-- 0009_memox_scopes.sql - what a tenant holds: its namespaces and end users, counted.
--
-- GET /namespaces and GET /users?namespace= answer a keyset page of these
-- tables, an index range on their primary keys, so a page costs the same
-- for a tenant of ten memories or of ten million: nothing counts memories
-- when asked.  Statement triggers on memories keep them, as they keep
-- tenant_memory_counts (0004): one upsert per scope and one per namespace
-- per statement, a batch of 100 costing two or three rows, not 100.
--
-- A scope (namespace, end user) is a row while it holds memories: the one
-- that loses its last is deleted, and its namespace's count of users goes
-- down (a namespace left with none is deleted), so the lists never show an
-- empty end user, and a committed row always has memories >= 1.
-- last_write_at is when a memory of it was last written or changed (a
-- delete does not move it).
--
-- Locks: the triggers fire after memories_count_* (names sort so), which
-- locks the tenant's counter row first, so writes of one tenant already
-- queue there; then scope rows, then namespace rows, each set in key order,
-- so two statements never wait on each other crosswise.  Concurrent writes
-- of one tenant thus serialise on its rows for the few milliseconds of a
-- statement, as they did before this table.
--
-- The names are of memox's alphabet (ASCII), compared in byte order
-- (COLLATE "C") so the order is the same on every server.
CREATE TABLE memox_scopes (
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    namespace         text COLLATE "C" NOT NULL,
    external_user_id  text COLLATE "C" NOT NULL,
    memories          bigint NOT NULL CHECK (memories >= 0),   -- 0 only inside the statement that deletes it
    last_write_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, namespace, external_user_id)
);

CREATE TABLE memox_namespaces (
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    namespace      text COLLATE "C" NOT NULL,
    users          bigint NOT NULL CHECK (users >= 0),          -- likewise
    memories       bigint NOT NULL CHECK (memories >= 0),
    last_write_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, namespace)
);

-- New memories: each scope's row made or grown; a namespace gains a user
-- for every scope row this statement made (its count is then exactly what
-- this statement added, as a row that existed held one memory or more).
CREATE FUNCTION memox_scopes_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH added AS (
        SELECT tenant_id, namespace COLLATE "C" AS namespace, external_user_id COLLATE "C" AS external_user_id,
               count(*) AS n
          FROM new_rows GROUP BY 1, 2, 3),
    upserted AS (
        INSERT INTO memox_scopes AS s (tenant_id, namespace, external_user_id, memories, last_write_at)
        SELECT tenant_id, namespace, external_user_id, n, now() FROM added ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, namespace, external_user_id)
        DO UPDATE SET memories = s.memories + EXCLUDED.memories, last_write_at = EXCLUDED.last_write_at
        RETURNING s.tenant_id, s.namespace, s.external_user_id, s.memories)
    INSERT INTO memox_namespaces AS ns (tenant_id, namespace, users, memories, last_write_at)
    SELECT u.tenant_id, u.namespace, count(*) FILTER (WHERE u.memories = a.n), sum(a.n), now()
      FROM upserted u JOIN added a USING (tenant_id, namespace, external_user_id)
     GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (tenant_id, namespace)
    DO UPDATE SET users = ns.users + EXCLUDED.users, memories = ns.memories + EXCLUDED.memories,
                  last_write_at = EXCLUDED.last_write_at;
    RETURN NULL;
END $$;

-- Deleted memories: the rows are locked in key order first (UPDATE ...
-- FROM would lock them in the join's order), the scopes shrink, the
-- namespaces lose their memories and the users left with none, and the
-- rows left at zero are deleted.
CREATE FUNCTION memox_scopes_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM memox_scopes s
      JOIN (SELECT DISTINCT tenant_id, namespace COLLATE "C" AS namespace,
                   external_user_id COLLATE "C" AS external_user_id FROM old_rows) d
        ON (s.tenant_id, s.namespace, s.external_user_id) = (d.tenant_id, d.namespace, d.external_user_id)
     ORDER BY s.tenant_id, s.namespace, s.external_user_id FOR UPDATE OF s;
    PERFORM 1 FROM memox_namespaces ns
      JOIN (SELECT DISTINCT tenant_id, namespace COLLATE "C" AS namespace FROM old_rows) d
        ON (ns.tenant_id, ns.namespace) = (d.tenant_id, d.namespace)
     ORDER BY ns.tenant_id, ns.namespace FOR UPDATE OF ns;
    WITH removed AS (
        SELECT tenant_id, namespace COLLATE "C" AS namespace, external_user_id COLLATE "C" AS external_user_id,
               count(*) AS n
          FROM old_rows GROUP BY 1, 2, 3),
    shrunk AS (
        UPDATE memox_scopes s SET memories = greatest(s.memories - r.n, 0) FROM removed r
         WHERE (s.tenant_id, s.namespace, s.external_user_id) = (r.tenant_id, r.namespace, r.external_user_id)
        RETURNING s.tenant_id, s.namespace, r.n, s.memories = 0 AS emptied)
    UPDATE memox_namespaces ns
       SET users = greatest(ns.users - p.users, 0), memories = greatest(ns.memories - p.n, 0)
      FROM (SELECT tenant_id, namespace, count(*) FILTER (WHERE emptied) AS users, sum(n) AS n
              FROM shrunk GROUP BY 1, 2) p
     WHERE (ns.tenant_id, ns.namespace) = (p.tenant_id, p.namespace);
    DELETE FROM memox_scopes s
     USING (SELECT DISTINCT tenant_id, namespace COLLATE "C" AS namespace,
                   external_user_id COLLATE "C" AS external_user_id FROM old_rows) d
     WHERE (s.tenant_id, s.namespace, s.external_user_id) = (d.tenant_id, d.namespace, d.external_user_id)
       AND s.memories = 0;
    DELETE FROM memox_namespaces ns
     USING (SELECT DISTINCT tenant_id, namespace COLLATE "C" AS namespace FROM old_rows) d
     WHERE (ns.tenant_id, ns.namespace) = (d.tenant_id, d.namespace) AND ns.users = 0;
    RETURN NULL;
END $$;

-- Changed memories (PATCH): their scope and namespace were last written
-- now.  No route moves a memory to another scope; the counts stay.  A row
-- trigger, as transition tables cannot go with a column list, and the
-- column list keeps the worker's updates (status, attempts) from firing
-- it; PATCH changes one row per statement, so it costs the same.
CREATE FUNCTION memox_scopes_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE memox_scopes SET last_write_at = now()
     WHERE tenant_id = NEW.tenant_id AND namespace = NEW.namespace COLLATE "C"
       AND external_user_id = NEW.external_user_id COLLATE "C";
    UPDATE memox_namespaces SET last_write_at = now()
     WHERE tenant_id = NEW.tenant_id AND namespace = NEW.namespace COLLATE "C";
    RETURN NULL;
END $$;

CREATE TRIGGER memories_scopes_insert AFTER INSERT ON memories
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION memox_scopes_inserted();
CREATE TRIGGER memories_scopes_delete AFTER DELETE ON memories
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION memox_scopes_deleted();
CREATE TRIGGER memories_scopes_update AFTER UPDATE OF content, metadata ON memories
    FOR EACH ROW EXECUTE FUNCTION memox_scopes_changed();

-- What is there already (the triggers' lock on memories keeps writes out
-- until this transaction commits).  Its last write is the newest
-- updated_at, which the worker also moves on a failed attempt: close
-- enough for rows older than this table.
INSERT INTO memox_scopes (tenant_id, namespace, external_user_id, memories, last_write_at)
SELECT tenant_id, namespace, external_user_id, count(*), max(updated_at)
  FROM memories GROUP BY 1, 2, 3;
INSERT INTO memox_namespaces (tenant_id, namespace, users, memories, last_write_at)
SELECT tenant_id, namespace, count(*), sum(memories), max(last_write_at)
  FROM memox_scopes GROUP BY 1, 2;
