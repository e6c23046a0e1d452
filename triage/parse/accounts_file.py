"""The accounts file (TOML or CSV) -> validated :class:`~triage.parse.accounts.Account` list.

The accounts file is configuration: a broken file is a :class:`ConfigError` naming the file, the
entry and the field (``accounts file /x/accounts.toml: account #2 ('globex'): field 'domains':
...``), because without accounts nothing can be resolved.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from triage.errors import ConfigError
from triage.parse.accounts import Account, Contact, suffixes

__all__ = ["parse_accounts_csv", "parse_accounts_toml", "read_accounts_file"]

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{1,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_TOML_ACCOUNT_KEYS = {"id", "name", "domains", "owner_am", "am_email", "tier", "arr", "contacts"}
_TOML_CONTACT_KEYS = {"email", "name", "title"}
_CSV_COLUMNS = ("account_id", "name", "domains", "owner_am", "am_email", "tier", "arr")
_CSV_REQUIRED = ("account_id", "name", "domains")


class _Where:
    """Builds error messages that name the file, the entry and the field."""

    def __init__(self, origin: str, entry: str) -> None:
        self.origin = origin
        self.entry = entry

    def error(self, fld: str, why: str) -> ConfigError:
        return ConfigError(f"accounts file {self.origin}: {self.entry}: field '{fld}': {why}")


def _opt_str(where: _Where, fld: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise where.error(fld, f"must be text, got {type(value).__name__}")
    return value.strip() or None


def _domain(where: _Where, fld: str, value: Any) -> str:
    if not isinstance(value, str):
        raise where.error(fld, f"domains must be text, got {type(value).__name__}")
    d = value.strip().lower().lstrip("@").rstrip(".")
    if not _DOMAIN.match(d):
        raise where.error(fld, f"{value!r} is not a domain name (want e.g. 'acme.example')")
    return d


def _email(where: _Where, fld: str, value: Any) -> str:
    if not isinstance(value, str) or not _EMAIL.match(value.strip()):
        raise where.error(fld, f"{value!r} is not an e-mail address")
    addr = value.strip().lower()
    _domain(where, fld, addr.rsplit("@", 1)[1])
    return addr


def _arr(where: _Where, value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise where.error("arr", "must be a number")
    if isinstance(value, int | float):
        num = float(value)
    elif isinstance(value, str):
        try:
            num = float(value.strip().replace("_", ""))
        except ValueError:
            raise where.error("arr", f"{value!r} is not a number") from None
    else:
        raise where.error("arr", f"must be a number, got {type(value).__name__}")
    if num < 0 or num != num or num == float("inf"):
        raise where.error("arr", f"must be a non-negative number, got {value!r}")
    return num


def _account(
    where: _Where,
    account_id: Any,
    name: Any,
    domains: Any,
    owner_am: Any,
    am_email: Any,
    tier: Any,
    arr: Any,
    contacts: list[Contact],
) -> Account:
    if not isinstance(account_id, str) or not _ACCOUNT_ID.match(account_id.strip()):
        raise where.error("id", f"{account_id!r} is not a valid account id (letters, digits, '_', '-', '.'; max 100)")
    aid = account_id.strip()
    nm = _opt_str(where, "name", name)
    if not nm:
        raise where.error("name", "is required")
    if isinstance(domains, str):
        domains = [domains]
    if not isinstance(domains, list):
        raise where.error("domains", "must be a list of domain names")
    doms = tuple(dict.fromkeys(_domain(where, "domains", d) for d in domains))
    am = _email(where, "am_email", am_email) if am_email not in (None, "") else None
    return Account(
        account_id=aid,
        name=nm,
        domains=doms,
        owner_am=_opt_str(where, "owner_am", owner_am),
        am_email=am,
        tier=(_opt_str(where, "tier", tier) or None),
        arr=_arr(where, arr),
        contacts=tuple(Contact(c.email, aid, c.name, c.title) for c in contacts),
    )


def parse_accounts_toml(text: str, origin: str) -> list[Account]:
    """Accounts from TOML text (``[[account]]`` tables with optional ``[[account.contacts]]``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"accounts file {origin} is not valid TOML: {e}") from e
    unknown = sorted(set(data) - {"account"})
    if unknown:
        raise ConfigError(f"accounts file {origin}: unknown top-level key(s) {', '.join(unknown)} (want [[account]])")
    entries = data.get("account", [])
    if not isinstance(entries, list):
        raise ConfigError(f"accounts file {origin}: 'account' must be an array of tables ([[account]])")
    out = []
    for i, entry in enumerate(entries, 1):
        label = f"account #{i}"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            label += f" ({entry['id']!r})"
        where = _Where(origin, label)
        if not isinstance(entry, dict):
            raise where.error("(entry)", "must be a table")
        extra = sorted(set(entry) - _TOML_ACCOUNT_KEYS)
        if extra:
            raise where.error(extra[0], f"unknown key (valid keys: {', '.join(sorted(_TOML_ACCOUNT_KEYS))})")
        if "id" not in entry:
            raise where.error("id", "is required")
        raw_contacts = entry.get("contacts", [])
        if not isinstance(raw_contacts, list):
            raise where.error("contacts", "must be an array of tables ([[account.contacts]])")
        contacts = []
        for j, c in enumerate(raw_contacts, 1):
            cw = _Where(origin, f"{label} contact #{j}")
            if isinstance(c, str):  # shorthand: contacts = ["a@x.example", ...]
                c = {"email": c}
            if not isinstance(c, dict):
                raise cw.error("(entry)", "must be a table with email, name, title")
            extra = sorted(set(c) - _TOML_CONTACT_KEYS)
            if extra:
                raise cw.error(extra[0], f"unknown key (valid keys: {', '.join(sorted(_TOML_CONTACT_KEYS))})")
            if "email" not in c:
                raise cw.error("email", "is required")
            contacts.append(
                Contact(
                    _email(cw, "email", c["email"]),
                    "",
                    _opt_str(cw, "name", c.get("name")),
                    _opt_str(cw, "title", c.get("title")),
                )
            )
        out.append(
            _account(
                where,
                entry["id"],
                entry.get("name"),
                entry.get("domains", []),
                entry.get("owner_am"),
                entry.get("am_email"),
                entry.get("tier"),
                entry.get("arr"),
                contacts,
            )
        )
    return _check_unique(out, origin)


def parse_accounts_csv(text: str, origin: str) -> list[Account]:
    """Accounts from CSV with header ``account_id,name,domains,owner_am,am_email,tier,arr``."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise ConfigError(f"accounts file {origin}: empty CSV (want header {','.join(_CSV_COLUMNS)})")
    missing = [c for c in _CSV_REQUIRED if c not in header]
    unknown = [c for c in header if c not in _CSV_COLUMNS]
    if missing or unknown:
        raise ConfigError(
            f"accounts file {origin}: bad CSV header "
            + (f"(missing {', '.join(missing)}) " if missing else "")
            + (f"(unknown column {', '.join(unknown)}) " if unknown else "")
            + f"- want {','.join(_CSV_COLUMNS)}"
        )
    reader.fieldnames = header
    out = []
    for row in reader:
        line = reader.line_num
        if None in row:
            raise ConfigError(f"accounts file {origin}: line {line}: more fields than the header has")
        if not any((v or "").strip() for v in row.values()):
            continue
        where = _Where(origin, f"line {line} ({(row.get('account_id') or '').strip()!r})")
        doms = [d for d in re.split(r"[;,\s]+", row.get("domains") or "") if d]
        out.append(
            _account(
                where,
                row.get("account_id") or "",
                row.get("name"),
                doms,
                row.get("owner_am"),
                (row.get("am_email") or "").strip() or None,
                row.get("tier"),
                row.get("arr"),
                [],
            )
        )
    return _check_unique(out, origin)


def _check_unique(accounts: list[Account], origin: str) -> list[Account]:
    ids: dict[str, int] = {}
    domains: dict[str, str] = {}
    emails: dict[str, str] = {}
    for a in accounts:
        if a.account_id in ids:
            raise ConfigError(f"accounts file {origin}: account id {a.account_id!r} appears twice")
        ids[a.account_id] = 1
        for d in a.domains:
            if d in domains:
                raise ConfigError(
                    f"accounts file {origin}: account {a.account_id!r}: field 'domains': "
                    f"{d!r} is already a domain of account {domains[d]!r}"
                )
            domains[d] = a.account_id
        for c in a.contacts:
            if c.email in emails:
                raise ConfigError(
                    f"accounts file {origin}: account {a.account_id!r}: field 'contacts': "
                    f"{c.email!r} is already a contact of account {emails[c.email]!r}"
                )
            emails[c.email] = a.account_id
    return accounts


def read_accounts_file(path: Path, *, our_domains: Iterable[str] = ()) -> list[Account]:
    """Read and validate an accounts file (``.toml`` or ``.csv``); raise ConfigError when broken."""
    origin = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".csv"):
        raise ConfigError(f"accounts file {origin}: unsupported format {suffix or '(none)'} (want .toml or .csv)")
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"accounts file not found: {origin} (org.accounts_file)") from None
    except IsADirectoryError:
        raise ConfigError(f"accounts file {origin} is a directory (org.accounts_file)") from None
    except OSError as e:
        raise ConfigError(f"cannot read accounts file {origin}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"accounts file {origin} is not UTF-8 text: {e}") from e
    accounts = parse_accounts_toml(text, origin) if suffix == ".toml" else parse_accounts_csv(text, origin)
    if not accounts:
        raise ConfigError(
            f"accounts file {origin} defines no accounts (every client would be unknown); "
            "add [[account]] entries, or remove org.accounts_file to run without accounts"
        )
    ours = {d.lower() for d in our_domains}
    for a in accounts:
        clash = [d for d in a.domains if any(s in ours for s in suffixes(d))]
        if clash:
            raise ConfigError(
                f"accounts file {origin}: account {a.account_id!r}: field 'domains': "
                f"{clash[0]!r} is one of our own domains (org.our_domains)"
            )
    return accounts
