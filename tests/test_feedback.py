"""Feedback: `triage done` and `triage dismiss`, stored in DuckDB and applied to the list at once."""

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
from triage.errors import TriageError, UnknownAccountError, UnknownSignalError
from triage.score import build_call_list
from triage.score.feedback import dismiss_signal, list_feedback, mark_done
from triage.settings import load_settings


@pytest.fixture
def story(db: Database) -> dict[str, object]:
    keys = seed_story(db)
    build_call_list(load_settings(use_env_config=False), db, STORY_AS_OF, "run-1")
    return keys


def test_done_is_stored_and_unknown_accounts_suggest_similar_ids(
    db: Database, story: dict[str, object]
) -> None:
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    fb = mark_done(db, "fjord", note="raised the export limit to 100k rows", author="luis", now=at)
    (row,) = list_feedback(db)
    assert row == fb
    assert (row.action, row.account_id, row.signal_id, row.reason, row.author, row.created_at) == (
        "done",
        "fjord",
        None,
        "raised the export limit to 100k rows",
        "luis",
        at,
    )
    with pytest.raises(UnknownAccountError, match=r"unknown account 'acme-logistics'; did you mean: acme"):
        mark_done(db, "acme-logistics")
    with pytest.raises(UnknownAccountError, match=r"did you mean: blueriver"):
        mark_done(db, "BlueRiver Health")
    with pytest.raises(UnknownAccountError, match=r"unknown account 'zzz'; known: acme, blueriver, cedar"):
        mark_done(db, "zzz")
    assert len(list_feedback(db)) == 1  # failed attempts store nothing


def test_done_before_any_accounts_says_so(db: Database) -> None:
    with pytest.raises(UnknownAccountError, match="no accounts loaded yet"):
        mark_done(db, "acme")


def test_dismiss_by_id_or_unique_prefix(db: Database, story: dict[str, object]) -> None:
    sid = str(story["acme_churn"])
    fb = dismiss_signal(db, sid[:8], reason="quoted from last year's thread", author="dana")
    assert (fb.signal_id, fb.account_id, fb.reason) == (sid, "acme", "quoted from last year's thread")
    with pytest.raises(UnknownSignalError, match="unknown signal 'ffffffffffffffff'"):
        dismiss_signal(db, "ffffffffffffffff", reason="x")
    with pytest.raises(UnknownSignalError, match="unknown signal 'abc'"):
        dismiss_signal(db, "abc", reason="x")  # too short to be a prefix
    with pytest.raises(TriageError, match="a reason is required"):
        dismiss_signal(db, sid, reason="  ")
    with db.write() as con:  # two signals whose ids share a 6-character prefix
        for n in (1, 2):
            con.execute(
                "INSERT INTO signals SELECT * REPLACE (? AS signal_id) FROM signals WHERE signal_id = ?",
                [f"abcdef000000000{n}", sid],
            )
    with pytest.raises(UnknownSignalError, match="'abcdef' is ambiguous: abcdef0000000001, abcdef0000000002"):
        dismiss_signal(db, "abcdef", reason="x")
    assert dismiss_signal(db, "abcdef0000000002", reason="dup").signal_id == "abcdef0000000002"
    assert [f.action for f in list_feedback(db)] == ["dismiss", "dismiss"]


@pytest.fixture
def cfg(db: Database, write_config: Callable[[str], Path]) -> str:
    return str(write_config('[database]\npath = "triage.duckdb"\n'))


def _list(capsys: pytest.CaptureFixture[str], cfg: str) -> list[str]:
    assert main(["--config", cfg, "list", "--json"]) == 0
    return [a["account_id"] for a in json.loads(capsys.readouterr().out)["accounts"]]


def test_cli_done_takes_the_account_off_the_list_at_once(
    story: dict[str, object], cfg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _list(capsys, cfg) == ["acme", "blueriver", "cedar", "fjord", "harbor"]
    assert (
        main(
            ["--config", cfg, "done", "acme", "--note", "called Priya, fix ships Monday", "--author", "dana"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("marked acme done (") and out.rstrip().endswith("re-built the list of 2026-11-20")
    assert _list(capsys, cfg) == ["blueriver", "cedar", "fjord", "harbor"]
    assert main(["--config", cfg, "done", "acmee"]) == 1
    assert capsys.readouterr().err == "Error: unknown account 'acmee'; did you mean: acme\n"


def test_cli_dismiss_removes_the_signal_at_once(
    story: dict[str, object], db: Database, cfg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = str(story["cedar_seats"])
    assert (
        main(["--config", cfg, "dismiss", sid, "--reason", "that was their old budget", "--no-rebuild"]) == 0
    )
    assert capsys.readouterr().out.strip().startswith(f"dismissed signal {sid} (")
    with db.read() as con:  # recorded, the stored list untouched until the next build
        assert con.execute(
            "SELECT count(*) FROM call_list WHERE reasons::VARCHAR LIKE ?", [f"%{sid}%"]
        ).fetchone() == (1,)
    assert main(["--config", cfg, "dismiss", sid[:10], "--reason", "still their old budget"]) == 0
    capsys.readouterr()
    with db.read() as con:
        assert con.execute(
            "SELECT count(*) FROM call_list WHERE reasons::VARCHAR LIKE ?", [f"%{sid}%"]
        ).fetchone() == (0,)
    assert main(["--config", cfg, "dismiss", "0000000000000000", "--reason", "x"]) == 1
    assert capsys.readouterr().err.startswith("Error: unknown signal '0000000000000000'")
    assert main(["--config", cfg, "dismiss", sid]) == 2
    assert "Missing option '--reason'" in capsys.readouterr().err


# ---- the web app's actions (issue 20): applied by the library, re-ranked by build_call_list ----------

def _act(db: Database, kind: str, **fields: object) -> str:
    from triage.score.feedback import apply_action, new_action

    action = new_action(kind, "luis", source="web", **fields)
    with db.write() as con:
        first = apply_action(con, action)
        again = apply_action(con, action)  # a queued click applied twice is recorded once
    assert first.new and not again.new
    build_call_list(load_settings(use_env_config=False), db, STORY_AS_OF, "run-1")
    return action.action_id


def _listed(db: Database) -> dict[str, float]:
    with db.read() as con:
        return {a: s for a, s in con.execute("SELECT account_id, score FROM v_call_list_today").fetchall()}


def test_snooze_takes_the_account_off_until_a_churn_threat_brings_it_back(db: Database, story: dict[str, Any]) -> None:
    from datetime import date

    assert "fjord" in _listed(db)
    fid = _act(db, "snooze", account_id="fjord", until=date(2026, 12, 31))
    assert "fjord" not in _listed(db)
    with db.read() as con:
        assert con.execute("SELECT skipped_reason FROM account_scores WHERE account_id = 'fjord' AND as_of = ?",
                           [STORY_AS_OF]).fetchone() == ("snoozed",)
    seeder = story["seeder"]
    seeder.created_at = datetime.now(UTC)  # seen after the snooze
    seeder.signal("frustration", ("m-fjord-new", "t-fjord-new"), "fjord", "2026-11-20 11:00",
                  "If this is not fixed we will cancel our contract.", subtype="churn_threat", intensity=0.95)
    build_call_list(load_settings(use_env_config=False), db, STORY_AS_OF, "run-1")
    assert "fjord" in _listed(db)  # back early
    assert fid


def test_answered_by_hand_closes_the_ask_and_undo_reopens_it(db: Database, story: dict[str, Any]) -> None:
    ask = str(story["blueriver_export_ask"])
    before = _listed(db)["blueriver"]
    fid = _act(db, "answered", ask_id=ask)
    with db.read() as con:
        row = con.execute("SELECT status, resolved_via, resolved_by FROM asks WHERE ask_id = ?", [ask]).fetchone()
    assert row == ("resolved", "by_hand", "luis")
    assert _listed(db)["blueriver"] < before
    _act(db, "undo", target=fid)
    with db.read() as con:
        assert con.execute("SELECT status FROM asks WHERE ask_id = ?", [ask]).fetchone() == ("open",)
        assert con.execute("SELECT undone_by FROM feedback WHERE feedback_id = ?", [fid]).fetchone() == ("luis",)
    assert _listed(db)["blueriver"] == pytest.approx(before)


def test_not_a_problem_stops_the_same_words_of_the_same_kind_unless_already_handled(
    db: Database, story: dict[str, Any]
) -> None:
    seeder = story["seeder"]
    words = "The planning dashboard matched our own numbers again."
    ids = [seeder.signal("complaint", (f"m-dash-{i}", f"t-dash-{i}"), "fjord", f"2026-11-1{i} 09:00", words,
                         subtype="wrong", score=0.77) for i in range(3)]
    build_call_list(load_settings(use_env_config=False), db, STORY_AS_OF, "run-1")

    def counting() -> set[str]:
        with db.read() as con:
            return {r[0] for r in con.execute("SELECT signal_id FROM v_account_signals").fetchall()} & set(ids)

    assert counting() == set(ids)
    handled = _act(db, "dismiss", signal_id=ids[0], reason_code="already_handled")
    assert counting() == set(ids[1:])  # that one only
    _act(db, "undo", target=handled)
    _act(db, "dismiss", signal_id=ids[0], reason_code="wrong_kind")
    assert counting() == set()  # not a complaint in any week
    with db.read() as con:
        via = dict(con.execute("SELECT signal_id, via FROM v_dismissed_signals").fetchall())
    assert via[ids[0]] == "dismissed" and via[ids[1]] == via[ids[2]] == "same words dismissed"


def test_confirm_changes_nothing_on_the_list_and_a_foreign_signal_is_refused(
    db: Database, story: dict[str, Any]
) -> None:
    from triage.score.feedback import ActionError, apply_action, new_action

    before = _listed(db)
    _act(db, "confirm", signal_id=str(story["acme_churn"]))
    assert _listed(db) == before
    with db.write() as con, pytest.raises(ActionError, match="is not of account fjord"):
        apply_action(con, new_action("dismiss", "luis", account_id="fjord", signal_id=str(story["acme_churn"])))
