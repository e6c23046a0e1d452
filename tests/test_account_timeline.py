"""`triage account ACCOUNT`: an account's timeline, newest first, on a real database with the sample story."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.score_seed import STORY_AS_OF, seed_story
from triage.cli import main
from triage.db import Database
from triage.score import build_call_list
from triage.score.feedback import dismiss_signal, mark_done
from triage.settings import load_settings

CONFIG = '[database]\npath = "triage.duckdb"\n[org]\nname = "Northwind Analytics"\n'


@pytest.fixture
def cfg(db: Database, write_config: Callable[[str], Path]) -> str:
    path = write_config(CONFIG)
    assert load_settings(path).database.path == db.path
    return str(path)


@pytest.fixture
def story(db: Database, cfg: str) -> dict[str, Any]:
    keys = seed_story(db)
    build_call_list(load_settings(cfg), db, STORY_AS_OF, "run-1")
    return keys


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_account_json_lists_signals_asks_meetings_and_feedback_newest_first(
    story: dict[str, Any], db: Database, cfg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dismiss_signal(db, story["acme_unacceptable"], reason="quoted from the old thread", author="dana",
                   now=datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    mark_done(db, "acme", note="called Priya", author="dana", now=datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    code, out, err = _run(capsys, "--config", cfg, "account", "acme", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert (data["account_id"], data["name"], data["owner_am"]) == ("acme", "Acme Logistics", "Dana Whitfield")
    assert (data["as_of"], data["rank"]) == ("2026-11-20", 1)
    assert data["engagement"]["slow_response"] is True and data["engagement"]["longest_wait_business_days"] == 7
    events = data["events"]
    times = [e["at"] for e in events]
    assert times == sorted(times, reverse=True)
    kinds = [e["kind"] for e in events]
    assert kinds[:2] == ["done", "dismiss"] and events[0]["text"] == "called Priya"
    assert {"signal", "ask", "commitment", "meeting"} <= set(kinds)
    asks = [e for e in events if e["kind"] == "ask"]
    assert len(asks) == 4 and all(e["status"] == "open" for e in asks)
    assert any("overdue" in e["title"] and "due 13 Nov" in e["title"] for e in asks)
    promise = next(e for e in events if e["kind"] == "commitment" and "SOC 2" in e["text"])
    assert promise["title"].startswith("our promise: open, overdue, due 13 Nov")
    dismissed = next(e for e in events if e["id"] == story["acme_unacceptable"])
    assert dismissed["status"] == "dismissed" and dismissed["title"].endswith("(not a problem)")
    churn = next(e for e in events if e["id"] == story["acme_churn"])
    assert churn["title"] == "frustration (churn threat) 0.95" and churn["who"] == "priya.shah@acme-logistics.example"
    meeting = next(e for e in events if e["kind"] == "meeting")
    assert meeting["at"].startswith("2026-11-10T15:00") and "Priya Shah" in meeting["who"]
    assert meeting["link"].startswith("file:///t/acme/")
    # an ask answered by our reply shows how (cedar: Marco's licence question, answered the next day)
    _, out, _ = _run(capsys, "--config", cfg, "account", "cedar", "--json", "--since", "2026-11-12", "--limit", "50")
    cedar = json.loads(out)["events"]
    assert any(e["status"] == "resolved" and "resolved 13 Nov (thread reply)" in e["title"] for e in cedar)
    assert min(e["at"] for e in cedar) >= "2026-11-12"


def test_account_table_and_errors(story: dict[str, Any], cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--config", cfg, "account", "harbor")
    assert code == 0
    assert "Harbor Point Shipping (harbor)" in out and "On the list of Fri 20 Nov 2026: rank 5" in out
    assert "engagement_drop" in out and "usually every 14 days" in out
    code, out, _ = _run(capsys, "--config", cfg, "account", "granite", "--limit", "1")
    assert code == 0 and "Not on the list of Fri 20 Nov 2026 (below_min_score" in out
    assert "Talk in" in out and "December!" in out  # the newest event (a narrow terminal wraps it)
    _, out, _ = _run(capsys, "--config", cfg, "account", "granite", "--limit", "1", "--json")
    (only,) = json.loads(out)["events"]
    assert (only["kind"], only["text"]) == ("ask", "Talk in December!")
    code, out, err = _run(capsys, "--config", cfg, "account", "acmee")
    assert code == 1 and out == "" and err == "Error: unknown account 'acmee'; did you mean: acme\n"
    code, out, _ = _run(capsys, "account", "--help")
    assert code == 0 and "Examples:" in out and "triage account acme --json" in out
