"""Accounts file (TOML, CSV, broken files), address/person resolution, and load_accounts into DuckDB."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from triage.db import Database
from triage.errors import ConfigError
from triage.parse import load_accounts
from triage.parse.accounts import AccountBook
from triage.parse.accounts_file import parse_accounts_csv, parse_accounts_toml, read_accounts_file
from triage.parse.messages import route
from triage.settings import Settings

TOML = """
[[account]]
id = "acme"
name = "Acme Logistics"
domains = ["acme-logistics.example", "@ACME.example"]
owner_am = "Dana Whitfield"
am_email = "dana@northwind.example"
tier = "enterprise"
arr = 180000
[[account.contacts]]
email = "Priya@Acme-Logistics.example"
name = "Priya Shah"
title = "VP Operations"
[[account.contacts]]
email = "priya.shah.personal@gmail.example"
name = "Priya Shah (personal)"
[[account.contacts]]
email = "sam@northwind.example"
name = "Sam Embedded"

[[account]]
id = "globex"
name = "Globex"
domains = ["globex.example"]
tier = "smb"
"""

CSV = (
    "account_id,name,domains,owner_am,am_email,tier,arr\n"
    "acme,Acme Logistics,acme-logistics.example;acme.example,Dana Whitfield,dana@northwind.example,"
    "enterprise,180000\n"
    "globex,Globex,globex.example,,,smb,\n"
)


def book() -> AccountBook:
    return AccountBook(
        parse_accounts_toml(TOML, "t.toml"),
        our_domains=["northwind.example"],
        internal_people=["Luis Romero"],
    )


def test_toml_accounts_and_contacts() -> None:
    accts = parse_accounts_toml(TOML, "t.toml")
    assert [a.account_id for a in accts] == ["acme", "globex"]
    acme = accts[0]
    assert acme.domains == ("acme-logistics.example", "acme.example")
    assert acme.arr == 180000.0 and acme.tier == "enterprise" and acme.owner_am == "Dana Whitfield"
    assert acme.contacts[0].email == "priya@acme-logistics.example"
    assert acme.contacts[0].title == "VP Operations"
    assert accts[1].arr is None and accts[1].contacts == ()


def test_csv_accounts_match_toml() -> None:
    csv_accts = parse_accounts_csv(CSV, "a.csv")
    toml_accts = parse_accounts_toml(TOML, "t.toml")
    for c, t in zip(csv_accts, toml_accts, strict=True):
        assert (c.account_id, c.name, c.domains, c.tier, c.arr) == (
            t.account_id,
            t.name,
            t.domains,
            t.tier,
            t.arr,
        )
    assert csv_accts[1].owner_am is None and csv_accts[1].am_email is None


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (
            '[[account]]\nid = "a"\nname = "A"\ndomain = ["a.example"]\n',
            ["account #1", "'domain'", "unknown key"],
        ),
        ('[[account]]\nname = "A"\ndomains = ["a.example"]\n', ["account #1", "'id'", "required"]),
        ('[[account]]\nid = "a"\ndomains = ["a.example"]\n', ["'a'", "'name'", "required"]),
        ('[[account]]\nid = "a"\nname = "A"\ndomains = ["not a domain"]\n', ["'domains'", "not a domain"]),
        (
            '[[account]]\nid = "a"\nname = "A"\ndomains = ["a.example"]\narr = "lots"\n',
            ["'arr'", "not a number"],
        ),
        ('[[account]]\nid = "a"\nname = "A"\ndomains = ["a.example"]\narr = -5\n', ["'arr'", "non-negative"]),
        ('[[account]]\nid = "a"\nname = "A"\ndomains = ["a.example"]\nam_email = "nope"\n', ["'am_email'"]),
        ('[[account]]\nid = "a b"\nname = "A"\ndomains = []\n', ["'id'", "not a valid account id"]),
        (
            '[[account]]\nid = "a"\nname = "A"\ndomains = ["a.example"]\n[[account]]\nid = "a"\nname = "B"\n'
            'domains = ["b.example"]\n',
            ["'a' appears twice"],
        ),
        (
            '[[account]]\nid = "a"\nname = "A"\ndomains = ["x.example"]\n[[account]]\nid = "b"\nname = "B"\n'
            'domains = ["x.example"]\n',
            ["account 'b'", "already a domain of account 'a'"],
        ),
        (
            '[[account]]\nid = "a"\nname = "A"\ndomains = ["a.example"]\n[[account.contacts]]\nname = "No Mail"\n',
            ["contact #1", "'email'", "required"],
        ),
        ("[[account]\nid = 1", ["not valid TOML"]),
        ("accounts = []", ["unknown top-level key"]),
    ],
)
def test_broken_toml_names_file_entry_and_field(text: str, needles: list[str]) -> None:
    with pytest.raises(ConfigError) as e:
        parse_accounts_toml(text, "/etc/triage/accounts.toml")
    msg = str(e.value)
    assert "/etc/triage/accounts.toml" in msg
    for n in needles:
        assert n in msg, msg


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("id,name,domains\na,A,a.example\n", ["missing account_id", "unknown column id"]),
        ("account_id,name,domains,arr\na,A,a.example,12k\n", ["line 2", "'arr'", "not a number"]),
        ("account_id,name,domains\na,A,a.example,extra\n", ["line 2", "more fields"]),
        ("account_id,name,domains\na,,a.example\n", ["line 2", "'name'", "required"]),
        ("", ["empty CSV"]),
    ],
)
def test_broken_csv_names_file_line_and_field(text: str, needles: list[str]) -> None:
    with pytest.raises(ConfigError) as e:
        parse_accounts_csv(text, "accounts.csv")
    for n in needles:
        assert n in str(e.value), str(e.value)


def test_read_accounts_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        read_accounts_file(tmp_path / "missing.toml")
    (tmp_path / "a.yaml").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="unsupported format"):
        read_accounts_file(tmp_path / "a.yaml")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_accounts_file(tmp_path / "bin.csv")
    (tmp_path / "ours.toml").write_text('[[account]]\nid="a"\nname="A"\ndomains=["mail.northwind.example"]\n')
    with pytest.raises(ConfigError, match="our own domains"):
        read_accounts_file(tmp_path / "ours.toml", our_domains=["northwind.example"])


def test_address_resolution() -> None:
    b = book()
    assert b.account_for("priya@acme-logistics.example") == "acme"
    assert b.account_for("someone@eu.mail.acme-logistics.example") == "acme"  # subdomain
    assert b.account_for("x@acme.example") == "acme"
    assert b.account_for("priya.shah.personal@gmail.example") == "acme"  # exact contact beats domain
    assert b.account_for("other@gmail.example") is None
    assert b.account_for("x@notacme-logistics.example") is None  # suffix of a label is not a subdomain
    assert b.account_for("no-at-sign") is None and b.account_for(None) is None
    assert b.is_ours("dana@northwind.example") and b.is_ours("x@eu.northwind.example")
    assert not b.is_ours("priya@acme-logistics.example")
    assert b.account_for("sam@northwind.example") is None  # our people listed as contacts stay ours


def test_person_roles() -> None:
    b = book()
    assert b.person("Dana Whitfield") == ("internal", None)  # owner AM
    assert b.person("luis  romero") == ("internal", None)  # org.internal_people, case/space-insensitive
    assert b.person("Sam Embedded") == ("internal", None)  # contact with our domain
    assert b.person("Priya Shah") == ("client", "acme")
    assert b.person("Priya Shah (Acme Logistics)") == ("client", "acme")  # Teams-style suffix
    assert b.person("priya@acme-logistics.example") == ("client", "acme")
    assert b.person("Speaker 1") == ("unknown", None)
    assert b.person(None) == ("unknown", None)


def test_route_direction_and_account() -> None:
    b = book()
    assert route(b, "priya@acme-logistics.example", ["dana@northwind.example"], False).__dict__ == {
        "direction": "inbound",
        "account_id": "acme",
    }
    r = route(b, "dana@northwind.example", ["luis@northwind.example", "ceo@globex.example"], False)
    assert (r.direction, r.account_id) == ("outbound", "globex")
    assert route(b, "dana@northwind.example", ["luis@northwind.example"], False).direction == "internal"
    # sent from an alias outside our domains, found in the Sent folder: still ours
    r = route(b, "dana.alias@gmail.example", ["priya@acme-logistics.example"], True)
    assert (r.direction, r.account_id) == ("outbound", "acme")
    # an unknown sender writing to us: inbound without account
    assert route(b, "x@unknown.example", ["dana@northwind.example"], False).account_id is None
    # unknown sender, but a client contact in Cc: the participant's account
    r = route(b, "x@gmail.example", ["dana@northwind.example", "priya@acme-logistics.example"], False)
    assert (r.direction, r.account_id) == ("inbound", "acme")
    # a list mail between outsiders that reached us: external
    assert route(b, "news@vendor.example", ["list@vendor.example"], False).direction == "external"
    assert route(b, None, [], False).direction == "inbound"
    # nothing known about us: everything not sent by us is inbound
    assert route(AccountBook(), "a@b.example", ["c@d.example"], False).direction == "inbound"


def _settings(make_settings: Callable[..., Settings], accounts: str | None) -> Settings:
    text = '[org]\nour_domains = ["northwind.example"]\n'
    if accounts is not None:
        text += f'accounts_file = "{accounts}"\n'
    return make_settings(text)


def _counts(db: Database) -> tuple[int, int]:
    with db.read() as con:
        a = con.execute("SELECT count(*) FROM accounts").fetchone()
        c = con.execute("SELECT count(*) FROM contacts").fetchone()
    assert a is not None and c is not None
    return int(a[0]), int(c[0])


def test_load_accounts_replaces_tables(db: Database, tmp_path: Path, make_settings: Callable[..., Settings]) -> None:
    (tmp_path / "accounts.toml").write_text(TOML, encoding="utf-8")
    s = _settings(make_settings, "accounts.toml")
    assert load_accounts(s, db) == 2
    assert load_accounts(s, db) == 2  # idempotent
    assert _counts(db) == (2, 3)
    with db.read() as con:
        row = con.execute("SELECT name, domains, owner_am, am_email, tier, arr FROM accounts WHERE account_id='acme'")
        assert row.fetchone() == (
            "Acme Logistics",
            ["acme-logistics.example", "acme.example"],
            "Dana Whitfield",
            "dana@northwind.example",
            "enterprise",
            180000.0,
        )
    (tmp_path / "accounts.csv").write_text(CSV, encoding="utf-8")
    assert load_accounts(_settings(make_settings, "accounts.csv"), db) == 2
    assert _counts(db) == (2, 0)  # the CSV has no contacts: replaced, not merged
    assert load_accounts(_settings(make_settings, None), db) == 0
    assert _counts(db) == (0, 0)


def test_broken_accounts_file_keeps_the_old_tables(
    db: Database, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    (tmp_path / "accounts.toml").write_text(TOML, encoding="utf-8")
    s = _settings(make_settings, "accounts.toml")
    load_accounts(s, db)
    (tmp_path / "accounts.toml").write_text(TOML.replace('domains = ["globex.example"]', "domains = 5"))
    with pytest.raises(ConfigError, match=r"accounts\.toml: account #2 \('globex'\): field 'domains'"):
        load_accounts(s, db)
    assert _counts(db) == (2, 3)
