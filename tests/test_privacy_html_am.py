"""Need to know (issue 16): `triage html --am NAME` holds only that AM's accounts; the all-accounts
page stays the manager / ops view."""

from __future__ import annotations

import re
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
def story(db: Database, write_config: Callable[[str], Path]) -> str:
    path = write_config(CONFIG)
    assert load_settings(path).database.path == db.path
    seed_story(db)
    build_call_list(load_settings(path), db, STORY_AS_OF, "run-1")
    return str(path)


def _accounts(page: Path) -> set[str]:
    return set(re.findall(r'data-account="([^"]+)"', page.read_text(encoding="utf-8")))


def test_am_page_shows_only_that_ams_accounts(story: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", story, "html"]) == 0
    everyone = _accounts(tmp_path / "site" / "today.html")
    assert main(["--config", story, "html", "--am", "dana"]) == 0
    dana_page = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert dana_page == tmp_path / "site" / "today-dana-whitfield.html"
    assert main(["--config", story, "html", "--am", "luis@northwind.example", str(tmp_path / "luis.html")]) == 0
    dana, luis = _accounts(dana_page), _accounts(tmp_path / "luis.html")
    assert dana == {"acme", "cedar"} and luis == {"blueriver", "fjord", "harbor"}
    assert dana | luis == everyone  # every listed account is on exactly one AM's page
    text = dana_page.read_text(encoding="utf-8")
    assert "Accounts to call today: Dana Whitfield" in text
    for other in ("BlueRiver", "Fjord", "unknown-senders"):
        assert other not in text
    assert 'id="unknown-senders"' in (tmp_path / "site" / "today.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(("am", "why"), [("zed", "matches no AM"), ("northwind.example", "matches several AMs")])
def test_am_that_is_not_exactly_one_am_is_one_error_line(
    am: str, why: str, story: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", story, "html", "--am", am]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"Error: --am {am!r} {why}; the AMs are: ")
    assert "Dana Whitfield <dana@northwind.example>" in err
    assert not any((tmp_path / "site").glob("today-*.html"))  # nothing written
