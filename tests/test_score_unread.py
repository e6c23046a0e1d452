"""Mail we cannot read is said so (issue 23): the ``unread_language`` reason on a real DuckDB file, in the
terminal, the digest, the page and ``triage account``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console

from tests.support.score_seed import STORY_AS_OF, Seeder, ts
from triage.db import Database
from triage.publish import load_call_list
from triage.publish.digest import render_text
from triage.publish.html import render_page
from triage.publish.terminal import print_call_list
from triage.publish.timeline import load_timeline
from triage.score import build_call_list
from triage.score.feedback import mark_done
from triage.settings import Settings, load_settings

AS_OF = STORY_AS_OF  # Friday 20 November 2026


@pytest.fixture
def settings() -> Settings:
    return load_settings(use_env_config=False)


def _seed_alpenrose(seed: Seeder) -> None:
    seed.account("alp", "Alpenrose Hotels", tier="growth", arr=50_000)
    seed.message("alp", "2026-11-12 08:14", subject="Rechnung doppelt", sender="katrin@alp.example", language="de")
    seed.message("alp", "2026-11-13 09:00", direction="outbound", subject="AW: Rechnung doppelt", language="de")
    seed.message("alp", "2026-11-16 10:00", subject="Danke", language="und")  # too short to tell: read
    seed.message("alp", "2026-11-17 10:26", subject="Réservations", sender="elodie@alp.example", language="fr")
    seed.message("alp", "2026-11-18 07:47", subject="AW: Rechnung doppelt", sender="katrin@alp.example",
                 language="de")
    seed.message("alp", "2026-11-19 09:05", subject="Licencias", sender="javier@alp.example", language="es")
    seed.message("alp", "2026-11-19 10:00", subject="Quick question", language="en")


def _reason(db: Database, account: str) -> Any:
    entry = next(e for e in load_call_list(db, AS_OF) if e.account_id == account)
    return entry, next(r for r in entry.reasons if r.kind == "unread_language")


def test_unread_client_mail_is_a_reason_of_its_own(db: Database, settings: Settings) -> None:
    _seed_alpenrose(Seeder(db))
    build_call_list(settings, db, AS_OF, "r")
    entry, reason = _reason(db, "alp")
    assert reason.text == "4 messages not analysed since Thu 12 Nov: 2 in German, 1 in French, 1 in Spanish"
    # the newest is linked and named; our own German reply and the short "Danke" are not counted
    assert reason.evidence == "Newest message (Spanish): Licencias"
    assert reason.link and reason.link.startswith("file:///mail/") and reason.occurred_at == ts("2026-11-19 09:05")
    assert reason.speaker == "javier@alp.example"
    # a small amount: w.unread_language x decay of the newest (1 day old); enough to list a quiet account
    assert reason.weight == pytest.approx(3.0 * 0.5 ** (1 / 14), abs=1e-3)
    assert [r.kind for r in entry.reasons] == ["unread_language", "value"]
    assert "Acknowledge: answer what they wrote in German, French and Spanish" in entry.brief
    assert "read their mail in German, French and Spanish first" in entry.brief


def test_one_language_reads_like_the_issue(db: Database, settings: Settings) -> None:
    seed = Seeder(db)
    seed.account("rhein", "Rheinwerk")
    for day in ("12", "16", "18"):
        seed.message("rhein", f"2026-11-{day} 09:00", subject=f"Bestellung {day}", language="de")
    build_call_list(settings, db, AS_OF, "r")
    assert _reason(db, "rhein")[1].text == "3 messages in German not analysed since Thu 12 Nov"


def test_languages_read_are_not_unread_and_done_clears_it(db: Database, settings: Settings,
                                                         make_settings: Any) -> None:
    _seed_alpenrose(Seeder(db))
    build_call_list(make_settings('[nlp]\nlanguages = ["en", "de", "fr", "es"]\n'), db, AS_OF, "r")
    assert load_call_list(db, AS_OF) == []  # nothing unread, nothing else to say
    build_call_list(make_settings('[nlp]\nlanguages = ["en", "de"]\n'), db, AS_OF, "r")
    assert _reason(db, "alp")[1].text == "2 messages not analysed since Tue 17 Nov: 1 in French, 1 in Spanish"
    mark_done(db, "alp", note="called Katrin, in German", author="luis", now=datetime.now(UTC))
    build_call_list(settings, db, AS_OF, "r")
    assert load_call_list(db, AS_OF) == []


def test_old_unread_mail_decays_off_the_list(db: Database, settings: Settings) -> None:
    seed = Seeder(db)
    seed.account("rhein", "Rheinwerk")
    seed.message("rhein", "2026-11-12 09:00", subject="Bestellung", language="de")  # 8 days: 3 x 0.67 = 2.0
    build_call_list(settings, db, AS_OF, "r")
    assert load_call_list(db, AS_OF) == []
    with db.read() as con:
        row = con.execute("SELECT skipped_reason, components->>'unread_language' FROM account_scores "
                          "WHERE account_id = 'rhein'").fetchone()
    assert row is not None and row[0] == "below_min_score" and float(row[1]) == pytest.approx(3 * 0.5 ** (8 / 14), 1e-3)


def test_it_adds_to_an_account_listed_for_other_reasons(db: Database, settings: Settings) -> None:
    seed = Seeder(db)
    seed.account("acme", "Acme")
    msg = seed.message("acme", "2026-11-18 09:00", subject="Outage", text="This is unacceptable.", language="en")
    seed.signal("frustration", msg, "acme", "2026-11-18 09:00", "This is unacceptable.", intensity=0.9)
    seed.message("acme", "2026-11-19 09:00", subject="Auftrag", language="de")
    build_call_list(settings, db, AS_OF, "r")
    entry, reason = _reason(db, "acme")
    assert reason.text == "1 message in German not analysed since Thu 19 Nov"
    assert {"frustration", "recency", "unread_language"} <= {r.kind for r in entry.reasons}
    assert entry.score == pytest.approx(sum(r.weight for r in entry.reasons), abs=0.01)


def test_a_meeting_mostly_in_another_language_is_unread(db: Database, settings: Settings) -> None:
    seed = Seeder(db)
    seed.account("lyon", "Lyon SA")
    turns = [("Claire", "client", "Bonjour à tous."), ("Dana Whitfield", "internal", "Hello everyone."),
             ("Claire", "client", "Nous avons un problème."), ("Claire", "client", "Oui."),
             ("Marc", "client", "The dashboard is slow.")]
    seed.meeting("lyon", "2026-11-19 14:00", turns, title="Revue mensuelle",
                 languages=["fr", "en", "fr", "und", "en"])
    mixed = [("Claire", "client", "Bonjour."), ("Marc", "client", "The export failed twice."),
             ("Marc", "client", "Can you look at it today?")]
    seed.meeting("lyon", "2026-11-18 14:00", mixed, title="Support call", languages=["fr", "en", "en"])
    build_call_list(settings, db, AS_OF, "r")
    reason = _reason(db, "lyon")[1]
    assert reason.text == "1 meeting in French not analysed since Thu 19 Nov"
    assert reason.evidence == "Newest meeting (French): Revue mensuelle" and reason.source_type == "meeting"


def test_shown_in_the_terminal_digest_page_and_account_timeline(db: Database, settings: Settings) -> None:
    seed = Seeder(db)
    _seed_alpenrose(seed)
    for n in range(4):  # an account whose unread mail is its weakest reason: still shown in the top 3
        msg = seed.message("alp", f"2026-11-19 1{n}:00", subject="Outage", text=f"Problem {n}.", language="en")
        seed.signal("complaint", msg, "alp", f"2026-11-19 1{n}:00", f"Problem {n}.")
        seed.signal("frustration", msg, "alp", f"2026-11-19 1{n}:00", f"Angry {n}.", intensity=0.9)
    build_call_list(settings, db, AS_OF, "r")
    entries = load_call_list(db, AS_OF)
    text = "4 messages not analysed since Thu 12 Nov: 2 in German, 1 in French, 1 in Spanish"
    console = Console(record=True, width=400)
    print_call_list(entries, console, top_reasons=1)
    assert text in console.export_text()
    assert text in render_text(entries, as_of=AS_OF, am_name="Dana Whitfield", top_reasons=1)
    page = render_page(entries, as_of=AS_OF, org_name="Northwind")
    assert text in page and 'data-kind="unread_language"' in page
    tl = load_timeline(db, "alp")
    assert tl.unread == text
    unread = [e for e in tl.events if e.kind == "unread"]
    assert [e.title for e in unread] == ["message in Spanish: not analysed", "message in German: not analysed",
                                         "message in French: not analysed", "message in German: not analysed"]
    assert unread[0].text == "Licencias" and unread[0].link and unread[0].status == "unread"
    assert load_timeline(db, "alp", languages=["en", "de", "fr", "es"]).unread is None
