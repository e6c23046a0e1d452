-- Core: runs and quarantine. Stable for ops (documented in README "DuckDB schema").

-- One row per nightly run (or `triage run`), with what it did and how long each stage took.
CREATE TABLE runs (
    run_id          VARCHAR PRIMARY KEY,          -- uuid4
    flow_run_id     VARCHAR,                      -- Prefect flow run id when run by Prefect
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    status          VARCHAR NOT NULL,             -- running | completed | failed | interrupted (died; marked by the next run)
    as_of           DATE NOT NULL,                -- the day the call list is for
    fetched         INTEGER NOT NULL DEFAULT 0,   -- new raw messages stored
    parsed          INTEGER NOT NULL DEFAULT 0,   -- messages parsed
    transcripts     INTEGER NOT NULL DEFAULT 0,   -- transcripts parsed
    quarantined     INTEGER NOT NULL DEFAULT 0,   -- items sent to quarantine by this run
    sentences       INTEGER NOT NULL DEFAULT 0,   -- sentences scored by the detectors
    signals         INTEGER NOT NULL DEFAULT 0,   -- signals stored by this run
    accounts_listed INTEGER NOT NULL DEFAULT 0,   -- accounts on the call list
    duration_s      DOUBLE,
    stage_seconds   JSON,                         -- {"ingest": 1.2, "parse": 0.4, ...}
    error           VARCHAR                       -- first line of the error when status = failed
);

-- Anything that could not be ingested or parsed, with the reason. Nothing is dropped silently:
-- every input item ends up either stored (raw_messages/messages, transcripts) or here.
CREATE TABLE quarantine (
    kind            VARCHAR NOT NULL,             -- mail | transcript | accounts
    item_key        VARCHAR NOT NULL,             -- message_key, transcript path hash, ...
    source          VARCHAR NOT NULL,             -- configured source name or folder
    location        VARCHAR NOT NULL,             -- file path, or folder/UID on the server
    stage           VARCHAR NOT NULL,             -- ingest | parse | detect
    reason          VARCHAR NOT NULL,             -- short code, e.g. too_large, bad_mime, no_turns
    detail          VARCHAR,                      -- human explanation
    size_bytes      BIGINT,
    first_seen_at   TIMESTAMPTZ NOT NULL,
    last_seen_at    TIMESTAMPTZ NOT NULL,
    run_id          VARCHAR,
    PRIMARY KEY (kind, item_key)
);
