"""DuckDB access with short write windows.

DuckDB allows one read-write process *or* many read-only processes on a file, and a second process
fails at once (no waiting) when the file is held. The nightly writer therefore never keeps the file
open: every phase opens a connection, does its work in one transaction, and closes it. Opening
retries with exponential backoff (capped) until ``lock_timeout_seconds``, so an ops analyst holding a
read-only connection only delays the run, it never fails it or loses data.

Readers (``triage list``, ops) open read-only and can run side by side.

Encryption at rest: with ``encryption_key_env`` set, every phase takes a cursor of the process's one
in-memory DuckDB (httpfs loaded once), ATTACHes the file with that key (AES-256-GCM; the WAL and
temporary files are encrypted too), makes it the default catalog (so the SQL of every phase is
unchanged) and DETACHes it at the end. The key is passed as a statement parameter (it never appears
in SQL text) and registered for log redaction. The OpenSSL crypto of the ``httpfs`` extension comes
from the ``duckdb-ext-httpfs`` wheel (:mod:`triage.db.crypto`, no network).
"""

from __future__ import annotations

import fcntl
import os
import random
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from triage.db.crypto import attach_encrypted, detach, open_error
from triage.errors import DatabaseError, DatabaseLockedError
from triage.log import get_logger

__all__ = ["Database", "file_lock", "writer_elsewhere"]

log = get_logger("db")

_LOCK_MARKERS = ("could not set lock", "conflicting lock", "database is locked", "resource temporarily")

# one lock per file and process: two Database objects on the same file never open it at once (DuckDB
# refuses a second read-write/read-only mix, or a second ATTACH, of one file in one process)
_FILE_LOCKS: dict[str, threading.RLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def file_lock(path: Path) -> threading.RLock:
    key = str(path.resolve())
    with _FILE_LOCKS_GUARD:
        lock = _FILE_LOCKS.get(key)
        if lock is None:
            lock = _FILE_LOCKS[key] = threading.RLock()
        return lock


def writer_elsewhere(path: Path) -> bool:
    """Whether another process has the file open read-write (DuckDB holds a POSIX write lock on it while a
    read-write connection is open), without opening it: ``F_GETLK`` asks, it takes nothing. Readers
    (shared locks) and this process's own locks do not count."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        probe = struct.pack("hhqqi4x", fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0)  # struct flock, whole file
        return bool(struct.unpack("hhqqi4x", fcntl.fcntl(fd, fcntl.F_GETLK, probe))[0] != fcntl.F_UNLCK)
    except OSError:
        return False
    finally:
        os.close(fd)


def _is_lock_error(err: BaseException) -> bool:
    text = str(err).lower()
    return any(m in text for m in _LOCK_MARKERS)


class Database:
    """A DuckDB file opened per phase. Thread-safe: write phases in one process are serialised."""

    def __init__(
        self,
        path: Path | str,
        *,
        lock_timeout_seconds: float = 600.0,
        retry_initial_seconds: float = 0.1,
        retry_max_seconds: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        encryption_key_env: str | None = None,
    ) -> None:
        self.path = Path(path)
        #: the environment variable holding the key (None: a plain file); read at every open, never kept
        self.encryption_key_env = encryption_key_env
        self.lock_timeout_seconds = lock_timeout_seconds
        self.retry_initial_seconds = retry_initial_seconds
        self.retry_max_seconds = retry_max_seconds
        self._sleep = sleep
        self._write_lock = file_lock(self.path)
        #: how many times opening had to wait for another process (for the run summary and tests)
        self.lock_waits = 0
        #: the connection of the read phase open in this thread (nested reads reuse it)
        self._reading = threading.local()

    def _connect(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = self.retry_initial_seconds
        attempt = 0
        while True:
            attempt += 1
            try:
                if self.encryption_key_env:
                    con = attach_encrypted(self.path, self.encryption_key_env, read_only=read_only)
                else:
                    con = duckdb.connect(str(self.path), read_only=read_only)
                # no progress bars on stdout from long statements: the terminal belongs to the CLI
                con.execute("SET enable_progress_bar = false")
                return con
            except (duckdb.IOException, duckdb.ConnectionException) as e:
                if not _is_lock_error(e):
                    raise open_error(self.path, e, self.encryption_key_env) from e
                now = time.monotonic()
                if now >= deadline:
                    raise DatabaseLockedError(
                        f"{self.path} is held by another process for more than "
                        f"{self.lock_timeout_seconds:g} s (database.lock_timeout_seconds); "
                        "close read-only sessions on it or raise the timeout"
                    ) from e
                self.lock_waits += 1
                if attempt == 1 or attempt % 10 == 0:
                    log.info("%s is locked by another process; waiting (attempt %d)", self.path, attempt)
                self._sleep(min(delay * (0.5 + random.random()), max(0.0, deadline - now)))
                delay = min(delay * 2, self.retry_max_seconds)
            except duckdb.Error as e:
                raise open_error(self.path, e, self.encryption_key_env) from e

    def _close(self, con: duckdb.DuckDBPyConnection) -> None:
        if self.encryption_key_env:
            detach(con)
        else:
            con.close()

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write phase: open read-write, BEGIN, yield, COMMIT (ROLLBACK on error), close."""
        with self._write_lock:
            if not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            con = self._connect(read_only=False)
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            except duckdb.Error as e:
                raise DatabaseError(f"write to {self.path} failed: {e}") from e
            finally:
                self._close(con)

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read phase. Read-only, so it coexists with ops readers in other processes.

        A read phase opened inside another one in the same thread reuses its connection (a page that
        calls several loaders opens the file once); a read while a write phase is open reuses nothing.
        """
        outer: duckdb.DuckDBPyConnection | None = getattr(self._reading, "con", None)
        if outer is not None:
            yield outer
            return
        if not self.path.exists():
            raise DatabaseError(f"database {self.path} does not exist yet; run `triage migrate` or `triage run`")
        with self._write_lock:
            con = self._connect(read_only=True)
            self._reading.con = con
            try:
                yield con
            except duckdb.Error as e:
                raise DatabaseError(f"read from {self.path} failed: {e}") from e
            finally:
                self._reading.con = None
                self._close(con)
