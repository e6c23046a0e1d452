"""The call brief is deterministic text built from the reasons: acknowledge, explain, resolve, commit."""

from __future__ import annotations

from datetime import date

from tests.support.score_seed import ts
from triage.publish.html import render_page
from triage.score.asks import Ask
from triage.score.brief import build_brief, short_quote
from triage.score.model import AccountInfo, AccountScore, Evidence, Reason


def _ask(n: int, *, overdue: bool, age: int, kind: str = "client_ask", due: date | None = None) -> Ask:
    return Ask(
        f"a{n}",
        kind,
        None,
        "x",
        None,
        "email",
        f"m{n}",
        f"Question number {n}?",
        "ann@x.example",  # type: ignore[arg-type]
        ts("2026-11-16 09:00"),
        due,
        None,
        None,
        None,
        "open",
        age,
        overdue,
        None,
    )


def _ev(kind: str, sentence: str, subtype: str | None = None) -> Evidence:
    return Evidence(
        "s1",
        "x",
        kind,
        subtype,
        0.9,
        0.9 if kind == "frustration" else None,
        sentence,
        "ann@x.example",
        "client",
        ts("2026-11-19 10:00"),
        ts("2026-11-19 10:00"),
        "email",
        "m1",
        "t1",
        None,
    )


def _score(
    reasons: list[str],
    asks: list[Ask],
    frus: Evidence | None = None,
    buy: Evidence | None = None,
    subtypes: list[str] | None = None,
) -> AccountScore:
    return AccountScore(
        AccountInfo("x", "X Corp"),
        5.0,
        {},
        [Reason(k, k, 1.0) for k in reasons],
        asks,
        None,
        frus,
        buy,
        subtypes or [],
    )


def test_frustrated_account_with_overdue_asks() -> None:
    s = _score(
        ["frustration", "overdue_asks", "frustration_trend"],
        [_ask(i, overdue=True, age=9 - i) for i in range(5)],
        frus=_ev("frustration", "We will not renew in January.", "churn_threat"),
    )
    names = {"ann@x.example": "Ann Lee"}
    lines = build_brief(s, lambda a: names.get(a or "", a)).splitlines()
    assert (
        lines[0]
        == 'Acknowledge: Ann Lee is frustrated and has raised leaving us: "We will not renew in January."'
    )
    assert lines[1] == (
        "Explain: why 5 items went unanswered (up to 9 business days) and who owns them now; "
        "what changed recently, since this is unusual for them."
    )
    assert lines[2].startswith('Resolve: "Question number 0?" (overdue, 9 business days)')
    assert lines[2].endswith("; and 2 more.")
    assert lines[3] == "Commit: give a date for each open item and confirm it in writing today."
    assert build_brief(s, lambda a: names.get(a or "", a)) == "\n".join(lines)  # deterministic


def test_buying_account_and_an_asks_only_account() -> None:
    buy = _score(
        ["buying_signal"],
        [],
        buy=_ev("buying_signal", "We'd like 40 more seats.", "seats"),
        subtypes=["seats"],
    )
    assert build_brief(buy).splitlines() == [
        'Acknowledge: thank ann@x.example for the interest: "We\'d like 40 more seats."',
        "Explain: the options and pricing for what they want (seats).",
        "Commit: agree on a proposal date and the next meeting.",
    ]
    asks = _score(
        ["open_asks"], [_ask(1, overdue=False, age=1, kind="our_commitment", due=date(2026, 11, 23))]
    )
    assert build_brief(asks).splitlines() == [
        "Acknowledge: 1 request is waiting for us.",
        'Resolve: our promise: "Question number 1?" (open, 1 business day, due Mon 23 Nov).',
        "Commit: give a date for each open item and confirm it in writing today.",
    ]


def test_short_quote_cuts_at_a_word() -> None:
    assert short_quote("  a   b  ") == "a b"
    text = "We are now evaluating other vendors, and if this isn't resolved by the end of the month we leave."
    out = short_quote(text, 40)
    assert out == "We are now evaluating other vendors…" and len(out) <= 40


def test_empty_page_says_so() -> None:
    html = render_page([], as_of=date(2026, 11, 20), org_name="Northwind Analytics")
    assert "No account needs a call today." in html and "0 accounts to call" in html
