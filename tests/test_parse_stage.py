"""parse_pending end to end against a real DuckDB file: stored or quarantined, idempotent,
resumable, direction/account, unknown senders, fallbacks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.parse import count, enron_dev_files, insert_raw, insert_raw_many
from triage.db import Database
from triage.parse import load_accounts, parse_pending
from triage.parse import messages as stage
from triage.parse.mime import parse_mail
from triage.settings import Settings

FIX = Path(__file__).parent / "fixtures" / "parse" / "mail"

ACCOUNTS = """
[[account]]
id = "acme"
name = "Acme Logistics"
domains = ["acme-logistics.example"]
owner_am = "Dana Whitfield"
am_email = "dana@northwind.example"
[[account.contacts]]
email = "priya@acme-logistics.example"
name = "Priya Shah"
"""


@pytest.fixture
def settings(tmp_path: Path, make_settings: Callable[..., Settings]) -> Settings:
    (tmp_path / "accounts.toml").write_text(ACCOUNTS, encoding="utf-8")
    return make_settings('[org]\nour_domains = ["northwind.example"]\naccounts_file = "accounts.toml"\n')


def _all_accounted_for(db: Database) -> None:
    """Every raw message is in messages or in quarantine, never both, never neither."""
    assert (
        count(
            db,
            """SELECT count(*) FROM raw_messages r WHERE
        (EXISTS (SELECT 1 FROM messages m WHERE m.message_key = r.message_key))::INT +
        (EXISTS (SELECT 1 FROM quarantine q
                 WHERE q.kind = 'mail' AND q.item_key = r.message_key))::INT <> 1""",
        )
        == 0
    )


def test_fixture_mail_end_to_end(db: Database, settings: Settings) -> None:
    load_accounts(settings, db)
    fixtures = sorted(FIX.glob("*.eml"))
    for f in fixtures:
        insert_raw(
            db,
            f.read_bytes(),
            folder="Sent" if "attachments" in f.name else "INBOX",
            location=f.name,
            is_sent_folder="attachments" in f.name,
        )
    bad = [
        insert_raw(db, b"", location="empty", key="k-empty"),
        insert_raw(db, b"no headers, just text\n", location="junk"),
        insert_raw(db, None, location="too-large", key="k-null"),
    ]
    rep = parse_pending(settings, db, "run-1")
    assert (rep.parsed, rep.quarantined) == (len(fixtures), 3)
    _all_accounted_for(db)
    reasons = dict(
        (k, (r, kind, stage_, loc))
        for k, r, kind, stage_, loc in db_rows(db, "SELECT item_key, reason, kind, stage, location FROM quarantine")
    )
    assert reasons[bad[0]][0] == "empty" and reasons[bad[1]][0] == "not_email" and reasons[bad[2]][0] == "no_content"
    assert {v[1:3] for v in reasons.values()} == {("mail", "parse")}
    assert reasons[bad[1]][3] == "junk"
    # direction, account, link, fallbacks
    rows = {
        r[0]: r[1:]
        for r in db_rows(
            db,
            "SELECT message_id, direction, account_id, link, sent_at, new_text, parser_version FROM messages",
        )
    }
    assert rows["<html-only-1@acme-logistics.example>"][0:2] == ("inbound", "acme")
    assert rows["<att-1@northwind.example>"][0:2] == ("outbound", "acme")  # our reply with only a PDF
    assert rows["<fwd-1@northwind.example>"][0:2] == ("internal", None)
    assert rows["<jp-1@kaisha.example>"][0:2] == ("inbound", None)
    assert rows["<alt-1@acme-logistics.example>"][2] == "file:///mail/INBOX/multipart_alternative.eml"
    internal = db_rows(
        db, "SELECT internal_date FROM raw_messages WHERE message_id = '<nodate-1@acme-logistics.example>'"
    )
    assert rows["<nodate-1@acme-logistics.example>"][3] == internal[0][0]  # no Date: INTERNALDATE
    assert rows["<alt-1@acme-logistics.example>"][3] == datetime(2025, 11, 20, 16, 0, tzinfo=UTC)
    assert (
        rows["<alt-1@acme-logistics.example>"][4] == "Hi Dana,\n\nThe pilot went well. We'd like a quote for 200 seats."
    )
    assert {r[5] for r in rows.values()} == {stage.PARSER_VERSION}
    # the attachment-only reply and the mail it answers are one thread
    threads = dict(db_rows(db, "SELECT message_id, thread_id FROM messages"))
    assert threads["<att-1@northwind.example>"] == threads["<html-only-1@acme-logistics.example>"]
    assert rep.threads == count(db, "SELECT count(*) FROM threads")
    # unknown senders: outside addresses with no account, counted per message
    unknown = dict(db_rows(db, "SELECT address, message_count FROM unknown_senders"))
    assert unknown["yamada@kaisha.example"] == 1 and unknown["jonas@kunde.example"] == 1
    assert not any(a.endswith(("@northwind.example", "@acme-logistics.example")) for a in unknown)
    assert rep.unknown_senders == len(unknown)
    # idempotent: a second run adds nothing and changes nothing
    snapshot = _snapshot(db)
    rep2 = parse_pending(settings, db, "run-2")
    assert (rep2.parsed, rep2.quarantined) == (0, 0)
    assert _snapshot(db) == snapshot


def db_rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    with db.read() as con:
        return con.execute(sql).fetchall()


def _snapshot(db: Database) -> tuple[object, ...]:
    return tuple(
        sorted(db_rows(db, q))
        for q in (
            "SELECT message_key, thread_id, direction, account_id, new_text FROM messages",
            "SELECT * FROM threads",
            "SELECT address, message_count FROM unknown_senders",
            "SELECT kind, item_key, reason FROM quarantine",
        )
    )


def test_sent_folder_alias_counts_as_ours(db: Database, settings: Settings) -> None:
    load_accounts(settings, db)
    raw = (
        b"Message-ID: <alias-1@x>\nDate: Mon, 3 Nov 2025 10:00:00 +0000\nFrom: dana.w@gmail.example\n"
        b"To: priya@acme-logistics.example\nSubject: Re: quote\n\nHere is the quote.\n"
    )
    insert_raw(db, raw, folder="Sent", is_sent_folder=True)
    parse_pending(settings, db, "r1")
    assert db_rows(db, "SELECT direction, account_id FROM messages") == [("outbound", "acme")]
    assert count(db, "SELECT count(*) FROM unknown_senders WHERE address = 'dana.w@gmail.example'") == 1


def test_new_account_re_resolves_old_mail(db: Database, settings: Settings, tmp_path: Path) -> None:
    load_accounts(settings, db)
    raw = (
        b"Message-ID: <g-1@globex.example>\nDate: Mon, 3 Nov 2025 10:00:00 +0000\nFrom: ana@globex.example\n"
        b"To: dana@northwind.example\nSubject: hello\n\nWhen can we talk pricing?\n"
    )
    insert_raw(db, raw)
    parse_pending(settings, db, "r1")
    assert db_rows(db, "SELECT account_id FROM messages") == [(None,)]
    assert count(db, "SELECT count(*) FROM unknown_senders WHERE domain = 'globex.example'") == 1
    (tmp_path / "accounts.toml").write_text(
        ACCOUNTS + '\n[[account]]\nid = "globex"\nname = "Globex"\ndomains = ["globex.example"]\n',
        encoding="utf-8",
    )
    load_accounts(settings, db)
    rep = parse_pending(settings, db, "r2")
    assert rep.parsed == 0
    assert db_rows(db, "SELECT account_id FROM messages") == [("globex",)]
    assert count(db, "SELECT count(*) FROM unknown_senders") == 0
    assert db_rows(db, "SELECT account_id FROM threads") == [("globex",)]


def test_crash_mid_run_resumes_without_duplicates(
    db: Database, settings: Settings, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_accounts(settings, db)
    files = enron_dev_files(shared_data)[:60]
    insert_raw_many(db, [(f.read_bytes(), "INBOX", f.name) for f in files])
    monkeypatch.setattr(stage, "BATCH_MESSAGES", 10)
    real = parse_mail
    calls = {"n": 0}

    def crashing(raw: bytes, *limits: object) -> object:
        calls["n"] += 1
        if calls["n"] == 35:
            raise KeyboardInterrupt("simulated crash")  # not a ParseError: the run dies mid-batch
        return real(raw, *limits)  # type: ignore[arg-type]

    monkeypatch.setattr(stage, "parse_mail", crashing)
    with pytest.raises(KeyboardInterrupt):
        parse_pending(settings, db, "r1")
    assert count(db, "SELECT count(*) FROM messages") == 30  # three committed batches, the 4th rolled back
    monkeypatch.setattr(stage, "parse_mail", parse_mail)
    rep = parse_pending(settings, db, "r2")
    assert rep.parsed == count(db, "SELECT count(*) FROM raw_messages") - 30
    _all_accounted_for(db)
    assert count(db, "SELECT count(*) FROM (SELECT message_key FROM messages GROUP BY 1 HAVING count(*) > 1)") == 0


def test_enron_dev_all_stored_or_quarantined(db: Database, settings: Settings, shared_data: Path) -> None:
    load_accounts(settings, db)
    files = enron_dev_files(shared_data)
    keys = insert_raw_many(db, [(f.read_bytes(), f.parent.name, str(f)) for f in files])
    rep = parse_pending(settings, db, "r1")
    assert rep.parsed + rep.quarantined == len(keys)
    _all_accounted_for(db)
    # Enron mail is neither ours nor a known account here: the senders are listed, not dropped
    assert rep.unknown_senders > 100
    assert count(db, "SELECT count(*) FROM messages WHERE new_text LIKE '%-----Original Message-----%'") == 0
    assert count(db, "SELECT count(*) FROM messages WHERE new_text LIKE '%Forwarded by%'") == 0
