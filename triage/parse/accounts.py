"""Accounts: resolve addresses and people to accounts (:class:`AccountBook`).

The accounts file is read by :mod:`triage.parse.accounts_file`. :class:`AccountBook` is the
in-memory lookup the parse stages use (built from the ``accounts``/``contacts`` tables).

Resolution rules:

* an address is *ours* when its domain is one of ``org.our_domains`` (or a subdomain of one), or it
  is the ``am_email`` of an account;
* an address belongs to an account by exact contact address first, then by domain, where a
  subdomain of an account domain matches (``mail.eu.acme.example`` -> ``acme.example``);
* a person (transcript speaker) is internal when the name is in ``org.internal_people``, is an
  account's owner AM, or is a contact with one of our domains; a client when it is a contact of an
  account.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Account",
    "AccountBook",
    "Contact",
    "domain_of",
    "normalise_name",
    "suffixes",
]


@dataclass(frozen=True)
class Contact:
    email: str
    account_id: str
    name: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    domains: tuple[str, ...]
    owner_am: str | None = None
    am_email: str | None = None
    tier: str | None = None
    arr: float | None = None
    contacts: tuple[Contact, ...] = field(default_factory=tuple)


def domain_of(address: str | None) -> str | None:
    """The lower-case domain of an e-mail address, or None when it has none."""
    if not address or "@" not in address:
        return None
    dom = address.rsplit("@", 1)[1].strip().strip(".").lower()
    return dom or None


def normalise_name(name: str | None) -> str:
    """A person's name for matching: lower case, single spaces, no trailing ``(Company)`` or quotes."""
    if not name:
        return ""
    n = re.sub(r"\s*[\(\[][^)\]]*[\)\]]\s*$", "", name.strip())
    n = n.strip(" \"'").casefold()
    return re.sub(r"\s+", " ", n)


def suffixes(domain: str) -> Iterable[str]:
    """``a.b.acme.example`` -> ``a.b.acme.example``, ``b.acme.example``, ``acme.example``."""
    parts = domain.split(".")
    for i in range(len(parts) - 1):
        yield ".".join(parts[i:])


# ---------------------------------------------------------------------------------------------
# lookups


class AccountBook:
    """Who is who: accounts by contact address and domain, our domains, internal people."""

    def __init__(
        self,
        accounts: Iterable[Account] = (),
        *,
        our_domains: Iterable[str] = (),
        internal_people: Iterable[str] = (),
    ) -> None:
        self.accounts: dict[str, Account] = {a.account_id: a for a in accounts}
        self.our_domains = frozenset(d.strip().lower().lstrip("@") for d in our_domains if d.strip())
        self._by_domain: dict[str, str] = {}
        self._by_email: dict[str, str] = {}
        self._our_emails: set[str] = set()
        self._internal_names: set[str] = {normalise_name(n) for n in internal_people if normalise_name(n)}
        self._client_names: dict[str, str] = {}
        self._ours_memo: dict[str, bool] = {}
        self._account_memo: dict[str, str | None] = {}
        for a in self.accounts.values():
            for d in a.domains:
                self._by_domain.setdefault(d, a.account_id)
            if a.am_email:
                self._our_emails.add(a.am_email)
            if a.owner_am and normalise_name(a.owner_am):
                self._internal_names.add(normalise_name(a.owner_am))
        for a in self.accounts.values():
            for c in a.contacts:
                if self._is_our_domain(domain_of(c.email)):
                    self._our_emails.add(c.email)
                    if normalise_name(c.name):
                        self._internal_names.add(normalise_name(c.name))
                    continue
                self._by_email[c.email] = a.account_id
                n = normalise_name(c.name)
                if n and n not in self._internal_names:
                    self._client_names.setdefault(n, a.account_id)

    @classmethod
    def from_rows(
        cls,
        accounts: Iterable[Mapping[str, Any]],
        contacts: Iterable[Mapping[str, Any]],
        *,
        our_domains: Iterable[str] = (),
        internal_people: Iterable[str] = (),
    ) -> AccountBook:
        """Build from ``accounts``/``contacts`` table rows (dicts of column -> value)."""
        by_acct: dict[str, list[Contact]] = {}
        for c in contacts:
            by_acct.setdefault(c["account_id"], []).append(
                Contact(c["email"], c["account_id"], c.get("name"), c.get("title"))
            )
        accts = [
            Account(
                account_id=a["account_id"],
                name=a["name"],
                domains=tuple(a.get("domains") or ()),
                owner_am=a.get("owner_am"),
                am_email=a.get("am_email"),
                tier=a.get("tier"),
                arr=a.get("arr"),
                contacts=tuple(by_acct.get(a["account_id"], ())),
            )
            for a in accounts
        ]
        return cls(accts, our_domains=our_domains, internal_people=internal_people)

    def _is_our_domain(self, domain: str | None) -> bool:
        return bool(domain) and any(s in self.our_domains for s in suffixes(domain or ""))

    def is_ours(self, address: str | None) -> bool:
        """True for our own addresses (our domains and subdomains, or an AM's address)."""
        if not address:
            return False
        hit = self._ours_memo.get(address)
        if hit is None:
            a = address.strip().lower()
            hit = self._ours_memo[address] = a in self._our_emails or self._is_our_domain(domain_of(a))
        return hit

    def account_for(self, address: str | None) -> str | None:
        """The account of an address: exact contact first, then domain or parent domain; else None."""
        if not address:
            return None
        if address in self._account_memo:
            return self._account_memo[address]
        a = address.strip().lower()
        hit = self._by_email.get(a)
        dom = domain_of(a)
        if not hit and dom:
            hit = next((self._by_domain[s] for s in suffixes(dom) if s in self._by_domain), None)
        self._account_memo[address] = hit
        return hit

    def person(self, name: str | None) -> tuple[str, str | None]:
        """(role, account_id) of a person named in a transcript: internal, client or unknown."""
        if name and "@" in name:
            addr = name.strip().strip("<>").lower()
            if self.is_ours(addr):
                return "internal", None
            acct = self.account_for(addr)
            return ("client", acct) if acct else ("unknown", None)
        n = normalise_name(name)
        if not n:
            return "unknown", None
        if n in self._internal_names:
            return "internal", None
        acct = self._client_names.get(n)
        return ("client", acct) if acct else ("unknown", None)
