"""Undeclared and lying charsets: the client's words come back exactly (charset-normalizer detection),
never as U+FFFD; what is no text in any charset is quarantined ``undecodable``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from triage.db import Database
from triage.errors import ParseError
from triage.parse.accounts import AccountBook
from triage.parse.charsets import decode_bytes, decode_text
from triage.parse.meetings import ingest_transcripts
from triage.parse.mime import parse_mail
from triage.parse.transcripts import parse_transcript

FRENCH = (
    "Bonjour Dana,\n\nNous allons résilier notre contrat à la fin du mois si le problème de facturation "
    "n'est pas réglé. C'était déjà promis pour la semaine dernière, et personne ne nous a répondu."
)
GERMAN = "Grüße aus München. Die Rechnung für November ist schon wieder falsch, wir kündigen den Vertrag."
JAPANESE = (
    "ダナ様\n\n請求書がまだ届いていません。来週までに送ってください。"
    "\nまた、追加で二十席分の見積もりもお願いします。"
)
RUSSIAN = "Здравствуйте! Счёт до сих пор не пришёл. Пришлите его до пятницы, иначе мы расторгнем договор."


def mail(body: bytes, content_type: str) -> bytes:
    return (
        b"From: client@acme.example\r\nTo: dana@northwind.example\r\nSubject: contract\r\n"
        b"Content-Type: " + content_type.encode() + b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body
    )


@pytest.mark.parametrize(
    ("text", "encoding", "declared"),
    [
        (FRENCH, "latin-1", "text/plain; charset=utf-8"),  # lying label
        (GERMAN, "cp1252", "text/plain; charset=utf-8"),
        (FRENCH, "cp1252", "text/plain"),  # no label
        (GERMAN, "latin-1", "text/plain; charset=x-unknown"),
        (JAPANESE, "shift_jis", "text/plain; charset=utf-8"),
        (JAPANESE, "euc_jp", "text/plain"),
        (RUSSIAN, "koi8-r", "text/plain; charset=utf-8"),
        (RUSSIAN, "cp1251", "text/plain"),
        (FRENCH, "utf-8", "text/plain; charset=iso-8859-1"),  # UTF-8 sent as Latin-1
        (GERMAN, "utf-8", "text/html; charset=windows-1252"),
    ],
)
def test_mail_with_lying_or_missing_charset_keeps_the_clients_words(text: str, encoding: str, declared: str) -> None:
    body = text.encode(encoding)
    if declared.startswith("text/html"):
        body = b"<html><body><p>" + body + b"</p></body></html>"
    p = parse_mail(mail(body, declared))
    assert "\ufffd" not in p.body_text
    assert p.body_text == text
    assert p.notes  # the fallback is noted


def test_correct_labels_are_read_as_declared_without_notes() -> None:
    p = parse_mail(mail(RUSSIAN.encode("koi8-r"), "text/plain; charset=koi8-r"))
    assert p.body_text == RUSSIAN and p.notes == []


def test_a_stray_byte_in_utf8_does_not_turn_the_mail_into_mojibake() -> None:
    raw = (GERMAN * 5).encode()
    text, note = decode_text(raw[:100] + b"\xff" + raw[100:], "utf-8")
    assert text is not None and text.count("\ufffd") == 1
    assert text.replace("\ufffd", "") == GERMAN * 5
    assert note and "corrupt" in note


def test_bytes_in_no_charset_are_undecodable() -> None:
    junk = os.urandom(4000).replace(b"\x00", b"")
    with pytest.raises(ParseError) as e:
        parse_mail(mail(junk, "text/plain; charset=utf-8"))
    assert e.value.reason == "undecodable"
    assert decode_text(junk, "utf-8")[0] is None
    assert decode_bytes(junk, "utf-8")[0]  # header fragments always get some text


@pytest.mark.parametrize(
    ("text", "encoding"), [(FRENCH, "latin-1"), (GERMAN, "cp1252"), (JAPANESE, "shift_jis"), (RUSSIAN, "cp1251")]
)
def test_non_utf8_transcripts_are_detected(text: str, encoding: str) -> None:
    lines = [line for line in text.split("\n") if line.strip()]
    otter = "".join(f"Priya Shah  0:{10 + i:02d}\n{line}\n\n" for i, line in enumerate(lines))
    doc = parse_transcript(otter.encode(encoding), ".txt")
    assert [u.text for u in doc.utterances] == lines  # Otter turns are kept one by one


def test_transcript_stage_stores_latin1_and_quarantines_undecodable(db: Database, tmp_path: Path) -> None:
    root = tmp_path / "transcripts"
    root.mkdir()
    (root / "latin1.vtt").write_bytes(
        ("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nJosé García: " + FRENCH.replace("\n", " ") + "\n").encode("latin-1")
    )
    (root / "junk.srt").write_bytes(os.urandom(3000).replace(b"\x00", b"\x01"))
    rep = ingest_transcripts(db, AccountBook(), [root], 1_000_000, "r1")
    assert (rep.parsed, rep.quarantined) == (1, 1)
    with db.read() as con:
        said = con.execute("SELECT speaker, text FROM utterances").fetchall()
        reasons = con.execute("SELECT reason FROM quarantine WHERE kind = 'transcript'").fetchall()
    assert said == [("José García", FRENCH.replace("\n\n", " "))]
    assert reasons[0][0] in ("undecodable", "binary")
