"""Erasure (issue 16): `triage forget priya.shah@acme-logistics.example` on a real run of the sample,
read from a local Maildir AND a real Dovecot; then a re-run and a full IMAP re-sync (new UIDVALIDITY)
must not bring her back, and every other account's rows stay as they were."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.nightly import nightly_triage
from tests.support.dovecot import DovecotServer, dovecot_fixture  # noqa: F401  (fixture)
from tests.support.flowrun import sample_config, table_counts
from tests.support.privacy import HER_WORDS, OTHERS_WORDS, PRIYA
from triage.cli import main
from triage.settings import sample_data_dir

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 20)
# rows of other accounts, compared before the erasure and after every later step (timestamps left out)
SNAPSHOTS = {
    "raw_messages": "SELECT message_key, content_sha256, raw FROM raw_messages r WHERE NOT EXISTS "
    "(SELECT 1 FROM messages m WHERE m.message_key = r.message_key AND m.account_id = 'acme')",
    "messages": "SELECT message_key, subject, from_addr, direction, account_id, new_text FROM messages "
    "WHERE account_id IS DISTINCT FROM 'acme'",
    "signals": "SELECT signal_id, kind, sentence, account_id, score FROM signals "
    "WHERE account_id IS DISTINCT FROM 'acme'",
    "asks": "SELECT ask_id, status, text, resolved_by FROM asks WHERE account_id IS DISTINCT FROM 'acme'",
    "utterances": "SELECT u.transcript_key, u.seq, u.speaker, u.text FROM utterances u JOIN transcripts t "
    "USING (transcript_key) WHERE t.account_id IS DISTINCT FROM 'acme'",
    "transcripts": "SELECT transcript_key, account_id, utterance_count FROM transcripts "
    "WHERE account_id IS DISTINCT FROM 'acme'",
    "contacts": "SELECT * FROM contacts WHERE account_id <> 'acme'",
    "call_list": "SELECT account_id, score, reasons, brief FROM call_list WHERE account_id <> 'acme'",
}


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sorted(con.execute(sql).fetchall(), key=repr)
    finally:
        con.close()


def _snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {name: _rows(db, sql) for name, sql in SNAPSHOTS.items()}


def _file_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name)).lower()


def _sample_mail(folder: str) -> list[bytes]:
    root = sample_data_dir() / "mail" / folder
    files = sorted(p for sub in ("cur", "new") for p in (root / sub).iterdir() if p.is_file())
    return [p.read_bytes() for p in files if p.read_bytes().strip()]  # Dovecot refuses empty messages


@pytest.fixture(scope="module")
def world(dovecot: DovecotServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The sample in a Maildir and on Dovecot (folders Clients + Sent), one run as of 2026-11-20."""
    tmp = tmp_path_factory.mktemp("forget")
    user = dovecot.add_user()
    os.environ[user.password_env] = user.password
    dovecot.append(user, "Clients", _sample_mail("INBOX"))
    dovecot.append(user, "Sent", _sample_mail("Sent"))
    imap = dovecot.source_toml(user, name="imap", folders=["Clients"], sent_folders=["Sent"])
    cfg = sample_config(tmp, extra="\n" + imap)
    first = nightly_triage(config_path=str(cfg), as_of=AS_OF)
    try:
        yield {"tmp": tmp, "cfg": cfg, "db": tmp / "triage.duckdb", "user": user, "first": first}
    finally:
        os.environ.pop(user.password_env, None)


def test_forget_priya_end_to_end(world: dict[str, Any], dovecot: DovecotServer,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    db, cfg = world["db"], str(world["cfg"])
    assert world["first"]["status"] == "completed"
    before = _snapshot(db)
    data = _file_bytes(db)
    # the probes find what is there before the erasure
    assert PRIYA.encode() in data and all(w.lower().encode() in data for w in HER_WORDS + OTHERS_WORDS)
    counts_before = table_counts(db)
    acme_turns = ("SELECT count(*) FROM utterances u JOIN transcripts t USING (transcript_key) "
                  "WHERE t.account_id = 'acme'")
    turns_before = _rows(db, acme_turns)[0][0]

    # dry run: per-table counts, nothing changes
    assert main(["--config", cfg, "forget", PRIYA, "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "dry run:" in dry and "nothing changed" in dry
    planned = {line.split()[0]: int(line.split()[1].replace(",", "")) for line in dry.splitlines()[:-1]}
    assert planned["raw_messages"] == 4 and planned["messages"] == 4  # her 4 mails (1 forward, 2 replies)
    assert planned["utterances"] == 2 and planned["signals"] > 0 and planned["asks"] > 0
    assert table_counts(db) == counts_before

    assert main(["--config", cfg, "forget", PRIYA, "--author", "dpo"]) == 0
    out = capsys.readouterr().out
    done = {line.split()[0]: int(line.split()[1].replace(",", "")) for line in out.splitlines()
            if len(line.split()) == 2 and line.split()[1].replace(",", "").isdigit()}
    assert done == planned
    assert "rebuilt the call list of 2026-11-20" in out and "rewrote the database file" in out
    _check_gone(db, before)
    audit = _rows(db, "SELECT subject_kind, subject_hash, counts, author FROM erasures")
    assert len(audit) == 1 and audit[0][0] == "address" and audit[0][3] == "dpo"
    assert PRIYA not in audit[0][1] and len(audit[0][1]) == 64
    assert json.loads(audit[0][2]) == {k: v for k, v in done.items() if v}
    # acme is still there, from what others said
    assert _rows(db, acme_turns)[0][0] == turns_before - 2 > 0

    # a re-run: the folder scan reads her files again and stores nothing of them
    again = nightly_triage(config_path=cfg, as_of=AS_OF)
    assert again["status"] == "completed" and again["fetched"] == 0 and again["parsed"] == 0
    _check_gone(db, before)

    # a full IMAP re-sync: the client folder is re-created (new UIDVALIDITY) and fetched from UID 1
    user = world["user"]
    old = dovecot.uidvalidity(user, "Clients")
    dovecot.delete_folder(user, "Clients")
    dovecot.append(user, "Clients", _sample_mail("INBOX"))
    assert dovecot.uidvalidity(user, "Clients") != old
    from triage import ingest
    from triage.db import open_database
    from triage.settings import load_settings

    settings = load_settings(cfg)
    report = ingest.sync_source(settings, "imap", open_database(settings), "resync")
    assert (report.fetched, report.suppressed) == (0, 4)  # everything else is known; hers is refused
    third = nightly_triage(config_path=cfg, as_of=AS_OF)
    assert third["status"] == "completed" and third["fetched"] == 0
    _check_gone(db, before)


def _check_gone(db: Path, before: dict[str, list[tuple[Any, ...]]]) -> None:
    data = _file_bytes(db)
    assert PRIYA.encode() not in data
    for words in HER_WORDS:
        assert words.lower().encode() not in data, words
    for words in OTHERS_WORDS:
        assert words.lower().encode() in data, words
    assert _snapshot(db) == before  # every other account's rows unchanged
    assert _rows(db, "SELECT count(*) FROM contacts WHERE email = 'priya.shah@acme-logistics.example'") == [(0,)]
