"""AMs' actions end to end: queued durably, applied to DuckDB once, the list built again at once.

:func:`record` is what a click does (web app, digest link) and what the CLI's ``done``/``dismiss`` do:
the action goes to the durable queue (:mod:`triage.app.queue`), then :func:`drain` applies everything
waiting in one DuckDB transaction and builds the latest call list again, so the list re-ranks before the
page is shown. When a nightly or hourly flow holds the file for longer than the caller wants to wait,
the action stays queued and the next :func:`drain` applies it: the web app's background loop, every
flow at its start, every command (:func:`triage.app.open_db`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

from triage import score
from triage.app.queue import ActionQueue, Rejected
from triage.db import Database
from triage.errors import DatabaseLockedError, TriageError
from triage.log import get_logger
from triage.score.feedback import Action, Applied, apply_action
from triage.settings import Settings

__all__ = ["Drained", "Recorded", "drain", "queue_of", "record"]

log = get_logger("app.actions")


@dataclass
class Drained:
    applied: list[Applied] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    #: still waiting (the database was held by another process)
    waiting: int = 0
    rebuilt: date | None = None


@dataclass(frozen=True)
class Recorded:
    action: Action
    #: applied and the list built again (False: queued, applied when the file is free)
    applied: bool
    rejected: str | None = None
    #: the day of the list built again (None: not rebuilt)
    rebuilt: date | None = None


def queue_of(db: Database) -> ActionQueue:
    return ActionQueue(db.path, db.encryption_key_env)


def _patient(db: Database, seconds: float | None) -> Database:
    """``db``, or a copy that gives up waiting for the file after ``seconds``."""
    if seconds is None:
        return db
    return Database(db.path, lock_timeout_seconds=seconds, retry_initial_seconds=min(0.05, seconds),
                    retry_max_seconds=max(seconds / 4, 0.05), encryption_key_env=db.encryption_key_env)


def drain(settings: Settings, db: Database, *, wait_seconds: float | None = None, rebuild: bool = True) -> Drained:
    """Apply every queued action to the database (once each), then build the latest list again.

    ``wait_seconds``: give up (and leave them queued) when the file is held for longer; None waits as
    long as ``database.lock_timeout_seconds``."""
    queue = queue_of(db)
    todo = queue.pending()
    out = Drained()
    if not todo or not db.path.exists():
        out.waiting = len(todo)
        return out
    target = _patient(db, wait_seconds)
    try:
        with target.write() as con:
            for a in todo:
                try:  # every check comes before any write: a refused action leaves the transaction clean
                    out.applied.append(apply_action(con, a))
                except TriageError as e:
                    out.rejected.append(Rejected(a.action_id, a.author, time.time(), str(e)))
    except DatabaseLockedError:
        out.waiting = len(todo)
        return out
    queue.remove([a.action_id for a in todo], out.rejected)  # only now that DuckDB committed them
    if out.rejected:
        log.warning("%d queued action(s) could not be applied: %s", len(out.rejected),
                    "; ".join(r.why for r in out.rejected))
    touched = {a.account_id for a in out.applied if a.new and a.account_id}
    if rebuild and touched:
        out.rebuilt = score.rebuild_accounts(settings, target, touched)
    return out


def record(settings: Settings, db: Database, action: Action, *, wait_seconds: float | None = None,
           rebuild: bool = True) -> Recorded:
    """Queue ``action`` durably, then apply what waits and (unless ``rebuild`` is false) build the latest list
    again; say whether it is applied yet."""
    queue_of(db).put(action)
    drained = drain(settings, db, wait_seconds=wait_seconds, rebuild=rebuild)
    why = next((r.why for r in drained.rejected if r.action_id == action.action_id), None)
    # applied by this drain, or by another process's (a flow starting) in between: it no longer waits
    applied = any(a.feedback_id == action.action_id for a in drained.applied) or drained.waiting == 0
    return Recorded(action, applied and why is None, why, drained.rebuilt)
