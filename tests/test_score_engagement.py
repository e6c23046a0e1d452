"""Going quiet and slow answers, from message metadata on a real DuckDB file (issue 14, part 1)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.support.score_seed import STORY_AS_OF, Seeder, seed_story, ts
from triage.db import Database
from triage.publish import load_call_list
from triage.score import build_call_list
from triage.score.feedback import mark_done
from triage.settings import Settings, load_settings

AS_OF = STORY_AS_OF  # Friday 20 November 2026


@pytest.fixture
def settings() -> Settings:
    return load_settings(use_env_config=False)


def _engagement(db: Database) -> dict[str, dict[str, Any]]:
    """v_account_engagement as {account_id: row}, in the view's order."""
    with db.read() as con:
        cur = con.execute("SELECT * FROM v_account_engagement")
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
    return {r["account_id"]: r for r in rows}


def _reasons(db: Database) -> dict[str, dict[str, Any]]:
    return {e.account_id: {r.kind: r for r in e.reasons} for e in load_call_list(db, AS_OF)}


def _weekly(seed: Seeder, account: str, first: date, last: date, **kw: Any) -> list[tuple[str, str]]:
    out = []
    d = first
    while d <= last:
        out.append(seed.message(account, f"{d.isoformat()} 09:00", subject=f"Weekly numbers {d:%d %b}", **kw))
        d += timedelta(days=7)
    return out


def test_a_normally_active_account_that_went_quiet_is_listed_with_its_evidence(
    db: Database, settings: Settings
) -> None:
    seed = Seeder(db)
    seed.account("north", "North Co")
    seed.account("south", "South Co")
    seed.account("rare", "Rare Co")
    _weekly(seed, "north", date(2026, 9, 1), date(2026, 10, 20))  # weekly, then nothing for a month
    _weekly(seed, "south", date(2026, 9, 1), date(2026, 11, 17))  # weekly, still writing
    for day in ("2026-08-03", "2026-09-14", "2026-10-12"):  # three mails: not "normally active"
        seed.message("rare", f"{day} 09:00")
    # a newsletter from north after its last person-written mail does not break the silence
    late = seed.message("north", "2026-11-16 09:00", subject="North Co newsletter")
    with db.write() as con:
        con.execute("UPDATE messages SET machine_sent = 'bulk' WHERE message_key = ?", [late[0]])
    build_call_list(settings, db, AS_OF, "r")

    assert [e.account_id for e in load_call_list(db, AS_OF)] == ["north"]
    reason = _reasons(db)["north"]["engagement_drop"]
    silent = (AS_OF - date(2026, 10, 20)).days  # 31 days, 23 business days
    assert reason.text.startswith(f"Gone quiet: no mail from the client for {silent} days (23 business days)")
    assert "usually every 7 days (8 messages in 180 days)" in reason.text
    assert reason.evidence == "Last message: Weekly numbers 20 Oct" and reason.link and reason.link.startswith("file:")
    assert reason.occurred_at == ts("2026-10-20 09:00")
    assert reason.weight == pytest.approx(3.0 * min(2.0, silent / 14))
    eng = _engagement(db)
    assert eng["north"]["engagement_drop"] and eng["north"]["usual_gap_days"] == 7
    assert (eng["north"]["silent_days"], eng["north"]["silent_business_days"]) == (silent, 23)
    assert not eng["south"]["engagement_drop"] and eng["south"]["silent_days"] == 3
    assert not eng["rare"]["engagement_drop"] and eng["rare"]["inbound_messages"] == 3
    assert next(iter(eng)) == "north"  # the view lists quiet accounts first
    brief = load_call_list(db, AS_OF)[0].brief
    assert brief.startswith("Acknowledge: we have not heard from them in a while")


def test_going_quiet_needs_ten_business_days_and_more_than_twice_the_usual_gap(
    db: Database, make_settings: Any
) -> None:
    seed = Seeder(db)
    seed.account("daily", "Daily Co")
    d = date(2026, 10, 1)
    while d <= date(2026, 11, 12):  # every weekday until 12 Nov: silent 8 days (6 business days) at as_of
        if d.weekday() < 5:
            seed.message("daily", f"{d.isoformat()} 09:00")
        d += timedelta(days=1)
    build_call_list(make_settings(""), db, AS_OF, "r")
    eng = _engagement(db)["daily"]
    assert eng["silent_business_days"] == 6 and eng["usual_gap_days"] == 1 and not eng["engagement_drop"]
    build_call_list(make_settings("[scoring]\nengagement_min_business_days = 5\n"), db, AS_OF, "r")
    assert _engagement(db)["daily"]["engagement_drop"]


def test_regular_meetings_that_stopped_count_and_done_clears_it(db: Database, settings: Settings) -> None:
    seed = Seeder(db)
    seed.account("west", "West Co")
    d = date(2026, 8, 4)
    while d <= date(2026, 10, 13):  # a weekly call, the last on 13 Oct
        seed.meeting("west", f"{d.isoformat()} 15:00", [("Dana Whitfield", "internal", "Hi."), ("Ann", "client", "Hi")])
        d += timedelta(days=7)
    _weekly(seed, "west", date(2026, 10, 6), date(2026, 11, 17))  # they still mail us
    build_call_list(settings, db, AS_OF, "r")
    reason = _reasons(db)["west"]["engagement_drop"]
    assert reason.text.startswith("Meetings stopped: none for 38 days since Tue 13 Oct; usually every 7 days")
    assert reason.source_type == "meeting" and reason.link and reason.link.startswith("file:///t/west/")
    assert _engagement(db)["west"]["drop_channel"] == "meetings"
    mark_done(db, "west", note="called: they paused the project", author="dana", now=datetime.now(UTC))
    build_call_list(settings, db, AS_OF, "r")
    assert load_call_list(db, AS_OF) == [] and not _engagement(db)["west"]["engagement_drop"]


def test_a_client_kept_waiting_for_any_reply_is_a_slow_response(db: Database, make_settings: Any) -> None:
    seed = Seeder(db)
    for acc in ("north", "south", "east"):
        seed.account(acc, f"{acc.title()} Co")
    waiting = seed.message("north", "2026-11-12 09:00", sender="ann@north.example", subject="Broken import")
    sid = seed.signal("frustration", waiting, "north", "2026-11-12 09:00", "The import has been failing all week.",
                      score=0.8, speaker="ann@north.example")
    # a complaint alone needs no answer (the detector's typical false positive on "invoice received")
    thanks = seed.message("east", "2026-11-02 09:00", subject="Invoice received")
    seed.signal("complaint", thanks, "east", "2026-11-02 09:00", "We received the invoice, forwarded for payment.",
                score=0.85)
    late = seed.message("south", "2026-11-02 09:00", subject="Invoice question")  # answered after 6 business days
    seed.signal("ask", late, "south", "2026-11-02 09:00", "Could you resend the October invoice?", score=0.9)
    seed.message("south", "2026-11-10 10:00", direction="outbound", thread=late[1])
    quick = seed.message("east", "2026-11-12 09:00", subject="Question")  # answered the next day
    seed.signal("ask", quick, "east", "2026-11-12 09:00", "Can you add Bob to the workspace?", score=0.9)
    seed.message("east", "2026-11-13 10:00", direction="outbound", thread=quick[1])
    build_call_list(make_settings("[scoring]\nmin_score = 0\n"), db, AS_OF, "r")

    reasons = _reasons(db)
    north = reasons["north"]["slow_response"]
    assert north.text.startswith("Kept waiting 6 business days for any reply from us (since Thu 12 Nov, still waiting")
    assert (north.evidence, north.signal_id) == ("The import has been failing all week.", sid)
    assert north.speaker == "ann@north.example"
    assert north.weight == pytest.approx(2.0 * 0.8 * 2.0)  # capped at twice the limit
    south = reasons["south"]["slow_response"]
    assert "6 business days" in south.text and "answered Tue 10 Nov" in south.text
    assert south.weight == pytest.approx(2.0 * 0.9 * 6 / 3)
    assert "slow_response" not in reasons.get("east", {})
    eng = _engagement(db)
    assert eng["north"]["longest_wait_business_days"] == 6 and eng["north"]["waiting_answered_at"] is None
    assert eng["north"]["waiting_message_key"] == waiting[0] and eng["north"]["slow_kind"] == "waiting"
    assert eng["east"]["longest_wait_business_days"] == 1 and not eng["east"]["slow_response"]
    # a meeting with us answers too
    seed.meeting("north", "2026-11-13 15:00", [("Dana Whitfield", "internal", "About it"), ("Ann", "client", "Ok")])
    build_call_list(make_settings("[scoring]\nmin_score = 0\n"), db, AS_OF, "r")
    assert _engagement(db)["north"]["longest_wait_business_days"] == 1 and not _engagement(db)["north"]["slow_response"]


def test_median_reply_time_against_the_accounts_own_baseline(db: Database, make_settings: Any) -> None:
    seed = Seeder(db)
    seed.account("north", "North Co")
    for day in ("2026-08-04", "2026-08-18", "2026-09-01", "2026-09-15", "2026-10-06"):  # answered in 2 hours
        m = seed.message("north", f"{day} 09:00")
        seed.message("north", f"{day} 11:00", direction="outbound", thread=m[1])
    for day in ("2026-10-26", "2026-11-02", "2026-11-09"):  # answered after 3 days
        m = seed.message("north", f"{day} 09:00")
        seed.message("north", f"{(date.fromisoformat(day) + timedelta(days=3)).isoformat()} 09:00",
                     direction="outbound", thread=m[1])
    build_call_list(make_settings(""), db, AS_OF, "r")
    eng = _engagement(db)["north"]
    assert (eng["median_reply_hours_recent"], eng["median_reply_hours_baseline"]) == (72.0, 2.0)
    assert (eng["replies_recent"], eng["replies_baseline"], eng["slow_kind"]) == (3, 5, "median")
    reason = _reasons(db)["north"]["slow_response"]
    assert reason.text.startswith("Slower replies: our median reply time 3.0 days over the last 30 days (3 replies)")
    assert reason.weight == pytest.approx(2.0 * 2.0)  # 36x the baseline: capped
    # the same pace all along is not slower
    build_call_list(make_settings("[scoring]\nslow_response_factor = 50\n"), db, AS_OF, "r")
    assert not _engagement(db)["north"]["slow_response"]


def test_the_sample_story_lists_a_quiet_account_and_slow_responses(db: Database, settings: Settings) -> None:
    seed_story(db)
    build_call_list(settings, db, AS_OF, "r")
    order = [e.account_id for e in load_call_list(db, AS_OF)]
    assert order == ["acme", "blueriver", "cedar", "fjord", "harbor"]
    reasons = _reasons(db)
    assert set(reasons["harbor"]) == {"engagement_drop", "value"}
    assert "since Mon 19 Oct; usually every 14 days (4 messages" in reasons["harbor"]["engagement_drop"].text
    for acc, since in (("acme", "Wed 11 Nov"), ("blueriver", "Mon 16 Nov")):
        assert f"since {since}, still waiting" in reasons[acc]["slow_response"].text
    assert {k for k, r in reasons.items() if "slow_response" in r} == {"acme", "blueriver"}
    with db.read() as con:
        comps = {
            r[0]: json.loads(r[1])
            for r in con.execute(
                "SELECT account_id, components FROM account_scores WHERE as_of = ?", [AS_OF]
            ).fetchall()
        }
    assert comps["harbor"]["evidence"] == pytest.approx(comps["harbor"]["engagement_drop"])
    assert comps["delta"]["slow_response"] == 0 and comps["granite"]["slow_response"] == 0
