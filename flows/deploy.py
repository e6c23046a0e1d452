"""Deploy ``nightly_triage`` on a cron schedule and serve it.

An ephemeral Prefect server cannot schedule ("Cannot schedule flows on an ephemeral server"), so
scheduling needs a real API: start ``prefect server start --host 127.0.0.1`` (or use Prefect Cloud),
point ``PREFECT_API_URL`` at it, then run this file as a long-lived service:

    export PREFECT_API_URL=http://127.0.0.1:4200/api
    python -m flows.deploy --config /etc/triage/config.toml

The deployment is named ``nightly_triage/nightly``; its cron and timezone come from ``[flow]`` in the
config (default: 05:30 UTC on weekdays). Trigger a run by hand with
``prefect deployment run nightly_triage/nightly``.

With ``[alerts] enabled = true`` it also serves ``escalation_watch/escalations`` (``flows/escalations.py``)
on ``[alerts] cron`` (default: on the hour, 08:00-18:00 Mon-Fri): the incremental flow and a mail to the
AM about each new churn threat, escalation or strong frustration at a strategic/enterprise account.

With ``[learn] weekly = true`` it also serves ``learn_from_feedback/weekly`` (``flows/learning.py``) on
``[learn] weekly_cron`` (default: Saturday 03:00): a team model from the AMs' clicks, installed only when
the gate passes (docs/learning.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from prefect import serve
from prefect.schedules import Cron

from flows.nightly import nightly_triage
from triage.settings import Settings, load_settings

__all__ = ["ALERTS_DEPLOYMENT_NAME", "DEPLOYMENT_NAME", "LEARN_DEPLOYMENT_NAME", "build_alerts_deployment",
           "build_deployment", "build_learning_deployment", "main"]

DEPLOYMENT_NAME = "nightly"
ALERTS_DEPLOYMENT_NAME = "escalations"
LEARN_DEPLOYMENT_NAME = "weekly"


def _deployment(flow: Any, settings: Settings, name: str, cron: str, timezone: str, tags: list[str],
                description: str) -> Any:
    """``flow`` served on ``cron``, with the config file as its parameter."""
    config_path = str(settings.config_file) if settings.config_file else None
    return flow.to_deployment(name=name, schedule=Cron(cron, timezone=timezone),
                              parameters={"config_path": config_path}, description=description, tags=tags)


def build_deployment(settings: Settings, *, name: str = DEPLOYMENT_NAME) -> Any:
    """The RunnerDeployment for ``settings``: cron schedule, config path as the flow parameter."""
    flow = nightly_triage
    if settings.flow.task_runner == "dask":
        from flows.runners import dask_task_runner

        flow = nightly_triage.with_options(task_runner=dask_task_runner(settings))
    return _deployment(flow, settings, name, settings.flow.cron, settings.flow.timezone, ["triage"],
                       "Nightly triage: ingest mail and transcripts, detect signals, publish the call list.")


def build_alerts_deployment(settings: Settings, *, name: str = ALERTS_DEPLOYMENT_NAME) -> Any:
    """The escalation watch (incremental flow + same-day alerts) on ``[alerts] cron`` (hourly, business hours)."""
    from flows.escalations import escalation_watch

    return _deployment(escalation_watch, settings, name, settings.alerts.cron, settings.alerts.timezone,
                       ["triage", "alerts"],
                       "Same-day escalations: new mail and transcripts, detectors, an alert mail per new escalation.")


def build_learning_deployment(settings: Settings, *, name: str = LEARN_DEPLOYMENT_NAME) -> Any:
    """The weekly learning run (opt-in, ``[learn] weekly``): a team model from the AMs' clicks, behind the gate."""
    from flows.learning import learn_from_feedback

    return _deployment(learn_from_feedback, settings, name, settings.learn.weekly_cron, settings.learn.timezone,
                       ["triage", "learning"],
                       "Weekly: a team model from the AMs' clicks, installed only when the gate passes.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m flows.deploy",
        description="Serve the nightly_triage deployment on its cron schedule (needs PREFECT_API_URL).",
        epilog="example: PREFECT_API_URL=http://127.0.0.1:4200/api python -m flows.deploy --config prod.toml",
    )
    parser.add_argument("--config", type=Path, help="TOML config (default: $TRIAGE_CONFIG or the bundled sample)")
    parser.add_argument("--name", default=DEPLOYMENT_NAME, help="deployment name (default: %(default)s)")
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    deployments = [build_deployment(settings, name=args.name)]
    if settings.alerts.enabled:
        deployments.append(build_alerts_deployment(settings))
    if settings.learn.weekly:
        deployments.append(build_learning_deployment(settings))
    # keep the schedules active across restarts of this service
    serve(*deployments, pause_on_shutdown=False)


if __name__ == "__main__":
    main()
