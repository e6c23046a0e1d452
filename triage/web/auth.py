"""Who is asking: signed, expiring sign-in links, the session cookie they set, an SSO proxy's header, and
the CSRF token of every form (docs/web.md, "Sign-in and need to know").

* A **link** (``triage link --am NAME``, one per AM in each digest and alert mail) carries the AM, a
  random link id and an expiry, signed with HMAC-SHA1 over the server secret (itsdangerous). A forged or
  expired link, or one whose link id was signed out, gets a page that says so.
* Following it sets a **session cookie** (signed the same way, HttpOnly, SameSite=Lax, Secure behind
  https) that expires with the link; signing out revokes the link id (:mod:`triage.app.queue`).
* Behind a company SSO proxy, a **trusted header** (``[serve] proxy_header``) names the user, and is
  believed only from ``[serve] trusted_proxies``.
* A user is an AM of the accounts file (matched by e-mail, else by name) or a manager
  (``[serve] managers``), who sees every account; anyone else is refused.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from triage.app.links import Claims, LinkError, Signer

__all__ = ["Claims", "LinkError", "Signer", "User", "is_trusted_proxy", "resolve_user", "safe_next"]


@dataclass(frozen=True)
class User:
    key: str  # lower-cased e-mail, or the AM's name when the accounts file gives no e-mail
    name: str
    manager: bool
    accounts: frozenset[str]  # the AM's accounts (a manager sees every account, listed here too)

    def can_see(self, account_id: str | None) -> bool:
        return account_id is not None and (self.manager or account_id in self.accounts)


def resolve_user(key: str, ams: list[tuple[str | None, str | None, str]], managers: list[str]) -> User | None:
    """The user ``key`` (an e-mail or a name) is: ``ams`` are (owner_am, am_email, account_id) rows."""
    k = key.strip().lower()
    wanted = {m.strip().lower() for m in managers}
    mine = [(name, email, acc) for name, email, acc in ams if k in ((email or "").lower(), (name or "").lower())]
    manager = k in wanted or any(k2 in wanted for name, email, _ in mine for k2 in ((name or "").lower(),))
    if not mine and not manager:
        return None
    name = next((n for n, _, _ in mine if n), None) or key
    accounts = {acc for _, _, acc in (ams if manager else mine)}
    return User(k, name, manager, frozenset(accounts))


def is_trusted_proxy(host: str | None, trusted: list[str]) -> bool:
    """Whether ``host`` is one of the configured proxy addresses or networks."""
    if not host or not trusted:
        return False
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    for t in trusted:
        try:
            if addr in ipaddress.ip_network(t, strict=False):
                return True
        except ValueError:
            continue
    return False


def safe_next(path: str | None) -> str:
    """A path on this site to go to after signing in (never another site: no scheme, no //host)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or "\n" in path:
        return "/"
    return path
