-- Language of each unit (issue 23; owned by triage/parse/language.py, docs/language.md): the parse stage
-- identifies the language of what a message newly says and of each meeting turn. The detectors are
-- English: units in a language not in [nlp] languages are not scored, and the call list says so
-- (reason unread_language). Rows parsed before this migration are identified by the next parse stage.

-- ISO 639-1 code of new_text (en, de, fr, es, it, nl, pt, pl, sv, da, nb, fi, cs, ru, tr, ja, zh, ko);
-- 'und' when too short to tell ("Thanks!", a name, a number: read as English); NULL until identified.
ALTER TABLE messages ADD COLUMN language VARCHAR;
-- The same for the turn's text.
ALTER TABLE utterances ADD COLUMN language VARCHAR;

-- Which languages each account writes and speaks in: one row per account (NULL: none), channel
-- (email | meeting), party (client | us | unknown) and language (mail a machine sent included).
CREATE VIEW v_languages AS
WITH units AS (
    SELECT m.account_id, 'email' AS source_type,
           CASE m.direction WHEN 'inbound' THEN 'client' WHEN 'outbound' THEN 'us' WHEN 'internal' THEN 'us'
                ELSE 'unknown' END AS party,
           m.language, m.sent_at AS at, m.link
    FROM messages m
    UNION ALL
    SELECT t.account_id, 'meeting' AS source_type,
           CASE u.role WHEN 'client' THEN 'client' WHEN 'internal' THEN 'us' ELSE 'unknown' END AS party,
           u.language, t.meeting_at AS at, t.link
    FROM utterances u JOIN transcripts t USING (transcript_key)
)
SELECT u.account_id, a.name AS account_name, a.owner_am, u.source_type, u.party, u.language,
       count(*) AS units, min(u.at) AS first_at, max(u.at) AS last_at, arg_max(u.link, u.at) AS newest_link
FROM units u
LEFT JOIN accounts a USING (account_id)
GROUP BY ALL
ORDER BY u.account_id NULLS LAST, u.source_type, u.party, units DESC, u.language;

-- Transcripts no account could be found for, now with the languages their turns are in.
CREATE OR REPLACE VIEW v_transcripts_unassigned AS
SELECT t.transcript_key, t.path, t.title, t.meeting_at, t.utterance_count, t.parsed_at,
       (SELECT list(DISTINCT u.language ORDER BY u.language) FROM utterances u
        WHERE u.transcript_key = t.transcript_key AND u.language IS NOT NULL) AS languages
FROM transcripts t
WHERE t.account_id IS NULL
ORDER BY t.meeting_at DESC;
