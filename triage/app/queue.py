"""The durable side store next to the database: AMs' actions waiting for the file, and signed-out links.

DuckDB lets one process write. While a nightly or hourly flow holds the file, a click must neither wait
nor get lost: the web app writes it here first (``<database>.actions``, SQLite in WAL mode, one short
transaction, fsync'ed), then applies it to DuckDB as soon as the file is free; every flow and every
command applies what is waiting when it starts (:func:`triage.app.actions.drain`). An action is applied
once: its id is the ``feedback`` row's key, and it leaves this store only after DuckDB committed it.

Privacy: a queued action may carry an AM's note. With ``[database] encryption_key_env`` set, every
payload is sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the database key, so this file
is as unreadable as the database. Applied rows are deleted with ``secure_delete`` (zeroed) and the WAL is
truncated, so nothing of them stays in the folder.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from triage.errors import DatabaseError
from triage.score.feedback import Action
from triage.settings import read_encryption_key

__all__ = ["ActionQueue", "Rejected", "queue_for"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    action_id   TEXT PRIMARY KEY,
    queued_at   REAL NOT NULL,
    payload     BLOB NOT NULL            -- JSON of the Action, sealed when the database is encrypted
);
CREATE TABLE IF NOT EXISTS rejected (      -- actions that could not be applied, for the AM who made them
    action_id   TEXT PRIMARY KEY,
    author      TEXT,
    at          REAL NOT NULL,
    why         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked (       -- sign-in links signed out before they expired
    link_id     TEXT PRIMARY KEY,
    expires     REAL NOT NULL
);
"""
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Rejected:
    action_id: str
    author: str | None
    at: float
    why: str


class ActionQueue:
    """The side store of one database file (thread-safe; several processes may share it)."""

    def __init__(self, db_path: Path, key_env: str | None = None) -> None:
        self.path = Path(f"{db_path}.actions")
        self._key_env = key_env
        self._aead: AESGCM | None = None

    def _sealer(self) -> AESGCM | None:
        if not self._key_env:
            return None
        if self._aead is None:
            key = read_encryption_key(self._key_env).get_secret_value().encode()
            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"triage-actions", info=b"v1").derive(key)
            self._aead = AESGCM(derived)
        return self._aead

    def _seal(self, data: bytes, aad: bytes) -> bytes:
        aead = self._sealer()
        if aead is None:
            return data
        nonce = os.urandom(12)
        return nonce + aead.encrypt(nonce, data, aad)

    def _open(self, blob: bytes, aad: bytes) -> bytes:
        aead = self._sealer()
        if aead is None:
            return blob
        return aead.decrypt(blob[:12], blob[12:], aad)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with _LOCK:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            except sqlite3.Error as e:
                raise DatabaseError(f"cannot open the action queue {self.path}: {e}") from e
            try:
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("PRAGMA synchronous=FULL")
                con.execute("PRAGMA secure_delete=ON")
                con.executescript(_SCHEMA)
                yield con
            except sqlite3.Error as e:
                raise DatabaseError(f"the action queue {self.path} failed: {e}") from e
            finally:
                con.close()

    def put(self, action: Action) -> None:
        """Store ``action`` durably (committed and synced when this returns)."""
        payload = self._seal(json.dumps(action.to_json()).encode(), action.action_id.encode())
        with self._connect() as con:
            con.execute("INSERT OR IGNORE INTO actions VALUES (?, ?, ?)", [action.action_id, time.time(), payload])

    def pending(self) -> list[Action]:
        """What waits, oldest first."""
        if not self.path.exists():
            return []
        with self._connect() as con:
            rows = con.execute("SELECT action_id, payload FROM actions ORDER BY queued_at, action_id").fetchall()
        return [Action.from_json(json.loads(self._open(bytes(p), str(i).encode()))) for i, p in rows]

    def remove(self, action_ids: Sequence[str], rejected: Sequence[Rejected] = ()) -> None:
        """Forget applied (and rejected) actions: zeroed in the file, the WAL truncated."""
        if not action_ids and not rejected:
            return
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            con.executemany("DELETE FROM actions WHERE action_id = ?", [[i] for i in action_ids])
            con.executemany("INSERT OR REPLACE INTO rejected VALUES (?, ?, ?, ?)",
                            [[r.action_id, r.author, r.at, r.why] for r in rejected])
            con.execute("DELETE FROM rejected WHERE at < ?", [time.time() - 7 * 86400])
            con.execute("COMMIT")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def rejected(self, author: str | None, since: float) -> list[Rejected]:
        if not self.path.exists():
            return []
        with self._connect() as con:
            rows = con.execute("SELECT action_id, author, at, why FROM rejected WHERE author IS ? AND at >= ?",
                               [author, since]).fetchall()
        return [Rejected(*r) for r in rows]

    def revoke(self, link_id: str, expires: float) -> None:
        with self._connect() as con:
            con.execute("DELETE FROM revoked WHERE expires < ?", [time.time()])
            con.execute("INSERT OR REPLACE INTO revoked VALUES (?, ?)", [link_id, expires])

    def is_revoked(self, link_id: str) -> bool:
        if not self.path.exists():
            return False
        with self._connect() as con:
            return con.execute("SELECT 1 FROM revoked WHERE link_id = ?", [link_id]).fetchone() is not None


def queue_for(db_path: Path, key_env: str | None) -> ActionQueue:
    return ActionQueue(db_path, key_env)
