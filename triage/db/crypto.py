"""DuckDB encryption at rest: the httpfs crypto module, encrypted ATTACH, and what its errors mean.

DuckDB 1.4 (the LTS line pinned in constraints.txt) encrypts a database file, its WAL and its
temporary files with AES-256-GCM when it is ATTACHed with ``ENCRYPTION_KEY``. Reading needs nothing
more; *writing* needs the OpenSSL-backed crypto of the ``httpfs`` extension (DuckDB refuses to write
with its built-in read-only module). The extension comes from the PyPI wheel ``duckdb-ext-httpfs``
(built for exactly this duckdb version) and is loaded from its file: no network, no extension
directory, no auto-install.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import itertools
import threading
from functools import cache
from pathlib import Path

import duckdb

from triage.errors import DatabaseError, DatabaseKeyError
from triage.log import redact
from triage.settings import read_encryption_key

__all__ = ["ALIAS", "attach_encrypted", "detach", "httpfs_extension", "is_encrypted", "open_error"]

#: the catalog name prefix of the attached file in each connection (``USE``d: SQL needs no prefix)
ALIAS = "triage"
_WHEEL = "duckdb-ext-httpfs"


@cache
def httpfs_extension() -> Path:
    """The httpfs extension file of the installed ``duckdb-ext-httpfs`` wheel, for this duckdb version."""
    want = f"v{duckdb.__version__}"
    try:
        files = importlib.metadata.files(_WHEEL) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    found = [f for f in files if f.name == "httpfs.duckdb_extension"]
    for f in found:
        if want in f.parts:
            return Path(str(f.locate()))
    have = ", ".join(sorted({p for f in found for p in f.parts if p.startswith("v1")})) or "none"
    raise DatabaseError(
        f"writing an encrypted database needs the httpfs extension for duckdb {duckdb.__version__} "
        f"(installed: {have}); install it with `pip install -c constraints.txt {_WHEEL}`"
    )


_HUB: duckdb.DuckDBPyConnection | None = None
_HUB_LOCK = threading.Lock()
_ALIASES = itertools.count(1)


def _hub() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process with httpfs loaded once (LOAD costs ~0.25 s per instance; with
    it, attaching an encrypted file takes ~0.03 s, against ~2.5 s on DuckDB's built-in read-only crypto)."""
    global _HUB
    with _HUB_LOCK:
        if _HUB is None:
            hub = duckdb.connect(":memory:")
            hub.execute(f"LOAD '{httpfs_extension()}'")
            # spilled intermediate results hold row data too
            hub.execute("SET temp_file_encryption = true")
            _HUB = hub
        return _HUB


def attach_encrypted(path: Path, key_env: str, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A connection (a cursor of the process's in-memory DuckDB) with ``path`` attached encrypted as its
    default catalog; give it back with :func:`detach`, which releases the file.

    The key is read from ``key_env`` (ConfigError when unset or too short) and passed as a parameter.
    """
    key = read_encryption_key(key_env)
    con = _hub().cursor()
    alias = f"{ALIAS}_{next(_ALIASES)}"
    try:
        options = "ENCRYPTION_KEY ?, READ_ONLY" if read_only else "ENCRYPTION_KEY ?"
        con.execute(f"ATTACH '{_sql_str(path)}' AS {alias} ({options})", [key.get_secret_value()])
        con.execute(f"USE {alias}")
    except BaseException:
        con.close()
        raise
    return con


def detach(con: duckdb.DuckDBPyConnection) -> None:
    """Release the file attached by :func:`attach_encrypted` (DETACH: checkpoint, unlock) and close."""
    try:
        with contextlib.suppress(duckdb.Error):  # a phase that failed mid-transaction: end it first
            con.execute("ROLLBACK")
        row = con.execute("SELECT current_database()").fetchone()
        con.execute("USE memory")
        if row and str(row[0]).startswith(f"{ALIAS}_"):
            con.execute(f"DETACH {row[0]}")
    finally:
        con.close()


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")


def is_encrypted(path: Path) -> bool:
    """True when the DuckDB file at ``path`` is encrypted (its header says so; no key needed)."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH '{_sql_str(path)}' AS probe (READ_ONLY)")
    except duckdb.Error as e:
        if "without a key" in str(e):
            return True
        raise DatabaseError(f"cannot open {path}: {redact(str(e))}") from e
    finally:
        con.close()
    return False


def open_error(path: Path, err: BaseException, key_env: str | None) -> DatabaseError:
    """What a failed open means, in one line (never the key: DuckDB's messages do not carry it)."""
    text = redact(str(err))
    low = text.lower()
    if "wrong encryption key" in low:
        return DatabaseKeyError(f"{path} cannot be opened with the key in {key_env}: wrong encryption key")
    if "without a key" in low:
        return DatabaseKeyError(
            f"{path} is encrypted: set database.encryption_key_env to the variable holding its key"
        )
    if "is not encrypted" in low and key_env:
        return DatabaseKeyError(
            f"{path} is not encrypted but database.encryption_key_env is set: encrypt it with "
            "`triage db encrypt` (or unset database.encryption_key_env)"
        )
    return DatabaseError(f"cannot open {path}: {text}")
