-- Actions of account managers (issue 20; owned by triage/score/feedback.py, docs/scoring.md "Feedback"):
-- besides `done` and `dismiss`, an AM can confirm a signal, close an ask or one of our promises by hand
-- (answered, e.g. on the phone) and snooze an account until a day. Every action can be undone: the row
-- stays, with who undid it and when, and the undo is a row of its own (action = 'undo'). Stable for ops: table feedback, view v_feedback.
ALTER TABLE feedback ADD COLUMN ask_id VARCHAR;        -- answered: the ask or promise closed (= signals.signal_id)
ALTER TABLE feedback ADD COLUMN until_date DATE;       -- snooze: off the list through this day
ALTER TABLE feedback ADD COLUMN reason_code VARCHAR;   -- dismiss: wrong_kind | not_client | already_handled
ALTER TABLE feedback ADD COLUMN source VARCHAR;        -- cli | web | digest | alert
ALTER TABLE feedback ADD COLUMN undoes VARCHAR;        -- undo: the feedback_id taken back
ALTER TABLE feedback ADD COLUMN undone_at TIMESTAMPTZ; -- set when the action was undone
ALTER TABLE feedback ADD COLUMN undone_by VARCHAR;     -- who undid it

-- Every action, with the account, the signal's words and kind, and whether it still holds.
CREATE VIEW v_feedback AS
SELECT f.feedback_id, f.action, f.account_id, a.name AS account_name, a.owner_am, f.signal_id, f.ask_id,
       s.kind AS signal_kind, s.sentence AS signal_sentence, f.reason_code, f.reason AS note, f.until_date,
       f.author, f.source, f.created_at, f.undone_at, f.undone_by, f.undone_at IS NULL AS active
FROM feedback f
LEFT JOIN accounts a USING (account_id)
LEFT JOIN signals s ON s.signal_id = coalesce(f.signal_id, f.ask_id);

-- Signals that do not count: dismissed ("Not a problem") and not undone, and every signal of the same kind
-- with the same words (case and spacing aside) as one dismissed as the wrong kind or as not the client's
-- words: the weekly report that says "The planning dashboard matched our own numbers again." is not a
-- complaint in any week. "Already handled" holds for that one signal only.
CREATE VIEW v_dismissed_signals AS
WITH said AS (
    SELECT f.signal_id, f.reason_code, s.kind, lower(trim(regexp_replace(s.sentence, '\s+', ' ', 'g'))) AS words
    FROM feedback f JOIN signals s ON s.signal_id = f.signal_id
    WHERE f.action = 'dismiss' AND f.undone_at IS NULL
)
SELECT signal_id, 'dismissed' AS via FROM said
UNION
SELECT s.signal_id, 'same words dismissed' AS via
FROM signals s JOIN said d ON d.kind = s.kind
     AND d.words = lower(trim(regexp_replace(s.sentence, '\s+', ' ', 'g')))
WHERE d.reason_code IN ('wrong_kind', 'not_client') AND s.signal_id <> d.signal_id;

-- A signal dismissed and then undone counts again.
CREATE OR REPLACE VIEW v_account_signals AS
SELECT s.signal_id, s.account_id, a.name AS account_name, a.owner_am, s.kind, s.subtype, s.score,
       s.intensity, s.sentence, s.speaker, s.party, s.occurred_at, s.due_date, s.source_type,
       s.source_key, s.thread_id, s.link, s.detector, s.detector_version, s.created_at
FROM signals s
LEFT JOIN accounts a USING (account_id)
WHERE s.signal_id NOT IN (SELECT signal_id FROM v_dismissed_signals);
