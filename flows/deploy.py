"""Deploy ``nightly_triage`` on a cron schedule and serve it.

An ephemeral Prefect server cannot schedule ("Cannot schedule flows on an ephemeral server"), so
scheduling needs a real API: start ``prefect server start --host 127.0.0.1`` (or use Prefect Cloud),
point ``PREFECT_API_URL`` at it, then run this file as a long-lived service:

    export PREFECT_API_URL=http://127.0.0.1:4200/api
    python -m flows.deploy --config /etc/triage/config.toml

The deployment is named ``nightly_triage/nightly``; its cron and timezone come from ``[flow]`` in the
config (default: 05:30 UTC on weekdays). Trigger a run by hand with
``prefect deployment run nightly_triage/nightly``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from prefect import serve
from prefect.schedules import Cron

from flows.nightly import nightly_triage
from triage.settings import Settings, load_settings

__all__ = ["DEPLOYMENT_NAME", "build_deployment", "main"]

DEPLOYMENT_NAME = "nightly"


def build_deployment(settings: Settings, *, name: str = DEPLOYMENT_NAME) -> Any:
    """The RunnerDeployment for ``settings``: cron schedule, config path as the flow parameter."""
    flow = nightly_triage
    if settings.flow.task_runner == "dask":
        from triage.scale import dask_task_runner

        flow = nightly_triage.with_options(task_runner=dask_task_runner(settings))
    config_path = str(settings.config_file) if settings.config_file else None
    return flow.to_deployment(
        name=name,
        schedule=Cron(settings.flow.cron, timezone=settings.flow.timezone),
        parameters={"config_path": config_path},
        description="Nightly triage: ingest mail and transcripts, detect signals, publish the call list.",
        tags=["triage"],
    )


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
    # keep the schedule active across restarts of this service
    serve(build_deployment(settings, name=args.name), pause_on_shutdown=False)


if __name__ == "__main__":
    main()
