"""Erasure and retention as jobs that always finish (issue 21, docs/privacy.md).

:func:`triage.privacy.forget.erase` and :func:`triage.privacy.retention.purge` delete in one
transaction and record a durable job in it. What comes after needs the floors above privacy: threads
and the call lists that quoted the erased words are built again, the pages at their default places are
rewritten, and the database file is rewritten so no freed block keeps a byte
(:func:`finish_privacy_jobs`). Every command opens the database through :func:`triage.app.open_db`,
which finishes the jobs a killed process left behind before anything else happens.
"""

from __future__ import annotations

import mmap
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from triage import parse, publish, score
from triage.db import Database
from triage.db.crypto import is_encrypted
from triage.db.encrypt import rewrite_database
from triage.log import get_logger
from triage.nlp.team import team_models
from triage.parse import store
from triage.privacy import jobs
from triage.privacy.forget import ForgetResult, erase, erased_before
from triage.privacy.retention import PurgeResult
from triage.privacy.retention import purge as purge_rows
from triage.settings import Settings

__all__ = ["Finished", "finish_privacy_jobs", "forget", "purge", "retire_team_models"]

log = get_logger("app.privacy")


@dataclass
class Finished:
    """What finishing one or more privacy jobs did."""

    jobs: list[jobs.PrivacyJob] = field(default_factory=list)
    rebuilt_days: list[date] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    bytes_before: int = 0
    bytes_after: int = 0
    #: team models retired because feedback they learnt from was erased
    retired: list[str] = field(default_factory=list)


def retire_team_models(settings: Settings, db: Database) -> list[str]:
    """Delete the team models (:mod:`triage.nlp.team`) that learnt from feedback no longer in the database
    (erased with a person or an account): no model keeps learning from what was forgotten. The runs go
    back to the newest remaining version, else the shipped model. Repeatable."""
    team = team_models(settings)
    versions = team.versions()
    if not versions:
        return []
    with db.read() as con:
        present = {str(r[0]) for r in con.execute("SELECT feedback_id FROM feedback").fetchall()}
    gone = {v.name for v in versions if v.feedback_ids - present}
    if gone:
        now = team.retire(gone, why="learnt from feedback that was erased")
        log.info("retired %d team model(s) trained on erased feedback; in use: %s", len(gone), now or "shipped")
    return sorted(gone)


def _rebuild_lists(settings: Settings, db: Database, days: list[date]) -> tuple[list[date], date | None]:
    with db.read() as con:
        builds = dict(con.execute("SELECT as_of, run_id FROM call_list_builds").fetchall())
    if not builds:
        return [], None
    latest = max(builds)
    todo = sorted((set(days) & set(builds)) | {latest})
    for day in todo:  # the latest last: `asks` holds the latest build's state
        score.build_call_list(settings, db, day, builds[day])
    return todo, latest


def finish_privacy_jobs(settings: Settings, db: Database, todo: list[jobs.PrivacyJob] | None = None) -> Finished:
    """Run what the unfinished privacy jobs (or ``todo``) still have to do, then mark them finished.

    Each step can be repeated: a kill at any moment leaves the job unfinished and the next call does it
    all again (the file rewrite is a copy and an atomic swap)."""
    pending = jobs.unfinished(db) if todo is None else todo
    done = Finished(pending)
    if not pending:
        return done
    log.info("finishing %d privacy job(s): %s", len(pending), ", ".join(f"{j.kind} {j.job_id}" for j in pending))
    if any(j.rebuild_threads for j in pending):
        parse.messages.rebuild(db, store.read_book(db, settings.org))
    done.rebuilt_days, latest = _rebuild_lists(settings, db, sorted({d for j in pending for d in j.rebuild_days}))
    if latest is not None:
        done.pages = publish.rewrite_pages(settings, db, latest)
    done.retired = retire_team_models(settings, db)
    if any(j.compact for j in pending):
        env = settings.database.encryption_key_env
        report = rewrite_database(db.path, env, env, lock_timeout_seconds=db.lock_timeout_seconds)
        done.bytes_before, done.bytes_after = report.bytes_before, report.bytes_after
    jobs.mark_finished(db, [j.job_id for j in pending])
    return done


def _file_mentions(path: Path, words: list[str]) -> bool:
    """Whether the bytes of the database file or its WAL contain any of ``words`` (any case)."""
    pattern = re.compile(b"|".join(re.escape(w.encode()) for w in words), re.IGNORECASE)
    for part in (path, Path(f"{path}.wal")):
        if not part.exists() or part.stat().st_size == 0:
            continue
        with part.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if pattern.search(data):
                return True
    return False


def _needs_recheck(settings: Settings, db: Database, result: ForgetResult, words: list[str]) -> bool:
    """An erasure that found no rows still rewrites the file when its bytes may hold the subject: a plain
    file that still contains the address (or an account's domain), or an encrypted file (its bytes cannot
    be searched) whose subject was erased before."""
    if settings.database.encryption_key_env and is_encrypted(db.path):
        return erased_before(db, result.subject_hash, result.erasure_id)
    return bool(words) and _file_mentions(db.path, words)


def forget(settings: Settings, db: Database, *, address: str | None = None, account: str | None = None,
           dry_run: bool = False, author: str | None = None, compact: bool = True) -> ForgetResult:
    """Erase a person or an account (:func:`triage.privacy.forget.erase`) and finish the job: lists,
    threads, pages, file. Run again for the same subject, it checks the file's bytes, not only rows."""
    if not dry_run:
        finish_privacy_jobs(settings, db)
    result = erase(db, address=address, account=account, dry_run=dry_run, author=author, compact=compact)
    if dry_run:
        return result
    job = result.job
    if job is None and compact:
        with db.read() as con:
            domains = [str(d) for r in con.execute(
                "SELECT domains FROM accounts WHERE account_id = ?", [account or ""]).fetchall() for d in r[0] or []]
        words = [w for w in [address and address.strip().lower(), *domains] if w]
        if _needs_recheck(settings, db, result, words):
            with db.write() as con:
                job = jobs.record(con, "recheck", compact=True)
    if job is not None:
        done = finish_privacy_jobs(settings, db, [job])
        result.rebuilt_days = done.rebuilt_days
        result.bytes_before, result.bytes_after = done.bytes_before, done.bytes_after
    return result


def purge(settings: Settings, db: Database, as_of: date, *, dry_run: bool = False) -> PurgeResult:
    """Apply the ``[retention]`` windows (:func:`triage.privacy.retention.purge`) and finish the job."""
    if not dry_run:
        finish_privacy_jobs(settings, db)
    result = purge_rows(settings, db, as_of, dry_run=dry_run)
    if result.job is not None:
        done = finish_privacy_jobs(settings, db, [result.job])
        result.bytes_before, result.bytes_after = done.bytes_before, done.bytes_after
    return result
