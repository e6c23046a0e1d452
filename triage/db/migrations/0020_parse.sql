-- Parse: messages, threads, accounts, transcripts. Owned by triage/parse (docs/parsing.md).
-- accounts/contacts are replaced from the accounts file each run; threads, unknown_senders and
-- messages.direction/account_id/thread_id are recomputed over all messages each run.

CREATE TABLE accounts (
    account_id      VARCHAR PRIMARY KEY,
    name            VARCHAR NOT NULL,
    domains         VARCHAR[] NOT NULL,
    owner_am        VARCHAR,                      -- AM name
    am_email        VARCHAR,                      -- where the digest goes
    tier            VARCHAR,
    arr             DOUBLE,
    loaded_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE contacts (
    email           VARCHAR PRIMARY KEY,          -- lower case
    account_id      VARCHAR NOT NULL,
    name            VARCHAR,
    title           VARCHAR
);

-- One row per parsed message (key shared with raw_messages).
CREATE TABLE messages (
    message_key     VARCHAR PRIMARY KEY,
    message_id      VARCHAR,
    thread_id       VARCHAR,                      -- = threads.thread_id: stable hash of the JWZ root container's id
    in_reply_to     VARCHAR,
    references_ids  VARCHAR[],
    subject         VARCHAR,
    from_addr       VARCHAR,
    from_name       VARCHAR,
    to_addrs        VARCHAR[],
    cc_addrs        VARCHAR[],
    sent_at         TIMESTAMPTZ,                  -- Date header, else INTERNALDATE
    direction       VARCHAR NOT NULL,             -- inbound (client->us) | outbound (us->client) | internal | external
                                                  -- (external: from outside to only outside addresses, e.g. a list)
    account_id      VARCHAR,                      -- inbound: sender's account; outbound: first recipient's; NULL if none
    body_text       VARCHAR,                      -- full text (HTML converted; forwarded rfc822 parts appended)
    new_text        VARCHAR,                      -- only what this message newly says (no quotes, signature, disclaimer)
    link            VARCHAR,                      -- where to open it (imap://..., file://...)
    parsed_at       TIMESTAMPTZ NOT NULL,
    parser_version  VARCHAR NOT NULL
);

CREATE TABLE threads (
    thread_id       VARCHAR PRIMARY KEY,
    subject         VARCHAR,                      -- subject of the earliest message
    account_id      VARCHAR,                      -- most frequent account among its messages
    first_at        TIMESTAMPTZ,
    last_at         TIMESTAMPTZ,
    message_count   INTEGER NOT NULL
);

-- Senders/participants whose domain matched no account and is not ours. Listed, never dropped.
CREATE TABLE unknown_senders (
    address         VARCHAR PRIMARY KEY,
    domain          VARCHAR NOT NULL,
    first_seen_at   TIMESTAMPTZ NOT NULL,
    last_seen_at    TIMESTAMPTZ NOT NULL,
    message_count   INTEGER NOT NULL
);

CREATE TABLE transcripts (
    transcript_key  VARCHAR PRIMARY KEY,          -- sha256 of the file content
    path            VARCHAR NOT NULL,             -- absolute path; a changed file replaces its old row
    format          VARCHAR NOT NULL,             -- vtt | srt | otter | json
    title           VARCHAR,
    meeting_at      TIMESTAMPTZ,                  -- date in the file name, else in the file, else mtime (UTC)
    account_id      VARCHAR,                      -- account folder / <id>__ prefix / speakers; NULL = unknown
    utterance_count INTEGER NOT NULL,
    link            VARCHAR,                      -- file:///abs/path (append #t=<start_s> for a moment)
    parsed_at       TIMESTAMPTZ NOT NULL,
    parser_version  VARCHAR NOT NULL
);

CREATE TABLE utterances (
    transcript_key  VARCHAR NOT NULL,
    seq             INTEGER NOT NULL,
    speaker         VARCHAR,
    role            VARCHAR NOT NULL,             -- client | internal | unknown
    start_s         DOUBLE,                       -- NULL when the format has no times (QMSum JSON)
    end_s           DOUBLE,
    text            VARCHAR NOT NULL,
    PRIMARY KEY (transcript_key, seq)
);

-- Transcripts no account could be found for (kept, listed here for ops to fix the folder or file name).
CREATE VIEW v_transcripts_unassigned AS
SELECT transcript_key, path, title, meeting_at, utterance_count, parsed_at
FROM transcripts
WHERE account_id IS NULL
ORDER BY meeting_at DESC;
