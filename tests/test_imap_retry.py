"""The real Prefect retry path: the flow's ingest task retries a dropped IMAP connection and resumes.

The server is crashed right after the first batch is committed and restarted a moment later; the
task's retry (Prefect, not a loop of ours) must resume from the stored watermark and end with every
message stored exactly once. A wrong password must not be retried.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from prefect import flow
from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

from flows.stages import ingest_source
from tests.support.dovecot import (  # noqa: F401  (fixtures)
    DovecotServer,
    ImapUser,
    dovecot_fixture,
    imap_user_fixture,
)
from triage import progress
from triage.db import Database
from triage.errors import AuthenticationError
from triage.settings import Settings
from triage.types import IngestReport

pytestmark = pytest.mark.slow


def message(n: int) -> bytes:
    return f"Message-ID: <retry-{n}@client.example>\r\nSubject: {n}\r\n\r\nbody {n}\r\n".encode()


class _CrashThenRecover:
    """Kills the server after the first committed batch; restarts it after ``down_s`` seconds."""

    def __init__(self, server: DovecotServer, down_s: float) -> None:
        self.server = server
        self.down_s = down_s
        self.crashed = False
        self.restarter: threading.Timer | None = None

    def start(self, description: str, total: int | None) -> int:
        return 1

    def advance(self, handle: int, n: int) -> None:
        if not self.crashed:
            self.crashed = True
            self.server.kill()
            self.restarter = threading.Timer(self.down_s, self.server.start)
            self.restarter.start()

    def stop(self, handle: int) -> None:
        return None


@flow(name="imap-retry-test")
def _ingest_flow(settings: Settings, db: Database, retries: int) -> IngestReport:
    task = ingest_source.with_options(retries=retries, retry_delay_seconds=3, retry_jitter_factor=0)
    report: IngestReport = task(settings, "imap", db, "run-1")
    return report


def _ingest_once(settings: Settings, db: Database, retries: int) -> IngestReport:
    # Prefect read its settings when the test modules were imported; on a busy machine its
    # ephemeral API server can take longer than the default 20 s to come up
    with temporary_settings(updates={PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: 180}):
        return _ingest_flow(settings, db, retries)


def test_flow_task_retries_a_dropped_connection_and_resumes(
    db: Database, dovecot: DovecotServer, imap_user: ImapUser, make_settings: Callable[..., Any]
) -> None:
    msgs = [message(i) for i in range(300)]
    dovecot.append(imap_user, "INBOX", msgs)
    dovecot.create_folder(imap_user, "Sent")
    settings = make_settings(dovecot.source_toml(imap_user, batch_size=40, timeout_seconds=10))
    hook = _CrashThenRecover(dovecot, down_s=1.0)
    progress.set_reporter(hook)
    try:
        report = _ingest_once(settings, db, retries=2)
    finally:
        progress.set_reporter(None)
        if hook.restarter is not None:
            hook.restarter.join()
        if not dovecot.is_running():
            dovecot.start()
    assert hook.crashed
    with db.read() as con:
        stored = con.execute("SELECT count(*), count(DISTINCT message_id) FROM raw_messages").fetchone()
        located = con.execute("SELECT count(*) FROM message_locations").fetchone()
    assert stored == (300, 300) and located == (300,)
    # the retry only fetched what the crashed attempt had not committed
    assert 0 < report.fetched < 300


def test_flow_task_does_not_retry_a_wrong_password(
    db: Database,
    dovecot: DovecotServer,
    imap_user: ImapUser,
    make_settings: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(imap_user.password_env, "not-the-password")
    settings = make_settings(dovecot.source_toml(imap_user))
    with pytest.raises(AuthenticationError):
        _ingest_once(settings, db, retries=2)
    # the server saw exactly one login attempt from this user: no retry
    log = (dovecot.base / "log" / "dovecot.log").read_text(errors="replace")
    failed = [
        line for line in log.splitlines() if f"user=<{imap_user.name}>" in line and "auth failed" in line
    ]
    assert len(failed) == 1, failed
