"""The served deployment on a real Prefect server: the cron of [flow], scheduled runs, a manual run to the end.

An ephemeral server cannot schedule, so this starts ``prefect server start`` and ``python -m flows.deploy``
as subprocesses (each in its own process group, killed whole in teardown), as production does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterName,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.support.dovecot import free_port
from tests.support.flowrun import sample_config, table_keys, toml_value

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
AS_OF = date(2026, 11, 20)
CRON = "30 5 * * 1-5"
TIMEZONE = "America/New_York"  # not the default: the timezone must come from the config too
DEPLOYMENT = "nightly_triage/nightly"
T = TypeVar("T")


@dataclass
class Service:
    """A subprocess in its own process group, with its output in a log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(text[-lines:])

    def stop(self) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=15)
        # what is left of the group (a leader deaf to SIGTERM, flow run processes) goes too
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


@contextmanager
def _service(name: str, cmd: list[str], env: dict[str, str], log_dir: Path) -> Iterator[Service]:
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = Service(name, proc, log)
    try:
        yield service
    finally:
        service.stop()


def _wait_for(what: str, check: Callable[[], T | None], timeout: float, *watch: Service) -> T:
    """Poll ``check`` until it returns something truthy; fail early when a watched service dies."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        for s in watch:
            if s.proc.poll() is not None:
                pytest.fail(f"{s.name} exited ({s.proc.returncode}) while waiting for {what}\n{s.tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout:g} s\n" + "\n".join(s.tail() for s in watch))
        time.sleep(0.5)


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=5) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@pytest.fixture
def prefect_api(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Service]]:
    """A real Prefect server (own PREFECT_HOME, scheduler every second): its API URL and the client env."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    (tmp_path / "tmp").mkdir()
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="1",
        TMPDIR=str(tmp_path / "tmp"),  # the runner's runner_storage/
    )
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    cmd = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"]
    with _service("prefect-server", cmd, env, tmp_path) as server:
        _wait_for("healthy Prefect server", lambda: _healthy(api_url), 180, server)
        # the served deployment polls for due runs every second (default 10)
        yield api_url, {**env, "PREFECT_API_URL": api_url, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}, server


@contextmanager
def _client(api_url: str) -> Iterator[SyncPrefectClient]:
    with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        yield client


def _deployment(client: SyncPrefectClient, name: str = DEPLOYMENT) -> Any:
    try:
        return client.read_deployment_by_name(name)
    except ObjectNotFound:
        return None


def _scheduled_runs(client: SyncPrefectClient, deployment_id: uuid.UUID) -> list[FlowRun]:
    return client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
        ),
    )


def _finished_run(client: SyncPrefectClient, name: str) -> FlowRun | None:
    runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name])))
    return runs[0] if runs and runs[0].state is not None and runs[0].state.is_final() else None


def test_served_deployment_is_scheduled_by_cron_and_runs_on_demand(
    tmp_path: Path, prefect_api: tuple[str, dict[str, str], Service]
) -> None:
    api_url, env, server = prefect_api
    cfg = sample_config(tmp_path, extra=f"[flow]\ncron = {toml_value(CRON)}\ntimezone = {toml_value(TIMEZONE)}\n"
                                        "[learn]\nweekly = true\n")
    cmd = [sys.executable, "-m", "flows.deploy", "--config", str(cfg)]
    started = datetime.now(UTC)
    with _service("flows.deploy", cmd, env, tmp_path) as served, _client(api_url) as client:
        deployment = _wait_for("deployment " + DEPLOYMENT, lambda: _deployment(client), 180, served, server)
        assert [(s.schedule.cron, s.schedule.timezone, s.active) for s in deployment.schedules] == [
            (CRON, TIMEZONE, True)
        ]
        assert deployment.parameters == {"config_path": str(cfg)}
        # the opt-in weekly learning run is served next to it ([learn] weekly)
        weekly = _wait_for("deployment learn_from_feedback/weekly",
                           lambda: _deployment(client, "learn_from_feedback/weekly"), 120, served, server)
        assert [(s.schedule.cron, s.active) for s in weekly.schedules] == [("0 3 * * 6", True)]
        assert weekly.parameters == {"config_path": str(cfg)}

        scheduled = _wait_for(
            "scheduled flow runs", lambda: _scheduled_runs(client, deployment.id), 120, served, server
        )
        for run in scheduled:
            assert run.expected_start_time is not None and run.expected_start_time > started
            local = run.expected_start_time.astimezone(ZoneInfo(TIMEZONE))
            assert (local.hour, local.minute) == (5, 30) and local.weekday() < 5, local

        # a run by hand, as the docs say, for the sample's day
        name = f"manual-{uuid.uuid4().hex[:8]}"
        trigger = subprocess.run(
            [
                str(BIN / "prefect"),
                "deployment",
                "run",
                DEPLOYMENT,
                "--param",
                f'as_of="{AS_OF.isoformat()}"',
                "--flow-run-name",
                name,
            ],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert trigger.returncode == 0, trigger.stdout + trigger.stderr
        run = _wait_for("end of the manual flow run", lambda: _finished_run(client, name), 300, served, server)
        assert run.state is not None and run.state.type == StateType.COMPLETED, f"{run.state}\n{served.tail()}"
        assert run.parameters == {"config_path": str(cfg), "as_of": AS_OF.isoformat()}

    db_path = tmp_path / "triage.duckdb"
    runs = table_keys(db_path, "SELECT flow_run_id, status, as_of FROM runs")
    assert (str(run.id), "completed", AS_OF) in runs
    listed = table_keys(db_path, "SELECT rank, account_id FROM v_call_list_today")
    assert listed and sorted(r[0] for r in listed) == list(range(1, len(listed) + 1))
