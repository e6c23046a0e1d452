"""What counts as evidence: pasted articles, newsletters, boilerplate and machine-sent mail do not.

Real Enron mail from the Berkeley set (../shared/data) for the pasted articles; header forms for the
machine-sent mail are generated here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.learn.data import load_berkeley
from triage.nlp.evidence import own_words
from triage.parse.bulk import machine_sent
from triage.parse.mime import parse_mail


def _berkeley(shared_data: Path, ident: str) -> str:
    [m] = [m for m in load_berkeley(shared_data) if m.id == ident]
    return parse_mail(m.raw).new_text


def test_a_pasted_news_article_is_cut_and_the_writers_own_lines_stay(shared_data: Path) -> None:
    text = _berkeley(shared_data, "9175")  # "FYI From the Contra Costa Times" + the article
    assert "By Rick Jurgens" in text and "TIMES STAFF WRITER" in text
    own = own_words(text)
    assert own.cut_reason == "pasted_content" and own.cut_chars > 2000
    assert own.text.startswith("Jeff") and "FYI" in own.text
    assert "Jurgens" not in own.text and "Skilling" not in own.text


def test_a_message_that_is_only_a_clipping_service_digest_keeps_nothing(shared_data: Path) -> None:
    text = _berkeley(shared_data, "121943")  # "San Jose Mercury News, April 19, 2001, ..., 593 words,"
    assert len(text) > 50_000
    assert own_words(text).text == ""


def test_the_writers_comment_before_an_article_survives_with_its_title(shared_data: Path) -> None:
    text = _berkeley(shared_data, "9176")
    own = own_words(text).text
    assert "Who would have guessed that the California power crisis and Gray Davis could be so funny." in own
    assert "Jay Leno" not in own and "By Fred Shuster" not in own


@pytest.mark.parametrize("text", [
    "By the way, the export failed again last night.",
    "We were told the copyright notice on your site is wrong.",
    "The invoice says 120 words, which is odd for a translation job of 4 pages.",
    "Our board meets on 12/03/2026 to decide on the renewal.",
])
def test_a_clients_own_mail_is_never_cut(text: str) -> None:
    mail = f"Hi Anna,\n\n{text}\n\nThanks,\nDana"
    assert own_words(mail).text == mail and own_words(mail).cut_reason is None


def test_newsletter_footer_starts_the_cut() -> None:
    mail = ("Dana here - see the note below, it matters for our rollout.\n\n"
            "Product news for November\nNew dashboards, faster exports.\n\n"
            "You are receiving this email because you signed up. Unsubscribe here.")
    own = own_words(mail).text
    assert own.startswith("Dana here") and "Unsubscribe" not in own


def _headers(**h: str) -> object:
    low = {k.replace("_", "-").lower(): v for k, v in h.items()}
    return lambda name: low.get(name.lower())


@pytest.mark.parametrize(("headers", "sender", "subject", "ctype", "why"), [
    ({"list_id": "<news.vendor.example>"}, "news@vendor.example", "November news", None, "list"),
    ({"list_unsubscribe": "<mailto:u@x.example>"}, "team@vendor.example", "Hello", None, "list"),
    ({"precedence": "bulk"}, "sales@vendor.example", "Offer", None, "bulk"),
    ({"auto_submitted": "auto-replied"}, "dana@acme.example", "Re: quote", None, "auto_reply"),
    ({}, "dana@acme.example", "Out of Office: Re: quote", None, "auto_reply"),
    ({}, "dana@acme.example", "Automatic reply: invoice", None, "auto_reply"),
    ({"x_auto_response_suppress": "OOF"}, "dana@acme.example", "Re: x", None, "auto_reply"),
    ({}, "MAILER-DAEMON@mx.acme.example", "Undeliverable: quote", "multipart/report", "delivery_report"),
    ({}, "no-reply@billing.vendor.example", "Your invoice", None, "no_reply_sender"),
])
def test_machine_sent_mail_is_named(headers: dict[str, str], sender: str, subject: str, ctype: str | None,
                                    why: str) -> None:
    assert machine_sent(_headers(**headers), sender, subject, ctype) == why  # type: ignore[arg-type]


@pytest.mark.parametrize(("headers", "sender", "subject"), [
    ({}, "dana@acme.example", "Re: our renewal"),
    ({"auto_submitted": "no"}, "dana@acme.example", "Out of the blue: a question"),
    ({"precedence": "first-class"}, "replies@acme.example", "Invoice dispute"),
])
def test_a_persons_mail_is_not_machine_sent(headers: dict[str, str], sender: str, subject: str) -> None:
    assert machine_sent(_headers(**headers), sender, subject) is None  # type: ignore[arg-type]


def test_parse_mail_marks_a_mailing_list_message() -> None:
    raw = (b"From: Vendor News <news@vendor.example>\r\nTo: dana@acme.example\r\nSubject: Update\r\n"
           b"List-Unsubscribe: <mailto:leave@vendor.example>\r\nMessage-ID: <n1@vendor.example>\r\n\r\n"
           b"This product is terrible and we are furious! (a marketing headline)\r\n")
    assert parse_mail(raw).machine_sent == "list"
    person = raw.replace(b"List-Unsubscribe: <mailto:leave@vendor.example>\r\n", b"")
    assert parse_mail(person).machine_sent is None
