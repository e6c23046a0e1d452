"""`triage list` / `html` / `digest --dry-run` through the CLI on a real database with the sample story."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.score_seed import STORY_AS_OF, seed_story
from triage.cli import main
from triage.db import Database
from triage.score import build_call_list
from triage.settings import load_settings

CONFIG = """
[database]
path = "triage.duckdb"
[org]
name = "Northwind Analytics"
[output]
html_path = "site/today.html"
"""


@pytest.fixture
def cfg(db: Database, write_config: Callable[[str], Path]) -> str:
    path = write_config(CONFIG)
    assert load_settings(path).database.path == db.path  # the CLI opens the fixture's database
    return str(path)


@pytest.fixture
def story(db: Database, cfg: str) -> str:
    seed_story(db)
    build_call_list(load_settings(cfg), db, STORY_AS_OF, "run-1")
    return cfg


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_before_any_build_is_one_error_line(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "--config", cfg, "list")
    assert code == 1 and out == ""
    assert err == "Error: no call list has been built yet; run `triage run` first\n"


def test_list_json(story: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--config", story, "list", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["as_of"] == "2026-11-20" and "unknown_senders" not in data
    accounts = data["accounts"]
    assert [a["account_id"] for a in accounts] == ["acme", "blueriver", "cedar", "fjord", "harbor"]
    assert [a["rank"] for a in accounts] == [1, 2, 3, 4, 5]
    acme = accounts[0]
    assert acme["account_name"] == "Acme Logistics" and acme["owner_am"] == "Dana Whitfield"
    assert (acme["open_ask_count"], acme["overdue_ask_count"]) == (6, 6)
    assert sum(r["weight"] for r in acme["reasons"]) == pytest.approx(acme["score"], abs=0.01)
    assert all(len(r["signal_id"]) == 16 for r in acme["reasons"] if r["kind"] != "value")
    assert acme["open_asks"][0]["due_date"] is None and acme["open_asks"][1]["due_date"] == "2026-11-13"
    assert acme["brief"].startswith("Acknowledge: Priya Shah")

    code, out, _ = _run(capsys, "--config", story, "list", "--json", "--am", "LUIS", "--unknown")
    data = json.loads(out)
    assert [a["account_id"] for a in data["accounts"]] == ["blueriver", "fjord", "harbor"]
    assert [u["sender"] for u in data["unknown_senders"]] == ["kevin.marsh@globex-partners.example"]
    assert data["unknown_senders"][0]["frustration"] == 1 and data["unknown_senders"][0]["asks"] == 1


def test_list_csv(story: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--config", story, "list", "--csv", "--as-of", "2026-11-20")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["account_id"] for r in rows] == ["acme", "blueriver", "cedar", "fjord", "harbor"]
    assert rows[0]["overdue_asks"] == "6" and rows[2]["overdue_asks"] == "0"
    assert rows[0]["top_reason"].startswith("4 client asks and 2 commitments of ours overdue")
    assert rows[0]["evidence"] and rows[0]["link"].startswith("file:///")
    assert " | Explain: " in rows[0]["brief"] and "\n" not in rows[0]["brief"]
    code, out, _ = _run(capsys, "--config", story, "list", "--csv", "--unknown")
    (unknown,) = list(csv.DictReader(io.StringIO(out)))
    assert unknown["sender"] == "kevin.marsh@globex-partners.example" and unknown["signals"] == "2"


def test_list_table(story: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--config", story, "list", "--unknown")
    assert code == 0
    assert "Accounts to call — Friday 20 November 2026" in out
    table, briefs = out.split("\n1. Acme Logistics\n")  # narrow terminal: briefs under the table
    ids = [table.index(f"│ {acc} ") for acc in ("acme ", "blueriver", "cedar", "fjord", "harbor")]
    assert ids == sorted(ids)
    assert "6 overdue" in table and "AM Dana Whitfield" in table
    names = [
        "Acknowledge: Priya",
        "\n2. BlueRiver Health\n",
        "\n3. Cedar & Pine Retail\n",
        "\n4. Fjord Media\n",
        "\n5. Harbor Point Shipping\n",
    ]
    assert [briefs.index(n) for n in names] == sorted(briefs.index(n) for n in names)
    assert "Signals from senders of no known account" in out and "kevin.marsh@" in out


def test_list_usage_errors(story: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--config", story, "list", "--json", "--csv")
    assert code == 2 and "--json and --csv are exclusive" in err
    code, _, err = _run(capsys, "--config", story, "list", "--as-of", "2026-11-19")
    assert code == 1 and err.startswith("Error: no call list was built for 2026-11-19 (latest: 2026-11-20)")


def test_html_and_digest_dry_run(story: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = _run(capsys, "--config", story, "html")
    assert code == 0 and out.strip() == str(tmp_path / "site" / "today.html")
    assert 'data-account="acme"' in (tmp_path / "site" / "today.html").read_text(encoding="utf-8")
    code, out, _ = _run(capsys, "--config", story, "html", "-o", str(tmp_path / "x.html"))
    assert code == 0 and (tmp_path / "x.html").is_file()
    code, out, _ = _run(capsys, "--config", story, "digest", "--dry-run")
    assert code == 0
    assert "=== to dana@northwind.example: acme, cedar" in out
    assert "=== to luis@northwind.example: blueriver, fjord, harbor" in out
    assert "Good morning Dana," in out
