"""MIME parsing over bytes: charsets, encodings, HTML, broken headers, attachments, forwards, Enron."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.parse import enron_dev_files
from triage.errors import ParseError
from triage.parse.mime import MAX_HEADER_CHARS, msgid_list, normalise_msgid, parse_mail
from triage.parse.text import decode_bytes, html_to_text

FIX = Path(__file__).parent / "fixtures" / "parse" / "mail"


def mail(name: str) -> bytes:
    return (FIX / name).read_bytes()


def test_html_only_mail_becomes_text_and_drops_the_gmail_quote() -> None:
    p = parse_mail(mail("html_only.eml"))
    assert "<" not in p.body_text.replace("<dana@", "")  # no markup left
    assert "still waiting for the revised SOW" in p.body_text
    assert "- pricing for 40 more seats" in p.body_text
    assert "the SOW is on its way" in p.body_text  # the full body keeps history (marked as quoted)
    assert "the SOW is on its way" not in p.new_text
    assert "wrote:" not in p.new_text
    assert "Can you send it by Friday?" in p.new_text
    assert "Priya" not in p.new_text.split("\n")[-1]  # "Thanks,\nPriya" closing stripped
    assert p.sent_at == datetime(2025, 11, 18, 14, 15, tzinfo=UTC)


def test_outlook_html_reply_header_and_windows_1252_quoted_printable() -> None:
    p = parse_mail(mail("outlook_html.eml"))
    assert p.new_text == "This is the third time I\u2019m asking \u2013 please escalate."
    assert "Old text from Dana" in p.body_text
    assert p.from_name == "Shah, Priya" and p.from_addr == "priya@acme-logistics.example"


def test_multipart_alternative_prefers_plain_base64_part_and_strips_signature() -> None:
    p = parse_mail(mail("multipart_alternative.eml"))
    assert p.body_text.startswith("Hi Dana,")
    assert "VP Operations" in p.body_text
    assert p.new_text == "Hi Dana,\n\nThe pilot went well. We'd like a quote for 200 seats."
    assert p.cc_addrs == ["ops@acme-logistics.example"]


def test_quoted_printable_utf8_body_and_rfc2047_subject() -> None:
    p = parse_mail(mail("quoted_printable.eml"))
    assert p.subject == "Rechnung für November"
    assert p.body_text == "Grüße aus München – the invoice is wrong again, and this is unacceptable."


@pytest.mark.parametrize(
    ("name", "subject", "from_name", "body"),
    [
        ("iso2022jp.eml", "請求書", "山田", "請求書がまだ届いていません。"),
        ("koi8r.eml", "Счёт", "Пётр", "Счёт до сих пор не пришёл."),
        (
            "windows1252.eml",
            "renewal",
            "Priya Shah",
            "We’re ready to renew – can you send the “final” contract? Cost: €120k.",
        ),
        ("rfc2047.eml", "Précis : délai de livraison", "José García", "Quel est le délai ?"),
    ],
)
def test_charsets_and_encoded_words(name: str, subject: str, from_name: str, body: str) -> None:
    p = parse_mail(mail(name))
    assert p.subject == subject
    assert p.from_name == from_name
    assert p.body_text == body
    assert p.notes == []


def test_unknown_charset_falls_back_and_notes_it() -> None:
    p = parse_mail(mail("unknown_charset.eml"))
    assert p.body_text == "Café meeting moved to Thursday, please confirm."
    assert any("unknown charset" in n for n in p.notes)


def test_broken_headers_use_fallbacks_instead_of_failing() -> None:
    p = parse_mail(mail("broken_headers.eml"))
    assert p.from_addr == "priya@acme-logistics.example"  # unterminated quote: address still found
    assert p.to_addrs == ["dana@northwind.example"]
    assert p.cc_addrs == ["ops@acme-logistics.example"]
    assert p.sent_at is None  # unparseable Date -> the stage uses INTERNALDATE
    assert p.subject is not None and p.subject.startswith("Café")
    assert p.references == ["<a@x.example>"]
    assert p.in_reply_to is None
    assert p.new_text == "Why has nobody answered my question about the outage?"
    assert any("Date" in n for n in p.notes)


def test_missing_date_and_naive_date() -> None:
    assert parse_mail(mail("missing_date.eml")).sent_at is None
    naive = b"From: a@b.example\nDate: 5 Nov 2025 10:00:00\nSubject: x\n\nhello"
    assert parse_mail(naive).sent_at == datetime(2025, 11, 5, 10, 0, tzinfo=UTC)
    future = b"From: a@b.example\nDate: Mon, 1 Jan 2120 10:00:00 +0000\n\nhello"
    p = parse_mail(future)
    assert p.sent_at is None and any("implausible" in n for n in p.notes)


def test_huge_headers_are_cut_not_fatal() -> None:
    to = ", ".join(f"user{i}@bulk{i % 50}.example" for i in range(20000))
    raw = (
        "Message-ID: <huge-1@acme.example>\nDate: Tue, 25 Nov 2025 12:00:00 +0000\nFrom: priya@acme.example\n"
        f"To: dana@northwind.example, {to}\nSubject: {'very long subject ' * 3000}\n"
        f"X-Junk: {'a' * 200000}\n\n"
        "Short body after huge headers.\n"
    ).encode()
    p = parse_mail(raw)
    assert p.new_text == "Short body after huge headers."
    assert p.to_addrs[0] == "dana@northwind.example"
    assert len(p.to_addrs) > 1000
    assert len(p.subject or "") <= MAX_HEADER_CHARS
    assert any("cut" in n for n in p.notes)


def test_attachments_only_mail_is_kept_with_empty_text() -> None:
    p = parse_mail(mail("attachments_only.eml"))
    assert p.attachments == ["SOW.pdf"]
    assert p.body_text == "" and p.new_text == ""
    assert p.in_reply_to == "<html-only-1@acme-logistics.example>"


def test_nested_rfc822_forward_is_in_body_but_not_in_new_text() -> None:
    p = parse_mail(mail("nested_forward.eml"))
    assert p.new_text == "Luis, can you take this one? See the forwarded mail."
    assert "considering other vendors" in p.body_text
    assert "From: Priya Shah <priya@acme-logistics.example>" in p.body_text


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n\r\n  ", "empty"),
        (b"just some words, no headers at all\nsecond line\n", "not_email"),
        (b"\x00\x01\x02\xff\xfe binary junk", "not_email"),
        (b"From: a@b.example\nSubject: nothing\n\n", "no_text"),
        (b"Subject: x\nContent-Type: multipart/mixed; boundary=\nnot a header\n\n--\n\x00@@", "bad_mime"),
        (b"From: a@b.example\nContent-Type: text/plain\n\n" + bytes(range(0, 9)) * 200, "undecodable"),
    ],
)
def test_unusable_messages_raise_parse_error_with_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as e:
        parse_mail(raw)
    assert e.value.reason == reason


def test_message_id_helpers() -> None:
    assert normalise_msgid(" <A@B.example> (comment)") == "<A@B.example>"
    assert normalise_msgid("") is None
    assert msgid_list("<a@x> <b@y>\n <a@x>") == ["<a@x>", "<b@y>"]
    assert msgid_list("bare@id.example") == ["<bare@id.example>"]


def test_decode_bytes_fallbacks() -> None:
    assert decode_bytes("é".encode(), "us-ascii") == ("é", None)  # ASCII label with UTF-8 bytes
    assert decode_bytes(b"\x93q\x94", "us-ascii")[0] == "“q”"
    assert decode_bytes(b"caf\xe9", "iso-8859-1")[0] == "café"
    text, note = decode_bytes(b"caf\xe9", "no-such-charset")
    assert text == "café" and note and "unknown charset" in note
    assert decode_bytes(b"\x81\x8d", "windows-1252")[0] == "\x81\x8d"  # undefined bytes never raise


def test_html_to_text_structure() -> None:
    html = (
        "<html><body><h1>Title</h1><p>One<br>Two</p><table><tr><td>a</td><td>b</td></tr></table>"
        "<script>alert(1)</script><blockquote>old</blockquote><p>after</p></body></html>"
    )
    text = html_to_text(html)
    assert "alert" not in text
    assert "Title" in text and "One\nTwo" in text
    assert "> old" in text and "after" in text


def test_all_enron_dev_files_parse(shared_data: Path) -> None:
    files = enron_dev_files(shared_data)
    assert len(files) > 900
    undated = 0
    for f in files:
        p = parse_mail(f.read_bytes())
        assert p.message_id and p.from_addr, f
        assert p.body_text.strip(), f
        if p.sent_at is None:  # a few Enron mails carry the 1979-12-31 epoch: the server date is used
            undated += 1
            assert any("implausible" in n for n in p.notes)
        else:
            assert p.sent_at.tzinfo is not None
    assert undated < len(files) * 0.02
