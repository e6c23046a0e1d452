"""The mail parse stage: raw_messages -> messages (or quarantine), then threads and unknown senders.

Parsing runs in batches (read a batch, close, parse, write it in one transaction), so a crash
resumes with what is still pending. After the batches, :func:`rebuild` runs over *all* messages:
it re-resolves direction and account (so an account added to the accounts file applies to old mail
too), rebuilds JWZ threads (so a late parent joins its thread) and recomputes ``unknown_senders``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from triage.db import Database
from triage.errors import ParseError
from triage.log import get_logger
from triage.parse import store
from triage.parse.accounts import AccountBook, domain_of
from triage.parse.budget import ParseLimits
from triage.parse.language import identify, identify_stored
from triage.parse.mime import ParsedMail, parse_mail
from triage.parse.threads import ThreadMessage, build_threads
from triage.progress import track
from triage.types import ParseReport

__all__ = ["MESSAGES_SCHEMA", "PARSER_VERSION", "Route", "parse_pending", "rebuild", "route"]

log = get_logger("parse.messages")

PARSER_VERSION = "mime.v2"  # v2: machine_sent
BATCH_MESSAGES = 200
BATCH_BYTES = 64_000_000

MESSAGES_SCHEMA = pa.schema(
    [
        ("message_key", pa.string()),
        ("message_id", pa.string()),
        ("thread_id", pa.string()),
        ("in_reply_to", pa.string()),
        ("references_ids", store.STRS),
        ("subject", pa.string()),
        ("from_addr", pa.string()),
        ("from_name", pa.string()),
        ("to_addrs", store.STRS),
        ("cc_addrs", store.STRS),
        ("sent_at", store.TS),
        ("direction", pa.string()),
        ("account_id", pa.string()),
        ("body_text", pa.string()),
        ("new_text", pa.string()),
        ("link", pa.string()),
        ("parsed_at", store.TS),
        ("parser_version", pa.string()),
        ("machine_sent", pa.string()),
        ("language", pa.string()),
    ]
)
_UPDATES = pa.schema(
    [
        ("message_key", pa.string()),
        ("direction", pa.string()),
        ("account_id", pa.string()),
        ("thread_id", pa.string()),
    ]
)
_THREADS = pa.schema(
    [
        ("thread_id", pa.string()),
        ("subject", pa.string()),
        ("account_id", pa.string()),
        ("first_at", store.TS),
        ("last_at", store.TS),
        ("message_count", pa.int32()),
    ]
)
_UNKNOWN = pa.schema(
    [
        ("address", pa.string()),
        ("domain", pa.string()),
        ("first_seen_at", store.TS),
        ("last_seen_at", store.TS),
        ("message_count", pa.int32()),
    ]
)


@dataclass(frozen=True)
class Route:
    direction: str  # inbound | outbound | internal | external
    account_id: str | None


def route(book: AccountBook, from_addr: str | None, recipients: Sequence[str], is_sent_folder: bool) -> Route:
    """Direction and account of a message.

    * ours (From in our domains, or found in a Sent folder) to at least one outside address:
      outbound, account of the first outside recipient that maps to one;
    * ours to only our addresses: internal;
    * from outside: inbound, the sender's account (else the first outside participant's); when we
      know our domains and no recipient is ours, external (a list or a copy that reached us).
    """
    outside = [a for a in recipients if not book.is_ours(a)]
    if is_sent_folder or book.is_ours(from_addr):
        if outside:
            return Route("outbound", next((acc for a in outside if (acc := book.account_for(a))), None))
        return Route("internal", None)
    account = book.account_for(from_addr) or next(
        (acc for a in outside if a != from_addr and (acc := book.account_for(a))), None
    )
    knows_us = bool(book.our_domains) or any(book.is_ours(a) for a in recipients)
    if recipients and knows_us and not any(book.is_ours(a) for a in recipients):
        return Route("external", account)
    return Route("inbound", account)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _from_us(us: int | None) -> datetime | None:
    """A UTC datetime from epoch microseconds (much cheaper than DuckDB's TIMESTAMPTZ conversion)."""
    return None if us is None else _EPOCH + timedelta(microseconds=us)


def _batches(pending: list[tuple[str, int]]) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for key, n in pending:
        if batch and (len(batch) >= BATCH_MESSAGES or size + n > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(key)
        size += n
    if batch:
        yield batch


def _row(r: store.RawRow, p: ParsedMail, book: AccountBook, now: datetime) -> dict[str, Any]:
    rt = route(book, p.from_addr, [*p.to_addrs, *p.cc_addrs], r.is_sent_folder)
    return {
        "message_key": r.message_key,
        "message_id": r.message_id or p.message_id,
        "thread_id": None,
        "in_reply_to": p.in_reply_to,
        "references_ids": p.references,
        "subject": p.subject,
        "from_addr": p.from_addr,
        "from_name": p.from_name,
        "to_addrs": p.to_addrs,
        "cc_addrs": p.cc_addrs,
        "sent_at": p.sent_at or r.internal_date,
        "direction": rt.direction,
        "account_id": rt.account_id,
        "body_text": p.body_text,
        "new_text": p.new_text,
        "link": r.link,
        "parsed_at": now,
        "parser_version": PARSER_VERSION,
        "machine_sent": p.machine_sent,
        "language": identify(p.new_text),
    }


def _quarantine(r: store.RawRow, reason: str, detail: str) -> store.QuarantineItem:
    return store.QuarantineItem(
        kind="mail",
        item_key=r.message_key,
        source=r.source,
        location=r.location,
        stage="parse",
        reason=reason,
        detail=detail,
        size_bytes=r.size_bytes,
    )


def _parse_one(r: store.RawRow, limits: ParseLimits | None) -> ParsedMail | store.QuarantineItem:
    """One message parsed, or its quarantine row: no single message can stop the stage."""
    if r.raw is None:
        return _quarantine(r, "no_content", "raw_messages.raw is empty (not stored at ingest)")
    try:
        return parse_mail(r.raw, limits)
    except ParseError as e:
        return _quarantine(r, e.reason, e.detail)
    except (MemoryError, RecursionError) as e:
        return _quarantine(r, "too_large" if isinstance(e, MemoryError) else "too_deep", type(e).__name__)
    except Exception as e:  # a parser bug on one odd message: quarantine it, keep the night going
        log.debug("parsing message %s failed", r.message_key, exc_info=True)
        return _quarantine(r, "parse_failed", f"{type(e).__name__}: {e}")


def parse_pending(
    db: Database, book: AccountBook, run_id: str, limits: ParseLimits | None = None
) -> ParseReport:
    """Parse every pending raw message into ``messages`` (with the language of its new text) or
    quarantine; identify the language of messages stored before migration 0025; then :func:`rebuild`.

    ``limits`` bound the work per message (depth, parts, time; default :class:`ParseLimits`).
    """
    report = ParseReport()
    pending = store.pending_messages(db)
    with track("Parsing mail", len(pending)) as progress:
        for keys in _batches(pending):
            raws = store.read_raw(db, keys)
            now = datetime.now(UTC)
            rows, bad = [], []
            for r in raws:
                parsed = _parse_one(r, limits)
                if isinstance(parsed, store.QuarantineItem):
                    bad.append(parsed)
                    continue
                if parsed.notes:
                    log.debug("message %s parsed with fallbacks: %s", r.message_key, "; ".join(parsed.notes))
                rows.append(_row(r, parsed, book, now))
            with db.write() as con:
                store.quiet(con)
                store.insert_arrow(con, "messages", store.arrow_table(rows, MESSAGES_SCHEMA))
                store.upsert_quarantine(con, bad, now, run_id)
            for q in bad:
                log.warning("quarantined message %s (%s): %s", q.item_key, q.reason, q.detail)
            report.parsed += len(rows)
            report.quarantined += len(bad)
            progress.advance(len(keys))
    identify_stored(db, "messages")
    summary = rebuild(db, book)
    report.threads = summary["threads"]
    report.unknown_senders = summary["unknown_senders"]
    return report


def rebuild(db: Database, book: AccountBook, *, merge_subjects: bool = True) -> dict[str, int]:
    """Re-resolve direction/account of all messages, rebuild threads and unknown senders."""
    with db.read() as con:
        store.quiet(con)
        rows = con.execute(
            """SELECT m.message_key, m.message_id, m.in_reply_to, m.references_ids, m.subject, m.from_addr,
                      m.to_addrs, m.cc_addrs, epoch_us(m.sent_at), m.direction, m.account_id, m.thread_id,
                      coalesce(r.is_sent_folder, false), epoch_us(m.parsed_at)
               FROM messages m LEFT JOIN raw_messages r USING (message_key)"""
        ).fetchall()
    routes, inputs, unknown = _route_all(book, rows)
    threads = build_threads(inputs, merge_subjects=merge_subjects)
    thread_of = {k: t.thread_id for t in threads for k in t.message_keys}
    updates = [
        {
            "message_key": key,
            "direction": routes[key].direction,
            "account_id": routes[key].account_id,
            "thread_id": thread_of[key],
        }
        for key, *_, direction, account, thread, _sf, _pa in rows
        if (direction, account, thread) != (routes[key].direction, routes[key].account_id, thread_of[key])
    ]
    with db.write() as con:
        store.quiet(con)
        _write_rebuild(con, updates, threads, unknown)
    log.info(
        "threads: %d over %d messages; %d updated; %d unknown senders",
        len(threads),
        len(rows),
        len(updates),
        len(unknown),
    )
    return {"threads": len(threads), "updated": len(updates), "unknown_senders": len(unknown)}


def _route_all(book: AccountBook, rows: list[tuple[Any, ...]]
               ) -> tuple[dict[str, Route], list[ThreadMessage], dict[str, list[Any]]]:
    """Each message's direction and account, the threading inputs, and the senders of no known account
    ([first seen, last seen, messages] per address)."""
    routes: dict[str, Route] = {}
    inputs = []
    unknown: dict[str, list[Any]] = {}
    for key, mid, irt, refs, subj, frm, to, cc, sent_us, _, _, _, sent_folder, parsed_us in rows:
        sent = _from_us(sent_us)
        recipients = [*(to or []), *(cc or [])]
        rt = routes[key] = route(book, frm, recipients, bool(sent_folder))
        people = {a for a in [frm, *recipients] if a}
        inputs.append(ThreadMessage(key, mid, tuple(refs or ()), irt, subj, sent, rt.account_id, frozenset(people)))
        seen_at = sent or _from_us(parsed_us)
        for addr in people:
            if book.is_ours(addr) or book.account_for(addr) or not domain_of(addr):
                continue
            u = unknown.setdefault(addr, [seen_at, seen_at, 0])
            u[0], u[1], u[2] = min(u[0], seen_at), max(u[1], seen_at), u[2] + 1
    return routes, inputs, unknown


def _write_rebuild(con: duckdb.DuckDBPyConnection, updates: list[dict[str, Any]], threads: list[Any],
                   unknown: dict[str, list[Any]]) -> None:
    if updates:
        con.register("_arrow_updates", store.arrow_table(updates, _UPDATES))
        try:
            con.execute(
                """UPDATE messages
                   SET direction = u.direction, account_id = u.account_id, thread_id = u.thread_id
                   FROM _arrow_updates u WHERE messages.message_key = u.message_key"""
            )
        finally:
            con.unregister("_arrow_updates")
    con.execute("DELETE FROM threads")
    store.insert_arrow(
        con,
        "threads",
        store.arrow_table(
            [
                {
                    "thread_id": t.thread_id,
                    "subject": t.subject,
                    "account_id": t.account_id,
                    "first_at": t.first_at,
                    "last_at": t.last_at,
                    "message_count": t.message_count,
                }
                for t in threads
            ],
            _THREADS,
        ),
    )
    con.execute("DELETE FROM unknown_senders")
    store.insert_arrow(
        con,
        "unknown_senders",
        store.arrow_table(
            [
                {
                    "address": a,
                    "domain": domain_of(a),
                    "first_seen_at": v[0],
                    "last_seen_at": v[1],
                    "message_count": v[2],
                }
                for a, v in sorted(unknown.items())
            ],
            _UNKNOWN,
        ),
    )
