"""Hostile-but-realistic mail and transcript files, generated (never shipped), with what must become of
each: stored as a message, or quarantined with a reason at a stage.

Used by the hypothesis test over a Maildir (tests/test_poison_maildir.py) and by the acceptance night
(tests/test_poison_night.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HOSTILE_MAIL", "Expect", "good_mail", "hostile_transcripts", "nested_mail", "write_hostile_mail"]


@dataclass(frozen=True)
class Expect:
    """``stage`` 'message' (parsed into messages, body containing ``text``), 'ingest' or 'parse'
    (quarantined there with ``reason``), or 'any' (stored, or quarantined with any reason)."""

    stage: str
    reason: str | None = None
    text: str | None = None
    #: location(s) relative to the Maildir root (several for a link loop)
    locations: tuple[str, ...] = ()


def good_mail(mid: str, body: str, *, subject: str = "update", extra: str = "", body_encoding: str = "utf-8") -> bytes:
    """A client mail declaring UTF-8 (its body written in ``body_encoding``: a lying label when not UTF-8)."""
    head = (
        f"Message-ID: <{mid}>\nDate: Wed, 18 Nov 2026 09:00:00 +0000\nFrom: Priya Shah <priya@acme-logistics.example>\n"
        f"To: dana@northwind.example\nSubject: {subject}\nContent-Type: text/plain; charset=utf-8\n{extra}\n"
    )
    return head.encode() + body.encode(body_encoding) + b"\n"


def nested_mail(mid: str, depth: int, *, multipart: bool) -> bytes:
    inner = b"From: a@acme-logistics.example\r\nSubject: leaf\r\n\r\nleaf\r\n"
    for i in range(depth):
        head = b"From: f@acme-logistics.example\r\nSubject: Fwd %d\r\n" % i
        if multipart:
            inner = (
                head + b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
                + b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b%d--\r\n" % i
            )
        else:
            inner = head + b"Content-Type: message/rfc822\r\n\r\n" + inner
    return b"Message-ID: <" + mid.encode() + b">\r\n" + inner


def _many_parts(mid: str, n: int) -> bytes:
    parts = b"".join(b"--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(n))
    return (
        b"Message-ID: <" + mid.encode() + b">\r\nFrom: bulk@acme-logistics.example\r\nSubject: parts\r\n"
        b"Content-Type: multipart/mixed; boundary=p\r\n\r\n" + parts + b"--p--\r\n"
    )


Writer = Callable[[Path, Path, str], Expect]
FRENCH = "Nous allons résilier notre contrat à la fin du mois."


def _file(name: bytes | str, data: bytes, expect: Expect) -> Writer:
    def write(new: Path, outside: Path, tag: str) -> Expect:
        raw_name = (name if isinstance(name, bytes) else name.encode()) + tag.encode()
        with open(os.fsencode(new) + b"/" + raw_name, "wb") as f:
            f.write(data.replace(b"{tag}", tag.encode()))
        shown = raw_name.decode("utf-8", errors="backslashreplace")
        return Expect(expect.stage, expect.reason, expect.text, (shown,))

    return write


def _loop(new: Path, outside: Path, tag: str) -> Expect:
    (new / f"loop-a{tag}").symlink_to(f"loop-b{tag}")
    (new / f"loop-b{tag}").symlink_to(f"loop-a{tag}")
    return Expect("ingest", "unreadable", None, (f"loop-a{tag}", f"loop-b{tag}"))


def _dangling(new: Path, outside: Path, tag: str) -> Expect:
    (new / f"dangling{tag}").symlink_to(outside / "no-such-file")
    return Expect("ingest", "unreadable", None, (f"dangling{tag}",))


def _outside(new: Path, outside: Path, tag: str) -> Expect:
    secret = outside / f"passwd{tag}"
    secret.write_bytes(good_mail(f"leak{tag}@elsewhere.example", "root:x:0:0:root:/root:/bin/bash"))
    (new / f"passwd{tag}").symlink_to(secret)
    return Expect("ingest", "outside_source", None, (f"passwd{tag}",))


def _fifo(new: Path, outside: Path, tag: str) -> Expect:
    os.mkfifo(new / f"fifo{tag}")
    return Expect("ingest", "unreadable", None, (f"fifo{tag}",))


def _same_id(new: Path, outside: Path, tag: str) -> Expect:
    (new / f"dup-1{tag}").write_bytes(good_mail(f"dup{tag}@acme-logistics.example", "Thanks, all good on our side."))
    (new / f"dup-2{tag}").write_bytes(
        good_mail(f"dup{tag}@acme-logistics.example", "Unless this is fixed by Friday we will cancel our contract.")
    )
    return Expect("message", None, "we will cancel our contract", (f"dup-1{tag}", f"dup-2{tag}"))


HOSTILE_MAIL: dict[str, Writer] = {
    "nested_plain": _file("nested-plain", nested_mail("deep{tag}@x.example", 50, multipart=False),
                          Expect("parse", "too_deep")),
    "nested_multipart": _file("nested-mp", nested_mail("deepmp{tag}@x.example", 50, multipart=True),
                              Expect("parse", "too_deep")),
    "many_parts": _file("parts", _many_parts("parts{tag}@x.example", 5000), Expect("parse", "too_many_parts")),
    "non_utf8_name": _file(b"1.M1\xff\xfe\xe9P1", good_mail("odd{tag}@acme-logistics.example", "Odd name, fine."),
                           Expect("message", None, "Odd name, fine.")),
    "lying_charset": _file("latin1", good_mail("lie{tag}@acme-logistics.example", FRENCH, body_encoding="latin-1"),
                           Expect("message", None, FRENCH)),
    "empty": _file("empty", b"", Expect("ingest", "empty")),
    "binary": _file("binary", bytes(range(256)) * 40, Expect("any")),
    "nul_bytes": _file("nul", b"Message-ID: <nul{tag}@x.example>\nFrom: a@b.example\n\nhello\x00\x00world\n",
                       Expect("any")),
    "bad_encoded_words": _file("words", b"Message-ID: <ew{tag}@x.example>\nFrom: =?utf-8?B?####?= <a@b.example>\n"
                               b"Subject: =?x-unknown?Q?caf=E9?=\n\nSee subject.\n", Expect("any")),
    "link_loop": _loop,
    "dangling_link": _dangling,
    "outside_link": _outside,
    "fifo": _fifo,
    "same_message_id": _same_id,
}


def write_hostile_mail(
    new: Path, outside: Path, names: list[str], tag: str = "", *, prefix: str = "new"
) -> dict[str, Expect]:
    """Write the named hostile items into Maildir ``new/`` (``tag`` makes names and ids unique);
    their locations are ``prefix/<file name>`` (``new/...`` for a Maildir that is the source root)."""
    out = {}
    for name in names:
        exp = HOSTILE_MAIL[name](new, outside, tag)
        out[name] = Expect(exp.stage, exp.reason, exp.text, tuple(f"{prefix}/{loc}" for loc in exp.locations))
    return out


def hostile_transcripts(folder: Path, outside: Path) -> dict[str, str | None]:
    """Transcripts in other charsets (must be stored: None) and links (quarantine reason)."""
    folder.mkdir(parents=True, exist_ok=True)
    cue = "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n{who}: {said}\n"
    (folder / "2026-11-12-latin1.vtt").write_bytes(
        cue.format(who="José García", said="Nous allons résilier notre contrat, c'est décidé.").encode("latin-1")
    )
    (folder / "2026-11-13-sjis.vtt").write_bytes(
        cue.format(who="Yamada", said="請求書がまだ届いていません。来週までに送ってください。").encode("shift_jis")
    )
    (outside / "private.vtt").write_text(cue.format(who="Boss", said="secret"), encoding="utf-8")
    (folder / "leak.vtt").symlink_to(outside / "private.vtt")
    (folder / "loop.vtt").symlink_to("loop.vtt")
    return {
        "2026-11-12-latin1.vtt": None,
        "2026-11-13-sjis.vtt": None,
        "leak.vtt": "outside_source",
        "loop.vtt": "unreadable",
    }
