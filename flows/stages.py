"""The stages both flows run, as Prefect tasks: thin wrappers over the library (the logic lives and is
tested in ``triage/``), and the steps that chain them.

Retries are only on I/O against the outside world (IMAP); everything else is deterministic and
resumable from what is already in DuckDB, so a re-run after a crash continues where it stopped.
No task persists its result (they carry client text; docs/privacy.md, "What Prefect keeps").
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed

from triage import app, ingest, nlp, parse, publish, score
from triage.app.links import link_maker
from triage.db import Database
from triage.errors import ConnectionLostError
from triage.settings import Settings
from triage.types import (
    DetectReport,
    IngestReport,
    ParseReport,
    PublishReport,
    ScoreReport,
    TextUnit,
    TranscriptReport,
)

__all__ = [
    "Detected",
    "Ingested",
    "Parsed",
    "apply_queued_actions",
    "apply_retention",
    "build_call_list",
    "detect_all",
    "finish_privacy_jobs",
    "ingest_all",
    "ingest_source",
    "parse_all",
    "publish_outputs",
    "rewrite_pages",
]


def _retry_on_connection_loss(task: Any, task_run: Any, state: Any) -> bool:
    """Retry I/O that lost its connection; never a wrong password, a bad config or a bug."""
    return isinstance(state.data, ConnectionLostError)


@task(
    persist_result=False,
    retries=3,
    retry_delay_seconds=[5, 30, 120],
    retry_jitter_factor=0.5,
    retry_condition_fn=_retry_on_connection_loss,
    cache_policy=NO_CACHE,
)
def ingest_source(settings: Settings, source: str, db: Database, run_id: str) -> IngestReport:
    return ingest.sync_source(settings, source, db, run_id)


@task(persist_result=False, cache_policy=NO_CACHE)
def finish_privacy_jobs(settings: Settings, db: Database) -> int:
    """An erasure or purge a killed process left half-done is finished before anything else."""
    return len(app.finish_privacy_jobs(settings, db).jobs)


@task(persist_result=False, cache_policy=NO_CACHE)
def apply_queued_actions(settings: Settings, db: Database) -> int:
    """AMs' clicks that waited while the file was held (web app) are applied once, before the run starts."""
    return len(app.drain(settings, db).applied)


@task(persist_result=False, cache_policy=NO_CACHE)
def load_accounts(settings: Settings, db: Database) -> int:
    return parse.load_accounts(settings, db)


@task(persist_result=False, cache_policy=NO_CACHE)
def parse_messages(settings: Settings, db: Database, run_id: str) -> ParseReport:
    return parse.parse_pending(settings, db, run_id)


@task(persist_result=False, cache_policy=NO_CACHE)
def parse_transcripts(settings: Settings, db: Database, run_id: str) -> TranscriptReport:
    return parse.ingest_transcripts(settings, db, run_id)


@task(persist_result=False, cache_policy=NO_CACHE)
def pending_units(settings: Settings, db: Database) -> list[list[TextUnit]]:
    return nlp.pending_batches(settings, db)


@task(persist_result=False, cache_policy=NO_CACHE)
def score_batch(settings: Settings, batch: list[TextUnit]) -> nlp.Detected:
    return nlp.detect_batch(settings, batch)


@task(persist_result=False, cache_policy=NO_CACHE)
def store_signals(settings: Settings, db: Database, batch: list[TextUnit], detected: nlp.Detected,
                  run_id: str) -> DetectReport:
    return nlp.store_signals(db, batch, detected.signals, run_id, detected, settings.nlp.cache_max_entries)


@task(persist_result=False, cache_policy=NO_CACHE)
def build_call_list(settings: Settings, db: Database, as_of: date, run_id: str) -> ScoreReport:
    return score.build_call_list(settings, db, as_of, run_id)


@task(persist_result=False, cache_policy=NO_CACHE)
def publish_outputs(settings: Settings, db: Database, as_of: date) -> PublishReport:
    """The page, and each AM's digest with a sign-in link to act on it (when the web app's secret is set)."""
    return publish.publish(settings, db, as_of, link_for=link_maker(settings))


@task(persist_result=False, cache_policy=NO_CACHE)
def rewrite_pages(settings: Settings, db: Database, as_of: date) -> list[str]:
    """The pages again once the run has finished: they say when it finished, not "run in progress"."""
    return publish.rewrite_pages(settings, db, as_of)


@task(persist_result=False, cache_policy=NO_CACHE)
def apply_retention(settings: Settings, db: Database, as_of: date) -> dict[str, int]:
    return app.purge(settings, db, as_of).counts


class Ingested(dict[str, int]):
    """fetched, quarantined"""


class Parsed(dict[str, int]):
    """parsed, transcripts, quarantined"""


class Detected(dict[str, int]):
    """sentences, signals"""


def ingest_all(settings: Settings, db: Database, run_id: str) -> Ingested:
    """Every configured source, one task each (retried when the connection dropped)."""
    fetch = ingest_source.with_options(
        retries=settings.flow.ingest_retries, retry_delay_seconds=settings.flow.ingest_retry_delay_seconds
    )
    out = Ingested(fetched=0, quarantined=0)
    for name in ingest.source_names(settings):
        got = fetch(settings, name, db, run_id)
        out["fetched"] += got.fetched
        out["quarantined"] += got.quarantined
    return out


def parse_all(settings: Settings, db: Database, run_id: str) -> Parsed:
    """The accounts file, new mail, new or changed transcripts."""
    load_accounts(settings, db)
    parsed = parse_messages(settings, db, run_id)
    meetings = parse_transcripts(settings, db, run_id)
    return Parsed(parsed=parsed.parsed, transcripts=meetings.parsed,
                  quarantined=parsed.quarantined + meetings.quarantined)


def detect_all(settings: Settings, db: Database, run_id: str) -> Detected:
    """Every unit not yet scored, in batches on the flow's task runner, stored as each batch completes."""
    batches = pending_units(settings, db)
    futures = {score_batch.submit(settings, b): b for b in batches}
    out = Detected(sentences=0, signals=0)
    for fut in as_completed(list(futures)):
        stored = store_signals(settings, db, futures[fut], fut.result(), run_id)
        out["sentences"] += stored.sentences
        out["signals"] += stored.signals
    return out
