-- 0010_memory_expiry.sql - memories that expire.
--
-- A memory written with expiresAt or ttlSeconds is absent from get, list
-- and search from that moment (every statement asks expires_at > now()),
-- and the worker deletes it, its vectors and its history within a minute
-- (fcgi-apps/memox-worker/expire.c), a page at a time in expires_at order:
-- hence the partial index, which holds only memories that expire.
ALTER TABLE memories ADD COLUMN expires_at timestamptz;
CREATE INDEX memories_expiry_idx ON memories (expires_at) WHERE expires_at IS NOT NULL;
