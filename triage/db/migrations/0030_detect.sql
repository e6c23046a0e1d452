-- Detect: what the NLP detectors found, sentence by sentence. Owned by triage/nlp.

-- Which item was scored by which pipeline version (so re-runs skip it, and a new version re-scores).
CREATE TABLE detections (
    source_type     VARCHAR NOT NULL,             -- email | meeting
    source_key      VARCHAR NOT NULL,             -- message_key | transcript_key
    pipeline_version VARCHAR NOT NULL,
    sentences       INTEGER NOT NULL,
    detected_at     TIMESTAMPTZ NOT NULL,
    run_id          VARCHAR,
    content_sha256  VARCHAR,                      -- email: sha256(new_text) scored (re-scored when it changes)
    PRIMARY KEY (source_type, source_key, pipeline_version)
);

-- One row per (sentence, detector) above the detector's threshold.
CREATE TABLE signals (
    signal_id       VARCHAR PRIMARY KEY,          -- sha256(source_type, source_key, seq, sentence_idx, kind, detector_version)[:16]
    kind            VARCHAR NOT NULL,             -- frustration | buying_signal | ask | commitment
    subtype         VARCHAR,                      -- churn_threat, escalation, pricing, seats, renewal, question, request...
    score           DOUBLE NOT NULL,              -- detector probability 0..1
    intensity       DOUBLE,                       -- frustration: 0..1 (1 = churn threat / escalation)
    sentence        VARCHAR NOT NULL,             -- the evidence
    sentence_idx    INTEGER NOT NULL,
    source_type     VARCHAR NOT NULL,             -- email | meeting
    source_key      VARCHAR NOT NULL,
    utterance_seq   INTEGER,                      -- meetings: the utterance
    start_s         DOUBLE,                       -- meetings: the moment
    thread_id       VARCHAR,
    account_id      VARCHAR,
    speaker         VARCHAR,                      -- from address or speaker name
    party           VARCHAR NOT NULL,             -- client | us | unknown
    occurred_at     TIMESTAMPTZ,
    due_date        DATE,                         -- asks/commitments: "by Friday" resolved
    rules           VARCHAR[],                    -- rule patterns that fired
    detector        VARCHAR NOT NULL,             -- registered name, e.g. frustration.v1
    detector_version VARCHAR NOT NULL,            -- name + hash of its head, rule tables and floors
    link            VARCHAR,
    created_at      TIMESTAMPTZ NOT NULL,
    run_id          VARCHAR
);
