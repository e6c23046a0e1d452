"""Rewriting the database file in place: ``triage db encrypt`` (plain -> encrypted) and compaction
after an erasure or a purge (same encryption), so deleted rows leave no bytes behind: DuckDB marks
the blocks of deleted rows free but does not overwrite them.

Copy (``COPY FROM DATABASE`` into a new encrypted file next to it), verify (row counts of every table
and the number of views, read back from the new file with the key), swap (one ``rename``: readers see
the old file or the new one, never half of either), scrub (the old plain file's blocks are
overwritten with zeros through a handle kept open across the rename, then it is gone). The plain
file stays held (DuckDB's lock) from the copy to the swap, so no write can slip in between.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from triage.db.connection import file_lock
from triage.db.crypto import _sql_str, httpfs_extension, is_encrypted
from triage.errors import DatabaseError, DatabaseLockedError
from triage.log import get_logger, redact
from triage.settings import read_encryption_key

__all__ = ["EncryptReport", "crypto_connection", "encrypt_database", "rewrite_database"]

log = get_logger("db.encrypt")
_CHUNK = 1 << 20


@dataclass
class EncryptReport:
    path: Path
    tables: dict[str, int] = field(default_factory=dict)
    views: int = 0
    bytes_before: int = 0
    bytes_after: int = 0


def _counts(con: duckdb.DuckDBPyConnection, catalog: str) -> tuple[dict[str, int], int]:
    tables = [
        str(r[0])
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT internal ORDER BY 1", [catalog]
        ).fetchall()
    ]
    counts = {t: int(con.execute(f'SELECT count(*) FROM {catalog}.main."{t}"').fetchone()[0]) for t in tables}  # type: ignore[index]
    views = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE database_name = ? AND NOT internal", [catalog]
    ).fetchone()
    return counts, int(views[0]) if views else 0


def _scrub(fd: int) -> None:
    """Overwrite the whole file behind ``fd`` with zeros and flush it to disk."""
    size = os.fstat(fd).st_size
    zeros = bytes(_CHUNK)
    os.lseek(fd, 0, os.SEEK_SET)
    done = 0
    while done < size:
        done += os.write(fd, zeros[: min(_CHUNK, size - done)])
    os.fsync(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def encrypt_database(path: Path, key_env: str) -> EncryptReport:
    """Encrypt the plain DuckDB file at ``path`` with the key in ``key_env``; see the module doc."""
    path = Path(path)
    read_encryption_key(key_env)
    if not path.is_file():
        raise DatabaseError(f"database {path} does not exist; nothing to encrypt")
    if is_encrypted(path):
        raise DatabaseError(f"{path} is already encrypted")
    return rewrite_database(path, None, key_env)


def _attach_source(con: duckdb.DuckDBPyConnection, path: Path, key: str | None, timeout_s: float) -> None:
    """ATTACH the file read-write (holding DuckDB's lock on it), waiting while another process holds it."""
    deadline = time.monotonic() + timeout_s
    delay = 0.1
    while True:
        try:
            if key is None:
                con.execute(f"ATTACH '{_sql_str(path)}' AS src")
            else:
                con.execute(f"ATTACH '{_sql_str(path)}' AS src (ENCRYPTION_KEY ?)", [key])
            return
        except duckdb.Error as e:
            if "lock" not in str(e).lower():
                raise
            if time.monotonic() >= deadline:
                raise DatabaseLockedError(
                    f"{path} is held by another process for more than {timeout_s:g} s; "
                    "stop the nightly run and ops sessions, then retry"
                ) from e
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def crypto_connection(*, encrypted: bool) -> duckdb.DuckDBPyConnection:
    """The in-memory DuckDB a rewrite copies through; for an encrypted file (either side) with httpfs's
    crypto loaded and its temporary files encrypted (what the copy spills holds row data too)."""
    con = duckdb.connect(":memory:")
    if encrypted:
        try:
            con.execute(f"LOAD '{httpfs_extension()}'")
            con.execute("SET temp_file_encryption = true")
        except BaseException:
            con.close()
            raise
    return con


def rewrite_database(
    path: Path, source_key_env: str | None, target_key_env: str | None, *, lock_timeout_seconds: float = 600.0
) -> EncryptReport:
    """Copy the file at ``path`` into a fresh one (encrypted with the key in ``target_key_env`` when set),
    verify, swap and scrub the old one; ``source_key_env`` opens the current file (None: plain)."""
    path = Path(path)
    source_key = read_encryption_key(source_key_env).get_secret_value() if source_key_env else None
    key = read_encryption_key(target_key_env).get_secret_value() if target_key_env else None
    tmp = path.with_name(f".{path.name}.rewriting")
    for leftover in (tmp, Path(f"{tmp}.wal")):  # an interrupted earlier attempt
        leftover.unlink(missing_ok=True)
    report = EncryptReport(path, bytes_before=path.stat().st_size)
    with file_lock(path):
        _rewrite(path, tmp, source_key, key, report, lock_timeout_seconds)
    log.info("rewrote %s: %d tables, %d views, %d -> %d bytes", path, len(report.tables), report.views,
             report.bytes_before, report.bytes_after)
    return report


def _rewrite(
    path: Path, tmp: Path, source_key: str | None, key: str | None, report: EncryptReport, lock_timeout_seconds: float
) -> None:
    target = "(ENCRYPTION_KEY ?)" if key else ""
    check = "(ENCRYPTION_KEY ?, READ_ONLY)" if key else "(READ_ONLY)"
    key_args = [key] if key else []
    con = crypto_connection(encrypted=bool(key or source_key))
    try:
        _attach_source(con, path, source_key, lock_timeout_seconds)
        con.execute("CHECKPOINT src")  # the WAL is merged into the file (and removed)
        before, views = _counts(con, "src")
        con.execute(f"ATTACH '{_sql_str(tmp)}' AS dst {target}", key_args)
        con.execute("COPY FROM DATABASE src TO dst")
        con.execute("CHECKPOINT dst")
        con.execute("DETACH dst")
        con.execute(f"ATTACH '{_sql_str(tmp)}' AS chk {check}", key_args)
        after, views_after = _counts(con, "chk")
        con.execute("DETACH chk")
        if after != before or views_after != views:
            diff = {t: (before.get(t), after.get(t)) for t in sorted(set(before) | set(after))
                    if before.get(t) != after.get(t)}
            tmp.unlink(missing_ok=True)
            raise DatabaseError(
                f"the new copy of {path} does not match (table: old, new): {diff}, "
                f"views {views} vs {views_after}; the file is unchanged"
            )
        if Path(f"{tmp}.wal").exists():
            raise DatabaseError(f"the new copy {tmp} still has a WAL; the file is unchanged")
        fd = os.open(path, os.O_RDWR)
        try:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)  # the swap: atomic on one filesystem
            _fsync_dir(path.parent)
            con.execute("DETACH src")
            _scrub(fd)  # the old inode, now without a name
        finally:
            os.close(fd)
    except duckdb.Error as e:
        tmp.unlink(missing_ok=True)
        raise DatabaseError(f"rewriting {path} failed: {redact(str(e))}") from e
    finally:
        con.close()
    report.tables, report.views = before, views
    report.bytes_after = path.stat().st_size
