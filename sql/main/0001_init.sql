-- 0001_init.sql - the main database's baseline.
--
-- Marks the point from which schema_migrations counts.  The tables arrive
-- with the issues that own them (auth, tenants and keys, memox), each in a
-- numbered file of its own; this file is never edited.
SELECT 1;
