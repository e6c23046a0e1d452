-- Poison inputs (issue 12): tell apart two different messages that carry the same Message-ID.

-- sha256 of the body (after the header block; CRLF as LF, trailing whitespace dropped): copies of one
-- message share it whatever headers were added on the way. When a Message-ID is already stored with
-- another body, the newcomer's message_key is sha256(message_id || 0x1f || body_sha256) instead
-- (triage/ingest/keys.py), so both are kept and analysed. NULL in rows stored before this migration
-- (filled in from `raw` the first time the id is seen again).
ALTER TABLE raw_messages ADD COLUMN IF NOT EXISTS body_sha256 VARCHAR;
