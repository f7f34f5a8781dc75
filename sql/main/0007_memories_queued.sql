-- 0007_memories_queued.sql - memories whose embed job is not on the queue yet.
--
-- A write is committed before its job is pushed to Redis.  When the push
-- fails (Redis down), the write is still accepted: the memory is kept here
-- with queued = false, and the worker's sweep queues it as soon as Redis
-- answers again, instead of waiting for MEMOX_PENDING_SWEEP_SECONDS as for
-- a job lost without a trace.  The sweep sets it back to true.
ALTER TABLE memories ADD COLUMN queued boolean NOT NULL DEFAULT true;
CREATE INDEX memories_unqueued_idx ON memories (updated_at) WHERE status = 'pending' AND NOT queued;
