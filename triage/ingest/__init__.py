"""Ingest owns mail as received: local folders and IMAP into ``raw_messages``, watermarks, sightings.

``sync_source`` stores every message of one configured source that is not stored yet, once (keyed
by Message-ID, else content), records every sighting in ``message_locations`` and quarantines what
cannot be stored. It is resumable and idempotent: each batch and its watermark are written in one
transaction, so a crash or a dropped connection loses nothing and a re-run adds nothing twice.
"""

from __future__ import annotations

from triage.db import Database
from triage.errors import IngestError
from triage.ingest.imap import sync_imap
from triage.ingest.local import sync_local
from triage.settings import Settings
from triage.types import IngestReport

__all__ = ["source_names", "sync_source"]


def source_names(settings: Settings) -> list[str]:
    """Configured mail sources, local first, in config order."""
    return [s.name for s in settings.sources.local] + [s.name for s in settings.sources.imap]


def sync_source(settings: Settings, name: str, db: Database, run_id: str) -> IngestReport:
    """Store every new message of source ``name`` once; resumable; safe to retry.

    Raises AuthenticationError (credentials refused), ConnectionLostError (connection dropped; retry
    resumes from the stored watermark) or IngestError (unknown source, missing folder, bad certificate).
    """
    for local in settings.sources.local:
        if local.name == name:
            return sync_local(local, db, run_id)
    for imap in settings.sources.imap:
        if imap.name == name:
            return sync_imap(imap, db, run_id)
    known = ", ".join(source_names(settings)) or "(none configured)"
    raise IngestError(f"unknown mail source {name!r}; configured sources: {known}")
