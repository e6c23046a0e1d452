"""The suppression list: what an erasure keeps out for good, as salted hashes (never the values).

Pure over bytes and strings once loaded. :func:`load_suppressions` reads the salt and the list in the
caller's transaction; ingest (:mod:`triage.ingest.store`), the transcript scan and the accounts loader
ask the returned :class:`Suppressions` before they store anything.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

import duckdb

__all__ = [
    "KINDS",
    "Suppressions",
    "addresses_in",
    "header_addresses",
    "load_suppressions",
    "read_salt",
    "salted_hash",
]

KINDS = ("address", "domain", "speaker", "message", "transcript", "account")
_ADDRESS = re.compile(rb"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_HEADERS = ("from", "to", "cc", "bcc", "reply-to", "sender")


def salted_hash(salt: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` (normalised: stripped, lower case) under the database's salt."""
    return hmac.new(salt.encode(), value.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()


def read_salt(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT salt FROM privacy_salt LIMIT 1").fetchone()
    if row is None:  # pragma: no cover - the migration inserts it
        raise RuntimeError("privacy_salt is empty")
    return str(row[0])


def addresses_in(raw: bytes) -> set[str]:
    """Every e-mail address written anywhere in a raw message (headers, body, quotes), lower case."""
    return {m.decode("ascii", "replace").lower().strip(".") for m in _ADDRESS.findall(raw)}


def header_addresses(raw: bytes) -> set[str]:
    """Addresses of From, To, Cc, Bcc, Reply-To and Sender, lower case."""
    msg = BytesHeaderParser(policy=compat32).parsebytes(raw, headersonly=True)
    values = [str(v) for h in _HEADERS for v in (msg.get_all(h) or [])]
    return {a.strip().lower() for _, a in getaddresses(values) if "@" in a}


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1]


@dataclass
class Suppressions:
    salt: str
    hashes: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})

    def __bool__(self) -> bool:
        return any(self.hashes.values())

    def has(self, kind: str, value: str | None) -> bool:
        return bool(value) and salted_hash(self.salt, value or "") in self.hashes[kind]

    def any_of(self, kind: str, values: Iterable[str]) -> bool:
        wanted = self.hashes[kind]
        return bool(wanted) and any(salted_hash(self.salt, v) in wanted for v in values)

    def message(self, message_key: str, raw: bytes) -> bool:
        """True when a fetched message must not be stored: erased before, or from, to or about an
        erased person, or from or to an erased account's domain."""
        if not self:
            return False
        if self.has("message", message_key):
            return True
        if self.hashes["address"] and self.any_of("address", addresses_in(raw) | header_addresses(raw)):
            return True
        return bool(self.hashes["domain"]) and self.any_of("domain", {_domain(a) for a in header_addresses(raw)})


def load_suppressions(con: duckdb.DuckDBPyConnection) -> Suppressions:
    out = Suppressions(read_salt(con))
    for kind, value_hash in con.execute("SELECT kind, value_hash FROM suppressions").fetchall():
        out.hashes.setdefault(str(kind), set()).add(str(value_hash))
    return out
