-- Privacy (issue 16; owned by triage/privacy, docs/privacy.md): erasure audit, suppression list,
-- retention marks. Stable for ops: tables erasures, suppressions; column raw_messages.purged_at.

-- One random salt per database, made when this migration runs. The erasure audit and the suppression
-- list keep HMAC-SHA256(salt, value), never an address, a name, a domain or an account id itself.
CREATE TABLE privacy_salt (
    salt            VARCHAR NOT NULL
);
INSERT INTO privacy_salt SELECT replace(gen_random_uuid()::VARCHAR || gen_random_uuid()::VARCHAR, '-', '');

-- One row per `triage forget` that removed something: who asked for what, as a salted hash.
CREATE TABLE erasures (
    erasure_id      VARCHAR PRIMARY KEY,          -- uuid4
    subject_kind    VARCHAR NOT NULL,             -- address | account
    subject_hash    VARCHAR NOT NULL,             -- HMAC-SHA256(salt, lower-cased address | account id)
    erased_at       TIMESTAMPTZ NOT NULL,
    counts          JSON NOT NULL,                -- rows removed per table: {"raw_messages": 4, ...}
    author          VARCHAR                       -- who ran it (login name)
);

-- What ingest, the transcript scan and the accounts loader must never bring back. value_hash is
-- HMAC-SHA256(salt, value) of: address (lower case; mail from, to or mentioning it), domain (mail from
-- or to it), speaker (lower-cased name: transcript turns), message (message_key), transcript
-- (transcript_key = sha256 of the file), account (account id).
CREATE TABLE suppressions (
    kind            VARCHAR NOT NULL,             -- address | domain | speaker | message | transcript | account
    value_hash      VARCHAR NOT NULL,
    erasure_id      VARCHAR NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, value_hash)
);

-- Retention ([retention] raw_days): when the raw bytes of a message were dropped. The row stays (key,
-- hashes, size, where it was seen) so the message is never fetched again as new; it is never re-parsed.
ALTER TABLE raw_messages ADD COLUMN purged_at TIMESTAMPTZ;

-- Retention of meeting text: utterances.text becomes NULL when the raw window passes (speaker, role and
-- times stay until the derived window, so asks resolved in a meeting stay resolved).
ALTER TABLE utterances ALTER COLUMN text DROP NOT NULL;
