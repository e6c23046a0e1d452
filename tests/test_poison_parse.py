"""Poison inputs for the parsers: every hostile message or transcript costs a bounded amount of work
and ends quarantined with a reason (too_deep, too_many_parts, parse_timeout); the good ones around
it are parsed. The hostile inputs are generated here."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.parse import count, insert_raw_many
from triage.db import Database
from triage.errors import ParseError
from triage.parse.accounts import Account, AccountBook
from triage.parse.budget import Budget, ParseLimits
from triage.parse.meetings import ingest_transcripts
from triage.parse.messages import parse_pending
from triage.parse.mime import parse_mail
from triage.parse.transcripts import parse_transcript

LEAF = b"From: priya@acme.example\r\nSubject: leaf\r\n\r\nWe will cancel our contract.\r\n"


def nested(depth: int, *, multipart: bool = False, leaf: bytes = LEAF) -> bytes:
    """``depth`` forwarded messages, each inside the next (plain message/rfc822, or inside multipart)."""
    inner = leaf
    for i in range(depth):
        head = b"From: fwd%d@acme.example\r\nSubject: Fwd %d\r\nMessage-ID: <n%d@acme.example>\r\n" % (i, i, i)
        if multipart:
            inner = (
                head + b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
                + b"Content-Type: text/plain\r\n\r\nsee below (%d)\r\n--b%d\r\n" % (i, i)
                + b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b%d--\r\n" % i
            )
        else:
            inner = head + b"Content-Type: message/rfc822\r\n\r\n" + inner
    return inner


def many_parts(n: int) -> bytes:
    parts = b"".join(b"--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(n))
    return (
        b"From: bulk@acme.example\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n"
        + parts + b"--p--\r\n"
    )


def reason_and_seconds(raw: bytes, limits: ParseLimits | None = None) -> tuple[str, float]:
    t = time.perf_counter()
    with pytest.raises(ParseError) as e:
        parse_mail(raw, limits)
    return e.value.reason, time.perf_counter() - t


@pytest.mark.parametrize("multipart", [False, True])
def test_message_nested_50_deep_is_too_deep_in_well_under_a_second(multipart: bool) -> None:
    reason, seconds = reason_and_seconds(nested(50, multipart=multipart))
    assert reason == "too_deep"
    assert seconds < 0.5, f"{seconds:.3f} s"


def test_hundreds_of_levels_that_exhaust_the_stdlib_parser_are_too_deep() -> None:
    reason, seconds = reason_and_seconds(nested(600, multipart=True))
    assert reason == "too_deep"
    assert seconds < 5


def test_each_part_is_walked_once_so_time_does_not_explode_with_depth() -> None:
    """Under the limit the parse is linear: 15 forwards (30 MIME levels) took ~10 s with the old
    re-walking parser; every forwarded message appears exactly once in the body."""
    t = time.perf_counter()
    p = parse_mail(nested(15, multipart=True))
    assert time.perf_counter() - t < 1.0
    assert p.body_text.count("---------- Forwarded message ----------") == 15
    assert p.body_text.count("We will cancel our contract.") == 1
    for i in range(15):
        assert p.body_text.count(f"see below ({i})") == 1
    assert p.new_text == "see below (14)"


def test_depth_limit_is_a_setting() -> None:
    raw = nested(6)
    assert parse_mail(raw).body_text.count("Forwarded message") == 6
    assert reason_and_seconds(raw, ParseLimits(max_depth=3))[0] == "too_deep"


def test_too_many_parts() -> None:
    assert parse_mail(many_parts(50), ParseLimits(max_parts=100)).body_text.startswith("part 0")
    assert reason_and_seconds(many_parts(150), ParseLimits(max_parts=100))[0] == "too_many_parts"
    # the default part limit (2,000), whatever the load on the machine (a loose deadline)
    reason, _ = reason_and_seconds(many_parts(5000), ParseLimits(timeout_seconds=600))
    assert reason == "too_many_parts"


def test_slow_html_body_is_stopped_by_the_deadline() -> None:
    html = "<div><p>We will <b>cancel</b></p><blockquote>old</blockquote></div>" * 20_000
    raw = (
        "From: priya@acme.example\r\nSubject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html
    ).encode()
    assert parse_mail(raw, ParseLimits(timeout_seconds=600)).body_text.startswith("We will cancel")
    reason, _ = reason_and_seconds(raw, ParseLimits(timeout_seconds=0.05))
    assert reason == "parse_timeout"


def test_budget_deadline_with_a_clock() -> None:
    now = [0.0]
    budget = Budget(ParseLimits(timeout_seconds=2), clock=lambda: now[0])
    budget.check()
    now[0] = 2.5
    with pytest.raises(ParseError) as e:
        budget.check("testing")
    assert e.value.reason == "parse_timeout" and "while testing" in e.value.detail


def test_transcript_under_a_deadline() -> None:
    stamp = [f"00:{i // 60 % 60:02d}:{i % 60:02d}" for i in range(3000)]
    cues = "".join(f"\n\n{i}\n{t}.000 --> {t}.500\nSpeaker {i % 3}: line {i}" for i, t in enumerate(stamp))
    data = ("WEBVTT" + cues + "\n").encode()
    assert len(parse_transcript(data, ".vtt").utterances) > 0
    with pytest.raises(ParseError) as e:
        parse_transcript(data, ".vtt", Budget(ParseLimits(timeout_seconds=0.0)))
    assert e.value.reason == "parse_timeout"
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ParseError) as e:
        parse_transcript(deep, ".json")
    assert e.value.reason == "too_deep"


def test_stage_quarantines_hostile_messages_and_parses_the_good_ones(db: Database) -> None:
    good = [
        b"Message-ID: <g%d@acme.example>\r\nFrom: priya@acme.example\r\nTo: dana@northwind.example\r\n"
        b"Subject: ok %d\r\n\r\nPlease send the quote by Friday.\r\n" % (i, i)
        for i in range(5)
    ]
    hostile = {
        "too_deep": b"Message-ID: <deep@x.example>\r\n" + nested(50),
        "too_deep_mp": b"Message-ID: <deep-mp@x.example>\r\n" + nested(50, multipart=True),
        "too_many_parts": b"Message-ID: <parts@x.example>\r\n" + many_parts(3000),
    }
    keys = insert_raw_many(db, [(r, "INBOX", f"good{i}") for i, r in enumerate(good)])
    bad_keys = insert_raw_many(db, [(r, "INBOX", name) for name, r in hostile.items()])
    book = AccountBook([Account("acme", "Acme", ("acme.example",))], our_domains=["northwind.example"])
    t = time.perf_counter()
    rep = parse_pending(db, book, "run-1")
    assert time.perf_counter() - t < 20
    assert (rep.parsed, rep.quarantined) == (len(keys), len(bad_keys))
    with db.read() as con:
        reasons = dict(con.execute("SELECT location, reason FROM quarantine WHERE stage = 'parse'").fetchall())
    assert reasons == {"too_deep": "too_deep", "too_deep_mp": "too_deep", "too_many_parts": "too_many_parts"}
    assert count(db, "SELECT count(*) FROM messages WHERE new_text LIKE 'Please send the quote%'") == 5
    again = parse_pending(db, book, "run-2")
    assert (again.parsed, again.quarantined) == (0, 0)


def test_transcript_stage_quarantines_a_slow_file_and_keeps_the_rest(db: Database, tmp_path: Path) -> None:
    root = tmp_path / "transcripts"
    root.mkdir()
    (root / "ok.txt").write_text("Priya Shah  0:01\nWe will cancel our contract.\n", encoding="utf-8")
    big = "WEBVTT" + "".join(f"\n\n00:00:{i % 60:02d}.000 --> 00:00:{i % 60:02d}.500\nA: x{i}" for i in range(20_000))
    (root / "big.vtt").write_text(big, encoding="utf-8")
    rep = ingest_transcripts(db, AccountBook(), [root], 10_000_000, "r1", limits=ParseLimits(timeout_seconds=0.01))
    assert (rep.parsed, rep.quarantined) == (1, 1)
    with db.read() as con:
        rows = con.execute("SELECT location, reason FROM quarantine WHERE kind = 'transcript'").fetchall()
    assert rows == [(str((root / "big.vtt").resolve()), "parse_timeout")]
