"""The language of each unit (issue 23): the decision on short and mixed text, the sign-off cut, and the parse
stage storing ``messages.language`` / ``utterances.language`` on a real DuckDB file (old rows too)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.parse import count, insert_raw
from triage.db import Database
from triage.parse import ingest_transcripts, load_accounts, parse_pending
from triage.parse.language import identify
from triage.parse.mime import parse_mail
from triage.parse.quotes import before_sign_off
from triage.settings import Settings

#: short lines that look English or are no language at all: too short to tell, read as English
SHORT = ["Thanks!", "Call me.", "FYI", "ok", "Thx", "Sounds good.", "See attached.", "Will do.", "Any update?",
         "Got it, thanks.", "Call me at 713-853-7041.", "www.enron.com",
         "jeff.dasovich@enron.com", "Phillip K. Allen", "Q3 2001", "$1.5MM", "Danke!", "Merci!", "Gracias",
         "Müller GmbH, Königstraße 12, 70173 Stuttgart", "Hans-Jürgen Schröder", "", "   "]

GERMAN = ("Guten Tag Herr Romero,\n\ndie Rechnung für Oktober wurde uns zweimal abgebucht. Können Sie das bitte "
          "prüfen und uns den Betrag zurückerstatten?\n\nMit freundlichen Grüßen\nKatrin Vogel")
FRENCH = ("Bonjour Luis,\n\ndepuis la mise à jour de lundi, les réservations de notre hôtel n'apparaissent plus "
          "dans le tableau de bord. Pourriez-vous regarder ce qui se passe ?\n\nCordialement,\nÉlodie")
SPANISH = ("Hola Luis:\n\nAbrimos el hotel de Málaga en enero y nos gustaría añadir diez licencias más. ¿Nos puedes "
           "enviar un presupuesto?\n\nUn saludo,\nJavier")
SIGNATURE = ("Mit freundlichen Grüßen\n\nJürgen Weiß\nLeiter Einkauf\nHofmann & Söhne GmbH\nKönigstraße 12, 70173 "
             "Stuttgart\nGeschäftsführer: Dr. Stefan Hofmann, Sabine Kühn\nSitz der Gesellschaft: Stuttgart, "
             "Amtsgericht Stuttgart HRB 123456")
NOTICE = ("Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen. Wenn Sie nicht der "
          "richtige Adressat sind oder diese E-Mail irrtümlich erhalten haben, informieren Sie bitte sofort den "
          "Absender und vernichten Sie diese Mail.")


@pytest.mark.parametrize("text", SHORT)
def test_short_lines_are_undetermined_and_so_read_as_english(text: str) -> None:
    assert identify(text) == "und"


@pytest.mark.parametrize(("text", "lang"), [(GERMAN, "de"), (FRENCH, "fr"), (SPANISH, "es")])
def test_client_mail_in_other_languages(text: str, lang: str) -> None:
    assert identify(text) == lang


def test_english_business_text_is_english() -> None:
    assert identify("Sent from my iPhone") == "en"
    assert identify("Could you send us the enterprise pricing for the 40 additional seats by Monday?") == "en"
    assert identify("This is the third time I'm raising it, and it's really frustrating.") == "en"


@pytest.mark.parametrize("tail", [SIGNATURE, f"{SIGNATURE}\n\n{NOTICE}", NOTICE, f"Best regards\n\n{SIGNATURE}"])
def test_a_german_signature_or_notice_under_english_does_not_decide(tail: str) -> None:
    assert identify(f"Hi John,\n\nplease find the signed contract attached.\n\n{tail}") == "en"
    assert identify(f"Can we move the call to Thursday?\n\n{tail}") == "en"


def test_an_english_sentence_in_a_german_mail_keeps_it_read() -> None:
    """Any sentence of four words or more that is itself English: the unit is English (never unread)."""
    text = ("Hallo John,\n\nwir haben den Vertrag geprüft und sind mit den Bedingungen einverstanden.\n"
            "Please send the countersigned copy to our legal team.")
    assert identify(text) == "en"


def test_a_german_reply_above_an_english_quote_is_german() -> None:
    raw = (
        "From: k@alpenrose-hotels.example\nTo: luis@northwind.example\nSubject: AW: Invoice\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "Guten Tag Herr Romero,\n\nleider ist bis heute keine Gutschrift bei uns eingegangen. Bitte teilen Sie uns "
        "bis Freitag mit, wann wir mit der Rückerstattung rechnen können.\n\nFreundliche Grüße\nKatrin Vogel\n\n"
        "Am 13.11.2026 um 10:02 schrieb Luis Romero <luis@northwind.example>:\n"
        "> Hi Katrin, thanks for letting me know. I have passed it on to our billing team.\n"
        "> They will get back to you directly.\n"
    ).encode()
    own = parse_mail(raw).new_text
    assert "billing team" not in own
    assert identify(own) == "de"


def test_before_sign_off_cuts_at_the_first_sign_off_or_notice_line() -> None:
    assert before_sign_off(GERMAN) == GERMAN.split("\n\nMit freundlichen")[0]
    assert before_sign_off(FRENCH).endswith("qui se passe ?")
    assert before_sign_off(SPANISH).endswith("presupuesto?")
    assert before_sign_off(f"Thanks, see below.\n\nBest regards\nJohn\n{NOTICE}") == "Thanks, see below."
    assert before_sign_off(f"Short note.\n{NOTICE}") == "Short note."
    # the first line is never cut; a line that only starts like a closing is text
    assert before_sign_off("Best regards\nJohn") == "Best regards\nJohn"
    body = "Hi Anna,\nThanks for the quick reply on the contract terms yesterday.\nMore to follow."
    assert before_sign_off(body) == body


# ---------------------------------------------------------------------------------------------
# the parse stage

ACCOUNTS = """
[[account]]
id = "alpenrose"
name = "Alpenrose Hotels"
domains = ["alpenrose-hotels.example"]
owner_am = "Luis Romero"
[[account.contacts]]
email = "katrin.vogel@alpenrose-hotels.example"
name = "Katrin Vogel"
"""


@pytest.fixture
def settings(tmp_path: Path, make_settings: Callable[..., Settings]) -> Settings:
    (tmp_path / "accounts.toml").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "transcripts" / "alpenrose").mkdir(parents=True)
    return make_settings('[org]\nour_domains = ["northwind.example"]\naccounts_file = "accounts.toml"\n'
                         'internal_people = ["Luis Romero"]\n[transcripts]\npaths = ["transcripts"]\n')


def _mail(n: int, body: str) -> bytes:
    return (f"From: Katrin Vogel <katrin.vogel@alpenrose-hotels.example>\nTo: luis@northwind.example\n"
            f"Subject: Test {n}\nMessage-ID: <lang-{n}@alpenrose-hotels.example>\nDate: Thu, 12 Nov 2026 09:14:05 "
            f"+0100\nContent-Type: text/plain; charset=utf-8\n\n{body}\n").encode()


def _languages(db: Database, sql: str) -> dict[str, str | None]:
    with db.read() as con:
        return {str(r[0]): r[1] for r in con.execute(sql).fetchall()}


def test_the_parse_stage_stores_each_units_language(db: Database, settings: Settings, tmp_path: Path) -> None:
    load_accounts(settings, db)
    for n, body in enumerate([GERMAN, FRENCH, SPANISH, "Thanks!", "Can you send the report by Friday?"]):
        insert_raw(db, _mail(n, body))
    parse_pending(settings, db, "r1")
    got = _languages(db, "SELECT subject, language FROM messages")
    assert got == {"Test 0": "de", "Test 1": "fr", "Test 2": "es", "Test 3": "und", "Test 4": "en"}
    vtt = ("WEBVTT\n\n00:00:01.000 --> 00:00:05.000\nKatrin Vogel: Guten Morgen, wir haben leider immer noch keine "
           "Gutschrift für die doppelte Abbuchung erhalten.\n\n00:00:06.000 --> 00:00:08.000\nLuis Romero: "
           "Oh.\n\n00:00:09.000 --> 00:00:10.000\nKatrin Vogel: Ja.\n\n00:00:11.000 --> 00:00:14.000\n"
           "Luis Romero: I will check with our billing team today and call you back.\n")
    (tmp_path / "transcripts" / "alpenrose" / "2026-11-18-call.vtt").write_text(vtt, encoding="utf-8")
    ingest_transcripts(settings, db, "r1")
    turns = _languages(db, "SELECT seq, language FROM utterances ORDER BY seq")
    assert turns == {"0": "de", "1": "und", "2": "und", "3": "en"}
    # the ops view says which languages each account writes and speaks in
    with db.read() as con:
        rows = con.execute("SELECT source_type, party, language, units FROM v_languages "
                           "WHERE account_id = 'alpenrose' ORDER BY ALL").fetchall()
    assert ("email", "client", "de", 1) in rows and ("meeting", "client", "de", 1) in rows
    assert ("meeting", "us", "en", 1) in rows


def test_rows_stored_before_the_migration_are_identified_by_the_next_parse(db: Database, settings: Settings,
                                                                           tmp_path: Path) -> None:
    load_accounts(settings, db)
    insert_raw(db, _mail(1, GERMAN))
    parse_pending(settings, db, "r1")
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\nKatrin Vogel: Können Sie uns bitte ein Angebot schicken?\n"
    (tmp_path / "transcripts" / "alpenrose" / "2026-11-18-call.vtt").write_text(vtt, encoding="utf-8")
    ingest_transcripts(settings, db, "r1")
    with db.write() as con:  # what a database of an older version holds
        con.execute("UPDATE messages SET language = NULL")
        con.execute("UPDATE utterances SET language = NULL")
    parse_pending(settings, db, "r2")
    ingest_transcripts(settings, db, "r2")
    assert count(db, "SELECT count(*) FROM messages WHERE language = 'de'") == 1
    assert count(db, "SELECT count(*) FROM utterances WHERE language = 'de'") == 1
    assert count(db, "SELECT count(*) FROM messages WHERE language IS NULL") == 0
