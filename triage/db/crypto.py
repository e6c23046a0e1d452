"""DuckDB encryption at rest: the httpfs crypto module, encrypted ATTACH, and what its errors mean.

DuckDB 1.4 (the LTS line pinned in constraints.txt) encrypts a database file, its WAL and its
temporary files with AES-256-GCM when it is ATTACHed with ``ENCRYPTION_KEY``. Reading needs nothing
more; *writing* needs the OpenSSL-backed crypto of the ``httpfs`` extension (DuckDB refuses to write
with its built-in read-only module). The extension comes from the PyPI wheel ``duckdb-ext-httpfs``
(built for exactly this duckdb version) and is loaded from its file: no network, no extension
directory, no auto-install.
"""

from __future__ import annotations

import importlib.metadata
from functools import cache
from pathlib import Path

import duckdb

from triage.errors import DatabaseError, DatabaseKeyError
from triage.log import redact
from triage.settings import read_encryption_key

__all__ = ["ALIAS", "attach_encrypted", "httpfs_extension", "is_encrypted", "open_error"]

#: the catalog name of the attached file inside each connection (``USE``d: SQL needs no prefix)
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


def attach_encrypted(path: Path, key_env: str, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with ``path`` attached encrypted as the default catalog.

    The key is read from ``key_env`` (ConfigError when unset or too short) and passed as a parameter.
    """
    key = read_encryption_key(key_env)
    con = duckdb.connect(":memory:")
    try:
        if not read_only:
            con.execute(f"LOAD '{httpfs_extension()}'")
        options = "ENCRYPTION_KEY ?, READ_ONLY" if read_only else "ENCRYPTION_KEY ?"
        con.execute(f"ATTACH '{_sql_str(path)}' AS {ALIAS} ({options})", [key.get_secret_value()])
        con.execute(f"USE {ALIAS}")
        # spilled intermediate results hold row data too
        con.execute("SET temp_file_encryption = true")
    except BaseException:
        con.close()
        raise
    return con


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
