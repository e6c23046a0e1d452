"""The bundled sample is internally consistent (the stories EXPECTED.md tells are really in the files)."""

from __future__ import annotations

import email
import email.policy
import json
import re
import tomllib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path

import pytest

from triage.settings import load_settings, sample_data_dir

SAMPLE = sample_data_dir()
MAIL = SAMPLE / "mail"
BAD = {"1763560000.M900P4242.mail.northwind.example:2,S", "1763560001.M901P4242.mail.northwind.example"}


def _accounts() -> list[dict[str, object]]:
    data = tomllib.loads((SAMPLE / "accounts.toml").read_text(encoding="utf-8"))
    accounts: list[dict[str, object]] = data["account"]
    return accounts


def _mails() -> dict[Path, EmailMessage]:
    out = {}
    for f in sorted(MAIL.rglob("*")):
        if f.is_file() and not f.name.startswith(".") and f.name not in BAD:
            msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            out[f] = msg
    return out


def test_maildir_layout_and_bad_items() -> None:
    for folder in ("INBOX", "Sent"):
        for sub in ("cur", "new", "tmp"):
            assert (MAIL / folder / sub).is_dir()
    empty = MAIL / "INBOX" / "cur" / "1763560000.M900P4242.mail.northwind.example:2,S"
    broken = MAIL / "INBOX" / "new" / "1763560001.M901P4242.mail.northwind.example"
    assert empty.stat().st_size == 0
    raw = broken.read_bytes()
    assert b"\x00" in raw and b"Message-ID" not in raw and b"From:" not in raw


def test_every_mail_is_well_formed_and_threads_resolve() -> None:
    mails = _mails()
    assert len(mails) == 39
    ids = [str(m["Message-ID"]) for m in mails.values()]
    assert len(ids) == len(set(ids))
    domains = {d for a in _accounts() for d in a["domains"]}  # type: ignore[attr-defined]
    for path, m in mails.items():
        sent_at = parsedate_to_datetime(str(m["Date"]))
        assert datetime(2026, 9, 1, tzinfo=UTC) <= sent_at < datetime(2026, 11, 21, tzinfo=UTC), path
        sender = parseaddr(str(m["From"]))[1]
        if path.parts[-3] == "Sent":
            assert sender.endswith("@northwind.example"), path
        else:
            assert sender.split("@")[1] in domains | {"globex-partners.example"}, path
        for ref in (m["In-Reply-To"], *(str(m["References"] or "").split())):
            if ref:
                assert str(ref) in ids, f"{path}: reply to an unknown message {ref}"
        body = m.get_body(preferencelist=("plain", "html"))
        assert body is not None and body.get_content().strip()


def test_the_special_mails_are_there() -> None:
    mails = list(_mails().values())
    html_only = [m for m in mails if m.get_content_type() == "text/html"]
    assert [str(m["Subject"]) for m in html_only] == ["Nightly export to our warehouse failed"]
    cp1252 = [m for m in mails if m.get_content_charset() == "windows-1252"]
    assert len(cp1252) == 1
    assert "€90k" in cp1252[0].get_content() and "“forecast vs. actual”" in cp1252[0].get_content()
    forwarded = [m for m in mails if "---------- Forwarded message ---------" in m.get_content()]
    assert {str(m["Subject"]) for m in forwarded} == {
        "Fwd: Northwind SSO - options",
        "Fwd: Nightly export to our warehouse failed",
    }
    internal = [
        m
        for m in mails
        if str(m["To"]).endswith("@northwind.example>") and "@northwind.example" in str(m["From"])
    ]
    assert len(internal) == 1 and internal[0]["In-Reply-To"]  # Luis -> Sam, inside Hannah's thread
    signed = [m for m in mails if "\n-- \n" in m.get_content()]
    quoted = [m for m in mails if "\n> " in m.get_content()]
    assert len(signed) >= 15 and len(quoted) >= 8


def test_client_mail_in_german_french_and_spanish() -> None:
    """Issue 23: alpenrose writes in three languages (a German thread with our German reply, a French and a
    Spanish mail); EXPECTED.md says the list shows them as not analysed."""
    alpenrose = [m for m in _mails().values() if "alpenrose-hotels.example" in str(m["From"]) + str(m["To"])]
    subjects = {str(m["Subject"]) for m in alpenrose}
    assert subjects == {"Rechnung Oktober doppelt abgebucht", "AW: Rechnung Oktober doppelt abgebucht",
                        "Réservations de Genève absentes du tableau de bord", "Licencias para el nuevo hotel de Málaga"}
    assert len(alpenrose) == 5
    text = (SAMPLE / "EXPECTED.md").read_text(encoding="utf-8")
    assert "4 messages not analysed since Thu 12 Nov: 2 in German, 1 in French, 1 in Spanish" in text


def test_transcripts_cover_every_format_and_resolve_to_accounts() -> None:
    ids = {str(a["id"]) for a in _accounts()}
    files = sorted((SAMPLE / "transcripts").rglob("*.*"))
    assert {f.suffix for f in files} == {".vtt", ".srt", ".txt", ".json"}
    for f in files:
        assert f.parent.name in ids
        assert re.match(r"^\d{4}-\d{2}-\d{2}-[a-z0-9-]+\.(vtt|srt|txt|json)$", f.name), f
    teams = (SAMPLE / "transcripts/blueriver/2026-10-20-quarterly-review.vtt").read_text(encoding="utf-8")
    assert teams.startswith("WEBVTT") and "<v Hannah Cole>" in teams
    turns = json.loads((SAMPLE / "transcripts/granite/2026-11-17-monthly-check-in.json").read_text())
    assert turns["start_time"].startswith("2026-11-17")
    assert {t["speaker"] for t in turns["turns"]} >= {"Mei Tanaka"}
    broken = (SAMPLE / "transcripts/fjord/2026-11-16-support-call.vtt").read_text(encoding="utf-8")
    assert "-->" in broken and "banana" in broken


def test_accounts_and_internal_people_match_the_transcripts() -> None:
    accounts = _accounts()
    assert len(accounts) == 9
    assert {a["owner_am"] for a in accounts} == {"Dana Whitfield", "Luis Romero"}
    assert all(str(a["am_email"]).endswith("@northwind.example") for a in accounts)
    settings = load_settings(None, use_env_config=False)
    assert settings.org.our_domains == ["northwind.example"]
    assert set(settings.org.internal_people) == {"Sam Okafor", "Mei Tanaka"}
    spoken = "\n".join(f.read_text(encoding="utf-8") for f in (SAMPLE / "transcripts").rglob("*.*"))
    for person in settings.org.internal_people:
        assert person in spoken


@pytest.mark.parametrize("account", ["acme", "blueriver", "cedar"])
def test_expected_md_states_the_top_three(account: str) -> None:
    text = (SAMPLE / "EXPECTED.md").read_text(encoding="utf-8")
    rank = {"acme": 1, "blueriver": 2, "cedar": 3}[account]
    assert f"| **{rank}** | `{account}`" in text
    for absent in ("delta", "granite", "evergreen", "kevin.marsh@globex-partners.example"):
        assert absent in text.split("**Must not be on the list:**")[1].split("\n\n")[0]
