"""Helpers for the parse tests: raw_messages rows inserted the way ingest stores them (plain SQL)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

from triage.db import Database

__all__ = ["count", "enron_dev_files", "insert_raw", "insert_raw_many", "message_key_of"]

_MSGID = re.compile(rb"^message-id:\s*(<[^>\s]+>)", re.I | re.M)
DEV_CUSTODIANS = ("allen-p", "arnold-j", "arora-h")  # badeer-r is held out: never read it


def message_key_of(raw: bytes) -> tuple[str, str | None]:
    """(message_key, message_id) like ingest: sha256 of the Message-ID, else of the bytes."""
    head = raw.split(b"\n\n", 1)[0]
    m = _MSGID.search(head)
    if m:
        mid = m.group(1).decode("latin-1")
        return hashlib.sha256(mid.encode()).hexdigest(), mid
    return hashlib.sha256(raw).hexdigest(), None


def insert_raw(
    db: Database,
    raw: bytes | None,
    *,
    source: str = "test",
    folder: str = "INBOX",
    location: str | None = None,
    is_sent_folder: bool = False,
    internal_date: datetime | None = None,
    key: str | None = None,
) -> str:
    """Insert one raw_messages row (and its message_locations row); return its message_key."""
    mkey, mid = message_key_of(raw or b"")
    mkey = key or mkey
    now = datetime.now(UTC)
    loc = location or mkey[:12]
    with db.write() as con:
        con.execute(
            """INSERT INTO raw_messages (message_key, message_id, content_sha256, size_bytes, raw, source,
                   folder, location, link, is_sent_folder, internal_date, fetched_at, run_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'test-run')""",
            [
                mkey,
                mid,
                hashlib.sha256(raw or b"").hexdigest(),
                len(raw or b""),
                raw,
                source,
                folder,
                loc,
                f"file:///mail/{folder}/{loc}",
                is_sent_folder,
                internal_date or now,
                now,
            ],
        )
        con.execute(
            "INSERT INTO message_locations VALUES (?, ?, 0, ?, ?, ?, ?)",
            [source, folder, loc, mkey, is_sent_folder, now],
        )
    return mkey


def insert_raw_many(
    db: Database,
    items: list[tuple[bytes | None, str, str]],
    *,
    source: str = "test",
    is_sent_folder: bool = False,
) -> list[str]:
    """Insert (raw, folder, location) rows in one transaction; duplicates (same key) are skipped."""
    import pyarrow as pa

    now = datetime.now(UTC)
    rows: dict[str, dict[str, object]] = {}
    for raw, folder, loc in items:
        mkey, mid = message_key_of(raw or b"")
        rows.setdefault(
            mkey,
            {
                "message_key": mkey,
                "message_id": mid,
                "content_sha256": hashlib.sha256(raw or b"").hexdigest(),
                "size_bytes": len(raw or b""),
                "raw": raw,
                "source": source,
                "folder": folder,
                "location": loc,
                "link": f"file:///mail/{loc}",
                "is_sent_folder": is_sent_folder or folder.lower().startswith("sent"),
                "internal_date": now,
                "fetched_at": now,
                "run_id": "test-run",
            },
        )
    table = pa.Table.from_pylist(
        list(rows.values()),
        schema=pa.schema(
            [
                ("message_key", pa.string()),
                ("message_id", pa.string()),
                ("content_sha256", pa.string()),
                ("size_bytes", pa.int64()),
                ("raw", pa.binary()),
                ("source", pa.string()),
                ("folder", pa.string()),
                ("location", pa.string()),
                ("link", pa.string()),
                ("is_sent_folder", pa.bool_()),
                ("internal_date", pa.timestamp("us", tz="UTC")),
                ("fetched_at", pa.timestamp("us", tz="UTC")),
                ("run_id", pa.string()),
            ]
        ),
    )
    with db.write() as con:
        con.register("_raw_rows", table)
        con.execute(
            "INSERT INTO raw_messages BY NAME SELECT * FROM _raw_rows r "
            "WHERE NOT EXISTS (SELECT 1 FROM raw_messages x WHERE x.message_key = r.message_key)"
        )
        con.unregister("_raw_rows")
    return list(rows)


def count(db: Database, sql: str, params: list[object] | None = None) -> int:
    with db.read() as con:
        row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row else 0


def enron_dev_files(shared: Path) -> list[Path]:
    root = shared / "enron-maildir"
    return [f for c in DEV_CUSTODIANS for f in sorted((root / c).rglob("*")) if f.is_file()]
