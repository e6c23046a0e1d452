"""Message identity: the key that makes the same mail, seen anywhere, stored once.

Pure functions over bytes. ``message_key`` is the sha256 hex of the normalised Message-ID
(``<local@domain>``, folding and whitespace removed) or, when the message has no usable Message-ID,
of the raw bytes. Only the header block is scanned for the id, so this is cheap even on large
messages.

Two *different* messages can carry the same Message-ID (a broken client, a template, a forger).
``body_sha256`` tells them apart: the sha256 of the body (everything after the header block) with
CRLF read as LF and trailing whitespace dropped. Copies of one message keep it, whatever headers
were added on the way (``Received``, ``X-Folder``, ``Status``, IMAP vs Maildir line ends); a
different text changes it. When a Message-ID is already stored with another body, the newcomer is
stored under :func:`variant_key` (the id *and* its body hash) instead of being taken for a copy.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = [
    "HEADER_SCAN_BYTES",
    "MessageIdentity",
    "body_sha256",
    "content_sha256",
    "header_block",
    "identify",
    "identify_header",
    "is_empty_message",
    "location_key",
    "normalise_message_id",
    "variant_key",
]

#: how much of a message is scanned for its header block (headers beyond this are ignored)
HEADER_SCAN_BYTES = 256 * 1024

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID_LINE = re.compile(rb"^message-id[ \t]*:", re.IGNORECASE | re.MULTILINE)
_NEXT_FIELD = re.compile(rb"\r?\n(?![ \t])")
_BRACKETED = re.compile(r"<([^<>]*)>")
_WS = re.compile(r"\s+")
# a usable id: something@something (RFC 5322 msg-id), printable, no brackets inside
_USABLE = re.compile(r"^[!-;=?-~]+@[!-;=?-~]+$")
_MAX_ID_LEN = 998


@dataclass(frozen=True)
class MessageIdentity:
    message_key: str
    message_id: str | None
    content_sha256: str
    body_sha256: str = ""


def content_sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def body_sha256(raw: bytes) -> str:
    """sha256 of the body (after the first empty line), CRLF as LF, trailing whitespace dropped."""
    m = _HEADER_END.search(raw)
    body = raw[m.end() :] if m else b""
    return hashlib.sha256(body.replace(b"\r\n", b"\n").rstrip()).hexdigest()


def variant_key(message_id: str, body_hash: str) -> str:
    """Key of a message whose Message-ID is already stored with a different body."""
    return hashlib.sha256(f"{message_id}\x1f{body_hash}".encode()).hexdigest()


def header_block(raw: bytes) -> bytes:
    """The header section of an RFC 822 message (up to the first empty line), at most HEADER_SCAN_BYTES."""
    head = raw[:HEADER_SCAN_BYTES]
    m = _HEADER_END.search(head)
    return head[: m.start()] if m else head


def _message_id_value(headers: bytes) -> bytes | None:
    m = _MESSAGE_ID_LINE.search(headers)
    if m is None:
        return None
    rest = headers[m.end() :]
    end = _NEXT_FIELD.search(rest)
    return rest[: end.start()] if end else rest


def normalise_message_id(value: str | bytes | None) -> str | None:
    """``<local@domain>`` from a Message-ID header value, or None when it is missing or unusable.

    Folding and all whitespace are removed; the angle brackets are kept (added when a bare
    ``local@domain`` was sent). Comments or junk around the id are ignored.
    """
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = _WS.sub("", text)
    m = _BRACKETED.search(text)
    candidate = m.group(1) if m else text
    if not candidate or len(candidate) > _MAX_ID_LEN or not _USABLE.match(candidate):
        return None
    return f"<{candidate}>"


def identify(raw: bytes) -> MessageIdentity:
    """Key, normalised Message-ID and content hash of one raw message."""
    digest = content_sha256(raw)
    mid = normalise_message_id(_message_id_value(header_block(raw)))
    key = hashlib.sha256(mid.encode("utf-8")).hexdigest() if mid else digest
    return MessageIdentity(message_key=key, message_id=mid, content_sha256=digest, body_sha256=body_sha256(raw))


def identify_header(headers: bytes) -> str | None:
    """message_key from a header block alone (for messages too large to fetch), or None without an id."""
    mid = normalise_message_id(_message_id_value(header_block(headers) if headers else b""))
    return hashlib.sha256(mid.encode("utf-8")).hexdigest() if mid else None


def is_empty_message(raw: bytes) -> bool:
    """True for a message with no content at all (zero bytes or whitespace only)."""
    return not raw.strip()


def location_key(source: str, folder: str, uidvalidity: int, location: str) -> str:
    """Quarantine key of an item that has no usable content key (empty, unreadable)."""
    parts = "\x1f".join((source, folder, str(uidvalidity), location))
    return hashlib.sha256(parts.encode("utf-8")).hexdigest()
