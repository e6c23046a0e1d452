"""Opening the database the way every command and the web app do: migrated, with what a killed process
left behind finished (privacy jobs) and the AMs' queued actions applied."""

from __future__ import annotations

from triage.app.actions import drain
from triage.app.privacy import finish_privacy_jobs
from triage.db import Database, open_database
from triage.settings import Settings

__all__ = ["open_db"]


def open_db(settings: Settings, *, migrate: bool = True) -> Database:
    """The configured database (migrated unless ``migrate`` is false), with every unfinished erasure or
    purge finished first (a process killed half-way through one leaves no byte for longer than the next
    command, whatever that command is), and the AMs' queued actions applied (:mod:`triage.app.actions`)."""
    db = open_database(settings, migrate_now=migrate)
    finish_privacy_jobs(settings, db)
    drain(settings, db)
    return db
