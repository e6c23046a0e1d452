"""Helpers for the privacy tests (issue 16): keys, and the CLI run in a subprocess of this checkout."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

__all__ = ["KEY_ENV", "cli_env", "new_key", "run_cli"]

REPO = Path(__file__).resolve().parents[2]
#: the variable the tests keep the database key in
KEY_ENV = "TRIAGE_TEST_DB_KEY"


def new_key() -> str:
    return secrets.token_urlsafe(32)


def cli_env(key_env: str | None) -> dict[str, str]:
    """The environment of a CLI subprocess: this checkout first on the path, the key variable named."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    if key_env:
        env["TRIAGE_DATABASE__ENCRYPTION_KEY_ENV"] = key_env
    return env


def run_cli(args: list[str], env: dict[str, str], *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "triage", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
