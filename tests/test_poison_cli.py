"""Errors as a user meets them: one ``Error:`` line for an expected error (tracebacks only with -vv),
check-config that checks the accounts file and folders, ``html PATH``, and the page of a run that is
still going."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from tests.support.score_seed import STORY_AS_OF, seed_story
from triage.app.runs import RunRecorder
from triage.cli import main
from triage.db import Database
from triage.publish import load_run_info
from triage.publish.html import render_page
from triage.score import build_call_list
from triage.settings import load_settings

TRIAGE = str(Path(sys.executable).with_name("triage"))

ACCOUNT = """
[[account]]
id = "{id}"
name = "{name}"
domains = ["{domain}"]
"""


def accounts_text(*entries: tuple[str, str, str]) -> str:
    return "".join(ACCOUNT.format(id=i, name=n, domain=d) for i, n, d in entries)


def config(tmp: Path, *, db: str = "triage.duckdb", accounts: str | None = "accounts.toml", extra: str = "") -> Path:
    (tmp / "mail" / "INBOX" / "cur").mkdir(parents=True, exist_ok=True)
    lines = [f'[database]\npath = "{db}"\nlock_timeout_seconds = 2\nretry_max_seconds = 0.2']
    if accounts:
        lines.append(f'[org]\nour_domains = ["northwind.example"]\naccounts_file = "{accounts}"')
    lines.append('[[sources.local]]\nname = "mail"\npath = "mail"')
    path = tmp / "config.toml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def run_cli(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRIAGE, *argv], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def held_database(tmp_path: Path) -> Iterator[Path]:
    """A database file another process holds open for writing (an ops session that forgot to close)."""
    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('ok', flush=True); "
                               "sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
    try:
        yield path
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.mark.slow
def test_errors_inside_the_flow_are_one_line_with_or_without_q(tmp_path: Path, held_database: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "accounts.toml").write_text(accounts_text(("acme", "A", "acme.example"), ("acme", "B", "b.example")))
    unusable = tmp_path / "unusable"
    (unusable / "db-is-a-folder").mkdir(parents=True)
    locked = tmp_path / "locked"
    locked.mkdir()
    cases = {
        "accounts": (config(bad), "account id 'acme' appears twice", 2),
        "unusable": (config(unusable, db="db-is-a-folder", accounts=None), "cannot open", 1),
        "locked": (config(locked, db=str(held_database), accounts=None), "is held by another process", 1),
    }
    for name, (cfg, needle, code) in cases.items():
        for flags in (["-q"], []) if name == "accounts" else (["-q"],):
            out = run_cli(*flags, "--config", str(cfg), "run", "--no-list")
            assert out.returncode == code, (name, flags, out.stderr)
            assert "Traceback" not in out.stderr, (name, flags, out.stderr)
            errors = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
            assert len(errors) == 1 and needle in errors[0], (name, out.stderr)
            if flags == ["-q"]:
                assert out.stderr.strip().splitlines() == errors, (name, out.stderr)
    verbose = run_cli("-vv", "--config", str(cases["accounts"][0]), "run", "--no-list")
    assert verbose.returncode == 2 and "Traceback" in verbose.stderr  # the details are there when asked for


def _check(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str]:
    code = main(["check-config", str(path)])
    out = capsys.readouterr()
    return code, out.err


@pytest.mark.parametrize(
    ("accounts", "needle"),
    [
        (None, "accounts file not found"),
        (accounts_text(("acme", "A", "acme.example"), ("acme", "B", "b.example")), "account id 'acme' appears twice"),
        (accounts_text(("acme", "A", "acme.example"), ("beta", "B", "acme.example")), "is already a domain of account"),
        ("", "defines no accounts"),
        ("# nothing here yet\n", "defines no accounts"),
    ],
)
def test_check_config_validates_the_accounts_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], accounts: str | None, needle: str
) -> None:
    cfg = config(tmp_path)
    if accounts is not None:
        (tmp_path / "accounts.toml").write_text(accounts, encoding="utf-8")
    code, err = _check(capsys, cfg)
    assert code == 2
    assert err.startswith("Error: invalid setup in ") and needle in err
    assert err.count("Error:") == 1


def test_check_config_passes_a_good_setup_and_refuses_missing_folders_and_empty_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path)
    (tmp_path / "accounts.toml").write_text(accounts_text(("acme", "A", "acme.example")), encoding="utf-8")
    assert main(["check-config", str(cfg)]) == 0
    assert "config OK" in capsys.readouterr().out
    (tmp_path / "mail" / "INBOX" / "cur").rmdir()
    (tmp_path / "mail" / "INBOX").rmdir()
    (tmp_path / "mail").rmdir()
    code, err = _check(capsys, cfg)
    assert code == 2 and "mail folder not found" in err
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    code, err = _check(capsys, empty)
    assert code == 2 and "a run would read nothing" in err


def test_html_takes_the_path_the_readme_documents(
    db: Database, write_config: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config('[database]\npath = "triage.duckdb"\n[org]\nname = "Northwind"\n')
    seed_story(db)
    build_call_list(load_settings(cfg), db, STORY_AS_OF, "run-1")
    target = tmp_path / "pages" / "today.html"
    assert main(["--config", str(cfg), "html", str(target)]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    assert 'data-account="acme"' in target.read_text(encoding="utf-8")
    assert main(["--config", str(cfg), "html", str(target), "-o", str(tmp_path / "other.html")]) == 2
    assert "two places to write" in capsys.readouterr().err


def test_page_of_a_running_run_shows_its_counts_so_far(db: Database) -> None:
    day = date(2026, 11, 20)
    run = RunRecorder(db, day)
    run.start()
    with run.stage("ingest"):
        run.add(fetched=31, quarantined=4)
    with run.stage("parse"):
        run.add(parsed=27, transcripts=6)
    info = load_run_info(db, day)
    assert info is not None and info.status == "running"
    assert (info.fetched, info.parsed, info.transcripts, info.quarantined) == (31, 27, 6, 4)
    page = render_page([], as_of=day, org_name="Northwind", run=info, generated_at=datetime(2026, 11, 20, tzinfo=UTC))
    summary = page.split('id="summary">', 1)[1].split("</p>", 1)[0]
    assert "run in progress since" in summary and "so far" in summary
    assert "31 fetched, 27 parsed, 6 transcripts" in summary
    assert "run running" not in page
    run.finish()
    done = load_run_info(db, day)
    assert done is not None and done.status == "completed"
    page = render_page([], as_of=day, org_name="Northwind", run=done)
    assert "run completed" in page and "31 fetched" in page
    with duckdb.connect(str(db.path), read_only=True) as con:
        assert con.execute("SELECT fetched, parsed FROM runs").fetchall() == [(31, 27)]
