"""DuckDB reads and writes of the parse stages (the one I/O seam of triage.parse).

Every write function runs inside one ``db.write()`` transaction given by the caller or opened here;
bulk rows go through pyarrow tables (``INSERT ... SELECT * FROM arrow_table``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from triage.db import Database
from triage.parse.accounts import Account, AccountBook
from triage.settings import OrgSettings

__all__ = [
    "QuarantineItem",
    "RawRow",
    "arrow_table",
    "delete_quarantine",
    "quarantined_keys",
    "quiet",
    "read_book",
    "read_raw",
    "replace_accounts",
    "unidentified",
    "upsert_quarantine",
    "write_languages",
]

TS = pa.timestamp("us", tz="UTC")
STRS = pa.list_(pa.string())


@dataclass(frozen=True)
class QuarantineItem:
    kind: str  # mail | transcript
    item_key: str
    source: str
    location: str
    stage: str
    reason: str
    detail: str
    size_bytes: int | None


@dataclass(frozen=True)
class RawRow:
    message_key: str
    message_id: str | None
    raw: bytes | None
    size_bytes: int
    source: str
    folder: str
    location: str
    link: str | None
    is_sent_folder: bool
    internal_date: datetime | None


def quiet(con: duckdb.DuckDBPyConnection) -> None:
    """No DuckDB progress bar on stdout for long statements (the nightly log is not a terminal)."""
    con.execute("SET enable_progress_bar = false")


def arrow_table(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=schema)


def insert_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    """``INSERT INTO table (cols) SELECT cols FROM data`` (no-op for an empty table)."""
    if data.num_rows == 0:
        return
    name = f"_arrow_{table}"
    con.register(name, data)
    try:
        cols = ", ".join(data.column_names)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name}")
    finally:
        con.unregister(name)


# ---------------------------------------------------------------------------------------------
# accounts

_ACCOUNTS = pa.schema(
    [
        ("account_id", pa.string()),
        ("name", pa.string()),
        ("domains", STRS),
        ("owner_am", pa.string()),
        ("am_email", pa.string()),
        ("tier", pa.string()),
        ("arr", pa.float64()),
        ("loaded_at", TS),
    ]
)
_CONTACTS = pa.schema(
    [("email", pa.string()), ("account_id", pa.string()), ("name", pa.string()), ("title", pa.string())]
)


def replace_accounts(con: duckdb.DuckDBPyConnection, accounts: Sequence[Account], loaded_at: datetime) -> None:
    con.execute("DELETE FROM contacts")
    con.execute("DELETE FROM accounts")
    insert_arrow(
        con,
        "accounts",
        arrow_table(
            [
                {
                    "account_id": a.account_id,
                    "name": a.name,
                    "domains": list(a.domains),
                    "owner_am": a.owner_am,
                    "am_email": a.am_email,
                    "tier": a.tier,
                    "arr": a.arr,
                    "loaded_at": loaded_at,
                }
                for a in accounts
            ],
            _ACCOUNTS,
        ),
    )
    insert_arrow(
        con,
        "contacts",
        arrow_table(
            [
                {"email": c.email, "account_id": a.account_id, "name": c.name, "title": c.title}
                for a in accounts
                for c in a.contacts
            ],
            _CONTACTS,
        ),
    )


def read_book(db: Database, org: OrgSettings) -> AccountBook:
    """The accounts and contacts loaded by ``load_accounts``, with our domains and people."""
    with db.read() as con:
        acc = con.execute(
            "SELECT account_id, name, domains, owner_am, am_email, tier, arr FROM accounts ORDER BY account_id"
        ).fetchall()
        con_rows = con.execute("SELECT email, account_id, name, title FROM contacts ORDER BY email").fetchall()
    accounts = [
        {
            "account_id": r[0],
            "name": r[1],
            "domains": r[2],
            "owner_am": r[3],
            "am_email": r[4],
            "tier": r[5],
            "arr": r[6],
        }
        for r in acc
    ]
    contacts = [{"email": r[0], "account_id": r[1], "name": r[2], "title": r[3]} for r in con_rows]
    return AccountBook.from_rows(accounts, contacts, our_domains=org.our_domains, internal_people=org.internal_people)


# ---------------------------------------------------------------------------------------------
# quarantine

_QUARANTINE = pa.schema(
    [
        ("kind", pa.string()),
        ("item_key", pa.string()),
        ("source", pa.string()),
        ("location", pa.string()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("size_bytes", pa.int64()),
        ("first_seen_at", TS),
        ("last_seen_at", TS),
        ("run_id", pa.string()),
    ]
)


def quarantined_keys(db: Database, kind: str) -> set[str]:
    with db.read() as con:
        return {r[0] for r in con.execute("SELECT item_key FROM quarantine WHERE kind = ?", [kind]).fetchall()}


def upsert_quarantine(
    con: duckdb.DuckDBPyConnection, items: Sequence[QuarantineItem], now: datetime, run_id: str
) -> None:
    """Insert quarantine rows; an existing (kind, item_key) gets the new reason and last_seen_at."""
    if not items:
        return
    data = arrow_table(
        [
            {
                "kind": q.kind,
                "item_key": q.item_key,
                "source": q.source,
                "location": q.location,
                "stage": q.stage,
                "reason": q.reason,
                "detail": q.detail[:2000],
                "size_bytes": q.size_bytes,
                "first_seen_at": now,
                "last_seen_at": now,
                "run_id": run_id,
            }
            for q in {(q.kind, q.item_key): q for q in items}.values()
        ],
        _QUARANTINE,
    )
    con.register("_arrow_quarantine", data)
    try:
        con.execute(
            """INSERT INTO quarantine SELECT * FROM _arrow_quarantine
               ON CONFLICT (kind, item_key) DO UPDATE SET
                 source = excluded.source, location = excluded.location, stage = excluded.stage,
                 reason = excluded.reason, detail = excluded.detail, size_bytes = excluded.size_bytes,
                 last_seen_at = excluded.last_seen_at, run_id = excluded.run_id"""
        )
    finally:
        con.unregister("_arrow_quarantine")


def delete_quarantine(con: duckdb.DuckDBPyConnection, kind: str, keys: Sequence[str]) -> None:
    if keys:
        con.execute("DELETE FROM quarantine WHERE kind = ? AND item_key IN (SELECT unnest(?))", [kind, list(keys)])


# ---------------------------------------------------------------------------------------------
# raw messages


def pending_messages(db: Database) -> list[tuple[str, int]]:
    """(message_key, size_bytes) of raw messages with neither a messages row nor a mail quarantine row
    (and raw bytes still kept)."""
    with db.read() as con:
        rows = con.execute(
            """SELECT r.message_key, r.size_bytes FROM raw_messages r
               WHERE r.purged_at IS NULL  -- raw bytes dropped by retention: never parsed again
                 AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.message_key = r.message_key)
                 AND NOT EXISTS (SELECT 1 FROM quarantine q
                                 WHERE q.kind = 'mail' AND q.item_key = r.message_key)
               ORDER BY r.fetched_at, r.message_key"""
        ).fetchall()
    return [(r[0], int(r[1] or 0)) for r in rows]


def read_raw(db: Database, keys: Sequence[str]) -> list[RawRow]:
    with db.read() as con:
        rows = con.execute(
            """SELECT message_key, message_id, raw, size_bytes, source, folder, location, link,
                      is_sent_folder, internal_date
               FROM raw_messages WHERE message_key IN (SELECT unnest(?)) ORDER BY message_key""",
            [list(keys)],
        ).fetchall()
    return [
        RawRow(
            r[0],
            r[1],
            bytes(r[2]) if r[2] is not None else None,
            int(r[3] or 0),
            r[4],
            r[5],
            r[6],
            r[7],
            bool(r[8]),
            r[9],
        )
        for r in rows
    ]


# ---------------------------------------------------------------------------------------------
# languages of rows stored before they were identified (migration 0025)

_UNIDENTIFIED = {
    "messages": "SELECT message_key, 0, new_text FROM messages WHERE language IS NULL ORDER BY message_key LIMIT ?",
    "utterances": "SELECT transcript_key, seq, text FROM utterances WHERE language IS NULL "
                  "ORDER BY transcript_key, seq LIMIT ?",
}


def unidentified(db: Database, table: str, limit: int) -> list[tuple[str, int, str | None]]:
    """Up to ``limit`` (key, seq, text) of ``messages`` or ``utterances`` rows whose language is NULL."""
    with db.read() as con:
        return [(r[0], int(r[1]), r[2]) for r in con.execute(_UNIDENTIFIED[table], [limit]).fetchall()]


def write_languages(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[tuple[str, int, str]]) -> None:
    """Set ``language`` of ``messages`` / ``utterances`` rows given as (key, seq, language)."""
    if not rows:
        return
    data = pa.table({"key": [r[0] for r in rows], "seq": [r[1] for r in rows], "language": [r[2] for r in rows]},
                    schema=pa.schema([("key", pa.string()), ("seq", pa.int32()), ("language", pa.string())]))
    con.register("_arrow_languages", data)
    try:
        if table == "messages":
            con.execute("UPDATE messages SET language = l.language FROM _arrow_languages l "
                        "WHERE messages.message_key = l.key")
        else:
            con.execute("UPDATE utterances SET language = l.language FROM _arrow_languages l "
                        "WHERE utterances.transcript_key = l.key AND utterances.seq = l.seq")
    finally:
        con.unregister("_arrow_languages")
