"""One e-mail from bytes to a :class:`ParsedMail`: headers, addresses, date, text body, new text.

Pure (no I/O). Parsing uses ``email.parser.BytesParser(policy=email.policy.default)``; every header
is read defensively: when the modern policy raises on a malformed header, the raw (compat32-style)
value is decoded instead and the fallback is noted. The MIME tree is walked once
(:mod:`triage.parse.mimewalk`) under a per-message :class:`~triage.parse.budget.Budget`. Bodies are
decoded from the transfer encoding and then with :func:`triage.parse.charsets.decode_text`
(declared charset, UTF-8, then charset-normalizer's detection), so an unknown or lying charset label
never turns the client's words into replacement characters.

A message that cannot be used raises :class:`triage.errors.ParseError` with a reason code:

* ``empty``: no bytes or only whitespace;
* ``not_email``: no header at all that a mail has (From, To, Cc, Date, Subject, Message-ID);
* ``bad_mime``: the MIME structure makes the parser fail, or leaves no readable body (the
  parser's defects are listed in the detail);
* ``no_text``: no text body and no attachment (nothing to analyse or show);
* ``undecodable``: a text part is in no charset (declared, UTF-8 or detected), or is mostly
  control characters (binary sent as text);
* ``too_deep`` / ``too_many_parts`` / ``parse_timeout``: past a limit of :class:`ParseLimits`
  (MIME nesting depth, number of parts, time).
"""

from __future__ import annotations

import email.errors
import email.header
import email.policy
import email.utils
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any

from triage.errors import ParseError
from triage.parse.budget import Budget, ParseLimits
from triage.parse.bulk import machine_sent
from triage.parse.charsets import decode_bytes, decode_text
from triage.parse.mimewalk import Level, walk
from triage.parse.quotes import new_text as strip_to_new_text
from triage.parse.text import html_to_text, normalise_text

__all__ = ["MAX_BODY_CHARS", "MAX_HTML_CHARS", "ParsedMail", "msgid_list", "normalise_msgid", "parse_mail"]

#: text kept per body (a 25 MB mail of text is not read by anyone; the rest is noted, not analysed)
MAX_BODY_CHARS = 1_000_000
#: header values longer than this are cut before parsing (pathological headers are slow to parse)
MAX_HEADER_CHARS = 100_000
#: HTML longer than this is cut before it is converted (its text would be cut at MAX_BODY_CHARS
#: anyway, and converting 25 MB of HTML takes half a minute)
MAX_HTML_CHARS = 2 * MAX_BODY_CHARS

#: exceptions the email package raises on malformed input (it has no single base class)
_EMAIL_ERRORS: tuple[type[BaseException], ...] = (
    email.errors.MessageError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    LookupError,
    UnicodeError,
    AssertionError,
    KeyError,
    RecursionError,
)
_MSGID = re.compile(r"<([^<>\s]{1,900})>")
_SURROGATES = re.compile(r"[\udc80-\udcff]")
_ADDR = re.compile(r"[\w.+'!#$%&*/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_GARBAGE = re.compile(r"[\ufffd\x00-\x08\x0b-\x1f]")
_MAIL_HEADERS = ("from", "to", "cc", "date", "subject", "message-id", "sender", "in-reply-to", "references")


@dataclass
class ParsedMail:
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    subject: str | None
    from_addr: str | None
    from_name: str | None
    to_addrs: list[str]
    cc_addrs: list[str]
    sent_at: datetime | None
    body_text: str
    new_text: str
    attachments: list[str] = field(default_factory=list)
    #: why a machine sent this message (mailing list, bulk, auto-reply...; :mod:`triage.parse.bulk`), or None
    machine_sent: str | None = None
    #: fallbacks used while parsing (unknown charset, broken header...), for logs and tests
    notes: list[str] = field(default_factory=list)


def _unsurrogate(s: str) -> str:
    """Undo surrogate-escaped raw 8-bit bytes (UTF-8, else Windows-1252)."""
    if not _SURROGATES.search(s):
        return s
    data = s.encode("utf-8", "surrogateescape")
    return decode_bytes(data, None)[0]


def normalise_msgid(value: str | None) -> str | None:
    """``<local@domain>`` from a Message-ID header value (first id), or None when there is none."""
    ids = msgid_list(value)
    return ids[0] if ids else None


def msgid_list(value: str | None) -> list[str]:
    """All message ids in a References / In-Reply-To value, in order, without duplicates."""
    if not value:
        return []
    text = _unsurrogate(str(value))
    found = [f"<{m}>" for m in _MSGID.findall(text)]
    if not found:
        # bare ids without angle brackets (some old clients): take tokens that look like local@domain
        found = [f"<{t.strip(',;')}>" for t in text.split() if "@" in t and len(t) < 900]
    return list(dict.fromkeys(found))


class _Headers:
    """Reads headers with the modern policy, falling back to the raw value when it raises."""

    def __init__(self, msg: Message) -> None:
        self.msg = msg
        self.notes: list[str] = []
        self._raw: dict[str, str] = {}
        for k, v in msg.raw_items():
            self._raw.setdefault(k.lower(), v)

    def present(self, name: str) -> bool:
        return name.lower() in self._raw

    def raw(self, name: str) -> str | None:
        v = self._raw.get(name.lower())
        if v is None:
            return None
        return v[:MAX_HEADER_CHARS]

    def text(self, name: str) -> str | None:
        raw = self.raw(name)
        if raw is None:
            return None
        if len(self._raw[name.lower()]) <= MAX_HEADER_CHARS:
            try:
                value = self.msg.get(name)
                text = None if value is None else _unsurrogate(str(value))
                if text is not None and "\ufffd" in text and "=?" in raw:
                    compat = _compat_decode(raw)  # e.g. =?unknown-8bit?...: our charset fallbacks do better
                    if "\ufffd" not in compat:
                        text = compat
                return _clean(text)
            except _EMAIL_ERRORS as e:
                self.notes.append(f"header {name}: {type(e).__name__}; used the raw value")
        else:
            self.notes.append(f"header {name}: longer than {MAX_HEADER_CHARS} characters; cut")
        return _clean(_compat_decode(raw))

    def addresses(self, name: str) -> list[tuple[str, str]]:
        """(display name, lower-case address) pairs; malformed entries are skipped.

        Modern policy first; when it yields no valid address, ``email.utils.getaddresses`` on the
        raw value; then any ``local@domain`` in the raw value.
        """
        raw = self.raw(name)
        if raw is None:
            return []
        pairs: list[tuple[str, str]] = []
        if len(self._raw[name.lower()]) > MAX_HEADER_CHARS:
            self.notes.append(f"header {name}: longer than {MAX_HEADER_CHARS} characters; cut")
        else:
            try:
                value: Any = self.msg.get(name)
                for a in getattr(value, "addresses", ()):
                    pairs.append((_unsurrogate(a.display_name or ""), _unsurrogate(a.addr_spec or "")))
            except _EMAIL_ERRORS as e:
                self.notes.append(f"header {name}: {type(e).__name__}; used the raw value")
        out = _valid(pairs)
        if not out:
            try:
                out = _valid(email.utils.getaddresses([_compat_decode(raw)]))
            except _EMAIL_ERRORS:
                out = []
        if not out:
            out = _valid([("", m) for m in _ADDR.findall(_unsurrogate(raw))])
            if out:
                self.notes.append(f"header {name}: malformed; took the addresses found in it")
        return out


def _valid(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out = []
    for display, addr in pairs:
        addr = addr.strip().strip("<>'\"").lower()
        if _ADDR.fullmatch(addr):
            out.append((_clean(display) or "", addr))
    return out


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    v = re.sub(r"\s+", " ", value.replace("\x00", "")).strip()
    return v or None


def _compat_decode(raw: str) -> str:
    """The compat32 reading of a raw header: RFC 2047 words decoded where possible, else as is."""
    raw = _unsurrogate(raw)
    try:
        parts = email.header.decode_header(raw)
        out = []
        for chunk, charset in parts:
            if isinstance(chunk, bytes):
                out.append(decode_bytes(chunk, charset)[0])
            else:
                out.append(chunk)
        return "".join(out)
    except _EMAIL_ERRORS:
        return raw


def _parse_date(headers: _Headers) -> datetime | None:
    if not headers.present("date"):
        return None
    dt: datetime | None = None
    try:
        value: Any = headers.msg.get("date")
        dt = getattr(value, "datetime", None)
    except _EMAIL_ERRORS as e:
        headers.notes.append(f"header Date: {type(e).__name__}")
    if dt is None:
        raw = headers.raw("date") or ""
        try:
            dt = email.utils.parsedate_to_datetime(_compat_decode(raw))
        except _EMAIL_ERRORS:
            dt = _dateutil(raw)
        if dt is None:
            headers.notes.append("header Date: unparseable; used the server date")
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # a date far outside what a real mail has is a broken clock: fall back to the server date
    if dt.year < 1980 or dt > datetime.now(UTC) + timedelta(days=2):
        headers.notes.append(f"header Date: implausible {dt.isoformat()}; used the server date")
        return None
    return dt


def _dateutil(raw: str) -> datetime | None:
    from dateutil import parser as dparser

    try:
        parsed: datetime = dparser.parse(raw, fuzzy=True)
    except (ValueError, OverflowError, TypeError):
        return None
    return parsed


def _decoded_text(part: Message, notes: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload() or "").encode("utf-8", "surrogateescape")
    charset = part.get_param("charset")
    label = charset if isinstance(charset, str) else None
    text, note = decode_text(payload, label)
    if note:
        notes.append(note)
    if text is None:
        raise ParseError(
            "undecodable",
            f"the {part.get_content_type()} part is not text in {label or 'any charset'} (nor in one detected)",
        )
    return text


def _part_text(part: Message, notes: list[str], budget: Budget) -> str:
    text = _decoded_text(part, notes)
    if len(text) >= 20 and _garbage_share(text) > 0.2:
        raise ParseError("undecodable", f"the {part.get_content_type()} part is mostly undecodable or control bytes")
    budget.check("decoding the body")
    if part.get_content_type() == "text/html":
        if len(text) > MAX_HTML_CHARS:
            notes.append(f"HTML body longer than {MAX_HTML_CHARS} characters; cut before conversion")
            text = text[:MAX_HTML_CHARS]
        return html_to_text(text, check=budget.checker("converting HTML to text"))
    return normalise_text(text)


def _body_and_extras(level: Level, notes: list[str], budget: Budget) -> tuple[str, str, list[str]]:
    """(main body text, forwarded text, attachment names) of one message of the tree."""
    msg = level.msg
    body_part: Message | None = None
    if isinstance(msg, EmailMessage):
        try:
            body_part = msg.get_body(preferencelist=("plain", "html"))
        except _EMAIL_ERRORS as e:
            notes.append(f"get_body: {type(e).__name__}")
    if body_part is None and level.texts:
        body_part = level.texts[0]
    body = _part_text(body_part, notes, budget) if body_part is not None else ""
    if body_part is not None and body_part.get_content_type() == "text/plain" and len(body.strip()) < 3:
        # an empty plain alternative next to a real HTML one
        html = next((p for p in level.texts if p.get_content_type() == "text/html"), None)
        if html is not None:
            body = _part_text(html, notes, budget)
    forwarded = [_forwarded_block(inner, notes, budget) for inner in level.forwards]
    attachments = [
        _unsurrogate(str(p.get_filename() or p.get_content_type())) for p in level.attachments if p is not body_part
    ]
    return body, "\n\n".join(f for f in forwarded if f), attachments


def _forwarded_block(inner: Level, notes: list[str], budget: Budget) -> str:
    h = _Headers(inner.msg)
    head = [f"{k}: {h.text(k)}" for k in ("From", "Date", "Subject", "To") if h.text(k)]
    body, fwd, _ = _body_and_extras(inner, notes, budget)
    parts = ["---------- Forwarded message ----------", *head, "", body]
    if fwd:
        parts += ["", fwd]
    return "\n".join(parts).strip()


def _all_parts(level: Level) -> list[Message]:
    out = list(level.parts)
    for inner in level.forwards:
        out += _all_parts(inner)
    return out


def _garbage_share(text: str) -> float:
    if not text:
        return 0.0
    return len(_GARBAGE.findall(text)) / len(text)


def parse_mail(raw: bytes, limits: ParseLimits | None = None) -> ParsedMail:
    """Parse one RFC 5322 message; raise :class:`ParseError` (with a reason code) when unusable.

    ``limits`` (default :class:`ParseLimits`) bound the nesting depth, the number of MIME parts and
    the time spent: past one the message is refused with ``too_deep``, ``too_many_parts`` or
    ``parse_timeout``.
    """
    budget = Budget(limits)
    if not raw or not raw.strip():
        raise ParseError("empty", "the message has no bytes")
    try:
        msg = BytesParser(policy=email.policy.default).parsebytes(raw)
    except RecursionError as e:
        # the stdlib parser recurses once per nesting level: hundreds of levels exhaust the stack
        raise ParseError("too_deep", "the MIME parser gave up: parts nested hundreds of levels deep") from e
    except _EMAIL_ERRORS as e:
        raise ParseError("bad_mime", f"the MIME parser failed: {type(e).__name__}: {e}") from e
    budget.check("reading the MIME structure")
    headers = _Headers(msg)
    if not any(headers.present(h) for h in _MAIL_HEADERS):
        raise ParseError("not_email", "no From, To, Date, Subject or Message-ID header")
    notes = headers.notes
    try:
        tree = walk(msg, budget)
        body, forwarded, attachments = _body_and_extras(tree, notes, budget)
    except _EMAIL_ERRORS as e:
        raise ParseError("bad_mime", f"cannot read the body: {type(e).__name__}: {e}") from e
    if not body.strip() and not forwarded.strip() and not attachments:
        defects = sorted({type(d).__name__ for part in _all_parts(tree) for d in part.defects})
        if defects:
            raise ParseError("bad_mime", f"no readable body; MIME defects: {', '.join(defects)}")
        raise ParseError("no_text", "no text body and no attachment")
    full = body if not forwarded else (f"{body}\n\n{forwarded}" if body.strip() else forwarded)
    if len(full) > MAX_BODY_CHARS:
        notes.append(f"body longer than {MAX_BODY_CHARS} characters; cut")
        full = full[:MAX_BODY_CHARS]
        body = body[:MAX_BODY_CHARS]
    senders = headers.addresses("from") or headers.addresses("sender")
    from_name, from_addr = senders[0] if senders else (None, None)
    subject = headers.text("subject")
    refs = msgid_list(headers.raw("references"))
    irt = msgid_list(headers.raw("in-reply-to"))
    return ParsedMail(
        message_id=normalise_msgid(headers.raw("message-id")),
        in_reply_to=irt[0] if irt else None,
        references=refs,
        subject=subject,
        from_addr=from_addr,
        from_name=from_name or None,
        to_addrs=list(dict.fromkeys(a for _, a in headers.addresses("to"))),
        cc_addrs=list(dict.fromkeys(a for _, a in headers.addresses("cc"))),
        sent_at=_parse_date(headers),
        body_text=full,
        new_text=strip_to_new_text(body, check=budget.checker("stripping quotes")),
        attachments=attachments,
        machine_sent=machine_sent(headers.raw, from_addr, subject, msg.get_content_type()),
        notes=notes,
    )
