"""The suppression list: what an erasure keeps out for good, as salted hashes (never the values).

Pure over bytes and strings once loaded. :func:`load_suppressions` reads the salt and the list in the
caller's transaction; ingest (:mod:`triage.ingest.store`), the transcript scan and the accounts loader
ask the returned :class:`Suppressions` before they store anything.

A fetched message is checked on what it *says*, not on how it is encoded (:func:`decoded_text`): its
decoded headers (RFC 2047) and every text part after its transfer encoding (base64,
quoted-printable) and charset, HTML entities resolved. A message is refused whole when it comes from,
goes to, or names an erased address anywhere, names an erased person's full name (a quoted
"Priya Shah <...> wrote:" line, an Outlook "From: Priya Shah" block), or comes from or goes to an
erased account's domain or any subdomain of it. Refused, not trimmed: once quoted, her words cannot
be told apart from the writer's reliably, and the raw bytes would keep them in their transfer encoding
(docs/privacy.md).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

import duckdb

__all__ = [
    "KINDS",
    "Suppressions",
    "addresses_in",
    "decoded_text",
    "domain_suffixes",
    "header_addresses",
    "load_suppressions",
    "read_salt",
    "salted_hash",
]

KINDS = ("address", "domain", "speaker", "message", "transcript", "account")
_ADDRESS = re.compile(rb"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_TEXT_ADDRESS = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_HEADERS = ("from", "to", "cc", "bcc", "reply-to", "sender")
#: the headers whose decoded text is searched with the body: people and what the writer wrote
#: (Message-ID, References and Received carry machine names that are not about anyone)
_SAID_HEADERS = frozenset({*_HEADERS, "subject"})
_TAG = re.compile(r"<[^>]{0,2000}>")
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
#: bounds of the decoding walk (hostile mail: the parse stage quarantines what exceeds its own limits)
_MAX_PARTS = 2000
_MAX_DEPTH = 32
_MAX_TEXT_CHARS = 2_000_000
#: full names are matched as 2 to 4 consecutive words
_NAME_WORDS = (2, 3, 4)


def salted_hash(salt: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` (normalised: stripped, lower case) under the database's salt."""
    return hmac.new(salt.encode(), value.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()


def read_salt(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT salt FROM privacy_salt LIMIT 1").fetchone()
    if row is None:  # pragma: no cover - the migration inserts it
        raise RuntimeError("privacy_salt is empty")
    return str(row[0])


def addresses_in(raw: bytes) -> set[str]:
    """Every e-mail address written anywhere in a raw message (headers, body, quotes), lower case."""
    return {m.decode("ascii", "replace").lower().strip(".") for m in _ADDRESS.findall(raw)}


def header_addresses(raw: bytes) -> set[str]:
    """Addresses of From, To, Cc, Bcc, Reply-To and Sender, lower case."""
    msg = BytesHeaderParser(policy=compat32).parsebytes(raw, headersonly=True)
    values = [str(v) for h in _HEADERS for v in (msg.get_all(h) or [])]
    return {a.strip().lower() for _, a in getaddresses(values) if "@" in a}


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1]


def domain_suffixes(domain: str) -> list[str]:
    """``eu.acme.example`` -> ``eu.acme.example``, ``acme.example`` (never a bare top-level label)."""
    labels = domain.strip(".").lower().split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def _header_text(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # a broken encoded word: the undecoded value is still searched
        return value


def _parts(msg: Message) -> Iterator[Message]:
    """Every part once, depth-first, forwarded messages included, within the walk's bounds."""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    while stack and seen < _MAX_PARTS:
        part, depth = stack.pop()
        seen += 1
        yield part
        payload = part.get_payload()
        if depth < _MAX_DEPTH and isinstance(payload, list):
            stack.extend((p, depth + 1) for p in reversed(payload) if isinstance(p, Message))


def _part_text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = data.decode(charset, "replace")
    except LookupError:  # an unknown charset name
        text = data.decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        text = _TAG.sub(" ", text)
    return html.unescape(text)


def decoded_text(raw: bytes) -> str:
    """What a message says, as text: decoded headers of every level and every decoded text part."""
    try:
        msg = message_from_bytes(raw, policy=compat32)
    except Exception:  # unreadable MIME: the raw bytes are all there is to search
        return raw.decode("utf-8", "replace")
    out: list[str] = []
    size = 0
    try:
        for part in _parts(msg):
            out += [_header_text(str(v)) for k, v in part.items() if k.lower() in _SAID_HEADERS]
            if part.get_content_maintype() == "text" or part.get_content_type() == "message/rfc822":
                text = _part_text(part) if part.get_content_maintype() == "text" else ""
                out.append(text)
                size += len(text)
            if size > _MAX_TEXT_CHARS:
                break
    except (RecursionError, ValueError, TypeError, AttributeError, UnicodeError):
        out.append(raw.decode("utf-8", "replace"))
    return "\n".join(out)


def _names_in(text: str) -> Iterator[str]:
    words = [w.lower() for w in _WORD.findall(text[:_MAX_TEXT_CHARS])]
    for n in _NAME_WORDS:
        for i in range(len(words) - n + 1):
            yield " ".join(words[i : i + n])


@dataclass
class Suppressions:
    salt: str
    hashes: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})

    def __bool__(self) -> bool:
        return any(self.hashes.values())

    def has(self, kind: str, value: str | None) -> bool:
        return bool(value) and salted_hash(self.salt, value or "") in self.hashes[kind]

    def any_of(self, kind: str, values: Iterable[str]) -> bool:
        wanted = self.hashes[kind]
        return bool(wanted) and any(salted_hash(self.salt, v) in wanted for v in values)

    def message(self, message_key: str, raw: bytes) -> bool:
        """True when a fetched message must not be stored: erased before, or from, to or naming an
        erased person (address anywhere, or full name in its decoded text), or from or to an erased
        account's domain or a subdomain of it (see the module docstring)."""
        if not self:
            return False
        if self.has("message", message_key):
            return True
        headers = header_addresses(raw)
        if self.hashes["domain"] and self.any_of("domain", {s for a in headers for s in domain_suffixes(_domain(a))}):
            return True
        if not (self.hashes["address"] or self.hashes["speaker"]):
            return False
        if self.hashes["address"] and self.any_of("address", addresses_in(raw) | headers):
            return True
        text = decoded_text(raw)
        if self.hashes["address"]:
            found = {m.lower().strip(".") for m in _TEXT_ADDRESS.findall(text)}
            if self.any_of("address", found):
                return True
            if self.hashes["domain"] and self.any_of(
                "domain", {s for a in found for s in domain_suffixes(_domain(a))}
            ):
                return True
        return bool(self.hashes["speaker"]) and self.any_of("speaker", set(_names_in(text)))

    def domain(self, domain: str) -> bool:
        """An erased account's domain, or a subdomain of one."""
        return bool(self.hashes["domain"]) and self.any_of("domain", domain_suffixes(domain))


def load_suppressions(con: duckdb.DuckDBPyConnection) -> Suppressions:
    out = Suppressions(read_salt(con))
    for kind, value_hash in con.execute("SELECT kind, value_hash FROM suppressions").fetchall():
        out.hashes.setdefault(str(kind), set()).add(str(value_hash))
    return out
