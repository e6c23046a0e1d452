"""The escalation watch: the incremental part of the nightly flow, then same-day alerts.

Run hourly in business hours (``[alerts] cron``, served by ``flows/deploy.py`` next to the nightly
deployment): ingest what is new, parse it, run the detectors on it (all idempotent: a run with no
new mail does almost nothing), then mail each AM once per new churn threat, escalation or strong
frustration at a strategic/enterprise account (:func:`triage.publish.alerts.send_alerts`). It does
not rebuild the call list: the morning list stays as it was published.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.nightly import (
    ingest_source,
    load_accounts,
    parse_messages,
    parse_transcripts,
    pending_units,
    score_batch,
    store_signals,
)
from triage import ingest
from triage.app import open_db
from triage.db import Database
from triage.log import keep_tracebacks_local
from triage.publish.alerts import AlertResult, send_alerts
from triage.runs import sanitized
from triage.settings import Settings, load_settings

__all__ = ["escalation_watch"]


@task(persist_result=False, cache_policy=NO_CACHE)
def alert_ams(settings: Settings, db: Database, now: datetime) -> AlertResult:
    return send_alerts(settings, db, now=now)


@flow(
    name="escalation_watch",
    log_prints=False,
    persist_result=False,
    task_runner=ThreadPoolTaskRunner(max_workers=2),  # type: ignore[arg-type]
)
def escalation_watch(config_path: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Pull new mail and transcripts, detect signals, and alert AMs about new escalations."""
    keep_tracebacks_local()
    settings = load_settings(config_path)
    db = open_db(settings)
    at = now or datetime.now(UTC)
    run_id = f"watch-{uuid.uuid4()}"
    logger = get_run_logger()
    fetched = signals = 0
    with sanitized("escalation watch"):
        fetch = ingest_source.with_options(
            retries=settings.flow.ingest_retries, retry_delay_seconds=settings.flow.ingest_retry_delay_seconds
        )
        for name in ingest.source_names(settings):
            fetched += fetch(settings, name, db, run_id).fetched
        load_accounts(settings, db)
        parse_messages(settings, db, run_id)
        parse_transcripts(settings, db, run_id)
        batches = pending_units(settings, db)
        futures = {score_batch.submit(settings, b): b for b in batches}
        for fut in as_completed(list(futures)):
            signals += store_signals(settings, db, futures[fut], fut.result(), run_id).signals
        sent = alert_ams(settings, db, at)
    summary = {
        "run_id": run_id,
        "fetched": fetched,
        "signals": signals,
        "alerts_mailed": sent.mailed,
        "alerts_held": len(sent.held),
        "recipients": sorted(sent.sent),
    }
    logger.info("escalation watch %s: %s", run_id, summary)
    return summary
