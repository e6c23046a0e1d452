"""Bytes -> text when the declared charset is missing, unknown or wrong.

Order, for a body part labelled ``charset`` (:func:`decode_text`):

1. a single-byte label (Latin-1, Windows-125x, KOI8-R...) on bytes that are valid UTF-8 with
   non-ASCII characters: UTF-8 (a client that sends UTF-8 but says Latin-1; the other way round is
   practically never valid UTF-8);
2. the declared charset, strictly (``iso-8859-1`` read as its superset Windows-1252, whose five
   undefined bytes are read as Latin-1); ASCII labels: UTF-8, then Windows-1252 (what 8-bit bytes
   under an ASCII label are in practice);
3. UTF-8, strictly; or UTF-8 with a few corrupt bytes replaced, when its real UTF-8 characters
   outnumber them (one stray byte must not turn a UTF-8 mail into mojibake);
4. detection with **charset-normalizer**, keeping the candidates whose "chaos" (mess) is within
   :data:`_TIE` of the best one and taking the first of them in :data:`_PRIOR` (the charsets that
   mail in the wild uses most). The re-ranking is ours because the library's own first choice is
   often a rare code page on e-mail-sized texts: measured on a 243-byte French Latin-1 paragraph it
   answers ``cp1257`` (``à`` -> ``ą``), on a German sentence ``mac_iceland``; with the re-ranking
   both come back exact, as do Shift-JIS, EUC-JP, ISO-2022-JP, KOI8-R and Windows-1251 texts;
5. nothing fits: the declared charset (else UTF-8) with replacement characters when that replaces
   at most 1% of the text (a few corrupt bytes in a real message), else the part is
   **undecodable** (:func:`decode_text` returns None; the mail parser quarantines it).

:func:`decode_bytes` is the never-failing variant for header fragments: its last resort is
Windows-1252.
"""

from __future__ import annotations

import codecs
import functools

from charset_normalizer import from_bytes

__all__ = ["decode_bytes", "decode_text", "detect_charset"]

#: labels that really mean "we do not know": UTF-8 if valid, else detection
_UNKNOWN_LABELS = {"", "unknown", "unknown-8bit", "x-unknown", "default", "x-user-defined", "charset"}
_ASCII_LABELS = {"us-ascii", "ascii", "ansi_x3.4-1968", "646", "us"}
_CP1252_HOLES = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
#: labels whose real-world content is usually the wider superset
_SUPERSETS = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso_8859-1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "tis-620": "cp874",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
}
#: detection candidates this close to the least messy one count as a tie ...
_TIE = 0.05
#: ... broken by how common the charset is in mail (Western first); then by the library's order
_PRIOR = (
    "cp1252",
    "iso8859_15",
    "cp1250",
    "cp1251",
    "koi8_r",
    "cp932",
    "euc_jp",
    "iso2022_jp",
    "gb18030",
    "big5",
    "cp949",
    "euc_kr",
    "iso8859_2",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "cp874",
)
#: at most this share of replacement characters is accepted in step 5
_MAX_REPLACED = 0.01


@functools.cache
def _single_byte(codec: str) -> bool:
    try:
        return len(bytes(range(256)).decode(codec, errors="replace")) == 256
    except (LookupError, ValueError, TypeError):
        return False


def _codec(label: str) -> str | None:
    try:
        return codecs.lookup(_SUPERSETS.get(label, label)).name
    except LookupError:
        return None


def _cp1252(data: bytes) -> str:
    """Windows-1252, with the five bytes it leaves undefined read as Latin-1 (never raises)."""
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return "".join(chr(b) if b in _CP1252_HOLES else bytes((b,)).decode("cp1252") for b in data)


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 text with a few corrupt bytes (replaced): real UTF-8 characters outnumber the bad bytes,
    and those are at most 1% of the text. Latin-1 or Shift-JIS text has no valid UTF-8 sequences, so
    it goes on to detection; a UTF-8 mail with one stray byte must not become mojibake."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    if bad <= 0 or non_ascii - bad <= bad or bad > len(text) * _MAX_REPLACED:
        return None
    return text


def detect_charset(data: bytes) -> str | None:
    """The charset charset-normalizer finds for ``data`` (re-ranked, see the module docstring), or None."""
    matches = list(from_bytes(data))
    if not matches:
        return None
    best = min(m.chaos for m in matches)
    ranked: list[tuple[int, int, str]] = []
    for i, m in enumerate(matches):
        if m.chaos > best + _TIE:
            continue
        for enc in dict.fromkeys([m.encoding, *m.could_be_from_charset]):
            ranked.append((_PRIOR.index(enc) if enc in _PRIOR else len(_PRIOR), i, enc))
    for *_, enc in sorted(ranked):
        try:
            data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        return enc
    return None


def _decode(data: bytes, charset: str | None) -> tuple[str | None, str | None, str | None]:
    """(text or None, note, the codec for a lossy last resort) of steps 1-4."""
    label = (charset or "").strip().strip("\"'").lower()
    if label in _ASCII_LABELS:
        text = _utf8(data)
        return (text if text is not None else _cp1252(data)), None, None
    note: str | None = None
    codec: str | None = None
    if label in _UNKNOWN_LABELS:
        note = f"unknown charset {charset!r}" if label else None
    else:
        codec = _codec(label)
        if codec is None:
            note = f"unknown charset {charset!r}"
    if codec is not None:
        if _single_byte(codec) and not data.isascii():
            text = _utf8(data)
            if text is not None:
                return text, f"declared {charset}, but the bytes are UTF-8", None
        try:
            return data.decode(codec), None, None
        except UnicodeDecodeError:
            if codec == "cp1252":
                return _cp1252(data), None, None
            note = f"bytes invalid in {charset}"
        except (LookupError, ValueError, TypeError) as e:  # odd codecs (e.g. utf-7 edge cases)
            note = f"cannot decode {charset}: {e}"
            codec = None
    text = _utf8(data)
    if text is not None:
        return text, note, None
    text = _mostly_utf8(data)
    if text is not None:
        return text, f"{note + '; ' if note else ''}UTF-8 with {text.count(chr(0xFFFD))} corrupt byte(s) replaced", None
    found = detect_charset(data)
    if found is not None:
        detected = f"detected {found}"
        return data.decode(found), f"{note}; {detected}" if note else detected, None
    return None, note, codec or "utf-8"


def decode_text(data: bytes, charset: str | None) -> tuple[str | None, str | None]:
    """(text, note) of a body labelled ``charset``; text is None when the bytes are undecodable."""
    text, note, lossy = _decode(data, charset)
    if text is not None or lossy is None:
        return text, note
    replaced = data.decode(lossy, errors="replace")
    share = replaced.count("\ufffd") / max(1, len(replaced))
    if share <= _MAX_REPLACED:
        return replaced, f"{note + '; ' if note else ''}{replaced.count(chr(0xFFFD))} corrupt byte(s) replaced"
    return None, note


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Like :func:`decode_text` but never fails: the last resort is Windows-1252 (header fragments)."""
    text, note, _ = _decode(data, charset)
    return (text if text is not None else _cp1252(data)), note
