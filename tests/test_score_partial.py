"""A click re-scores one account (triage.score.rebuild_accounts): the list must be exactly what the full
build gives, whatever the action, including when an account comes onto or falls off the list."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.support.score_seed import STORY_AS_OF, seed_story
from triage.db import Database
from triage.score import build_call_list, rebuild_accounts
from triage.score.feedback import apply_action, new_action
from triage.settings import Settings, load_settings

TABLES = {
    "call_list": "SELECT as_of, rank, account_id, score, reasons, open_asks, open_ask_count, overdue_ask_count, "
                 "brief, last_evidence_at FROM call_list ORDER BY as_of, rank",
    "account_scores": "SELECT as_of, account_id, score, components, listed, skipped_reason FROM account_scores "
                      "ORDER BY as_of, account_id",
    "asks": "SELECT ask_id, kind, subtype, account_id, status, resolved_at, resolved_by, resolved_via, "
            "age_business_days, overdue, score FROM asks ORDER BY ask_id",
    "account_engagement": "SELECT * EXCLUDE (computed_at, run_id) FROM account_engagement ORDER BY as_of, account_id",
    "call_list_builds": "SELECT as_of, run_id, accounts_scored, accounts_listed, asks_open, asks_overdue "
                        "FROM call_list_builds",
}


def _state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.read() as con:
        return {name: con.execute(sql).fetchall() for name, sql in TABLES.items()}


def _settings(max_accounts: int) -> Settings:
    s = load_settings(use_env_config=False)
    return s.model_copy(update={"scoring": s.scoring.model_copy(update={"max_accounts": max_accounts})})


@pytest.mark.parametrize("max_accounts", [20, 3])  # 3: accounts come onto and fall off the list
def test_rebuilding_the_clicked_accounts_equals_the_full_build(db: Database, max_accounts: int) -> None:
    keys = seed_story(db)
    settings = _settings(max_accounts)
    build_call_list(settings, db, STORY_AS_OF, "run-1")
    clicks = [
        ("dismiss", {"signal_id": str(keys["acme_churn"]), "reason_code": "wrong_kind"}),
        ("answered", {"ask_id": str(keys["blueriver_export_ask"])}),
        ("done", {"account_id": "fjord"}),
        ("snooze", {"account_id": "cedar", "until": date(2026, 12, 31)}),
        ("confirm", {"signal_id": str(keys["cedar_seats"])}),
        ("done", {"account_id": "acme"}),
    ]
    undo = []
    for kind, fields in clicks:
        action = new_action(kind, "luis", **fields)
        with db.write() as con:
            applied = apply_action(con, action)
        undo.append(action.action_id)
        assert rebuild_accounts(settings, db, {applied.account_id or ""}) == STORY_AS_OF
        partial = _state(db)
        build_call_list(settings, db, STORY_AS_OF, "run-1")
        assert _state(db) == partial, kind
    for fid in reversed(undo):  # and every undo too
        action = new_action("undo", "luis", target=fid)
        with db.write() as con:
            applied = apply_action(con, action)
        rebuild_accounts(settings, db, {applied.account_id or ""})
        partial = _state(db)
        build_call_list(settings, db, STORY_AS_OF, "run-1")
        assert _state(db) == partial
