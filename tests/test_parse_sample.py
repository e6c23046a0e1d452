"""The parse stages over the bundled sample (triage/sample_data, see its EXPECTED.md)."""

from __future__ import annotations

from pathlib import Path

from bench.quote_eval import quote_markers
from tests.support.parse import count, insert_raw_many
from triage.db import Database
from triage.parse import ingest_transcripts, load_accounts, parse_pending
from triage.settings import load_settings, sample_data_dir


def test_bundled_sample_parses_as_its_stories_say(db: Database) -> None:
    settings = load_settings(None, use_env_config=False)  # the embedded defaults: the sample
    mail = sample_data_dir() / "mail"
    files = sorted(p for p in mail.rglob("*") if p.is_file() and not p.name.startswith("."))
    items = [(p.read_bytes(), p.relative_to(mail).parts[0], str(p.relative_to(mail))) for p in files]
    assert load_accounts(settings, db) >= 7
    insert_raw_many(db, [i for i in items if i[1] == "INBOX"])
    insert_raw_many(db, [i for i in items if i[1] == "Sent"], is_sent_folder=True)
    rep = parse_pending(settings, db, "sample")
    assert rep.parsed + rep.quarantined == count(db, "SELECT count(*) FROM raw_messages")
    with db.read() as con:
        reasons = sorted(r[0] for r in con.execute("SELECT reason FROM quarantine WHERE kind = 'mail'").fetchall())
        rows = con.execute("SELECT direction, account_id, from_addr, new_text FROM messages").fetchall()
        unknown = [r[0] for r in con.execute("SELECT address FROM unknown_senders").fetchall()]
    assert reasons == ["bad_mime", "empty"]  # the malformed MIME mail and the empty file
    assert unknown == ["kevin.marsh@globex-partners.example"]
    for direction, account, sender, text in rows:
        assert not quote_markers(text), text
        assert "-- " not in text and "Best,\n" not in text
        if sender.endswith("@northwind.example"):
            assert direction in ("outbound", "internal")
        else:
            assert direction == "inbound"
            assert (account is None) == (sender == "kevin.marsh@globex-partners.example")
    assert count(db, "SELECT count(*) FROM messages WHERE thread_id IS NULL") == 0
    assert count(db, "SELECT count(*) FROM threads WHERE message_count > 1") >= 8

    t = ingest_transcripts(settings, db, "sample")
    assert t.quarantined == 1
    with db.read() as con:
        bad = con.execute("SELECT reason, location FROM quarantine WHERE kind = 'transcript'").fetchall()
        unassigned = con.execute("SELECT count(*) FROM transcripts WHERE account_id IS NULL").fetchone()
        roles = dict(con.execute("SELECT DISTINCT speaker, role FROM utterances").fetchall())
    assert bad[0][0] == "bad_timestamp" and Path(bad[0][1]).parts[-2] == "fjord"
    assert unassigned == (0,)
    assert roles["Sam Okafor"] == roles["Mei Tanaka"] == roles["Dana Whitfield"] == "internal"
    assert roles["Priya Shah"] == "client"
    assert "unknown" not in roles.values()
