"""The nightly triage flow: ingest -> parse -> detect -> score -> store -> publish.

Each task is a thin wrapper over a function in ``triage/`` (the logic lives and is tested there).
Retries are only on I/O against the outside world (IMAP); everything else is deterministic and
resumable from what is already in DuckDB, so a re-run after a crash continues where it stopped.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from triage import ingest, nlp, parse, publish, score
from triage.app import open_db
from triage.db import Database
from triage.errors import ConnectionLostError
from triage.log import keep_tracebacks_local
from triage.runs import RunRecorder
from triage.settings import Settings, load_settings
from triage.types import (
    DetectReport,
    IngestReport,
    ParseReport,
    PublishReport,
    ScoreReport,
    TextUnit,
    TranscriptReport,
)

__all__ = ["nightly_triage", "run_nightly"]


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
    return publish.publish(settings, db, as_of)


@task(persist_result=False, cache_policy=NO_CACHE)
def apply_retention(settings: Settings, db: Database, as_of: date) -> dict[str, int]:
    from triage.app import purge

    return purge(settings, db, as_of).counts


@flow(
    name="nightly_triage",
    log_prints=False,
    persist_result=False,
    task_runner=ThreadPoolTaskRunner(max_workers=2),  # type: ignore[arg-type]
)
def nightly_triage(config_path: str | None = None, as_of: date | None = None) -> dict[str, Any]:
    """Pull new mail and transcripts, detect signals, and publish today's call list."""
    keep_tracebacks_local()
    settings = load_settings(config_path)
    db = open_db(settings)
    day = as_of or date.today()
    from prefect.runtime import flow_run

    run = RunRecorder(db, day, flow_run_id=flow_run.get_id())
    run.start()
    logger = get_run_logger()
    try:
        with run.stage("ingest"):
            fetch = ingest_source.with_options(
                retries=settings.flow.ingest_retries, retry_delay_seconds=settings.flow.ingest_retry_delay_seconds
            )
            for name in ingest.source_names(settings):
                got = fetch(settings, name, db, run.run_id)
                run.add(fetched=got.fetched, quarantined=got.quarantined)
        with run.stage("parse"):
            load_accounts(settings, db)
            parsed = parse_messages(settings, db, run.run_id)
            meetings = parse_transcripts(settings, db, run.run_id)
            run.add(
                parsed=parsed.parsed,
                transcripts=meetings.parsed,
                quarantined=parsed.quarantined + meetings.quarantined,
            )
        with run.stage("detect"):
            batches = pending_units(settings, db)
            futures = {score_batch.submit(settings, b): b for b in batches}
            for fut in as_completed(list(futures)):
                stored = store_signals(settings, db, futures[fut], fut.result(), run.run_id)
                run.add(sentences=stored.sentences, signals=stored.signals)
        with run.stage("score"):
            ranked = build_call_list(settings, db, day, run.run_id)
            run.add(accounts_listed=ranked.accounts_listed)
        with run.stage("publish"):
            out = publish_outputs(settings, db, day)
            run.summary.html_path = out.html_path
            run.summary.digests_sent = out.digests_sent
        if settings.retention.raw_days or settings.retention.derived_days:
            with run.stage("retention"):
                apply_retention(settings, db, day)
    except BaseException as e:
        run.finish(error=e)
        raise
    summary = run.finish()
    logger.info("run %s finished: %s", run.run_id, summary.as_dict())
    return summary.as_dict()


def run_nightly(settings_path: str | None, as_of: date | None, task_runner: Any = None) -> dict[str, Any]:
    """Run the flow with the task runner the settings ask for (threads, or Dask)."""
    f = nightly_triage if task_runner is None else nightly_triage.with_options(task_runner=task_runner)
    result: dict[str, Any] = f(config_path=settings_path, as_of=as_of)
    return result
