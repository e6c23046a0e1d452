-- Units the detectors did not read (issue 23; owned by triage/nlp, docs/language.md): a message or a
-- meeting turn whose language (messages.language, utterances.language) is not in [nlp] languages is
-- recorded as handled, so the next run does not read it again, but it is not scored.

-- Units of the source left unread for their language when it was scored (e-mail: 0 or 1; meetings: turns);
-- 0 = all read; NULL = scored before this migration.
ALTER TABLE detections ADD COLUMN unread_units INTEGER;

-- What the detectors did not read, newest first: each message, and each meeting with unread turns, with
-- its account and the languages (meetings: of their turns that are neither English nor too short).
CREATE VIEW v_unread AS
SELECT d.source_type, d.source_key, coalesce(m.account_id, t.account_id) AS account_id, a.name AS account_name,
       a.owner_am,
       CASE WHEN d.source_type = 'email' THEN [m.language]
            ELSE (SELECT list(DISTINCT u.language ORDER BY u.language) FROM utterances u
                  WHERE u.transcript_key = d.source_key AND u.language NOT IN ('en', 'und')) END AS languages,
       CASE m.direction WHEN 'inbound' THEN 'client' WHEN 'outbound' THEN 'us' WHEN 'internal' THEN 'us'
            WHEN 'external' THEN 'unknown' END AS party,
       d.unread_units, coalesce(m.sent_at, t.meeting_at) AS occurred_at, coalesce(m.subject, t.title) AS subject,
       coalesce(m.link, t.link) AS link, d.pipeline_version, d.detected_at
FROM detections d
LEFT JOIN messages m ON d.source_type = 'email' AND m.message_key = d.source_key
LEFT JOIN transcripts t ON d.source_type = 'meeting' AND t.transcript_key = d.source_key
LEFT JOIN accounts a ON a.account_id = coalesce(m.account_id, t.account_id)
WHERE d.unread_units > 0
ORDER BY occurred_at DESC NULLS LAST, d.source_key;
