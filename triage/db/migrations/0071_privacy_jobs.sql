-- Privacy jobs (issue 21; owned by triage/privacy/jobs.py, docs/privacy.md): an erasure or a purge is
-- recorded here in the same transaction as its deletes, and finished later (lists and threads built
-- again, pages rewritten, the file rewritten so no freed block keeps a byte). A process killed in
-- between leaves the row unfinished; the next command that opens the database finishes it first.
CREATE TABLE privacy_jobs (
    job_id          VARCHAR PRIMARY KEY,          -- uuid4 (= erasures.erasure_id for an erasure)
    kind            VARCHAR NOT NULL,             -- forget | purge | recheck
    created_at      TIMESTAMPTZ NOT NULL,
    rebuild_days    JSON NOT NULL,                -- call-list days to build again: ["2026-11-20", ...]
    rebuild_threads BOOLEAN NOT NULL,             -- messages went: threads are built again
    compact         BOOLEAN NOT NULL,             -- rewrite the file at the end
    finished_at     TIMESTAMPTZ                   -- NULL until every step is done
);
