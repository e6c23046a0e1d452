"""DuckDB: recorded migrations, and a writer that waits for readers in other processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from triage.db import Database, applied_migrations, migrate, registered_migrations
from triage.db.migrations import Migration
from triage.errors import DatabaseError, DatabaseLockedError


def test_migrations_are_recorded_and_applied_once(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.duckdb")
    names = [m.name for m in registered_migrations()]
    assert names == sorted(names) and names[0] == "0001_core"
    assert migrate(db) == names
    assert applied_migrations(db) == names
    assert migrate(db) == []
    with db.read() as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"runs", "quarantine", "raw_messages", "messages", "signals", "call_list"} <= tables
    assert {"v_call_list_today", "v_account_signals"} <= tables


def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.duckdb")
    good = Migration("0001_a", "CREATE TABLE a (x INTEGER);")
    bad = Migration("0002_b", "CREATE TABLE b (x INTEGER); INSERT INTO nope VALUES (1);")
    with pytest.raises(DatabaseError, match="migration 0002_b failed"):
        migrate(db, [good, bad])
    assert applied_migrations(db) == ["0001_a"]
    with db.read() as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "b" not in tables and "a" in tables
    # fixed migration applies on the next run
    assert migrate(db, [good, Migration("0002_b", "CREATE TABLE b (x INTEGER);")]) == ["0002_b"]


def test_write_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as con:
        con.execute(
            "INSERT INTO runs (run_id, started_at, status, as_of) VALUES ('r1', now(), 'running', current_date)"
        )
        raise RuntimeError("boom")
    with db.read() as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)


def test_read_of_a_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with (
        pytest.raises(DatabaseError, match="does not exist yet; run `triage migrate`"),
        Database(tmp_path / "missing.duckdb").read(),
    ):
        pass


def _hold_read_only(path: Path, seconds: float) -> subprocess.Popen[str]:
    code = textwrap.dedent(
        f"""
        import duckdb, sys, time
        con = duckdb.connect({str(path)!r}, read_only=True)
        con.execute("SELECT count(*) FROM runs").fetchall()
        print("holding", flush=True)
        time.sleep({seconds})
        con.close()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc


def test_writer_waits_for_an_ops_reader_in_another_process(db: Database) -> None:
    reader = _hold_read_only(db.path, 1.5)
    try:
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(db.path))  # what a naive writer would hit
        t0 = time.monotonic()
        with db.write() as con:
            con.execute(
                "INSERT INTO runs (run_id, started_at, status, as_of) VALUES ('r1', now(), 'running', current_date)"
            )
        waited = time.monotonic() - t0
    finally:
        reader.wait(timeout=30)
    assert db.lock_waits > 0 and waited >= 0.5
    with db.read() as con:
        assert con.execute("SELECT run_id FROM runs").fetchall() == [("r1",)]


def test_writer_gives_up_with_a_clear_error_after_the_timeout(db: Database) -> None:
    impatient = Database(db.path, lock_timeout_seconds=0.3, retry_initial_seconds=0.05)
    reader = _hold_read_only(db.path, 3)
    try:
        with (
            pytest.raises(DatabaseLockedError, match=r"held by another process for more than 0\.3 s"),
            impatient.write(),
        ):
            pass
    finally:
        reader.kill()
        reader.wait()


def test_readers_coexist_with_other_read_only_processes(db: Database) -> None:
    reader = _hold_read_only(db.path, 1.0)
    try:
        with db.read() as con:
            assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)
    finally:
        reader.wait(timeout=30)
    assert db.lock_waits == 0
