"""The nightly triage flow: ingest -> parse -> detect -> score -> publish (-> retention).

The body reads as the table of contents; the stages are in :mod:`flows.stages`, the logic in
``triage/``. A re-run after a crash continues where it stopped.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from flows.stages import (
    apply_queued_actions,
    apply_retention,
    build_call_list,
    detect_all,
    finish_privacy_jobs,
    ingest_all,
    parse_all,
    publish_outputs,
    rewrite_pages,
)
from triage.app.runs import RunRecorder, clean_failure
from triage.db import open_database
from triage.log import keep_tracebacks_local
from triage.settings import load_settings

__all__ = ["nightly_triage", "run_nightly"]


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
    db = open_database(settings)
    day = as_of or date.today()
    run = RunRecorder(db, day, flow_run_id=flow_run.get_id())
    run.start()
    try:
        with run.stage("ingest"):
            finish_privacy_jobs(settings, db)
            apply_queued_actions(settings, db)
            run.add(**ingest_all(settings, db, run.run_id))
        with run.stage("parse"):
            run.add(**parse_all(settings, db, run.run_id))
        with run.stage("detect"):
            run.add(**detect_all(settings, db, run.run_id))
        with run.stage("score"):
            run.add(accounts_listed=build_call_list(settings, db, day, run.run_id).accounts_listed)
        with run.stage("publish"):
            out = publish_outputs(settings, db, day)
            run.summary.html_path = out.html_path
            run.summary.digests_sent = out.digests_sent
        if settings.retention.raw_days or settings.retention.derived_days:
            with run.stage("retention"):
                apply_retention(settings, db, day)
    except BaseException as e:
        failure: BaseException | None = clean_failure(run.current, e)
    else:
        failure = None
    if failure is not None:  # raised outside the handler: nothing chained to it reaches Prefect
        run.finish(error=failure)
        raise failure
    summary = run.finish()
    rewrite_pages(settings, db, day)
    get_run_logger().info("run %s finished: %s", run.run_id, summary.as_dict())
    return summary.as_dict()


def run_nightly(settings_path: str | None, as_of: date | None, task_runner: Any = None) -> dict[str, Any]:
    """Run the flow with the task runner the settings ask for (threads, or Dask)."""
    f = nightly_triage if task_runner is None else nightly_triage.with_options(task_runner=task_runner)
    result: dict[str, Any] = f(config_path=settings_path, as_of=as_of)
    return result
