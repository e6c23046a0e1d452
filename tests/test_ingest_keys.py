"""Message identity: Message-ID normalisation and the message_key contract (pure functions)."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from triage.ingest.imap import plan_batches
from triage.ingest.keys import identify, identify_header, is_empty_message, location_key, normalise_message_id
from triage.ingest.local import is_sent_folder


def sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def test_key_is_sha256_of_the_normalised_message_id() -> None:
    raw = b"From: a@b.example\r\nMessage-ID:   <abc.123@mail.example>  \r\nSubject: hi\r\n\r\nbody\r\n"
    ident = identify(raw)
    assert ident.message_id == "<abc.123@mail.example>"
    assert ident.message_key == sha("<abc.123@mail.example>")
    assert ident.content_sha256 == sha(raw)


def test_folded_and_lf_only_headers_give_the_same_key() -> None:
    folded = b"Subject: x\r\nMessage-Id:\r\n <abc.123@mail.example>\r\n\r\nbody"
    lf_only = b"Message-ID: <abc.123@mail.example>\nSubject: other\n\nanother body"
    assert identify(folded).message_key == identify(lf_only).message_key == sha("<abc.123@mail.example>")


def test_same_message_with_crlf_or_lf_is_one_key_but_two_content_hashes() -> None:
    lf = b"Message-ID: <x@y>\nSubject: s\n\nline\n"
    crlf = lf.replace(b"\n", b"\r\n")
    assert identify(lf).message_key == identify(crlf).message_key
    assert identify(lf).content_sha256 != identify(crlf).content_sha256


def test_missing_or_unusable_message_id_falls_back_to_the_content() -> None:
    for raw in (
        b"Subject: no id\r\n\r\nbody",
        b"Message-ID: \r\nSubject: empty id\r\n\r\nbody",
        b"Message-ID: not an id at all\r\n\r\nbody",
        b"Message-ID: <>\r\n\r\nbody",
    ):
        ident = identify(raw)
        assert ident.message_id is None
        assert ident.message_key == sha(raw)


def test_message_id_in_the_body_or_a_resent_header_is_ignored() -> None:
    raw = b"Resent-Message-ID: <resent@x>\r\nSubject: s\r\n\r\nMessage-ID: <body@x>\r\n"
    assert identify(raw).message_id is None


def test_bare_id_gets_brackets_and_whitespace_inside_is_removed() -> None:
    assert normalise_message_id("abc@host.example") == "<abc@host.example>"
    assert normalise_message_id(b"<abc@\r\n host.example> (comment)") == "<abc@host.example>"
    assert normalise_message_id(None) is None


def test_header_only_fetch_gives_the_same_key_as_the_full_message() -> None:
    full = b"Message-ID: <big@x.example>\r\nSubject: s\r\n\r\n" + b"x" * 1000
    assert identify_header(b"Message-ID: <big@x.example>\r\n\r\n") == identify(full).message_key
    assert identify_header(b"") is None


def test_empty_means_no_content_at_all() -> None:
    assert is_empty_message(b"") and is_empty_message(b" \r\n\r\n\t")
    assert not is_empty_message(b"Subject: only a header\r\n")


def test_location_keys_differ_per_location_and_epoch() -> None:
    a = location_key("s", "INBOX", 1, "5")
    assert a != location_key("s", "INBOX", 2, "5") and a != location_key("s", "Sent", 1, "5")
    assert len(a) == 64


@given(
    st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="<>@"),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["", " ", "\r\n ", "\t"]),
)
def test_whitespace_and_folding_never_change_the_key(local: str, fold: str) -> None:
    plain = f"Message-ID: <{local}@h.example>\r\n\r\nb".encode()
    folded = f"Message-ID:{fold}<{local}@h.example>{fold}\r\n\r\nb".encode()
    assert identify(plain).message_key == identify(folded).message_key


def test_sent_folder_matching_is_per_component_and_case_insensitive() -> None:
    sent = ["Sent", "sent_items", "_sent_mail"]
    assert is_sent_folder("allen-p/_sent_mail", sent)
    assert is_sent_folder("arora-h/SENT_ITEMS", sent)
    assert is_sent_folder(".INBOX.Sent", sent)  # Maildir++ subfolder
    assert not is_sent_folder("allen-p/inbox", sent)
    assert not is_sent_folder("presentations", sent)


@given(
    st.lists(st.integers(min_value=0, max_value=5000), min_size=0, max_size=60),
    st.integers(min_value=1, max_value=7),
)
def test_batches_keep_every_uid_in_order_within_the_limits(sizes: list[int], batch_size: int) -> None:
    uids = list(range(1, len(sizes) + 1))
    by_uid = dict(zip(uids, sizes, strict=True))
    batches = plan_batches(uids, by_uid, batch_size, max_message_bytes=4000, max_batch_bytes=6000)
    assert [u for b in batches for u in b] == uids
    for b in batches:
        assert 1 <= len(b) <= batch_size
        fetched = sum(by_uid[u] for u in b if by_uid[u] <= 4000)
        assert fetched <= 6000 or len(b) == 1
