-- Score: ask resolution, feedback, account scores and the daily call list. Owned by triage/score.
-- Stable for ops (documented in README "DuckDB schema"): tables asks, feedback, account_scores,
-- call_list, call_list_builds, digest_log; views v_call_list_today, v_account_signals, v_open_asks,
-- v_unknown_sender_signals.

-- Client asks and our own commitments, one row per ask/commitment signal, with how it was resolved.
-- Rebuilt by every build_call_list (state as of the latest build's as_of).
CREATE TABLE asks (
    ask_id          VARCHAR PRIMARY KEY,          -- = signals.signal_id
    kind            VARCHAR NOT NULL,             -- client_ask | our_commitment
    subtype         VARCHAR,                      -- the signal's subtype (question, request, ...)
    account_id      VARCHAR,
    thread_id       VARCHAR,
    source_type     VARCHAR NOT NULL,             -- email | meeting
    source_key      VARCHAR NOT NULL,             -- message_key | transcript_key
    text            VARCHAR NOT NULL,             -- the sentence
    asked_by        VARCHAR,                      -- sender address or speaker name
    opened_at       TIMESTAMPTZ,
    due_date        DATE,
    resolved_at     TIMESTAMPTZ,
    resolved_by     VARCHAR,                      -- message_key / transcript_key of the answer
    resolved_via    VARCHAR,                      -- thread_reply | account_reply | meeting | NULL
    status          VARCHAR NOT NULL,             -- open | resolved | dismissed
    age_business_days INTEGER,                    -- Mon-Fri days from opened_at to resolved_at or as_of
    overdue         BOOLEAN NOT NULL DEFAULT false,
    link            VARCHAR,                      -- where the ask was made (message, transcript moment)
    as_of           DATE NOT NULL,                -- the day ages and overdue flags refer to
    updated_at      TIMESTAMPTZ NOT NULL,
    run_id          VARCHAR
);

-- What account managers told us: `triage done ACCOUNT` and `triage dismiss SIGNAL --reason ...`.
CREATE TABLE feedback (
    feedback_id     VARCHAR PRIMARY KEY,
    action          VARCHAR NOT NULL,             -- done | dismiss
    account_id      VARCHAR,                      -- done: the account; dismiss: the signal's account
    signal_id       VARCHAR,                      -- dismiss: the signal
    reason          VARCHAR,                      -- dismiss: why; done: the optional note
    author          VARCHAR,
    created_at      TIMESTAMPTZ NOT NULL
);

-- Every scored account of a day, with the score's components (before the tier/value multiplier)
-- and the multipliers: {"frustration": 2.1, ..., "tier_multiplier": 1.3, "value_multiplier": 1.4}.
CREATE TABLE account_scores (
    as_of           DATE NOT NULL,
    account_id      VARCHAR NOT NULL,
    score           DOUBLE NOT NULL,
    components      JSON NOT NULL,
    listed          BOOLEAN NOT NULL DEFAULT false,
    skipped_reason  VARCHAR,                      -- done | below_min_score | beyond_max_accounts | NULL
    computed_at     TIMESTAMPTZ NOT NULL,
    run_id          VARCHAR,
    PRIMARY KEY (as_of, account_id)
);

-- The call list of a day, replaced as a whole by each build for that day.
CREATE TABLE call_list (
    as_of           DATE NOT NULL,
    rank            INTEGER NOT NULL,
    account_id      VARCHAR NOT NULL,
    account_name    VARCHAR,
    owner_am        VARCHAR,
    am_email        VARCHAR,
    score           DOUBLE NOT NULL,
    tier            VARCHAR,
    arr             DOUBLE,
    -- [{"kind","text","evidence","link","weight","occurred_at","signal_id"}], strongest first;
    -- the weights add up to the score
    reasons         JSON NOT NULL,
    -- open asks and commitments at as_of: [{"ask_id","kind","text","asked_by","opened_at","due_date",
    --  "age_business_days","overdue","link"}]
    open_asks       JSON NOT NULL,
    open_ask_count  INTEGER NOT NULL DEFAULT 0,
    overdue_ask_count INTEGER NOT NULL DEFAULT 0,
    brief           VARCHAR NOT NULL,
    last_evidence_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    run_id          VARCHAR,
    PRIMARY KEY (as_of, account_id)
);

-- One row per day a list was built (also when nothing needed a call), so readers know the latest day.
CREATE TABLE call_list_builds (
    as_of           DATE PRIMARY KEY,
    built_at        TIMESTAMPTZ NOT NULL,
    run_id          VARCHAR,
    accounts_scored INTEGER NOT NULL,
    accounts_listed INTEGER NOT NULL,
    asks_open       INTEGER NOT NULL,
    asks_overdue    INTEGER NOT NULL
);

-- Digests sent, so a re-run of the same day does not mail an AM twice (unless forced).
CREATE TABLE digest_log (
    as_of           DATE NOT NULL,
    recipient       VARCHAR NOT NULL,
    content_sha256  VARCHAR NOT NULL,
    accounts        INTEGER NOT NULL,
    message_id      VARCHAR NOT NULL,
    sent_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (as_of, recipient)
);

-- The most recent call list (the one the morning readers want).
CREATE VIEW v_call_list_today AS
SELECT c.*
FROM call_list c
WHERE c.as_of = (SELECT max(as_of) FROM call_list_builds)
ORDER BY c.rank;

-- Every signal that still counts (not dismissed), with its account.
CREATE VIEW v_account_signals AS
SELECT s.signal_id, s.account_id, a.name AS account_name, a.owner_am, s.kind, s.subtype, s.score,
       s.intensity, s.sentence, s.speaker, s.party, s.occurred_at, s.due_date, s.source_type,
       s.source_key, s.thread_id, s.link, s.detector, s.detector_version, s.created_at
FROM signals s
LEFT JOIN accounts a USING (account_id)
WHERE NOT EXISTS (
    SELECT 1 FROM feedback f WHERE f.action = 'dismiss' AND f.signal_id = s.signal_id
);

-- Asks and commitments still open at the latest build, oldest first, with the account.
CREATE VIEW v_open_asks AS
SELECT k.ask_id, k.kind, k.account_id, a.name AS account_name, a.owner_am, k.text, k.asked_by,
       k.opened_at, k.due_date, k.age_business_days, k.overdue, k.link, k.as_of
FROM asks k
LEFT JOIN accounts a USING (account_id)
WHERE k.status = 'open'
ORDER BY k.overdue DESC, k.age_business_days DESC, k.opened_at;

-- Signals from people of no known account (not on the call list, never silently dropped).
CREATE VIEW v_unknown_sender_signals AS
SELECT lower(coalesce(s.speaker, '(unknown)')) AS sender,
       count(*) AS signals,
       count(*) FILTER (WHERE s.kind = 'frustration') AS frustration,
       count(*) FILTER (WHERE s.kind = 'ask') AS asks,
       count(*) FILTER (WHERE s.kind = 'buying_signal') AS buying_signals,
       max(s.occurred_at) AS last_at,
       arg_max(s.sentence, s.score) AS example,
       arg_max(s.link, s.score) AS link
FROM v_account_signals s
WHERE (s.account_id IS NULL OR s.account_name IS NULL) AND s.party <> 'us'
GROUP BY 1
ORDER BY last_at DESC NULLS LAST;
