"""Recorded, registered migrations.

Each migration is a SQL file in ``triage/db/migrations/`` named ``NNNN_name.sql``; they are applied
in name order, each in its own transaction together with its row in ``schema_migrations``. A
migration that has been applied is never re-run; a failing one leaves the database as it was.

Numbering ranges by area keep parallel work apart: 0001-0009 core, 0010-0019 ingest,
0020-0029 parse, 0030-0039 detect, 0040-0049 score/publish, 0050-0059 ops, 0070-0079 privacy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import duckdb

from triage.db.connection import Database
from triage.errors import DatabaseError
from triage.log import get_logger

__all__ = ["Migration", "applied_migrations", "migrate", "registered_migrations"]

log = get_logger("db.migrations")
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str


def registered_migrations(folder: Traversable | None = None) -> list[Migration]:
    """All migrations shipped with this version (or found in ``folder``), in the order they apply."""
    folder = folder or resources.files("triage.db") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            if not _NAME.match(entry.name):
                raise DatabaseError(f"badly named migration {entry.name} (want NNNN_name.sql)")
            found.append(Migration(entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.name)
    numbers = [m.name[:4] for m in found]
    if len(numbers) != len(set(numbers)):
        raise DatabaseError(f"two migrations share a number: {numbers}")
    return found


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )


def applied_migrations(db: Database) -> list[str]:
    """Names of the migrations recorded in the database (empty for a new file)."""
    if not db.path.exists():
        return []
    with db.read() as con:
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
        ).fetchone()
        if not exists or not exists[0]:
            return []
        return [r[0] for r in con.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()]


def migrate(db: Database, migrations: list[Migration] | None = None) -> list[str]:
    """Apply every pending migration; return the names applied now (empty when up to date)."""
    applied = set(applied_migrations(db))
    pending = [m for m in (registered_migrations() if migrations is None else migrations) if m.name not in applied]
    done: list[str] = []
    for m in pending:
        try:
            with db.write() as con:
                _ensure_table(con)
                already = con.execute("SELECT 1 FROM schema_migrations WHERE name = ?", [m.name]).fetchone()
                if already:  # another process applied it between our read and this write
                    continue
                con.execute(m.sql)
                con.execute("INSERT INTO schema_migrations (name) VALUES (?)", [m.name])
        except DatabaseError as e:
            raise DatabaseError(f"migration {m.name} failed: {e.__cause__ or e}") from e
        log.info("applied migration %s", m.name)
        done.append(m.name)
    return done
