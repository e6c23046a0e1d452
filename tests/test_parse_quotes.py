"""What a message newly says: quote, forward, signature and disclaimer stripping (rules + Enron)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.quote_eval import evaluate, expected_text, quote_markers, score_set, token_scores
from tests.support.parse import enron_dev_files
from triage.parse.mime import parse_mail
from triage.parse.quotes import new_text
from triage.parse.replyheaders import library_cut

FIX = Path(__file__).parent / "fixtures" / "parse"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Gmail style: attribution + '>' lines
        (
            "Sounds good, see you then.\n\nOn Mon, Nov 17, 2025 at 4:02 PM Dana <dana@x.example> wrote:\n>"
            " Can we meet?\n",
            "Sounds good, see you then.",
        ),
        # wrapped attribution line
        (
            "Yes.\n\nOn Mon, Nov 17, 2025 at 4:02 PM Dana Whitfield <\ndana@northwind.example> wrote:\n> Q?\n",
            "Yes.",
        ),
        # inline answers between quoted lines stay
        (
            "> Can you do Friday?\nYes, Friday works.\n> And the price?\nSame as last year.\n",
            "Yes, Friday works.\nSame as last year.",
        ),
        # Outlook
        (
            "Please resend.\n\n-----Original Message-----\nFrom: Dana\nSent: Monday\nTo: Priya\nSubject: x\n\nold\n",
            "Please resend.",
        ),
        # Outlook separator line + header block
        (
            "Approved.\n\n________________________________\nFrom: Dana Whitfield\nSent: Monday\nTo: Priya\n\nold\n",
            "Approved.",
        ),
        # header block without a marker line
        (
            "See below.\n\nFrom: Dana Whitfield [mailto:dana@northwind.example]\nSent: Monday, 3 Nov 2025\n"
            "To: Priya\nSubject: RE: x\n\nold text\n",
            "See below.",
        ),
        # Enron / Lotus Notes forward
        (
            "FYI - the client is upset.\n\n---------------------- Forwarded by Phillip K Allen/HOU/ECT on"
            " 12/12/2000\n"
            "12:01 PM ---------------------------\nFrom: Leslie Lawner@ENRON on 12/12/2000 11:56 AM CST\nTo:"
            " x\n"
            "Subject: y\n\nforwarded text\n",
            "FYI - the client is upset.",
        ),
        # Lotus Notes reply header with a lead-in line
        (
            'Good point.\n\n"Chad Muir" <chad@campuspipeline.com> on 11/29/2000 04:09:40 PM\nTo:'
            " Jeff.Bartlett@enron.com\n"
            "cc:\nSubject: Re: quick question\n\nold\n",
            "Good point.",
        ),
        # forwards
        ("Take a look.\n\n---------- Forwarded message ---------\nFrom: a\nDate: b\n\nold\n", "Take a look."),
        ("Take a look.\n\nBegin forwarded message:\n\nFrom: a\n\nold\n", "Take a look."),
        # signatures
        ("We need the invoice fixed.\n\n-- \nPriya Shah\nVP Operations\n", "We need the invoice fixed."),
        ("We need the invoice fixed.\n\nThanks,\nPriya\n", "We need the invoice fixed."),
        (
            "We need the invoice fixed.\n\nBest regards,\n\nPriya Shah\nVP Operations | Acme Logistics\n"
            "Tel: +1 555 010 2000\npriya@acme-logistics.example\n",
            "We need the invoice fixed.",
        ),
        ("Can you call me?\n\nSent from my iPhone\n", "Can you call me?"),
        ("Please advise.\n\nPriya Shah\nDirector of Procurement\n+1 (555) 010-2000\n", "Please advise."),
        # a closing followed by real content is not a signature
        (
            "Thanks,\n\nI also wanted to ask about the renewal terms for next year and the discount.\n",
            "Thanks,\n\nI also wanted to ask about the renewal terms for next year and the discount.",
        ),
        # disclaimers
        (
            "Numbers attached.\n\nThis e-mail and any attachments are confidential and may be privileged. If"
            " you are "
            "not the intended recipient, please delete it.\n",
            "Numbers attached.",
        ),
        (
            "Numbers attached.\n\n*****\nCONFIDENTIALITY NOTICE: The information contained in this message"
            " is "
            "confidential.\n",
            "Numbers attached.",
        ),
        # attachment placeholders
        ("Here is the file.\n\n << File: west_delta_pos.xls >> \n", "Here is the file."),
        # German / French / Spanish reply headers (mail-parser-reply patterns)
        (
            "Bitte bis Freitag.\n\nViele Grüße\nJonas\n\nVon: Dana\nGesendet: Montag\nAn: Jonas\nBetreff:"
            " Rechnung\n\nalt\n",
            "Bitte bis Freitag.",
        ),
        (
            "Merci.\n\nLe lun. 3 nov. 2025 à 10:00, Dana <dana@northwind.example> a écrit :\n> Bonjour\n",
            "Merci.",
        ),
        (
            "¿Cuándo?\n\nEl lun, 3 nov 2025 a las 10:00, Dana (<dana@x.example>) escribió:\n> Hola\n",
            "¿Cuándo?",
        ),
        # a closing above the "-- " signature block, above the quoted history
        (
            "Sorry about that.\n\nBest,\nLuis\n\n-- \nLuis Romero\nAccount Manager | Northwind\n"
            "+34 91 555 0123\n\n"
            "On Wed, 28 Oct 2026, Ingrid <i@f.example> wrote:\n> Hi\n",
            "Sorry about that.",
        ),
        ("It keeps happening.\n\nIngrid\n", "It keeps happening."),
        # hard-wrapped lines are joined; lists and new sentences keep their lines
        (
            "Could you confirm the API rate limits for the\nshipment endpoint?\nAlso:\n- item one\n- item two\n"
            "1. first\n2. second",
            "Could you confirm the API rate limits for the shipment endpoint?\nAlso:\n- item one\n- item two\n"
            "1. first\n2. second",
        ),
        # nothing to strip
        ("Short note.", "Short note."),
        ("", ""),
    ],
)
def test_new_text_rules(body: str, expected: str) -> None:
    assert new_text(body) == expected


def test_memo_headers_are_not_history() -> None:
    memo = (
        "TO:       All Exchange Members\n\nFROM:     J. Robert Collins\n\nRE: Trading hours\n\nThe exchange will open."
    )
    assert new_text(memo) == memo


def test_english_words_that_are_foreign_header_keys_do_not_cut() -> None:
    text = "Data: the Q3 numbers are attached.\nDo: please review by Friday."
    assert library_cut(text) == text
    assert new_text(text) == text


def test_forward_without_comment_has_no_new_text() -> None:
    body = "\n\n -----Original Message-----\nFrom: \tGroves, Eric\nSent:\tWednesday\nTo:\tx\nSubject:\ty\n\nold"
    assert new_text(body) == ""


@pytest.mark.parametrize("size", [60_000, 300_000])
def test_linear_time_on_huge_and_adversarial_bodies(size: int) -> None:
    import time

    for body in (
        "Thanks,\nJohn\n" * (size // 13),
        "word " * (size // 5),
        "> q\n" * (size // 4),
        "To: x\nSubject: y\n" * (size // 16),
        "On Mon wrote:\n" * (size // 14),
    ):
        t = time.perf_counter()
        new_text(body)
        assert time.perf_counter() - t < 5.0


def test_token_scores() -> None:
    assert token_scores("", "") == (1.0, 1.0)
    assert token_scores("a b c", "a b c") == (1.0, 1.0)
    p, r = token_scores("a b c d", "a b")
    assert p == 0.5 and r == 1.0


def test_quote_markers_are_independent_of_the_rules() -> None:
    assert quote_markers("> old") == ["quoted_line"]
    assert "wrote:" in quote_markers("On Monday Dana wrote:")
    assert quote_markers("From: a\nTo: b\n") == ["header_block"]
    assert quote_markers("plain text") == []


def _rows(name: str) -> list[dict[str, object]]:
    import json

    return [json.loads(x) for x in (FIX / name).read_text(encoding="utf-8").splitlines() if x.strip()]


def test_hand_checked_sets_are_well_formed(shared_data: Path) -> None:
    tuning, validation = _rows("enron_new_text.jsonl"), _rows("enron_new_text_validation.jsonl")
    assert len(tuning) == 40 and len(validation) == 20
    files = [r["file"] for r in tuning + validation]
    assert len(set(files)) == len(files)
    assert not any(str(f).startswith("badeer-r") for f in files)  # held out
    for r in tuning + validation:
        body = parse_mail((shared_data / "enron-maildir" / str(r["file"])).read_bytes()).body_text
        expected_text(r, body)  # spans exist in the body


def test_rules_on_hand_checked_enron_sets(shared_data: Path) -> None:
    enron = shared_data / "enron-maildir"
    for name, floor in (("enron_new_text.jsonl", 0.95), ("enron_new_text_validation.jsonl", 0.9)):
        res = score_set(enron, _rows(name))["methods"]["mail_parser_reply_headers+rules"]
        assert res["exact_ish"] >= floor, (name, res["failures"])
        assert res["lost_new_text"] <= 0.05, (name, res["failures"])
        assert res["residual_quote_markers"] <= 0.05


@pytest.mark.slow
def test_residual_quote_markers_over_all_enron_dev(shared_data: Path, tmp_path: Path) -> None:
    res = evaluate(shared_data / "enron-maildir", [FIX / "enron_new_text_validation.jsonl"])
    assert res["all_dev_files"] == len(enron_dev_files(shared_data))
    assert res["input_with_markers"] > 0.3  # the corpus really is full of quoting
    assert res["residual_all"]["mail_parser_reply_headers+rules"] <= 0.01
    assert res["residual_all"]["mail_parser_reply_headers+rules"] < res["residual_all"]["mail_parser_reply"]
