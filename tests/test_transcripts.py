"""Transcript formats (Teams/Zoom VTT, SRT, Otter, JSON, QMSum), broken files, and the stage."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.parse import count
from triage.db import Database
from triage.errors import TranscriptError
from triage.parse import ingest_transcripts, load_accounts
from triage.parse.transcripts import parse_timestamp, parse_transcript
from triage.settings import Settings

FIX = Path(__file__).parent / "fixtures" / "parse" / "transcripts"

ACCOUNTS = """
[[account]]
id = "acme"
name = "Acme Logistics"
domains = ["acme-logistics.example"]
owner_am = "Dana Whitfield"
[[account.contacts]]
email = "priya@acme-logistics.example"
name = "Priya Shah"

[[account]]
id = "globex"
name = "Globex"
domains = ["globex.example"]
owner_am = "Luis Romero"
[[account.contacts]]
email = "ana@globex.example"
name = "Ana Lopez"
"""


def parse(name: str) -> list[tuple[str | None, float | None, float | None, str]]:
    doc = parse_transcript((FIX / name).read_bytes(), Path(name).suffix)
    return [(u.speaker, u.start_s, u.end_s, u.text) for u in doc.utterances]


def test_teams_vtt_voice_tags_notes_and_merging() -> None:
    doc = parse_transcript((FIX / "teams.vtt").read_bytes(), ".vtt")
    assert doc.format == "vtt" and doc.title == "Acme quarterly review"
    assert doc.meeting_date is not None and doc.meeting_date.isoformat() == "2025-11-18"
    assert parse("teams.vtt") == [
        ("Dana Whitfield", 1.0, 4.5, "Thanks for joining, everyone."),
        (
            "Priya Shah (Acme Logistics)",
            5.0,
            12.0,
            "Honestly, we are frustrated with the outages this month. If it happens again we will look at"
            " other vendors.",
        ),
        ("Dana Whitfield", 13.0, 16.0, "I hear you. I will send a root-cause report by Friday."),
    ]


def test_zoom_vtt_speaker_prefix() -> None:
    assert parse("zoom.vtt") == [
        ("Dana Whitfield", 0.5, 3.0, "Hi Priya, can you hear me?"),
        (
            "Priya Shah",
            3.2,
            10.0,
            "Yes. We'd like a quote for 200 more seats before the renewal. And the SSO add-on, please.",
        ),
        ("Dana Whitfield", 10.5, 62.125, "Great, I'll get that over today."),
    ]


def test_srt_with_names_and_tags() -> None:
    assert parse("call.srt") == [
        ("Dana Whitfield", 1.0, 4.0, "Where are we on the invoice issue?"),
        ("Jonas Weber", 4.5, 8.0, "It is still wrong. Please fix it by Monday."),
        (None, 8.5, 10.0, "(laughter)"),
    ]


def test_otter_txt_turns_and_date_line() -> None:
    doc = parse_transcript((FIX / "otter.txt").read_bytes(), ".txt")
    assert doc.format == "otter" and doc.meeting_date is not None and doc.meeting_date.day == 20
    assert parse("otter.txt") == [
        ("Dana Whitfield", 3.0, 12.0, "Morning Priya. Shall we start with the outage?"),
        (
            "Priya Shah",
            12.0,
            65.0,
            "Yes. The dashboard was down for two hours again. We need an answer from your engineering team.",
        ),
        ("Priya Shah", 65.0, 3675.0, "Also, who do we talk to about adding the Berlin office?"),
        ("Dana Whitfield", 3675.0, None, "I'll connect you with our solutions engineer."),
    ]


def test_plain_text_speaker_lines() -> None:
    doc = parse_transcript(b"Dana: Hello there.\nPriya: We need help.\nstill Priya talking\n", ".txt")
    assert [(u.speaker, u.text) for u in doc.utterances] == [
        ("Dana", "Hello there."),
        ("Priya", "We need help. still Priya talking"),
    ]


def test_generic_json_turns() -> None:
    doc = parse_transcript((FIX / "turns.json").read_bytes(), ".json")
    assert doc.title == "Globex kickoff" and doc.meeting_date is not None
    assert parse("turns.json") == [
        ("Luis Romero", 0.0, 2.5, "Welcome to the kickoff."),
        ("Ana Lopez", 3.0, 6.5, "When can we expect the first delivery?"),
        ("Luis Romero", 7.0, 9.0, "By the end of next week."),
    ]
    bare = parse_transcript(b'[{"speaker": "A", "text": "hi"}]', ".json")
    assert bare.utterances[0].start_s is None


def test_qmsum_json_from_shared_data(shared_data: Path) -> None:
    files = sorted((shared_data / "qmsum" / "train").glob("*.json"))[:10]
    assert files
    for f in files:
        raw = json.loads(f.read_text(encoding="utf-8"))["meeting_transcripts"]
        doc = parse_transcript(f.read_bytes(), ".json")
        assert 0 < len(doc.utterances) <= len(raw)
        assert all(u.text and "{vocalsound}" not in u.text and " ?" not in u.text for u in doc.utterances)
        assert {u.speaker for u in doc.utterances} <= {t["speaker"] for t in raw}


@pytest.mark.parametrize(
    ("data", "suffix", "reason"),
    [
        (b"", ".vtt", "empty"),
        (b"   \n\n ", ".txt", "empty"),
        (b"\x00\x01\x02PK\x03\x04 zip bytes", ".vtt", "binary"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(0, 32)) * 40, ".srt", "binary"),
        (b'{"meeting_transcripts": [', ".json", "invalid_json"),
        (b'{"meeting_transcripts": "nope"}', ".json", "bad_structure"),
        (b"[1, 2, 3]", ".json", "bad_structure"),
        (b'[{"speaker": "A"}]', ".json", "bad_structure"),
        (b'[{"speaker": "A", "text": "hi", "start": "soon"}]', ".json", "bad_timestamp"),
        (b'[{"speaker": "A", "text": "hi", "start": 5, "end": 1}]', ".json", "bad_timestamp"),
        (b"[]", ".json", "no_turns"),
        (b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:0x.000\nA: hi\n", ".vtt", "bad_timestamp"),
        (b"WEBVTT\n\n1\n00:00:05.000 --> 00:00:01.000\nA: hi\n", ".vtt", "bad_timestamp"),
        (b"WEBVTT\n\n1\n00:00:01.000 00:00:02.000\nA: hi\n", ".vtt", "bad_timestamp"),
        (b"WEBVTT\n\nNOTE only a note\n", ".vtt", "no_turns"),
        (b"1\n00:00:01,000 --> 00:00:02,000\nA: hi\n", ".vtt", "bad_header"),
        (b"1\n00:61:01,000 --> 00:00:02,000\nhi\n", ".srt", "bad_timestamp"),
        (b"just some notes\nwithout any turns\n", ".txt", "no_turns"),
        (b"Dana  0:30\nhello\nPriya  0:10\nback in time\n", ".txt", "bad_timestamp"),
        (b"anything", ".docx", "unsupported_format"),
    ],
)
def test_broken_transcripts_raise_with_reason(data: bytes, suffix: str, reason: str) -> None:
    with pytest.raises(TranscriptError) as e:
        parse_transcript(data, suffix)
    assert e.value.reason == reason


def test_timestamps() -> None:
    assert parse_timestamp("01:02:03.5") == 3723.5
    assert parse_timestamp("02:03,250") == 123.25
    assert parse_timestamp("0:12") == 12.0
    for bad in ("1:2:3:4", "00:60", "abc", "", "1:75:00"):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


def test_utf16_and_bom_files() -> None:
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nDana Whitfield: Grüße\n"
    for data in (text.encode("utf-16"), b"\xef\xbb\xbf" + text.encode()):
        doc = parse_transcript(data, ".vtt")
        assert doc.utterances[0].text == "Grüße"


# ---------------------------------------------------------------------------------------------
# the stage


@pytest.fixture
def meeting_settings(tmp_path: Path, make_settings: Callable[..., Settings]) -> Settings:
    (tmp_path / "accounts.toml").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "transcripts").mkdir()
    return make_settings(
        '[org]\nour_domains = ["northwind.example"]\naccounts_file = "accounts.toml"\n'
        'internal_people = ["Sam Support"]\n[transcripts]\npaths = ["transcripts"]\nmax_bytes = 200000\n'
    )


def _rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    with db.read() as con:
        return con.execute(sql).fetchall()


def test_stage_accounts_roles_dates_links(db: Database, meeting_settings: Settings, tmp_path: Path) -> None:
    root = tmp_path / "transcripts"
    (root / "acme").mkdir()
    shutil.copy(FIX / "zoom.vtt", root / "acme" / "2025-11-17 weekly.vtt")  # account folder + date in name
    shutil.copy(FIX / "turns.json", root / "globex__kickoff.json")  # prefix; date inside the file
    shutil.copy(FIX / "otter.txt", root / "sync.txt")  # account from speakers (Priya Shah is an Acme contact)
    (root / "misc").mkdir()
    (root / "misc" / "standup.srt").write_bytes(b"1\n00:00:01,000 --> 00:00:02,000\nSpeaker 1: hello\n")
    os.utime(root / "misc" / "standup.srt", (1_700_000_000, 1_700_000_000))
    (root / ".hidden.vtt").write_text("junk", encoding="utf-8")
    load_accounts(meeting_settings, db)
    rep = ingest_transcripts(meeting_settings, db, "r1")
    assert (rep.parsed, rep.skipped, rep.quarantined) == (4, 0, 0)
    assert rep.utterances == count(db, "SELECT count(*) FROM utterances")
    got = {
        Path(str(r[0])).name: r[1:]
        for r in _rows(db, "SELECT path, account_id, format, meeting_at, title, link FROM transcripts")
    }
    assert got["2025-11-17 weekly.vtt"][0:3] == ("acme", "vtt", datetime(2025, 11, 17, tzinfo=UTC))
    assert got["globex__kickoff.json"][0:4] == (
        "globex",
        "json",
        datetime(2025, 11, 21, tzinfo=UTC),
        "Globex kickoff",
    )
    assert got["sync.txt"][0:3] == ("acme", "otter", datetime(2025, 11, 20, tzinfo=UTC))
    assert got["standup.srt"][0] is None  # unknown: kept, listed in the view
    assert got["standup.srt"][2] == datetime.fromtimestamp(1_700_000_000, tz=UTC)  # mtime
    assert str(got["sync.txt"][4]).startswith("file:///") and str(got["sync.txt"][4]).endswith("/sync.txt")
    assert count(db, "SELECT count(*) FROM v_transcripts_unassigned") == 1
    roles = {
        (r[0], r[1])
        for r in _rows(db, "SELECT u.speaker, u.role FROM utterances u JOIN transcripts t USING (transcript_key)")
    }
    assert ("Dana Whitfield", "internal") in roles and ("Luis Romero", "internal") in roles  # owner AMs
    assert ("Priya Shah", "client") in roles and ("Ana Lopez", "client") in roles
    assert ("Speaker 1", "unknown") in roles


def test_stage_is_incremental_and_replaces_changed_files(
    db: Database, meeting_settings: Settings, tmp_path: Path
) -> None:
    root = tmp_path / "transcripts"
    f = root / "acme__call.srt"
    shutil.copy(FIX / "call.srt", f)
    load_accounts(meeting_settings, db)
    assert ingest_transcripts(meeting_settings, db, "r1").parsed == 1
    (old_key,) = _rows(db, "SELECT transcript_key FROM transcripts")[0]
    with db.write() as con:  # a signal the detector stored for the old version
        con.execute(
            "INSERT INTO signals (signal_id, kind, score, sentence, sentence_idx, source_type, source_key,"
            " party, "
            "detector, detector_version, created_at) VALUES ('s1', 'ask', 0.9, 'x', 0, 'meeting', ?,"
            " 'client', "
            "'d', 'v', now())",
            [old_key],
        )
    again = ingest_transcripts(meeting_settings, db, "r2")
    assert (again.parsed, again.skipped) == (0, 1)
    f.write_bytes(f.read_bytes() + b"\n4\n00:00:11,000 --> 00:00:12,000\nDana Whitfield: Will do.\n")
    changed = ingest_transcripts(meeting_settings, db, "r3")
    assert changed.parsed == 1
    assert count(db, "SELECT count(*) FROM transcripts") == 1
    assert count(db, "SELECT count(*) FROM utterances WHERE transcript_key = ?", [old_key]) == 0
    assert count(db, "SELECT count(*) FROM signals") == 0
    assert count(db, "SELECT count(*) FROM utterances") == 4


def test_stage_quarantines_broken_files_and_goes_on(db: Database, meeting_settings: Settings, tmp_path: Path) -> None:
    root = tmp_path / "transcripts"
    shutil.copy(FIX / "teams.vtt", root / "acme__ok.vtt")
    (root / "broken.json").write_text('{"meeting_transcripts": [', encoding="utf-8")
    (root / "big.vtt").write_bytes(b"WEBVTT\n\n" + b"x" * 300_000)
    (root / "empty.srt").write_bytes(b"")
    (root / "slides.pdf").write_bytes(b"%PDF-1.4")
    load_accounts(meeting_settings, db)
    rep = ingest_transcripts(meeting_settings, db, "r1")
    assert (rep.parsed, rep.quarantined) == (1, 4)
    reasons = dict(_rows(db, "SELECT reason, kind FROM quarantine"))
    assert set(reasons) == {"invalid_json", "too_large", "empty", "unsupported_format"}
    assert set(reasons.values()) == {"transcript"}
    # re-run: the same broken files are not counted again, nothing duplicated
    rep2 = ingest_transcripts(meeting_settings, db, "r2")
    assert (rep2.parsed, rep2.quarantined) == (0, 0)
    assert count(db, "SELECT count(*) FROM quarantine") == 4
    # fixing a file takes it out of quarantine
    shutil.copy(FIX / "turns.json", root / "broken.json")
    rep3 = ingest_transcripts(meeting_settings, db, "r3")
    assert rep3.parsed == 1
    assert count(db, "SELECT count(*) FROM quarantine WHERE reason = 'invalid_json'") == 0


def test_missing_folder_is_a_warning_not_a_crash(db: Database, make_settings: Callable[..., Settings]) -> None:
    s = make_settings('[transcripts]\npaths = ["does-not-exist"]\n')
    rep = ingest_transcripts(s, db, "r1")
    assert (rep.parsed, rep.quarantined) == (0, 0)
