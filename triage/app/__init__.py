"""The application layer: what the CLI, the web app and the flows call; it composes the floors below.

Floors, lowest first: ``errors``/``secrets``/``log``/``settings``/``types`` → ``db`` → ``privacy`` →
``ingest`` → ``parse`` → ``nlp`` (detect) → ``score`` → ``publish``; ``learn`` (training, evaluation)
stands beside the runtime. A floor imports only floors below it. What needs several floors at once (an
erasure that rebuilds the lists it changed, a feedback click that re-ranks the list) lives here, and
nothing below imports this package.
"""

from __future__ import annotations

from triage.app.actions import Drained, Recorded, drain, record
from triage.app.database import open_db
from triage.app.privacy import Finished, finish_privacy_jobs, forget, purge

__all__ = ["Drained", "Finished", "Recorded", "drain", "finish_privacy_jobs", "forget", "open_db", "purge", "record"]
