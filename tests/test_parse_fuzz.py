"""Property tests: arbitrary and malformed MIME and transcripts never crash the parsers or the
stages, and every input ends up either stored or quarantined (both sides counted)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.parse import count, insert_raw_many
from triage.db import Database, migrate
from triage.errors import ParseError, TranscriptError
from triage.parse.accounts import Account, AccountBook
from triage.parse.meetings import ingest_transcripts
from triage.parse.messages import parse_pending
from triage.parse.mime import parse_mail
from triage.parse.transcripts import parse_transcript

MAIL = Path(__file__).parent / "fixtures" / "parse" / "mail"
TRANSCRIPTS = Path(__file__).parent / "fixtures" / "parse" / "transcripts"
SEEDS = [p.read_bytes() for p in sorted(MAIL.glob("*.eml"))]
TSEEDS = [(p.suffix, p.read_bytes()) for p in sorted(TRANSCRIPTS.iterdir())]

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STAGE = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A real input with random byte edits: flips, inserts, deletes, truncation, duplication."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 12))):
        if not data:
            break
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]))
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=40))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 60))]
        elif op == "truncate":
            del data[i:]
        else:
            data[i:i] = data[i : i + draw(st.integers(1, 200))]
    return bytes(data)


_header_names = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Date",
        "Subject",
        "Message-ID",
        "References",
        "In-Reply-To",
        "Content-Type",
        "Content-Transfer-Encoding",
        "MIME-Version",
        "Content-Disposition",
        "Sender",
        "X-Weird",
    ]
)
_header_values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            'multipart/mixed; boundary="b"',
            "multipart/alternative",
            "text/html; charset=x-unknown",
            "text/plain; charset=utf-7",
            "message/rfc822",
            "base64",
            "quoted-printable",
            "=?utf-8?B?####?=",
            "=?iso-2022-jp?B?GyRC?=",
            '"Unclosed <a@b',
            "<<<>>>",
            "Mon, 99 Foo 2020 25:61:61 +9999",
            "<a@b> <c@d",
        ]
    ),
)


@st.composite
def structured_mail(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(st.tuples(_header_names, _header_values), max_size=10))
    body = draw(st.one_of(st.binary(max_size=400), st.text(max_size=400).map(lambda t: t.encode("utf-8", "replace"))))
    parts = draw(st.lists(st.binary(max_size=120), max_size=3))
    head = "\n".join(f"{k}: {v}" for k, v in headers).encode("utf-8", "surrogatepass")
    mime = b"".join(b"--b\nContent-Type: text/plain\n\n" + p + b"\n" for p in parts)
    return head + b"\n\n" + body + (b"\n" + mime + b"--b--\n" if parts else b"")


mail_inputs = st.one_of(st.binary(max_size=2000), mutated(SEEDS), structured_mail())


@FUZZ
@given(mail_inputs)
def test_parse_mail_never_crashes(raw: bytes) -> None:
    try:
        p = parse_mail(raw)
    except ParseError as e:
        assert e.reason in {
            "empty",
            "not_email",
            "bad_mime",
            "no_text",
            "undecodable",
            "too_deep",
            "too_many_parts",
            "parse_timeout",
        }
        return
    assert isinstance(p.body_text, str) and isinstance(p.new_text, str)
    assert len(p.new_text) <= len(p.body_text) + 1 or not p.body_text
    assert all("@" in a for a in [*p.to_addrs, *p.cc_addrs])
    assert p.sent_at is None or p.sent_at.tzinfo is not None


@STAGE
@given(st.lists(mail_inputs, min_size=1, max_size=25))
def test_parse_stage_stores_or_quarantines_every_input(raws: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as d:
        db = Database(Path(d) / "t.duckdb", lock_timeout_seconds=30)
        migrate(db)
        keys = insert_raw_many(db, [(r, "INBOX", f"{i}") for i, r in enumerate(raws)])
        book = AccountBook([Account("acme", "Acme", ("acme-logistics.example",))], our_domains=["northwind.example"])
        rep = parse_pending(db, book, "fuzz")
        stored = count(db, "SELECT count(*) FROM messages")
        quarantined = count(db, "SELECT count(*) FROM quarantine WHERE kind = 'mail'")
        assert stored + quarantined == len(keys)
        assert (rep.parsed, rep.quarantined) == (stored, quarantined)
        again = parse_pending(db, book, "fuzz-2")
        assert (again.parsed, again.quarantined) == (0, 0)


transcript_inputs = st.one_of(
    st.tuples(st.sampled_from([".vtt", ".srt", ".txt", ".json"]), st.binary(max_size=600)),
    st.sampled_from(TSEEDS).flatmap(lambda s: st.tuples(st.just(s[0]), mutated([s[1]]))),
    st.tuples(st.sampled_from([".vtt", ".srt", ".txt", ".json"]), st.text(max_size=400).map(str.encode)),
)


@FUZZ
@given(transcript_inputs)
def test_parse_transcript_never_crashes(item: tuple[str, bytes]) -> None:
    suffix, data = item
    try:
        doc = parse_transcript(data, suffix)
    except TranscriptError as e:
        assert e.reason in {
            "empty",
            "binary",
            "invalid_json",
            "bad_structure",
            "bad_timestamp",
            "no_turns",
            "bad_header",
            "unsupported_format",
            "undecodable",
            "too_deep",
            "parse_timeout",
        }
        return
    assert doc.utterances and all(u.text for u in doc.utterances)
    for u in doc.utterances:
        assert u.start_s is None or u.end_s is None or u.end_s >= u.start_s or doc.format == "otter"


@STAGE
@given(st.lists(transcript_inputs, min_size=1, max_size=12))
def test_transcript_stage_stores_or_quarantines_every_file(items: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "transcripts"
        root.mkdir()
        for i, (suffix, data) in enumerate(items):
            (root / f"f{i}{suffix}").write_bytes(data)
        db = Database(Path(d) / "t.duckdb", lock_timeout_seconds=30)
        migrate(db)
        rep = ingest_transcripts(db, AccountBook(), [root], 10_000, "fuzz")
        assert rep.parsed + rep.skipped + rep.quarantined == len(items)
        stored = count(db, "SELECT count(*) FROM transcripts")
        quarantined = count(db, "SELECT count(*) FROM quarantine WHERE kind = 'transcript'")
        assert stored == rep.parsed and quarantined == rep.quarantined
        again = ingest_transcripts(db, AccountBook(), [root], 10_000, "fuzz-2")
        assert (again.parsed, again.quarantined) == (0, 0)
        assert again.skipped == rep.parsed + rep.skipped
