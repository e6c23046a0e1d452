"""Where each source stands: IMAP watermarks (UIDVALIDITY + last UID per folder) and the locations
already seen (local folders), read before a sync and moved in the same transaction as the messages."""

from __future__ import annotations

from datetime import datetime

import duckdb

from triage.db import Database

__all__ = ["advance", "known_locations", "read_watermark"]


def advance(con: duckdb.DuckDBPyConnection, source: str, folder: str, uidvalidity: int, last_uid: int | None,
            now: datetime) -> None:
    """Move a folder's watermark in the caller's transaction (never back within one UIDVALIDITY)."""
    row = con.execute(
        "SELECT uidvalidity, last_uid FROM sync_state WHERE source = ? AND folder = ?",
        [source, folder],
    ).fetchone()
    if last_uid is None:
        last_uid = int(row[1]) if row and int(row[0]) == uidvalidity else 0
    elif row and int(row[0]) == uidvalidity:
        last_uid = max(last_uid, int(row[1]))
    if row is None:
        con.execute(
            "INSERT INTO sync_state VALUES (?, ?, ?, ?, ?)",
            [source, folder, uidvalidity, last_uid, now],
        )
    else:
        con.execute(
            "UPDATE sync_state SET uidvalidity = ?, last_uid = ?, updated_at = ? "
            "WHERE source = ? AND folder = ?",
            [uidvalidity, last_uid, now, source, folder],
        )


def read_watermark(db: Database, source: str, folder: str) -> tuple[int, int] | None:
    """(uidvalidity, last_uid) recorded for a folder, or None when it was never synced."""
    with db.read() as con:
        row = con.execute(
            "SELECT uidvalidity, last_uid FROM sync_state WHERE source = ? AND folder = ?", [source, folder]
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else None


def known_locations(db: Database, source: str, uidvalidity: int = 0) -> set[tuple[str, str]]:
    """(folder, location) pairs already recorded for a source (local folders: uidvalidity 0)."""
    with db.read() as con:
        rows = con.execute(
            "SELECT folder, location FROM message_locations WHERE source = ? AND uidvalidity = ?",
            [source, uidvalidity],
        ).fetchall()
    return {(str(f), str(loc)) for f, loc in rows}
