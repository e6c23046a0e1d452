"""Rule patterns, sentence splitting, due-date parsing and component registration (no models needed)."""

from __future__ import annotations

from datetime import date

import pytest
import spacy
from spacy.util import registry

from triage.nlp.dates import resolve_due_date
from triage.nlp.decision import apply_floors
from triage.nlp.rules import FEATURES, is_scorable, rule_features
from triage.nlp.runtime import get_segmenter

WED = date(2026, 11, 18)  # a Wednesday


def sents(text: str):
    doc = next(get_segmenter().pipe([text]))
    return doc._.triage_sents


def rules_of(text: str) -> set[str]:
    out: set[str] = set()
    for s in sents(text):
        out |= s.rules.rules
    return out


def test_detectors_are_registered_under_versioned_names() -> None:
    import triage.nlp.components  # noqa: F401  (registers)

    for name in ("frustration.v2", "complaint.v1", "buying_signal.v2", "ask.v2"):
        assert registry.misc.get(name) is not None
    for factory in ("triage_frustration", "triage_complaint", "triage_buying_signal", "triage_ask", "triage_rules",
                    "triage_lines", "triage_encoder"):
        assert factory in spacy.registry.factories
    # the factories default to the versioned detectors (config as data)
    for factory, name in (("triage_frustration", "frustration.v2"), ("triage_complaint", "complaint.v1")):
        assert spacy.Language.get_factory_meta(factory).default_config["detector"]["@misc"] == name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I want to speak to your manager about this.", "frustration:escalation"),
        ("This is completely unacceptable.", "frustration:escalation"),
        ("This is the third time the export has failed.", "frustration:unresolved"),
        ("The sync is still not working.", "frustration:unresolved"),
        ("We are looking at alternatives for next year.", "frustration:churn"),
        ("We will cancel our subscription if this goes on.", "frustration:churn"),
        ("Honestly we might switch to another vendor.", "frustration:churn"),
        ("We will not renew in March.", "frustration:churn"),
        ("We are really frustrated with the support.", "frustration:negative"),
        ("How much would the enterprise plan cost?", "buying:pricing"),
        ("Could you send a quote?", "buying:pricing"),
        ("We need 25 more seats.", "buying:seats"),
        ("We want to roll out to the sales team.", "buying:expansion"),
        ("Let's talk about the renewal.", "buying:renewal"),
        ("We were charged twice for November.", "complaint:billing"),
        ("The March invoice never arrived.", "complaint:missing"),
        ("The totals on the dashboard are wrong.", "complaint:wrong"),
        ("The export to Excel is not working.", "complaint:broken"),
        ("If you have any questions, please let me know.", "ask:offer"),
        ("Please call me with any additional questions.", "ask:offer"),
        ("This email is intended solely for the named recipient.", "boilerplate:legal"),
        ("I am out of the office until Monday with limited access to email.", "boilerplate:auto"),
        ("We'd like to upgrade to the premium tier.", "buying:upgrade"),
        ("Good news, the budget was approved.", "buying:budget"),
        ("We got sign-off from finance.", "buying:budget"),
        ("Is the SSO add-on available?", "buying:addon"),
        ("Upgrade your account now and save 50%!", "buying_neg:spam"),
        ("Could you send me the report?", "ask:modal"),
        ("Can you check the logs?", "ask:modal"),
        ("Please send the slides.", "ask:please"),
        ("I need the invoice corrected.", "ask:need"),
        ("Let me know when it is done.", "ask:reply"),
        ("Is the export fixed?", "ask:qmark"),
        ("Send me the deck.", "ask:imperative"),
        ("As I asked last week, where is the report?", "repeat:again"),
        ("Still waiting on the credit note.", "repeat:again"),
        ("I'll send the quote by Friday.", "commit:promise"),
        ("We will get back to you tomorrow.", "commit:promise"),
        ("I will follow up by end of week.", "commit:promise"),
        ("Let me check with the team.", "commit:promise"),
        ("Please send it by Friday.", "due:weekday"),
        ("Please send it by EOD.", "due:relative"),
        ("Please send it by the 15th.", "due:day_of_month"),
        ("Please send it by Dec 3.", "due:date"),
        ("Please send it by end of the month.", "due:end_of"),
        ("Please reply within 3 business days.", "due:in_days"),
    ],
)
def test_rule_patterns_fire(text: str, expected: str) -> None:
    assert expected in rules_of(text)


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("Thanks for the great call today.", "frustration:"),
        ("Please cancel the meeting on Tuesday.", "frustration:churn"),
        ("The call was good.", "ask:imperative"),
        ("We met on the 3rd floor.", "commit:"),
        ("Our legal team has a few comments on the DPA.", "frustration:escalation"),
    ],
)
def test_rule_patterns_do_not_fire(text: str, absent: str) -> None:
    assert not any(r.startswith(absent) for r in rules_of(text))


def test_sentences_split_on_punctuation_lines_and_blank_lines_not_wrapped_lines() -> None:
    text = (
        "Hi Anna,\n"
        "The nightly export failed again and our analysts had to rebuild the report by\n"
        "hand this morning. Could you look at it?\n\n"
        "- ticket 55120\n"
        "- ticket 55121\n"
        "Best,\nMark"
    )
    got = [s.text for s in sents(text)]
    assert got == [
        "Hi Anna,",
        "The nightly export failed again and our analysts had to rebuild the report by\nhand this morning.",
        "Could you look at it?",
        "- ticket 55120",
        "- ticket 55121",
        "Best,",
        "Mark",
    ]


def test_non_text_is_skipped() -> None:
    assert is_scorable("Could you send the quote?")
    assert not is_scorable("----- !!! ?? ...")
    assert not is_scorable("https://example.com/a/b?c=d")
    assert not is_scorable("QUJD" * 400)  # base64-like garbage
    assert not is_scorable("12:30 - 14:00 / 2026")
    text = "Hello there. " + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo" * 40
    flags = [s.scorable for s in sents(text)]
    assert flags[0] is True and flags[-1] is False


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("by Friday", date(2026, 11, 20)),
        ("by Wednesday", WED),  # the anchor day itself
        ("next Tuesday", date(2026, 11, 24)),
        ("next Wednesday", date(2026, 11, 25)),
        ("by EOD", WED),
        ("by end of day", WED),
        ("by end of day tomorrow", date(2026, 11, 19)),
        ("tomorrow", date(2026, 11, 19)),
        ("by end of week", date(2026, 11, 20)),
        ("by the end of the week", date(2026, 11, 20)),
        ("by end of next week", date(2026, 11, 27)),
        ("next week", date(2026, 11, 23)),
        ("by end of month", date(2026, 11, 30)),
        ("by the end of the quarter", date(2026, 12, 31)),
        ("by the 15th", date(2026, 12, 15)),
        ("by the 20th", date(2026, 11, 20)),
        ("by Dec 3", date(2026, 12, 3)),
        ("by December 3rd", date(2026, 12, 3)),
        ("by 3 December", date(2026, 12, 3)),
        ("by Jan 5", date(2027, 1, 5)),
        ("by 12/3", date(2026, 12, 3)),
        ("by 2027-02-01", date(2027, 2, 1)),
        ("within 3 business days", date(2026, 11, 23)),
        ("in 2 weeks", date(2026, 12, 2)),
        ("by the 31st", date(2026, 12, 31)),
    ],
)
def test_due_dates_resolve_against_the_message_date(phrase: str, expected: date) -> None:
    assert resolve_due_date(phrase, WED) == expected


def test_due_dates_without_anchor_or_date_are_none() -> None:
    assert resolve_due_date("by Friday", None) is None
    assert resolve_due_date("soon", WED) is None
    assert resolve_due_date("by the 45th", WED) is None


def test_due_phrase_is_found_and_resolved_from_a_sentence() -> None:
    [s] = sents("Could you send the signed order form by next Tuesday?")
    assert s.rules.due_phrase is not None
    assert resolve_due_date(s.rules.due_phrase, WED) == date(2026, 11, 24)


def test_closings_cap_the_ask_score_unless_they_ask() -> None:
    texts = ["Talk then!", "Wednesday at 4pm works.", "Have a good weekend!", "Thanks, could you send the report?",
             "Thanks for the update, please confirm the date."]
    rules = [next(get_segmenter().pipe([t]))._.triage_sents[0].rules for t in texts]
    capped = apply_floors("ask", [0.7] * 5, rule_features("ask", rules))
    # below any ask threshold (the no-request-form cap may lower them further), requests untouched
    assert all(c <= 0.2 for c in capped[:3]) and list(capped[3:]) == [0.7, 0.7]


def test_conditional_offers_are_not_asks_nor_commitments() -> None:
    texts = ["If you have any questions, please let me know.",
             "Please call me at 3-4243 with any additional questions.", "Feel free to reach out any time.",
             "Let me know if Thursday works for you?", "Please send the wire instructions."]
    rules = [next(get_segmenter().pipe([t]))._.triage_sents[0].rules for t in texts]
    capped = apply_floors("ask", [0.9] * 5, rule_features("ask", rules))
    assert all(c <= 0.1 for c in capped[:3]) and list(capped[3:]) == [0.9, 0.9]
    commit = apply_floors("commitment", [0.9] * 5, rule_features("commitment", rules))
    assert commit[2] <= 0.1 and commit[4] == 0.9


def test_boilerplate_sentences_are_no_evidence() -> None:
    text = ("The March invoice is wrong again. If you are not the intended recipient, delete this message. "
            "This is an automated message, please do not reply.")
    s = sents(text)
    assert [x.evidence for x in s] == [True, False, False]


def test_floors_raise_churn_and_questions_only() -> None:
    rules = [s.rules for s in sents("We will not renew. Nice weather. Is the export fixed? Thanks.")]
    fr = apply_floors("frustration", [0.1, 0.1, 0.1, 0.1], rule_features("frustration", rules))
    assert fr[0] >= 0.9 and list(fr[1:]) == [0.1, 0.1, 0.1]
    ask = apply_floors("ask", [0.1, 0.1, 0.1, 0.1], rule_features("ask", rules))
    assert ask[2] >= 0.6 and ask[0] == 0.1
    assert rule_features("buying_signal", rules).shape == (4, len(FEATURES["buying_signal"]))


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("The nightly export failed on Saturday and Sunday.", False),  # a day in a statement: context
        ("The report arrived late again this Monday.", False),
        ("About forty dispatchers couldn't log in on Monday morning.", False),
        ("The signed contract is due by Friday.", True),  # "by ..." is a deadline even in a statement
        ("Can we meet on Monday?", True),  # a question: the day is when
        ("Please send it next Tuesday.", True),
        ("I'll send the summary tomorrow.", True),  # our promise
    ],
)
def test_a_day_is_a_due_date_only_in_a_request_or_promise(text: str, due: bool) -> None:
    [s] = sents(text)
    assert (s.rules.due_phrase is not None) is due
    assert s.rules.has("due:") is due


def test_statements_without_a_request_form_need_a_confident_head_to_be_asks() -> None:
    texts = ["The export failed on Saturday.", "Let's get together next week to discuss the plan.",
             "Can you check the export?", "I'll send the deck tomorrow."]
    rules = [next(get_segmenter().pipe([t]))._.triage_sents[0].rules for t in texts]
    scored = apply_floors("ask", [0.55, 0.75, 0.55, 0.55], rule_features("ask", rules))
    # no form and an unsure head: capped below any threshold; no form but a sure head: kept;
    # a question: raised to the question floor; the client's own promise: not ours to answer
    assert list(scored) == [0.1, 0.75, 0.6, 0.1]


def test_deliveries_and_the_clients_own_promises_are_not_asks() -> None:
    texts = ["Please see attached.", "Attached is the revised model.", "We will give you a call later today.",
             "Attached is the contract, could you sign it?", "Attached is the form, please return it by Friday.",
             "We need the signed form back, we will chase legal."]
    rules = [next(get_segmenter().pipe([t]))._.triage_sents[0].rules for t in texts]
    scored = apply_floors("ask", [0.9] * len(texts), rule_features("ask", rules))
    assert list(scored) == [0.1, 0.1, 0.1, 0.9, 0.9, 0.9]


@pytest.mark.parametrize(("text", "filler"), [
    ("Yeah.", True), ("Okay, thanks.", True), ("Mm-hmm.", True), ("{vocalsound} Yeah.", True), ("Uh-huh.", True),
    ("Why?", False), ("Yeah?", False), ("This is unacceptable.", False), ("Thanks for the quote.", False),
    ("Right, so the export failed.", False), ("No, the invoice is wrong.", False),
])
def test_fillers_are_never_evidence(text: str, filler: bool) -> None:
    from triage.nlp.rules import is_filler

    assert is_filler(text) is filler
    [s] = sents(text)
    assert s.evidence is (not filler)
