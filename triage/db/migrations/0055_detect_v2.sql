-- Detectors v2 (owned by triage/nlp): complaints next to frustration, and mail a machine sent.

-- Why a machine sent a message (list, bulk, auto_reply, delivery_report, no_reply_sender), from its
-- headers; NULL for a person's mail. Such mail is stored and threaded, but it is not evidence: the
-- detectors skip it.
ALTER TABLE messages ADD COLUMN machine_sent VARCHAR;

-- signals.kind now also holds 'complaint' (the client reports a problem; subtype broken, late, wrong,
-- missing, billing, performance, service). The unknown-sender view counts them (new column at the end).
CREATE OR REPLACE VIEW v_unknown_sender_signals AS
SELECT lower(coalesce(s.speaker, '(unknown)')) AS sender,
       count(*) AS signals,
       count(*) FILTER (WHERE s.kind = 'frustration') AS frustration,
       count(*) FILTER (WHERE s.kind = 'ask') AS asks,
       count(*) FILTER (WHERE s.kind = 'buying_signal') AS buying_signals,
       max(s.occurred_at) AS last_at,
       arg_max(s.sentence, s.score) AS example,
       arg_max(s.link, s.score) AS link,
       count(*) FILTER (WHERE s.kind = 'complaint') AS complaints
FROM v_account_signals s
WHERE (s.account_id IS NULL OR s.account_name IS NULL) AND s.party <> 'us'
GROUP BY 1
ORDER BY last_at DESC NULLS LAST;
