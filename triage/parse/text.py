"""Text helpers over already-decoded strings: HTML -> plain text (byte decoding: :mod:`triage.parse.charsets`).

HTML mail is rendered to plain text so that it can be handled like a text/plain body: block elements
become lines, list items get a ``- `` bullet, and *quoted history* is kept but marked the way a text
mail client marks it, so the quote stripper (:mod:`triage.parse.quotes`) treats both alike:

* ``<blockquote>``, Gmail's ``div.gmail_quote``, Yahoo's ``div.yahoo_quoted``, Thunderbird's
  ``blockquote[type=cite]``: every line is prefixed with ``> ``;
* Outlook's reply header (``div#divRplyFwdMsg``, ``div#appendonsend``, the ``border-top`` header
  div, ``hr#stopSpelling``): a ``-----Original Message-----`` line is inserted before it.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Callable

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning
from bs4.element import Comment, NavigableString, Tag

from triage.parse.charsets import decode_bytes

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
_CHECK_EVERY = 256
_OUTLOOK_BORDER = re.compile(r"border-top:\s*solid\s+#(?:b5c4df|e1e1e1)", re.I)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


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

    def __init__(self, check: Callable[[], None] | None = None) -> None:
        self.lines: list[str] = []
        self.buf: list[str] = []
        #: the caller's deadline check, called every _CHECK_EVERY elements
        self.check = check
        self.seen = 0

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
        out.seen += 1
        if out.check is not None and out.seen % _CHECK_EVERY == 0:
            out.check()
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
            inner = _Writer(out.check)
            inner.seen = out.seen
            _walk(child, inner, depth + 1)
            out.seen = inner.seen
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


def html_to_text(html: str, *, check: Callable[[], None] | None = None) -> str:
    """Plain text of an HTML body, with quoted history marked (``> `` lines / Original Message).

    ``check`` is called before and after parsing and every few hundred elements (a deadline:
    it raises to stop the conversion).
    """
    if check is not None:
        check()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(html, "html.parser")
    if check is not None:
        check()
    root = soup.body or soup
    out = _Writer(check)
    _walk(root, out, 0)
    out.block()
    return re.sub(r"\n{3,}", "\n\n", normalise_text("\n".join(out.lines)))
