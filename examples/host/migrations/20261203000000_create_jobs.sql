-- The job queue (the outbox): mail to send and periodic maintenance, written in the same
-- transaction as the change that causes it. Ids are UUID v7 chosen by sigra-core (16-byte
-- BLOBs), whatever key type the other tables use. Times are UTC text like everywhere else.
CREATE TABLE jobs (
    id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    queue TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT,
    payload TEXT,
    unique_key TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'retrying', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    run_at TEXT NOT NULL,
    locked_until TEXT,
    lease BLOB CHECK (length(lease) = 16),
    last_error TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
) STRICT;

-- At most one unfinished job per key: a periodic job is scheduled once, however many app
-- instances enqueue it.
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE status IN ('queued', 'running', 'retrying');
-- Claiming: the due jobs of a queue.
CREATE INDEX jobs_claim ON jobs (queue, status, run_at);
-- Listing (the dev mailbox, `outbox list`): newest first.
CREATE INDEX jobs_created_at ON jobs (created_at DESC, id DESC);
-- Pruning finished jobs past their retention.
CREATE INDEX jobs_finished_at ON jobs (status, finished_at);
