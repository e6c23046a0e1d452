"""Ask resolution on a real DuckDB file: thread replies, later meetings, internal mail, ages, due dates."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.score_seed import Seeder
from triage.db import Database
from triage.score import build_call_list
from triage.score.calendar import add_business_days, business_days_between
from triage.settings import Settings, load_settings

AS_OF = date(2026, 11, 20)  # a Friday


@pytest.fixture
def settings() -> Settings:
    return load_settings(use_env_config=False)


@pytest.fixture
def seed(db: Database) -> Seeder:
    s = Seeder(db)
    s.account("acme", "Acme Logistics", tier="enterprise", arr=180_000)
    s.account("cedar", "Cedar & Pine Retail", tier="growth", arr=45_000)
    return s


def _asks(db: Database) -> dict[str, dict[str, Any]]:
    with db.read() as con:
        con.execute("SET TimeZone = 'UTC'")
        cur = con.execute("SELECT * FROM asks")
        cols = [d[0] for d in cur.description]
        return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}


# -- business days -----------------------------------------------------------------------------------


def test_business_days_skip_weekends() -> None:
    fri, sat, sun, mon = date(2026, 11, 13), date(2026, 11, 14), date(2026, 11, 15), date(2026, 11, 16)
    assert business_days_between(fri, mon) == 1
    assert business_days_between(fri, sat) == 0
    assert business_days_between(sat, sun) == 0
    assert business_days_between(sat, mon) == 1
    assert business_days_between(mon, mon) == 0
    assert business_days_between(mon, mon + timedelta(days=7)) == 5
    assert business_days_between(date(2026, 11, 11), AS_OF) == 7  # Wed -> Fri next week
    assert business_days_between(AS_OF, date(2026, 11, 11)) == 0


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(min_value=0, max_value=400)
)
def test_add_business_days_is_the_inverse(start: date, n: int) -> None:
    end = add_business_days(start, n)
    assert business_days_between(start, end) == n
    assert end.weekday() < 5 or n == 0


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(min_value=0, max_value=60)
)
def test_business_days_match_a_day_by_day_count(start: date, days: int) -> None:
    end = start + timedelta(days=days)
    slow = sum(1 for i in range(1, days + 1) if (start + timedelta(days=i)).weekday() < 5)
    assert business_days_between(start, end) == slow


# -- resolution --------------------------------------------------------------------------------------


def test_answered_by_later_outbound_reply_in_the_thread(
    db: Database, seed: Seeder, settings: Settings
) -> None:
    m = seed.message("acme", "2026-11-12 09:00", subject="SOC2 report")
    ask = seed.signal("ask", m, "acme", "2026-11-12 09:00", "Could you send us your latest SOC2 report?")
    reply = seed.message("acme", "2026-11-16 14:30", direction="outbound", thread=m[1])
    report = build_call_list(settings, db, AS_OF, "r1")
    row = _asks(db)[ask]
    assert (row["status"], row["kind"], row["resolved_by"], row["resolved_via"]) == (
        "resolved",
        "client_ask",
        reply[0],
        "thread_reply",
    )
    assert row["age_business_days"] == 2  # Thu -> Mon: Fri, Mon
    assert row["overdue"] is False
    assert (report.asks_open, report.asks_resolved) == (0, 1)


def test_an_earlier_reply_does_not_answer(db: Database, seed: Seeder, settings: Settings) -> None:
    first = seed.message("acme", "2026-11-10 08:00", direction="outbound", subject="Renewal")
    m = seed.message("acme", "2026-11-12 09:00", thread=first[1])
    ask = seed.signal("ask", m, "acme", "2026-11-12 09:00", "Can you confirm the renewal price?")
    build_call_list(settings, db, AS_OF, "r1")
    row = _asks(db)[ask]
    assert row["status"] == "open" and row["resolved_at"] is None
    assert row["age_business_days"] == 6 and row["overdue"] is True  # no due date: > 2 business days


def test_internal_only_mail_does_not_answer(db: Database, seed: Seeder, settings: Settings) -> None:
    m = seed.message("acme", "2026-11-18 09:00", subject="Export failing")
    ask = seed.signal("ask", m, "acme", "2026-11-18 09:00", "Can someone look at the failed export?")
    seed.message(
        "acme",
        "2026-11-18 11:00",
        direction="internal",
        thread=m[1],
        sender="luis@northwind.example",
        to=["sam@northwind.example"],
        subject="FW: Export failing",
    )
    build_call_list(settings, db, AS_OF, "r1")
    row = _asks(db)[ask]
    assert row["status"] == "open"
    assert row["age_business_days"] == 2 and row["overdue"] is False  # exactly the limit: not yet overdue


def test_a_reply_in_another_thread_does_not_answer_a_threaded_ask(
    db: Database, seed: Seeder, settings: Settings
) -> None:
    m = seed.message("acme", "2026-11-17 09:00", subject="Invoice")
    ask = seed.signal("ask", m, "acme", "2026-11-17 09:00", "Can you resend the October invoice?")
    seed.message("acme", "2026-11-18 10:00", direction="outbound", subject="Webinar invitation")
    build_call_list(settings, db, AS_OF, "r1")
    assert _asks(db)[ask]["status"] == "open"


def test_answered_in_a_later_meeting_with_our_people(db: Database, seed: Seeder, settings: Settings) -> None:
    m = seed.message("acme", "2026-11-11 09:00", subject="SSO")
    ask = seed.signal("ask", m, "acme", "2026-11-11 09:00", "When will the SSO fix ship?")
    seed.meeting(
        "acme", "2026-11-12 15:00", [("Priya Shah", "client", "Any news?")]
    )  # no one of ours: no answer
    t = seed.meeting(
        "acme",
        "2026-11-13 15:00",
        [("Priya Shah", "client", "So?"), ("Dana Whitfield", "internal", "The fix ships Monday.")],
    )
    build_call_list(settings, db, AS_OF, "r1")
    row = _asks(db)[ask]
    assert (row["status"], row["resolved_by"], row["resolved_via"]) == ("resolved", t, "meeting")
    assert row["age_business_days"] == 2


def test_meeting_ask_is_answered_by_a_later_mail_to_the_account_only(
    db: Database, seed: Seeder, settings: Settings
) -> None:
    t = seed.meeting(
        "cedar",
        "2026-11-18 16:00",
        [("Marco Rossi", "client", "Can you send pricing?"), ("Dana Whitfield", "internal", "Sure.")],
    )
    ask = seed.signal(
        "ask",
        t,
        "cedar",
        "2026-11-18 16:02",
        "Can you send us pricing for 40 more seats?",
        speaker="Marco Rossi",
        start_s=120.0,
    )
    seed.message("acme", "2026-11-19 09:00", direction="outbound")  # another account
    build_call_list(settings, db, AS_OF, "r1")
    row = _asks(db)[ask]
    assert row["status"] == "open" and row["thread_id"] is None  # the same meeting does not answer it
    assert row["link"].endswith("#t=120")
    answer = seed.message("cedar", "2026-11-19 17:00", direction="outbound", subject="Pricing")
    build_call_list(settings, db, AS_OF, "r1")
    row = _asks(db)[ask]
    assert (row["status"], row["resolved_by"], row["resolved_via"]) == (
        "resolved",
        answer[0],
        "account_reply",
    )


def test_our_commitment_is_kept_by_a_later_outbound_message(
    db: Database, seed: Seeder, settings: Settings
) -> None:
    m = seed.message("acme", "2026-11-16 10:00", direction="outbound", subject="Roadmap")
    promise = seed.signal(
        "commitment",
        m,
        "acme",
        "2026-11-16 10:00",
        "I'll send you the roadmap deck tomorrow.",
        party="us",
        due_date=date(2026, 11, 17),
    )
    build_call_list(settings, db, AS_OF, "r1")
    row = _asks(db)[promise]
    assert (row["kind"], row["status"], row["overdue"]) == (
        "our_commitment",
        "open",
        True,
    )  # its own mail is not it
    kept = seed.message("acme", "2026-11-17 09:00", direction="outbound", thread=m[1])
    build_call_list(settings, db, AS_OF, "r1")
    row = _asks(db)[promise]
    assert (row["status"], row["resolved_by"], row["overdue"]) == ("resolved", kept[0], False)


def test_meeting_commitment_is_kept_by_a_later_mail_to_the_account(
    db: Database, seed: Seeder, settings: Settings
) -> None:
    t = seed.meeting("acme", "2026-11-10 15:00", [("Dana Whitfield", "internal", "I'll send it by Friday.")])
    promise = seed.signal(
        "commitment",
        t,
        "acme",
        "2026-11-10 15:01",
        "I'll send you the SOC2 report by Friday.",
        party="us",
        speaker="Dana Whitfield",
        due_date=date(2026, 11, 13),
    )
    seed.meeting("acme", "2026-11-12 15:00", [("Dana Whitfield", "internal", "Hello again.")])
    build_call_list(settings, db, AS_OF, "r1")
    row = _asks(db)[promise]
    assert row["status"] == "open" and row["overdue"] is True  # a meeting does not keep a promise to send
    assert row["age_business_days"] == 8
    seed.message("acme", "2026-11-19 09:00", direction="outbound")
    build_call_list(settings, db, AS_OF, "r1")
    row = _asks(db)[promise]
    assert row["status"] == "resolved" and row["age_business_days"] == 7


def test_due_dates_and_overdue(db: Database, seed: Seeder, settings: Settings, make_settings: Any) -> None:
    m = seed.message("acme", "2026-11-19 09:00")
    past = seed.signal(
        "ask", m, "acme", "2026-11-19 09:00", "Please send it by Thursday.", due_date=date(2026, 11, 19)
    )
    today = seed.signal("ask", m, "acme", "2026-11-19 09:00", "Or by Friday at the latest.", due_date=AS_OF)
    later = seed.signal(
        "ask", m, "acme", "2026-11-19 09:00", "The contract by Monday?", due_date=date(2026, 11, 23)
    )
    old = seed.message("acme", "2026-11-13 09:00")
    undated = seed.signal("ask", old, "acme", "2026-11-13 09:00", "Can you check the SSO logs?")
    build_call_list(settings, db, AS_OF, "r1")
    asks = _asks(db)
    assert asks[past]["overdue"] is True
    assert asks[today]["overdue"] is False
    assert asks[later]["overdue"] is False
    assert asks[undated]["age_business_days"] == 5 and asks[undated]["overdue"] is True
    patient = make_settings("[scoring]\nask_overdue_business_days = 5\n")
    build_call_list(patient, db, AS_OF, "r1")
    assert _asks(db)[undated]["overdue"] is False


def test_answers_after_as_of_are_not_seen_when_rebuilding_an_old_day(
    db: Database, seed: Seeder, settings: Settings
) -> None:
    m = seed.message("acme", "2026-11-16 09:00")
    ask = seed.signal("ask", m, "acme", "2026-11-16 09:00", "Can you send the audit log export?")
    seed.message("acme", "2026-11-23 09:00", direction="outbound", thread=m[1])
    build_call_list(settings, db, AS_OF, "r1")
    row = _asks(db)[ask]
    assert (row["status"], row["age_business_days"], row["as_of"]) == ("open", 4, AS_OF)
    build_call_list(settings, db, date(2026, 11, 24), "r2")
    row = _asks(db)[ask]
    assert (row["status"], row["age_business_days"]) == ("resolved", 5)


def test_only_client_asks_and_our_commitments_are_tracked(
    db: Database, seed: Seeder, settings: Settings
) -> None:
    m = seed.message("acme", "2026-11-16 09:00")
    client_promise = seed.signal(
        "commitment", m, "acme", "2026-11-16 09:00", "We will send the PO next week."
    )
    unknown = seed.signal("ask", m, "acme", "2026-11-16 09:00", "Can we meet?", party="unknown")
    ours = seed.message("acme", "2026-11-16 10:00", direction="outbound", thread=m[1])
    our_question = seed.signal(
        "ask", ours, "acme", "2026-11-16 10:00", "Could you share your logs?", party="us"
    )
    build_call_list(settings, db, AS_OF, "r1")
    assert not {client_promise, unknown, our_question} & set(_asks(db))


def test_dismissed_ask_gets_status_dismissed(db: Database, seed: Seeder, settings: Settings) -> None:
    from triage.score.feedback import dismiss_signal

    m = seed.message("acme", "2026-11-12 09:00")
    ask = seed.signal("ask", m, "acme", "2026-11-12 09:00", "How are you?")
    dismiss_signal(db, ask, reason="small talk, not a request")
    report = build_call_list(settings, db, AS_OF, "r1")
    row = _asks(db)[ask]
    assert (row["status"], row["overdue"]) == ("dismissed", False)
    assert report.asks_open == 0
