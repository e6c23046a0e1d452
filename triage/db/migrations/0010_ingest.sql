-- Ingest: raw mail exactly as fetched, and where it was seen. Owned by triage/ingest.

-- Incremental sync watermark per (source, folder). Advanced only after the messages are stored.
-- Local folders use uidvalidity = 0 and do not use last_uid (they track files in message_locations).
CREATE TABLE sync_state (
    source          VARCHAR NOT NULL,
    folder          VARCHAR NOT NULL,
    uidvalidity     BIGINT NOT NULL,
    last_uid        BIGINT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, folder)
);

-- One row per distinct message. message_key = sha256 of the normalised Message-ID, or of the raw
-- bytes when the message has none, so the same mail seen in two folders or after a UIDVALIDITY
-- change is stored once.
CREATE TABLE raw_messages (
    message_key     VARCHAR PRIMARY KEY,
    message_id      VARCHAR,                      -- normalised "<...>" or NULL
    content_sha256  VARCHAR NOT NULL,
    size_bytes      BIGINT NOT NULL,
    raw             BLOB,                         -- the message as fetched (ingest always sets it)
    source          VARCHAR NOT NULL,             -- where it was first seen
    folder          VARCHAR NOT NULL,
    location        VARCHAR NOT NULL,             -- UID (IMAP) or relative file path (local)
    link            VARCHAR,                      -- where a reader opens it: imap://... or file://...
    is_sent_folder  BOOLEAN NOT NULL,             -- seen in one of our Sent folders (= ours)
    internal_date   TIMESTAMPTZ,                  -- IMAP INTERNALDATE or file mtime
    fetched_at      TIMESTAMPTZ NOT NULL,
    run_id          VARCHAR
);

-- Every place a message was seen (several folders, UIDVALIDITY epochs, files). location is the UID
-- (IMAP, as text) or the file path relative to the source root (local). Items quarantined at ingest
-- (empty, too_large, unreadable) are in `quarantine` instead, keyed by message_key when a Message-ID
-- was readable, else by sha256(source, folder, uidvalidity, location).
CREATE TABLE message_locations (
    source          VARCHAR NOT NULL,
    folder          VARCHAR NOT NULL,
    uidvalidity     BIGINT NOT NULL,
    location        VARCHAR NOT NULL,
    message_key     VARCHAR NOT NULL,
    is_sent_folder  BOOLEAN NOT NULL,
    seen_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, folder, uidvalidity, location)
);
