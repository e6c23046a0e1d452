-- Same-day escalations (owned by triage/publish/alerts.py, docs/scoring.md "Same-day alerts"): every
-- signal that alerted, recorded once, so no signal is ever mailed twice.
CREATE TABLE alert_log (
    signal_id       VARCHAR PRIMARY KEY,          -- = signals.signal_id
    account_id      VARCHAR,
    recipient       VARCHAR,                      -- the AM's address; NULL: the account has none (not mailed)
    reason          VARCHAR NOT NULL,             -- churn threat | escalation | strong frustration (0.91)
    message_id      VARCHAR,                      -- Message-ID of the alert mail
    sent_at         TIMESTAMPTZ NOT NULL
);
