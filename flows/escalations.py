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
from prefect.task_runners import ThreadPoolTaskRunner

from flows.stages import apply_queued_actions, detect_all, finish_privacy_jobs, ingest_all, parse_all
from triage.app.links import link_maker
from triage.app.runs import run_clean
from triage.db import Database, open_database
from triage.log import keep_tracebacks_local
from triage.publish.alerts import AlertResult, send_alerts
from triage.settings import Settings, load_settings

__all__ = ["escalation_watch"]


@task(persist_result=False, cache_policy=NO_CACHE)
def alert_ams(settings: Settings, db: Database, now: datetime) -> AlertResult:
    return send_alerts(settings, db, now=now, link_for=link_maker(settings))


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
    db = open_database(settings)
    at = now or datetime.now(UTC)
    run_id = f"watch-{uuid.uuid4()}"

    def work() -> tuple[int, int, AlertResult]:
        finish_privacy_jobs(settings, db)
        apply_queued_actions(settings, db)
        fetched = ingest_all(settings, db, run_id)["fetched"]
        parse_all(settings, db, run_id)
        signals = detect_all(settings, db, run_id)["signals"]
        return fetched, signals, alert_ams(settings, db, at)

    fetched, signals, sent = run_clean("escalation watch", work)
    summary = {
        "run_id": run_id,
        "fetched": fetched,
        "signals": signals,
        "alerts_mailed": sent.mailed,
        "alerts_held": len(sent.held),
        "recipients": sorted(sent.sent),
    }
    get_run_logger().info("escalation watch %s: %s", run_id, summary)
    return summary
