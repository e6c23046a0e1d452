"""Local mail-folder source: the real Enron maildir files and Maildir trees into a real DuckDB file."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.dovecot import enron_dev_files, is_enron_sent
from triage import ingest
from triage.db import Database
from triage.errors import IngestError
from triage.ingest.keys import identify
from triage.settings import Settings

MakeSettings = Callable[..., Settings]


def rows(db: Database, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with db.read() as con:
        return con.execute(sql, params or []).fetchall()


def count(db: Database, sql: str, params: list[Any] | None = None) -> int:
    return int(rows(db, sql, params)[0][0])


def local_settings(make_settings: MakeSettings, path: str = "mail", **extra: Any) -> Settings:
    lines = ["[[sources.local]]", 'name = "enron"', f'path = "{path}"']
    lines += [f"{k} = {v}" for k, v in extra.items()]
    return make_settings("\n".join(lines) + "\n")


@pytest.fixture
def enron_copy(tmp_path: Path, shared_data: Path) -> list[tuple[str, bool]]:
    """The dev custodians copied to tmp_path/mail; returns (relative path, is sent) per file."""
    out = []
    for custodian, folder, src in enron_dev_files(shared_data):
        rel = f"{custodian}/{folder}/{src.name}"
        dst = tmp_path / "mail" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        out.append((rel, is_enron_sent(folder)))
    return out


def test_enron_files_are_all_stored_once_with_sent_folders_flagged(
    db: Database, make_settings: MakeSettings, enron_copy: list[tuple[str, bool]], tmp_path: Path
) -> None:
    settings = local_settings(make_settings)
    report = ingest.sync_source(settings, "enron", db, "run-1")
    assert len(enron_copy) == 928
    assert (report.fetched, report.already_known, report.quarantined) == (928, 0, 0)
    assert count(db, "SELECT count(*) FROM raw_messages") == 928
    assert (
        count(db, "SELECT count(DISTINCT message_id) FROM raw_messages WHERE message_id IS NOT NULL") == 928
    )
    located = dict(rows(db, "SELECT location, is_sent_folder FROM message_locations WHERE uidvalidity = 0"))
    assert located == dict(enron_copy)
    stored = rows(db, "SELECT location, folder, is_sent_folder, link, raw, run_id FROM raw_messages")
    for location, folder, sent, link, raw, run_id in stored:
        path = tmp_path / "mail" / location
        assert folder == Path(location).parent.as_posix()
        assert sent == dict(enron_copy)[location]
        assert link == path.resolve().as_uri() and link.startswith("file:///")
        assert bytes(raw) == path.read_bytes()
        assert run_id == "run-1"
    assert sum(1 for _, s in enron_copy if s) == count(
        db, "SELECT count(*) FROM raw_messages WHERE is_sent_folder"
    )
    assert count(db, "SELECT count(*) FROM quarantine") == 0


def test_rerun_reads_nothing_and_a_new_file_alone_is_stored(
    db: Database, make_settings: MakeSettings, enron_copy: list[tuple[str, bool]], tmp_path: Path
) -> None:
    settings = local_settings(make_settings)
    ingest.sync_source(settings, "enron", db, "run-1")
    # a recorded file is not read again: rewriting it changes nothing in the database
    known = tmp_path / "mail" / enron_copy[0][0]
    known.write_bytes(b"Message-ID: <rewritten@x.example>\r\n\r\nnot read again\r\n")
    again = ingest.sync_source(settings, "enron", db, "run-2")
    assert (again.fetched, again.already_known, again.quarantined) == (0, 0, 0)
    assert count(db, "SELECT count(*) FROM raw_messages") == 928

    new = tmp_path / "mail" / "allen-p" / "inbox" / "9999."
    new.write_bytes(b"Message-ID: <brand-new@client.example>\nFrom: c@client.example\nSubject: hi\n\nnew\n")
    third = ingest.sync_source(settings, "enron", db, "run-3")
    assert (third.fetched, third.already_known, third.quarantined) == (1, 0, 0)
    assert rows(
        db, "SELECT location, run_id FROM raw_messages WHERE message_id = '<brand-new@client.example>'"
    ) == [("allen-p/inbox/9999.", "run-3")]
    assert count(db, "SELECT count(*) FROM raw_messages") == 929


def test_empty_unreadable_and_oversized_files_are_quarantined_and_the_rest_stored(
    db: Database, make_settings: MakeSettings, enron_copy: list[tuple[str, bool]], tmp_path: Path
) -> None:
    inbox = tmp_path / "mail" / "arora-h" / "inbox"
    (inbox / "empty.").write_bytes(b"")
    (inbox / "blank.").write_bytes(b"\r\n  \r\n")
    (inbox / "dangling.").symlink_to(tmp_path / "no-such-file")  # unreadable whoever we are
    unreadable_by_mode = os.geteuid() != 0
    if unreadable_by_mode:
        (inbox / "mode000.").write_bytes(b"Message-ID: <locked@x>\r\n\r\nsecret\r\n")
        (inbox / "mode000.").chmod(0)
    big = b"Message-ID: <huge@client.example>\r\nSubject: attachment\r\n\r\n" + b"A" * 300_000
    (inbox / "huge.").write_bytes(big)
    settings = local_settings(make_settings, max_message_bytes=200_000)

    report = ingest.sync_source(settings, "enron", db, "run-1")
    bad = 4 + unreadable_by_mode
    assert (report.fetched, report.quarantined) == (928, bad)
    got = {
        r[0]: r[1:]
        for r in rows(db, "SELECT location, reason, stage, kind, detail, item_key FROM quarantine")
    }
    assert got["arora-h/inbox/empty."][:3] == ("empty", "ingest", "mail")
    assert got["arora-h/inbox/blank."][0] == "empty"
    assert got["arora-h/inbox/dangling."][0] == "unreadable"
    assert "cannot read" in got["arora-h/inbox/dangling."][3]
    assert got["arora-h/inbox/huge."][0] == "too_large"
    assert got["arora-h/inbox/huge."][4] == identify(big).message_key  # keyed by content, not place
    # every file is either stored or quarantined
    files = [p for p in (tmp_path / "mail").rglob("*") if p.is_file() or p.is_symlink()]
    assert count(db, "SELECT count(*) FROM message_locations") + len(got) == len(files)

    # a re-run re-sees them without counting them again
    before = dict(rows(db, "SELECT location, last_seen_at FROM quarantine"))
    again = ingest.sync_source(settings, "enron", db, "run-2")
    assert (again.fetched, again.quarantined) == (0, 0)
    after = dict(rows(db, "SELECT location, last_seen_at FROM quarantine"))
    assert set(after) == set(before) and all(after[k] > before[k] for k in after)

    # raising the limit lets the big message in and clears its quarantine row
    bigger = local_settings(make_settings, max_message_bytes=1_000_000)
    third = ingest.sync_source(bigger, "enron", db, "run-3")
    assert third.fetched == 1
    assert count(db, "SELECT count(*) FROM quarantine WHERE reason = 'too_large'") == 0
    assert count(db, "SELECT size_bytes FROM raw_messages WHERE message_id = '<huge@client.example>'") == len(
        big
    )


def _maildir(root: Path, folder: str) -> Path:
    for part in ("cur", "new", "tmp"):
        (root / folder / part).mkdir(parents=True, exist_ok=True)
    return root / folder


def test_maildir_tree_folders_metadata_and_moves(
    db: Database, make_settings: MakeSettings, tmp_path: Path
) -> None:
    root = tmp_path / "Maildir"
    inbox = _maildir(root, ".")
    sent = _maildir(root, ".Sent")
    client = _maildir(root, ".Clients.Acme")
    msg = b"Message-ID: <m1@client.example>\r\nFrom: c@client.example\r\n\r\nhello\r\n"
    ours = b"Message-ID: <r1@us.example>\r\nFrom: me@us.example\r\n\r\nreply\r\n"
    (inbox / "new" / "100.M1P1.host").write_bytes(msg)
    (inbox / "tmp" / "101.M2P1.host").write_bytes(b"Message-ID: <half-delivered@x>\r\n\r\n")
    (inbox / "dovecot-uidlist").write_text("3 V1 N2\n")
    (root / "subscriptions").write_text("Sent\n")
    (sent / "cur" / "200.M3P1.host:2,S").write_bytes(ours)
    (client / "cur" / "300.M4P1.host:2,").write_bytes(msg)  # the same mail filed twice
    (inbox / "cur" / ".hidden").write_bytes(b"junk")
    settings = make_settings('[[sources.local]]\nname = "md"\npath = "Maildir"\n')

    report = ingest.sync_source(settings, "md", db, "r1")
    assert (report.fetched, report.already_known, report.quarantined) == (2, 1, 0)
    locs = set(rows(db, "SELECT folder, location, is_sent_folder FROM message_locations"))
    assert locs == {
        ("INBOX", "new/100.M1P1.host", False),
        (".Sent", ".Sent/cur/200.M3P1.host:2,S", True),
        (".Clients.Acme", ".Clients.Acme/cur/300.M4P1.host:2,", False),
    }
    assert dict(rows(db, "SELECT message_id, is_sent_folder FROM raw_messages")) == {
        "<m1@client.example>": False,
        "<r1@us.example>": True,
    }

    # a mail client reads the message: new/ -> cur/ with flags; a new sighting, not a new message
    (inbox / "new" / "100.M1P1.host").rename(inbox / "cur" / "100.M1P1.host:2,S")
    moved = ingest.sync_source(settings, "md", db, "r2")
    assert (moved.fetched, moved.already_known) == (0, 1)
    assert count(db, "SELECT count(*) FROM raw_messages") == 2


def test_a_message_seen_in_sent_later_is_marked_ours(
    db: Database, make_settings: MakeSettings, tmp_path: Path
) -> None:
    root = tmp_path / "mail"
    (root / "inbox").mkdir(parents=True)
    (root / "inbox" / "1.eml").write_bytes(b"Message-ID: <cc-self@us.example>\r\n\r\nx\r\n")
    settings = make_settings('[[sources.local]]\nname = "m"\npath = "mail"\n')
    ingest.sync_source(settings, "m", db, "r1")
    assert rows(db, "SELECT is_sent_folder FROM raw_messages") == [(False,)]
    (root / "Sent").mkdir()
    (root / "Sent" / "1.eml").write_bytes(b"Message-ID: <cc-self@us.example>\r\n\r\nx\r\n")
    ingest.sync_source(settings, "m", db, "r2")
    assert rows(db, "SELECT is_sent_folder FROM raw_messages") == [(True,)]
    assert count(db, "SELECT count(*) FROM message_locations") == 2


def test_bundled_sample_is_ingested(db: Database) -> None:
    from triage.settings import load_settings

    settings = load_settings(use_env_config=False)
    report = ingest.sync_source(settings, "sample", db, "r1")
    assert report.fetched > 0 and report.folders == 2
    assert count(db, "SELECT count(*) FROM raw_messages WHERE folder = 'Sent' AND is_sent_folder") > 0
    assert count(db, "SELECT count(*) FROM raw_messages WHERE folder = 'INBOX' AND NOT is_sent_folder") > 0


def test_missing_folder_and_unknown_source_are_clear_errors(
    db: Database, make_settings: MakeSettings
) -> None:
    settings = local_settings(make_settings, path="does-not-exist")
    with pytest.raises(IngestError, match="mail folder of source 'enron' not found"):
        ingest.sync_source(settings, "enron", db, "r1")
    with pytest.raises(IngestError, match=r"unknown mail source 'nope'; configured sources: enron"):
        ingest.sync_source(settings, "nope", db, "r1")


def test_plain_tree_of_eml_files_root_and_nested(
    db: Database, make_settings: MakeSettings, tmp_path: Path
) -> None:
    root = tmp_path / "exports"
    (root / "Clients" / "Acme").mkdir(parents=True)
    (root / "top.eml").write_bytes(b"Message-ID: <top@x>\r\n\r\nroot level\r\n")
    (root / "Clients" / "Acme" / "a.eml").write_bytes(b"Message-ID: <a@x>\r\n\r\nnested\r\n")
    (root / "Clients" / "Acme" / ".DS_Store").write_bytes(b"\x00\x01finder junk")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_bytes(b"ref: refs/heads/main\n")
    settings = make_settings('[[sources.local]]\nname = "x"\npath = "exports"\n')
    report = ingest.sync_source(settings, "x", db, "r1")
    assert (report.fetched, report.quarantined, report.folders) == (2, 0, 2)
    assert set(rows(db, "SELECT folder, location FROM message_locations")) == {
        (".", "top.eml"),
        ("Clients/Acme", "Clients/Acme/a.eml"),
    }
