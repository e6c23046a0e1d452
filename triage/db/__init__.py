"""The database floor owns DuckDB: the schema (``migrations/``), connections per phase, encryption."""

from __future__ import annotations

from triage.db.connection import Database
from triage.db.migrations import Migration, applied_migrations, migrate, registered_migrations
from triage.settings import Settings

__all__ = [
    "Database",
    "Migration",
    "applied_migrations",
    "migrate",
    "open_database",
    "registered_migrations",
]


def open_database(settings: Settings, *, migrate_now: bool = True) -> Database:
    """The configured database, migrated to the current schema unless ``migrate_now`` is false."""
    cfg = settings.database
    db = Database(
        cfg.path,
        lock_timeout_seconds=cfg.lock_timeout_seconds,
        retry_initial_seconds=cfg.retry_initial_seconds,
        retry_max_seconds=cfg.retry_max_seconds,
        encryption_key_env=cfg.encryption_key_env,
    )
    if migrate_now:
        migrate(db)
    return db
