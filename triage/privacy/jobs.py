"""Durable privacy jobs: what an erasure or a purge still has to do after its deletes committed.

The deletes and the job row commit in one transaction (:func:`record`), so there is never a moment
where rows are gone and nothing remembers that the file still holds their bytes. The steps that
follow (threads and call lists built again, pages rewritten, the file rewritten) belong to the
floors above this one; the application layer (:mod:`triage.app.privacy`) runs them and then marks the
job finished (:func:`mark_finished`). Every command that opens the database asks for
:func:`unfinished` jobs first, so a process killed at any moment leaves work that the next command,
whatever it is, completes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb

from triage.db import Database

__all__ = ["PrivacyJob", "mark_finished", "record", "unfinished"]


@dataclass(frozen=True)
class PrivacyJob:
    job_id: str
    kind: str  # forget | purge | recheck
    rebuild_days: tuple[date, ...] = field(default=())
    rebuild_threads: bool = False
    compact: bool = True


def record(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    *,
    job_id: str | None = None,
    rebuild_days: list[date] | tuple[date, ...] = (),
    rebuild_threads: bool = False,
    compact: bool = True,
) -> PrivacyJob:
    """Add the job in the caller's transaction (the one that deletes)."""
    job = PrivacyJob(job_id or str(uuid.uuid4()), kind, tuple(sorted(set(rebuild_days))), rebuild_threads, compact)
    con.execute(
        "INSERT INTO privacy_jobs VALUES (?, ?, ?, ?, ?, ?, NULL)",
        [job.job_id, job.kind, datetime.now(UTC), json.dumps([d.isoformat() for d in job.rebuild_days]),
         job.rebuild_threads, job.compact],
    )
    return job


def unfinished(db: Database) -> list[PrivacyJob]:
    """Jobs not finished yet, oldest first; none for a file that does not exist or predates the table."""
    if not db.path.exists():
        return []
    with db.read() as con:
        has = con.execute(
            "SELECT count(*) FROM duckdb_tables() "
            "WHERE table_name = 'privacy_jobs' AND database_name = current_database()"
        ).fetchone()
        if not has or not has[0]:
            return []
        rows = con.execute(
            "SELECT job_id, kind, rebuild_days, rebuild_threads, compact FROM privacy_jobs "
            "WHERE finished_at IS NULL ORDER BY created_at, job_id"
        ).fetchall()
    return [
        PrivacyJob(str(r[0]), str(r[1]), tuple(date.fromisoformat(d) for d in json.loads(r[2])), bool(r[3]), bool(r[4]))
        for r in rows
    ]


def mark_finished(db: Database, job_ids: list[str]) -> None:
    with db.write() as con:
        con.execute(
            "UPDATE privacy_jobs SET finished_at = ? WHERE job_id IN (SELECT unnest(?::VARCHAR[]))",
            [datetime.now(UTC), job_ids],
        )
