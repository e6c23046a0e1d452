"""Writing ingested mail to DuckDB: one short transaction per batch, watermark included.

A batch is what one folder yielded in one step: messages read (raw bytes) and items quarantined.
:func:`store_batch` writes, in ONE transaction, the new ``raw_messages`` rows (deduplicated by
message_key against the table and within the batch), every sighting in ``message_locations``, the
``quarantine`` rows (keyed, so a re-seen bad item only bumps ``last_seen_at``) and the folder's
``sync_state`` watermark. A crash before COMMIT leaves nothing behind, so the batch is fetched again;
after COMMIT the watermark is past it, so it is never fetched twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from triage.db import Database
from triage.ingest.keys import MessageIdentity, body_sha256, identify, location_key, variant_key
from triage.ingest.watermarks import advance
from triage.log import get_logger
from triage.privacy.suppress import Suppressions, load_suppressions

__all__ = [
    "Batch",
    "BatchResult",
    "FetchedMessage",
    "QuarantinedItem",
    "store_batch",
    "store_batches",
]


@dataclass(frozen=True)
class FetchedMessage:
    raw: bytes
    location: str  # IMAP UID or relative file path
    link: str
    internal_date: datetime | None = None


@dataclass(frozen=True)
class QuarantinedItem:
    location: str  # where it was: relative path, or folder;UIDVALIDITY=..;UID=..
    reason: str  # short code: empty, too_large, unreadable
    detail: str
    size_bytes: int | None = None
    #: content key when one is known (too large but with a Message-ID); else keyed by location
    message_key: str | None = None


@dataclass
class Batch:
    source: str
    folder: str
    uidvalidity: int  # 0 for local folders
    is_sent_folder: bool
    messages: list[FetchedMessage] = field(default_factory=list)
    quarantined: list[QuarantinedItem] = field(default_factory=list)
    #: IMAP: highest UID handled by this batch (stored with the batch); None leaves last_uid as is
    last_uid: int | None = None


@dataclass
class BatchResult:
    new: int = 0
    known: int = 0
    quarantined: int = 0  # quarantine rows created (re-sightings are not counted)
    #: not stored: erased before, or of an erased person or account (the suppression list)
    suppressed: int = 0

    def __iadd__(self, other: BatchResult) -> BatchResult:
        self.new += other.new
        self.known += other.known
        self.quarantined += other.quarantined
        self.suppressed += other.suppressed
        return self


log = get_logger("ingest.store")

_TS = pa.timestamp("us", tz="UTC")


def _keys_in(
    con: duckdb.DuckDBPyConnection, table: str, column: str, keys: Iterable[str], where: str = ""
) -> set[str]:
    unique = sorted(set(keys))
    if not unique:
        return set()
    probe = pa.table({"k": pa.array(unique, pa.string())})
    con.register("_ingest_probe", probe)
    try:
        rows = con.execute(
            f"SELECT t.{column} FROM {table} t JOIN _ingest_probe p ON t.{column} = p.k {where}"
        ).fetchall()
    finally:
        con.unregister("_ingest_probe")
    return {r[0] for r in rows}


def _insert(con: duckdb.DuckDBPyConnection, sql: str, table: pa.Table) -> None:
    if table.num_rows == 0:
        return
    con.register("_ingest_rows", table)
    try:
        con.execute(sql)
    finally:
        con.unregister("_ingest_rows")


def store_batch(db: Database, batch: Batch, run_id: str, *, now: datetime | None = None) -> BatchResult:
    """Store one batch and advance its folder's watermark in the same transaction."""
    return store_batches(db, [batch], run_id, now=now)


def store_batches(
    db: Database, batches: list[Batch], run_id: str, *, now: datetime | None = None
) -> BatchResult:
    """Store several batches (e.g. many small local folders) in ONE transaction."""
    now = now or datetime.now(UTC)
    # hashing is pure CPU: do it before opening the database
    prepared = [
        (
            b,
            [(m, identify(m.raw)) for m in b.messages],
            [
                (q, q.message_key or location_key(b.source, b.folder, b.uidvalidity, q.location))
                for q in b.quarantined
            ],
        )
        for b in batches
    ]
    result = BatchResult()
    with db.write() as con:
        suppressed = load_suppressions(con)
        for batch, identified, q_keys in prepared:
            result += _store(con, batch, identified, q_keys, run_id, now, suppressed)
    if result.suppressed:
        log.info("%d message(s) not stored: on the suppression list (erased)", result.suppressed)
    return result


def _store(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    identified: list[tuple[FetchedMessage, MessageIdentity]],
    q_keys: list[tuple[QuarantinedItem, str]],
    run_id: str,
    now: datetime,
    suppressed: Suppressions | None = None,
) -> BatchResult:
    result = BatchResult()
    if suppressed:
        identified = _not_suppressed(identified, suppressed, result)
    stored = _stored_bodies(con, identified, q_keys)
    existing = set(stored)
    new_rows, loc_rows, quarantine = _plan(batch, identified, q_keys, stored, result)
    _insert_raw(con, batch, new_rows, run_id, now)
    result.new = len(new_rows)
    if batch.is_sent_folder and existing:
        # a message seen in one of our Sent folders is ours, whichever folder showed it first
        seen_here = {k for _, k in loc_rows} & existing
        _insert(
            con,
            "UPDATE raw_messages SET is_sent_folder = true FROM _ingest_rows r "
            "WHERE raw_messages.message_key = r.k AND NOT raw_messages.is_sent_folder",
            pa.table({"k": pa.array(sorted(seen_here), pa.string())}),
        )

    _insert_locations(con, batch, loc_rows, now)
    if quarantine:
        result.quarantined = _insert_quarantine(con, batch, quarantine, run_id, now)
    advance(con, batch.source, batch.folder, batch.uidvalidity, batch.last_uid, now)
    return result


def _not_suppressed(identified: list[tuple[FetchedMessage, MessageIdentity]], suppressed: Suppressions,
                    result: BatchResult) -> list[tuple[FetchedMessage, MessageIdentity]]:
    """The messages the suppression list lets through (the others are counted, never stored)."""
    keep = []
    for msg, ident in identified:
        variant = variant_key(ident.message_id, ident.body_sha256) if ident.message_id else ident.message_key
        if suppressed.has("message", variant) or suppressed.message(ident.message_key, msg.raw):
            result.suppressed += 1
        else:
            keep.append((msg, ident))
    return keep


def _plan(
    batch: Batch,
    identified: list[tuple[FetchedMessage, MessageIdentity]],
    q_keys: list[tuple[QuarantinedItem, str]],
    stored: dict[str, str],
    result: BatchResult,
) -> tuple[dict[str, tuple[FetchedMessage, MessageIdentity]], list[tuple[str, str]], dict[str, QuarantinedItem]]:
    """What to insert: new messages by key, every sighting (location, key), and the new quarantine rows."""
    existing = set(stored)
    new_rows: dict[str, tuple[FetchedMessage, MessageIdentity]] = {}
    loc_rows: list[tuple[str, str]] = []  # (location, message_key)
    for msg, ident in identified:
        key = _key_for(ident, stored, new_rows)
        loc_rows.append((msg.location, key))
        if key in existing or key in new_rows:
            result.known += 1
        else:
            new_rows[key] = (msg, ident)
            if key != ident.message_key:
                log.warning(
                    "source %s: %s has the Message-ID %s of a stored message but another body; "
                    "stored as a message of its own",
                    batch.source,
                    msg.location,
                    ident.message_id,
                )
    quarantine: dict[str, QuarantinedItem] = {}
    for q, key in q_keys:
        if q.message_key and q.message_key in existing:
            # too large now, but stored earlier (e.g. under a higher limit): just a new sighting
            loc_rows.append((q.location, q.message_key))
            result.known += 1
        else:
            quarantine.setdefault(key, q)

    return new_rows, loc_rows, quarantine


def _insert_raw(con: duckdb.DuckDBPyConnection, batch: Batch,
                new_rows: dict[str, tuple[FetchedMessage, MessageIdentity]], run_id: str, now: datetime) -> None:
    _insert(
        con,
        "INSERT INTO raw_messages BY NAME SELECT * FROM _ingest_rows",
        pa.table(
            {
                "message_key": pa.array(list(new_rows), pa.string()),
                "message_id": pa.array([v[1].message_id for v in new_rows.values()], pa.string()),
                "content_sha256": pa.array([v[1].content_sha256 for v in new_rows.values()], pa.string()),
                "body_sha256": pa.array([v[1].body_sha256 for v in new_rows.values()], pa.string()),
                "size_bytes": pa.array([len(v[0].raw) for v in new_rows.values()], pa.int64()),
                "raw": pa.array([v[0].raw for v in new_rows.values()], pa.binary()),
                "source": pa.array([batch.source] * len(new_rows), pa.string()),
                "folder": pa.array([batch.folder] * len(new_rows), pa.string()),
                "location": pa.array([v[0].location for v in new_rows.values()], pa.string()),
                "link": pa.array([v[0].link for v in new_rows.values()], pa.string()),
                "is_sent_folder": pa.array([batch.is_sent_folder] * len(new_rows), pa.bool_()),
                "internal_date": pa.array([v[0].internal_date for v in new_rows.values()], _TS),
                "fetched_at": pa.array([now] * len(new_rows), _TS),
                "run_id": pa.array([run_id] * len(new_rows), pa.string()),
            }
        ),
    )


def _insert_locations(con: duckdb.DuckDBPyConnection, batch: Batch, loc_rows: list[tuple[str, str]],
                      now: datetime) -> None:
    _insert(
        con,
        "INSERT OR IGNORE INTO message_locations SELECT * FROM _ingest_rows",
        pa.table(
            {
                "source": pa.array([batch.source] * len(loc_rows), pa.string()),
                "folder": pa.array([batch.folder] * len(loc_rows), pa.string()),
                "uidvalidity": pa.array([batch.uidvalidity] * len(loc_rows), pa.int64()),
                "location": pa.array([loc for loc, _ in loc_rows], pa.string()),
                "message_key": pa.array([k for _, k in loc_rows], pa.string()),
                "is_sent_folder": pa.array([batch.is_sent_folder] * len(loc_rows), pa.bool_()),
                "seen_at": pa.array([now] * len(loc_rows), _TS),
            }
        ),
    )
    if loc_rows:
        # an item quarantined earlier and readable now (file fixed, limit raised) is no longer bad
        cleared = [location_key(batch.source, batch.folder, batch.uidvalidity, loc) for loc, _ in loc_rows]
        cleared += [k for _, k in loc_rows]
        _insert(
            con,
            "DELETE FROM quarantine USING _ingest_rows r WHERE quarantine.kind = 'mail' "
            "AND quarantine.stage = 'ingest' AND quarantine.item_key = r.k",
            pa.table({"k": pa.array(sorted(set(cleared)), pa.string())}),
        )



def _insert_quarantine(con: duckdb.DuckDBPyConnection, batch: Batch, quarantine: dict[str, QuarantinedItem],
                       run_id: str, now: datetime) -> int:
    """Insert (or see again) the batch's quarantined items; how many are new."""
    already = _keys_in(con, "quarantine", "item_key", quarantine, "WHERE t.kind = 'mail'")
    for key, q in quarantine.items():
        log.log(
            logging.DEBUG if key in already else logging.WARNING,
            "source %s: %s quarantined%s (%s): %s",
            batch.source,
            q.location,
            " again" if key in already else "",
            q.reason,
            q.detail,
        )
    _insert(
        con,
        """
        INSERT INTO quarantine
        SELECT 'mail', k, source, location, 'ingest', reason, detail, size_bytes, ts, ts, run_id
        FROM _ingest_rows
        ON CONFLICT (kind, item_key) DO UPDATE SET last_seen_at = excluded.last_seen_at
    """,
        pa.table(
            {
                "k": pa.array(list(quarantine), pa.string()),
                "source": pa.array([batch.source] * len(quarantine), pa.string()),
                "location": pa.array([q.location for q in quarantine.values()], pa.string()),
                "reason": pa.array([q.reason for q in quarantine.values()], pa.string()),
                "detail": pa.array([q.detail for q in quarantine.values()], pa.string()),
                "size_bytes": pa.array([q.size_bytes for q in quarantine.values()], pa.int64()),
                "ts": pa.array([now] * len(quarantine), _TS),
                "run_id": pa.array([run_id] * len(quarantine), pa.string()),
            }
        ),
    )
    return len(set(quarantine) - already)


def _stored_bodies(
    con: duckdb.DuckDBPyConnection,
    identified: list[tuple[FetchedMessage, MessageIdentity]],
    q_keys: list[tuple[QuarantinedItem, str]],
) -> dict[str, str]:
    """body_sha256 of every stored message a key of this batch (plain or variant) may refer to.

    Rows stored before body hashes were kept get theirs computed from ``raw`` now, and saved.
    """
    probe = [i.message_key for _, i in identified] + [k for q, k in q_keys if q.message_key]
    probe += [variant_key(i.message_id, i.body_sha256) for _, i in identified if i.message_id]
    keys = sorted(set(probe))
    if not keys:
        return {}
    rows = con.execute(
        "SELECT message_key, body_sha256 FROM raw_messages WHERE message_key IN (SELECT unnest(?))", [keys]
    ).fetchall()
    out = {str(k): str(h or "") for k, h in rows}
    missing = [k for k, h in out.items() if not h]
    if missing:
        raws = con.execute(
            "SELECT message_key, raw FROM raw_messages WHERE message_key IN (SELECT unnest(?)) AND raw IS NOT NULL",
            [missing],
        ).fetchall()
        filled = {str(k): body_sha256(bytes(r)) for k, r in raws}
        _insert(
            con,
            "UPDATE raw_messages SET body_sha256 = r.h FROM _ingest_rows r WHERE raw_messages.message_key = r.k",
            pa.table({"k": pa.array(list(filled), pa.string()), "h": pa.array(list(filled.values()), pa.string())}),
        )
        out.update(filled)
    return out


def _key_for(
    ident: MessageIdentity, stored: dict[str, str], batch: dict[str, tuple[FetchedMessage, MessageIdentity]]
) -> str:
    """The plain key, unless it is taken by a message with another body: then the variant key."""
    if ident.message_id is None:
        return ident.message_key  # keyed by the raw bytes already
    taken = stored.get(ident.message_key)
    if taken is None and ident.message_key in batch:
        taken = batch[ident.message_key][1].body_sha256
    if taken is None or not taken or taken == ident.body_sha256:
        return ident.message_key
    return variant_key(ident.message_id, ident.body_sha256)
