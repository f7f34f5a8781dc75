-- 0012_memory_words_fastupdate_off.sql - keyword index writes at their own cost, never in bursts.
--
-- A GIN index with fastupdate (the default) defers its entries to a pending
-- list, and whichever statement finds the list past gin_pending_list_limit
-- (4 MB) merges all of it into the index before it finishes.  Memories are
-- written in batches and every change of status by the worker is a non-HOT
-- update (status is in partial indexes' predicates), which enters the whole
-- tsvector again: ingesting a 100k scope, a batch POST that met the flush
-- ran past the 5 s statement timeout (503) after ~66k memories.  Without the
-- list every write pays for its own words, a few tens of microseconds, and
-- nothing else.
ALTER INDEX memories_words_idx SET (fastupdate = off);
-- Entries already in the list stay there until merged: merge them now.
SELECT gin_clean_pending_list('memories_words_idx'::regclass);
