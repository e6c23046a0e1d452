"""Poison inputs at ingest: odd file names, link loops, links out of the source, FIFOs and two messages
sharing a Message-ID. Each is stored or quarantined with a reason; nothing stops the source and
nothing outside the source is read. The hostile files are made here."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage import ingest
from triage.db import Database
from triage.ingest.keys import identify
from triage.localfiles import escape_name, unescape_name
from triage.parse.accounts import AccountBook
from triage.parse.meetings import ingest_transcripts
from triage.parse.messages import parse_pending
from triage.settings import Settings

MakeSettings = Callable[..., Settings]


def rows(db: Database, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with db.read() as con:
        return con.execute(sql, params or []).fetchall()


def msg(mid: str, body: str, *, extra: str = "", crlf: bool = False) -> bytes:
    text = f"Message-ID: <{mid}>\nFrom: priya@acme.example\nTo: dana@northwind.example\nSubject: s\n{extra}\n{body}\n"
    return text.replace("\n", "\r\n").encode() if crlf else text.encode()


def maildir(root: Path) -> Path:
    for part in ("cur", "new", "tmp"):
        (root / part).mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def settings(make_settings: MakeSettings) -> Settings:
    return make_settings('[[sources.local]]\nname = "m"\npath = "Maildir"\n')


def test_escape_name_keeps_utf8_and_escapes_the_rest() -> None:
    assert escape_name("INBOX/new/1.M2:2,S") == "INBOX/new/1.M2:2,S"
    assert escape_name("Société/é.eml") == "Société/é.eml"
    assert escape_name(b"new/\xff\xfe\xe9x") == "new/\\xff\\xfe\\xe9x"
    assert escape_name(b"a\\xffb") == "a\\\\xffb"  # a literal backslash is escaped: no collision
    assert escape_name(os.fsdecode(b"n\xffo")) == "n\\xffo"  # surrogate-escaped str, as os.walk gives


@given(st.binary(min_size=1, max_size=60).filter(lambda b: b"\x00" not in b))
def test_escape_name_is_lossless(name: bytes) -> None:
    text = escape_name(name)
    text.encode("utf-8")  # storable anywhere
    assert unescape_name(text) == name


def test_non_utf8_file_name_is_stored_and_recognised_again(db: Database, settings: Settings, tmp_path: Path) -> None:
    root = maildir(tmp_path / "Maildir")
    odd = os.fsencode(root / "new") + b"/1.M1\xff\xfe\xe9P1.host"
    with open(odd, "wb") as f:
        f.write(msg("odd-name@acme.example", "We will cancel our contract."))
    (root / "new" / "2.M2P1.host").write_bytes(msg("plain@acme.example", "fine"))
    report = ingest.sync_source(settings, "m", db, "r1")
    assert (report.fetched, report.quarantined) == (2, 0)
    locations = {r[0] for r in rows(db, "SELECT location FROM message_locations")}
    assert locations == {"new/1.M1\\xff\\xfe\\xe9P1.host", "new/2.M2P1.host"}
    assert unescape_name("new/1.M1\\xff\\xfe\\xe9P1.host") == b"new/1.M1\xff\xfe\xe9P1.host"
    (link,) = rows(db, "SELECT link FROM raw_messages WHERE message_id = '<odd-name@acme.example>'")[0]
    assert link.endswith("1.M1%FF%FE%E9P1.host")
    again = ingest.sync_source(settings, "m", db, "r2")
    assert (again.fetched, again.already_known, again.quarantined) == (0, 0, 0)
    assert rows(db, "SELECT count(*) FROM message_locations") == [(2,)]


def test_links_loops_dangling_fifos_and_outside_targets(db: Database, settings: Settings, tmp_path: Path) -> None:
    root = maildir(tmp_path / "Maildir")
    new = root / "new"
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.eml"
    secret.write_bytes(msg("secret@elsewhere.example", "root:x:0:0:root:/root:/bin/bash"))
    (new / "good.host").write_bytes(msg("good@acme.example", "Please send the quote."))
    (new / "a").symlink_to("b")
    (new / "b").symlink_to("a")
    (new / "dangling").symlink_to(tmp_path / "nowhere")
    (new / "passwd").symlink_to(secret)
    (new / "inside").symlink_to(new / "good.host")  # a link within the source is fine
    os.mkfifo(new / "fifo")
    (root / "cur" / "dirlink").symlink_to(outside)  # a folder link leaving the source
    (root / "Out").symlink_to(outside)  # a subfolder that is a link out of the source

    report = ingest.sync_source(settings, "m", db, "r1")
    got = {loc: (reason, detail) for loc, reason, detail in rows(db, "SELECT location, reason, detail FROM quarantine")}
    assert got["new/a"][0] == got["new/b"][0] == "unreadable"
    assert "Too many levels of symbolic links" in got["new/a"][1]
    assert got["new/dangling"][0] == "unreadable"
    assert got["new/fifo"] == ("unreadable", f"cannot read {new / 'fifo'}: not a regular file")
    assert got["new/passwd"][0] == "outside_source" and str(secret) in got["new/passwd"][1]
    assert got["cur/dirlink"][0] == "outside_source"
    assert got["Out"][0] == "outside_source"
    assert report.quarantined == len(got) == 7
    stored = {r[0] for r in rows(db, "SELECT message_id FROM raw_messages")}
    assert stored == {"<good@acme.example>"}  # nothing from outside, the good one once
    assert {r[0] for r in rows(db, "SELECT location FROM message_locations")} == {"new/good.host", "new/inside"}
    assert not any(b"root:x:0:0" in bytes(r[0]) for r in rows(db, "SELECT raw FROM raw_messages"))
    again = ingest.sync_source(settings, "m", db, "r2")
    assert (again.fetched, again.quarantined) == (0, 0)
    assert rows(db, "SELECT count(*) FROM quarantine") == [(7,)]


def test_transcript_links_out_of_the_folder_are_not_read(db: Database, tmp_path: Path) -> None:
    root = tmp_path / "transcripts"
    (root / "acme").mkdir(parents=True)
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "notes.txt").write_text("Boss  0:01\nsecret plans\n", encoding="utf-8")
    (root / "acme" / "2026-11-10-sync.txt").write_text("Priya Shah  0:01\nWe will cancel.\n", encoding="utf-8")
    (root / "acme" / "leak.txt").symlink_to(outside / "notes.txt")
    (root / "acme" / "loop.txt").symlink_to("loop.txt")
    (root / "elsewhere").symlink_to(outside)
    odd = os.fsencode(root / "acme") + b"/2026-11-11-r\xe9union.txt"
    with open(odd, "wb") as f:
        f.write(b"Priya Shah  0:01\nBonjour.\n")
    rep = ingest_transcripts(db, AccountBook(), [root], 1_000_000, "r1")
    assert (rep.parsed, rep.quarantined) == (2, 3)
    reasons = {Path(loc).name: reason for loc, reason in rows(db, "SELECT location, reason FROM quarantine")}
    assert reasons == {"leak.txt": "outside_source", "loop.txt": "unreadable", "elsewhere": "outside_source"}
    paths = dict(rows(db, "SELECT path, title FROM transcripts"))
    assert paths[escape_name(odd)] == "2026-11-11-réunion"  # the title is read as text, the path kept exact
    assert not rows(db, "SELECT 1 FROM utterances WHERE text LIKE '%secret%'")
    again = ingest_transcripts(db, AccountBook(), [root], 1_000_000, "r2")
    assert (again.parsed, again.quarantined, again.skipped) == (0, 0, 2)


def test_same_message_id_different_body_keeps_both(db: Database, settings: Settings, tmp_path: Path) -> None:
    root = maildir(tmp_path / "Maildir")
    first = msg("reused@acme.example", "Thanks for the update, all good.")
    second = msg("reused@acme.example", "Unless this is fixed by Friday we will cancel our contract.")
    (root / "cur" / "1.host:2,S").write_bytes(first)
    report = ingest.sync_source(settings, "m", db, "r1")
    assert report.fetched == 1
    (root / "new" / "2.host").write_bytes(second)
    # the same messages again as copies with other trailing headers and line ends (another folder)
    copies = maildir(root / ".Copies")
    (copies / "cur" / "3.host:2,S").write_bytes(msg("reused@acme.example", "Thanks for the update, all good.",
                                                    extra="X-Folder: Copies\nReceived: by mx2\n", crlf=True))
    (copies / "cur" / "4.host:2,S").write_bytes(
        msg("reused@acme.example", "Unless this is fixed by Friday we will cancel our contract.", crlf=True)
    )
    report = ingest.sync_source(settings, "m", db, "r2")
    assert (report.fetched, report.already_known, report.quarantined) == (1, 2, 0)
    stored = rows(db, "SELECT message_key, message_id, body_sha256 FROM raw_messages ORDER BY fetched_at")
    assert len(stored) == 2 and {r[1] for r in stored} == {"<reused@acme.example>"}
    assert stored[0][0] == identify(first).message_key  # the first keeps the plain key
    assert stored[1][0] != stored[0][0] and stored[1][2] == identify(second).body_sha256
    by_location = dict(rows(db, "SELECT location, message_key FROM message_locations"))
    assert by_location["cur/1.host:2,S"] == by_location[".Copies/cur/3.host:2,S"] == stored[0][0]
    assert by_location["new/2.host"] == by_location[".Copies/cur/4.host:2,S"] == stored[1][0]
    # both are parsed: the client's second message is analysed
    parse_pending(db, AccountBook(), "r2")
    texts = {r[0] for r in rows(db, "SELECT new_text FROM messages")}
    assert texts == {"Thanks for the update, all good.", "Unless this is fixed by Friday we will cancel our contract."}
    again = ingest.sync_source(settings, "m", db, "r3")
    assert (again.fetched, again.quarantined) == (0, 0)


def test_rows_stored_before_body_hashes_are_filled_in(db: Database, settings: Settings, tmp_path: Path) -> None:
    root = maildir(tmp_path / "Maildir")
    (root / "cur" / "1.host:2,S").write_bytes(msg("old@acme.example", "first text"))
    ingest.sync_source(settings, "m", db, "r1")
    with db.write() as con:
        con.execute("UPDATE raw_messages SET body_sha256 = NULL")  # as a database from before 0050_poison
    (root / "cur" / "2.host:2,S").write_bytes(msg("old@acme.example", "first text", extra="X-Copy: 1\n"))
    (root / "cur" / "3.host:2,S").write_bytes(msg("old@acme.example", "another text"))
    report = ingest.sync_source(settings, "m", db, "r2")
    assert (report.fetched, report.already_known) == (1, 1)
    assert rows(db, "SELECT count(*) FROM raw_messages WHERE body_sha256 IS NULL") == [(0,)]
