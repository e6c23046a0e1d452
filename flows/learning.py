"""The weekly learning run: a team model from the account managers' clicks, installed only when the gate
passes (:mod:`triage.learn.gate`). Opt-in: ``[learn] weekly = true`` makes ``flows/deploy.py`` serve it
on ``[learn] weekly_cron`` (default Saturday 03:00) next to the nightly deployment.

It needs the shared development data the gate judges on (``data_dir``, default ``$TRIAGE_SHARED_DATA``
or ``../shared/data``). A refused candidate is a normal outcome, not a failure: the run completes and
says why; ``triage model status`` shows the history.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.stages import apply_queued_actions, finish_privacy_jobs
from triage.app.runs import run_clean
from triage.db import Database, open_database
from triage.log import keep_tracebacks_local
from triage.settings import Settings, load_settings

__all__ = ["learn_from_feedback"]


@task(persist_result=False, cache_policy=NO_CACHE)
def build_and_gate(settings: Settings, db: Database, data_dir: Path) -> dict[str, Any]:
    from triage.learn.gate import learn_from_feedback as learn

    outcome = learn(settings, data_dir, db, by="weekly flow")
    return outcome.as_dict()


@flow(name="learn_from_feedback", log_prints=False, persist_result=False)
def learn_from_feedback(config_path: str | None = None, data_dir: str | None = None) -> dict[str, Any]:
    """Make a candidate from the AMs' clicks, judge it, and install it only when every check passes."""
    from triage.learn.data import shared_data_dir

    keep_tracebacks_local()
    settings = load_settings(config_path)
    db = open_database(settings)

    def work() -> dict[str, Any]:
        finish_privacy_jobs(settings, db)
        apply_queued_actions(settings, db)
        return build_and_gate(settings, db, shared_data_dir(Path(data_dir) if data_dir else None))

    outcome = run_clean("learning from feedback", work)
    failed = [c["name"] for c in outcome["checks"] if not c["ok"]]
    get_run_logger().info("learning from feedback: %s", f"installed {outcome['version']}" if outcome["installed"]
                          else f"not installed ({'; '.join(failed)})")
    return {"installed": outcome["installed"], "version": outcome["version"], "clicks": outcome["clicks"],
            "failed_checks": failed}
