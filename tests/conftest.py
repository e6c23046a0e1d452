"""Shared fixtures. Area-specific fixtures live in tests/support/<area>.py and are imported explicitly."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from triage.db import Database, migrate
from triage.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent

# Prefect reads its settings when first imported (test modules import flows at collection time),
# so its environment is set here, at conftest import: state in a temp dir, no analytics, no UI, a
# generous start-up timeout for the ephemeral server on a loaded 2-core machine.
_PREFECT_HOME = tempfile.mkdtemp(prefix="triage-prefect-")
for _k, _v in {
    "PREFECT_HOME": _PREFECT_HOME,
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
    "TMPDIR": os.environ.get("TMPDIR", tempfile.gettempdir()),
}.items():
    os.environ.setdefault(_k, _v)


def shared_data_dir() -> Path:
    """The project's labelled public data: $TRIAGE_SHARED_DATA or ../shared/data next to the repo."""
    return Path(os.environ.get("TRIAGE_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if not (d / "enron-maildir").is_dir():
        pytest.fail(f"shared data not found at {d}; set TRIAGE_SHARED_DATA")
    return d


@pytest.fixture
def db(tmp_path: Path) -> Database:
    """A real, migrated DuckDB file in a temp dir (fast timeouts for lock tests)."""
    database = Database(tmp_path / "triage.duckdb", lock_timeout_seconds=30, retry_initial_seconds=0.05)
    migrate(database)
    return database


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a TOML config into tmp_path and return its path."""

    def _write(text: str, name: str = "config.toml") -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return _write


@pytest.fixture
def make_settings(write_config: Callable[[str], Path]) -> Callable[..., Settings]:
    """Settings from TOML text (paths relative to tmp_path)."""

    def _make(text: str = "", **_: Any) -> Settings:
        return load_settings(write_config(text), use_env_config=False)

    return _make


@pytest.fixture(scope="session")
def world_readable_tmp() -> Iterator[Path]:
    """A temp dir whose parents are all o+x (Dovecot's unprivileged processes must traverse it)."""
    base = Path(tempfile.mkdtemp(prefix="triage-test-", dir="/tmp"))
    base.chmod(0o755)
    yield base
    import shutil

    shutil.rmtree(base, ignore_errors=True)
