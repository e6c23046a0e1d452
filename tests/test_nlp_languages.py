"""The detectors read only ``[nlp] languages`` (issue 23): other units give no signal, are recorded as handled
(``detections.unread_units``, the ``v_unread`` view) and never read again; changing the setting re-reads."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.test_nlp_store import count, insert_meeting, insert_messages, run_once
from triage.db import Database
from triage.errors import ConfigError
from triage.nlp import detect_units, pending_batches
from triage.nlp.spec import pipeline_version, spec_from_settings
from triage.nlp.store import read_pending_units
from triage.settings import Settings
from triage.types import TextUnit, is_read

GERMAN = ("Guten Tag, seit Dienstag funktioniert der Export nicht mehr. Das ist jetzt das dritte Mal in diesem "
          "Monat, und wir sind wirklich verärgert. Können Sie uns bis Freitag sagen, was los ist?")
FRENCH = "Bonjour, pourriez-vous nous envoyer un devis pour quarante licences supplémentaires avant vendredi ?"
MAILS = [
    ("m-en", "inbound", "acme", "Could you send us a quote for 40 additional seats by Friday? This is getting "
                                "really frustrating."),
    ("m-de", "inbound", "acme", GERMAN),
    ("m-fr", "inbound", "acme", FRENCH),
    ("m-short", "inbound", "acme", "Danke!"),
]
LANGS = {"m-en": "en", "m-de": "de", "m-fr": "fr", "m-short": "und"}


def _seed(db: Database) -> None:
    insert_messages(db, MAILS)
    insert_meeting(db)
    with db.write() as con:
        for key, lang in LANGS.items():
            con.execute("UPDATE messages SET language = ? WHERE message_key = ?", [lang, key])
        con.execute("UPDATE utterances SET language = 'en'")
        con.execute("UPDATE utterances SET language = 'de', text = ? WHERE seq = 3", [GERMAN])


def _rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    with db.read() as con:
        return [tuple(r) for r in con.execute(sql).fetchall()]


def test_und_and_unidentified_count_as_english() -> None:
    assert is_read("und", ["en"]) and is_read(None, ["en"]) and is_read("en", ["en", "de"])
    assert not is_read("de", ["en"]) and is_read("de", ["en", "de"])


def test_units_in_other_languages_come_marked_unread(db: Database, make_settings: Callable[..., Settings]) -> None:
    _seed(db)
    units = {(u.source_key, u.seq): u for b in pending_batches(make_settings(), db) for u in b}
    assert {k[0]: u.unread for k, u in units.items() if u.source_type == "email"} == {
        "m-en": False, "m-de": True, "m-fr": True, "m-short": False}
    assert [u.unread for u in units.values() if u.source_type == "meeting"] == [False, False, False, True]
    assert units[("m-de", 0)].language == "de"
    read_de = {u.source_key: u.unread for u in read_pending_units(db, "v", ["en", "de"])}
    assert read_de["m-de"] is False and read_de["m-fr"] is True


def test_unread_units_give_nothing_and_never_load_the_models(make_settings: Callable[..., Settings]) -> None:
    """No models in this directory: loading them would fail, so nothing is loaded for unread units."""
    settings = make_settings("[nlp]\nmodels_dir = 'no-models-here'\n")
    units = [TextUnit("email", "m-de", 0, GERMAN, "client", language="de", unread=True),
             TextUnit("meeting", "t-1", 3, GERMAN, "client", language="de", unread=True)]
    assert detect_units(settings, units) == []


def test_the_languages_read_are_part_of_the_pipeline_version(make_settings: Callable[..., Settings]) -> None:
    en = pipeline_version(spec_from_settings(make_settings()))
    assert en != pipeline_version(spec_from_settings(make_settings('[nlp]\nlanguages = ["en", "de"]\n')))
    assert pipeline_version(spec_from_settings(make_settings('[nlp]\nlanguages = ["de", "en"]\n'))) == \
        pipeline_version(spec_from_settings(make_settings('[nlp]\nlanguages = ["EN", "de", "en"]\n')))


@pytest.mark.parametrize(("value", "message"), [
    ('["en", "xx"]', "unknown language(s) xx (valid: en, de, fr"),
    ('["de"]', 'languages must include "en"'),
])
def test_languages_are_checked(make_settings: Callable[..., Settings], value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_settings(f"[nlp]\nlanguages = {value}\n")


@pytest.mark.slow
def test_no_english_verdicts_on_other_languages(db: Database, make_settings: Callable[..., Settings]) -> None:
    _seed(db)
    settings = make_settings()
    run_once(settings, db)
    sources = {r[0] for r in _rows(db, "SELECT DISTINCT source_key FROM signals")}
    assert "m-en" in sources and not {"m-de", "m-fr"} & sources
    german_turn = "SELECT count(*) FROM signals WHERE source_type = 'meeting' AND utterance_seq = 3"
    assert count(db, german_turn) == 0
    assert count(db, "SELECT count(*) FROM signals WHERE source_type = 'meeting'") > 0  # the English turns
    # handled like any other source: a detections row each (no sentence scored), nothing pending next time
    det = {r[0]: r[1:] for r in _rows(db, "SELECT source_key, sentences, unread_units FROM detections")}
    assert det["m-de"] == (0, 1) and det["m-fr"] == (0, 1) and det["m-en"][1] == 0 and det["m-short"][1] == 0
    assert det["t-1"][1] == 1
    assert pending_batches(settings, db) == []
    unread = _rows(db, "SELECT source_key, languages, party FROM v_unread ORDER BY source_key")
    assert unread == [("m-de", ["de"], "client"), ("m-fr", ["fr"], "client"), ("t-1", ["de"], None)]
    # reading German too: every unit again (a new pipeline version); the German ones are now scored by the
    # English models as they are; French stays unread
    both = make_settings('[nlp]\nlanguages = ["en", "de"]\n')
    assert sum(len(b) for b in pending_batches(both, db)) == 4 + 4
    run_once(both, db, "run-2")
    det = {r[0]: r[1:] for r in _rows(db, "SELECT source_key, sentences, unread_units FROM detections")}
    assert det["m-de"][0] > 0 and det["m-de"][1] == 0 and det["m-fr"] == (0, 1) and det["t-1"][1] == 0
    # and back: the German units lose whatever the English models said about them
    run_once(settings, db, "run-3")
    assert not {"m-de", "m-fr"} & {r[0] for r in _rows(db, "SELECT DISTINCT source_key FROM signals")}
    assert count(db, german_turn) == 0
