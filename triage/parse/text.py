"""Text helpers over already-decoded strings: HTML -> plain text, and byte decoding with fallbacks.

HTML mail is rendered to plain text so that it can be handled like a text/plain body: block elements
become lines, list items get a ``- `` bullet, and *quoted history* is kept but marked the way a text
mail client marks it, so the quote stripper (:mod:`triage.parse.quotes`) treats both alike:

* ``<blockquote>``, Gmail's ``div.gmail_quote``, Yahoo's ``div.yahoo_quoted``, Thunderbird's
  ``blockquote[type=cite]``: every line is prefixed with ``> ``;
* Outlook's reply header (``div#divRplyFwdMsg``, ``div#appendonsend``, the ``border-top`` header
  div, ``hr#stopSpelling``): a ``-----Original Message-----`` line is inserted before it.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
import warnings

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning
from bs4.element import Comment, NavigableString, Tag

__all__ = ["decode_bytes", "html_to_text", "normalise_text"]

ORIGINAL_MARKER = "-----Original Message-----"

_BLOCK = {
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "ul",
}
_SKIP = {
    "script",
    "style",
    "head",
    "title",
    "meta",
    "link",
    "noscript",
    "template",
    "svg",
    "object",
    "iframe",
}
_QUOTE_CLASSES = {"gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote"}
_OUTLOOK_IDS = {"divrplyfwdmsg", "appendonsend", "stopspelling", "mail-editor-reference-message-container"}
_OUTLOOK_BORDER = re.compile(r"border-top:\s*solid\s+#(?:b5c4df|e1e1e1)", re.I)

#: labels that really mean "we do not know": decode as UTF-8 if valid, else Windows-1252
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
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Decode ``data`` labelled ``charset``; return (text, note) where note names a fallback used.

    ASCII labels are read as UTF-8 (a superset) then Windows-1252; Latin-1 as Windows-1252; other
    known charsets strictly, then UTF-8, then the charset with replacement characters; unknown labels
    as UTF-8 if valid, else Windows-1252 with replacement characters. Never raises.
    """
    label = (charset or "").strip().strip("\"'").lower()
    if label in _ASCII_LABELS:
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError:
            return _cp1252(data), None
    note: str | None = None
    codec: str | None = None
    if label in _UNKNOWN_LABELS:
        note = f"unknown charset {charset!r}" if label else None
    else:
        try:
            codec = codecs.lookup(_SUPERSETS.get(label, label)).name
        except LookupError:
            note = f"unknown charset {charset!r}"
    if codec is not None:
        try:
            return data.decode(codec), None
        except UnicodeDecodeError:
            note = f"bytes invalid in {charset}"
        except (LookupError, ValueError, TypeError) as e:  # odd codecs (e.g. utf-7 edge cases)
            note = f"cannot decode {charset}: {e}"
            codec = None
    try:
        return data.decode("utf-8"), note
    except UnicodeDecodeError:
        pass
    if codec is not None and codec != "cp1252":
        try:
            return data.decode(codec, errors="replace"), note
        except (LookupError, ValueError, TypeError):
            pass
    return _cp1252(data), note


def _cp1252(data: bytes) -> str:
    """Windows-1252, with the five bytes it leaves undefined read as Latin-1 (never raises)."""
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return "".join(
            data[i : i + 1].decode("cp1252", errors="strict") if data[i] not in _CP1252_HOLES else chr(data[i])
            for i in range(len(data))
        )


def normalise_text(text: str) -> str:
    """Unix newlines, NFC, no control characters, no trailing spaces, at most two blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\xa0", " ").replace("\u200b", "").replace("\ufeff", "").replace("\u00ad", "")
    text = _CONTROL.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    return text.strip("\n")


class _Writer:
    """Accumulates inline text into lines; block boundaries flush a line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.buf: list[str] = []

    def text(self, s: str) -> None:
        self.buf.append(s)

    def newline(self) -> None:
        line = re.sub(r"[ \t\f\v]+", " ", "".join(self.buf)).strip()
        self.buf = []
        self.lines.append(line)

    def block(self) -> None:
        if self.buf:
            self.newline()
        if self.lines and self.lines[-1] != "":
            self.lines.append("")


def _classes(tag: Tag) -> set[str]:
    cls: object = tag.get("class") or []
    names = cls.split() if isinstance(cls, str) else [str(c) for c in cls] if isinstance(cls, list) else []
    return {c.lower() for c in names}


def _is_quote(tag: Tag) -> bool:
    if tag.name == "blockquote":
        return True
    return bool(_classes(tag) & _QUOTE_CLASSES)


def _is_outlook_header(tag: Tag) -> bool:
    ident = str(tag.get("id") or "").lower()
    if ident in _OUTLOOK_IDS:
        return True
    style = str(tag.get("style") or "")
    return tag.name == "div" and bool(_OUTLOOK_BORDER.search(style.replace("\n", " ")))


def _walk(node: Tag, out: _Writer, depth: int) -> None:
    for child in node.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            if node.name == "pre":
                parts = str(child).split("\n")
                for i, p in enumerate(parts):
                    if i:
                        out.newline()
                    out.text(p)
            else:
                out.text(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = (child.name or "").lower()
        if name in _SKIP:
            continue
        if depth > 200:  # pathological nesting: flatten the rest
            out.text(child.get_text(" "))
            continue
        if name == "br":
            out.newline()
            continue
        if name == "img":
            continue
        if _is_outlook_header(child):
            out.block()
            out.lines.append(ORIGINAL_MARKER)
        if _is_quote(child):
            inner = _Writer()
            _walk(child, inner, depth + 1)
            inner.block()
            out.block()
            for line in inner.lines:
                out.lines.append(f"> {line}".rstrip())
            out.block()
            continue
        is_block = name in _BLOCK
        if is_block:
            out.block() if name in ("p", "table", "ul", "ol", "blockquote", "pre", "hr") else (
                out.newline() if out.buf else None
            )
        if name == "li":
            out.text("- ")
        _walk(child, out, depth + 1)
        if name in ("td", "th"):
            out.text("  ")
        if is_block:
            out.block() if name in ("p", "table", "ul", "ol", "pre") else (out.newline() if out.buf else None)


def html_to_text(html: str) -> str:
    """Plain text of an HTML body, with quoted history marked (``> `` lines / Original Message)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(html, "html.parser")
    root = soup.body or soup
    out = _Writer()
    _walk(root, out, 0)
    out.block()
    return re.sub(r"\n{3,}", "\n\n", normalise_text("\n".join(out.lines)))
