"""JWZ-style threading over message headers (https://www.jwz.org/doc/threading.html). Pure.

1. Every Message-ID (and every id named in References / In-Reply-To) gets a container in an id
   table; ids compare case-insensitively. A message without a Message-ID gets its own container.
2. Authoritative links first: each message's parent is the last id of its References, with the
   In-Reply-To id appended when References does not already end with it. Then the References chains
   fill in parents only where a container has none yet (missing messages stay as empty containers).
   A link that would make a cycle is never made. Both passes run in a fixed order, so the result
   does not depend on the order messages arrived in.
3. The thread of a message is the root of its tree. ``thread_id`` is a stable hash of the root
   container's id (the root's Message-ID), so it stays the same between runs for the same root, and
   a thread whose root is missing keeps its id when the root arrives later.
4. Optional subject merge (for clients that drop the headers): a root whose first subject has a
   reply/forward prefix joins the earliest earlier root with the same normalised subject in the
   same account (or, without an account, with a shared participant) within ``merge_window_days``.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from triage.types import stable_id

__all__ = ["Thread", "ThreadMessage", "build_threads", "normalise_subject", "thread_id_for"]

_PREFIX = re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)*(?:(?:re|fw|fwd|aw|wg|sv|vs|antw|rif|tr|r|enc|odp|doorst)"
    r"(?:\[\d+\]|\(\d+\))?\s*[:：]\s*(?:\[[^\]]{0,40}\]\s*)*)+",
    re.I,
)
_LIST_TAG = re.compile(r"^\s*(?:\[[^\]]{0,40}\]\s*)+")


def normalise_subject(subject: str | None) -> tuple[str, bool]:
    """(subject without Re:/Fwd:/[list] prefixes, lower case; whether it had a reply/forward prefix)."""
    if not subject:
        return "", False
    s = subject.strip()
    m = _PREFIX.match(s)
    had = bool(m and re.search(r"[:：]", m.group(0)))
    s = _PREFIX.sub("", s) if m else _LIST_TAG.sub("", s)
    return re.sub(r"\s+", " ", s).strip().casefold(), had


def thread_id_for(root_key: str) -> str:
    """The stable id of a thread whose root container has ``root_key`` (an id-table key)."""
    return stable_id("thread", root_key)


@dataclass(frozen=True)
class ThreadMessage:
    key: str  # message_key
    message_id: str | None = None  # "<local@domain>"
    references: tuple[str, ...] = ()
    in_reply_to: str | None = None
    subject: str | None = None
    sent_at: datetime | None = None
    account_id: str | None = None
    participants: frozenset[str] = frozenset()


@dataclass
class Thread:
    thread_id: str
    message_keys: list[str]
    subject: str | None
    account_id: str | None
    first_at: datetime | None
    last_at: datetime | None

    @property
    def message_count(self) -> int:
        return len(self.message_keys)


@dataclass(eq=False)
class _Container:
    key: str
    message: ThreadMessage | None = None
    parent: _Container | None = None
    children: list[_Container] = field(default_factory=list)


def _idkey(msgid: str) -> str:
    return msgid.strip().lower()


def _reaches(start: _Container, target: _Container) -> bool:
    """True when ``target`` is ``start`` or one of its ancestors."""
    seen: set[int] = set()
    node: _Container | None = start
    while node is not None and id(node) not in seen:
        if node is target:
            return True
        seen.add(id(node))
        node = node.parent
    return False


def _link(parent: _Container, child: _Container) -> bool:
    if parent is child or _reaches(parent, child):
        return False  # would make a cycle
    if child.parent is not None:
        child.parent.children.remove(child)
    child.parent = parent
    parent.children.append(child)
    return True


_NO_DATE = datetime(1, 1, 1, tzinfo=UTC)


def _sort_key(m: ThreadMessage) -> tuple[datetime, str]:
    """Undated first, then by time; naive times are read as UTC (the stages store aware ones)."""
    t = m.sent_at or _NO_DATE
    return (t if t.tzinfo else t.replace(tzinfo=UTC), m.key)


def _chain(m: ThreadMessage) -> list[str]:
    refs = [_idkey(r) for r in m.references if r and r.strip()]
    if m.in_reply_to and m.in_reply_to.strip():
        irt = _idkey(m.in_reply_to)
        if not refs or refs[-1] != irt:
            if irt in refs:
                refs.remove(irt)
            refs.append(irt)
    own = _idkey(m.message_id) if m.message_id else None
    return [r for r in dict.fromkeys(refs) if r != own]


def build_threads(
    messages: Iterable[ThreadMessage],
    *,
    merge_subjects: bool = True,
    merge_window_days: float = 60.0,
) -> list[Thread]:
    """Group messages into threads. Deterministic for a given set of messages."""
    msgs = sorted(messages, key=_sort_key)
    table: dict[str, _Container] = {}

    def container(key: str) -> _Container:
        c = table.get(key)
        if c is None:
            c = table[key] = _Container(key)
        return c

    own: dict[str, _Container] = {}
    for m in msgs:
        key = _idkey(m.message_id) if m.message_id else f"key:{m.key}"
        c = container(key)
        if c.message is not None and c.message.key != m.key:  # duplicate Message-ID: keep both messages
            c = container(f"key:{m.key}")
        c.message = m
        own[m.key] = c
    chains = {m.key: _chain(m) for m in msgs}
    # pass 1: each message's own parent (authoritative)
    for m in msgs:
        chain = chains[m.key]
        if chain:
            _link(container(chain[-1]), own[m.key])
    # pass 2: reference chains fill in parents that are still unknown
    for m in msgs:
        chain = chains[m.key]
        for parent_key, child_key in itertools.pairwise(chain):
            child = container(child_key)
            if child.parent is None:
                _link(container(parent_key), child)

    def root_of(c: _Container) -> _Container:
        seen: set[int] = set()
        while c.parent is not None and id(c) not in seen:
            seen.add(id(c))
            c = c.parent
        return c

    groups: dict[str, list[ThreadMessage]] = {}
    root_keys: dict[str, str] = {}
    for m in msgs:
        r = root_of(own[m.key])
        groups.setdefault(r.key, []).append(m)
        root_keys[r.key] = r.key
    if merge_subjects:
        groups = _merge_by_subject(groups, timedelta(days=merge_window_days))
    threads = []
    for root_key, members in groups.items():
        members.sort(key=_sort_key)
        dated = [m.sent_at for m in members if m.sent_at is not None]
        accounts = Counter(m.account_id for m in members if m.account_id)
        account = None
        if accounts:
            top = max(accounts.values())
            account = next(m.account_id for m in members if m.account_id and accounts[m.account_id] == top)
        first_subject = next((m.subject for m in members if m.subject), None)
        threads.append(
            Thread(
                thread_id=thread_id_for(root_key),
                message_keys=[m.key for m in members],
                subject=first_subject,
                account_id=account,
                first_at=min(dated) if dated else None,
                last_at=max(dated) if dated else None,
            )
        )
    threads.sort(key=lambda t: t.thread_id)
    return threads


def _merge_by_subject(groups: dict[str, list[ThreadMessage]], window: timedelta) -> dict[str, list[ThreadMessage]]:
    @dataclass
    class _Root:
        key: str
        subject: str
        is_reply: bool
        account: str | None
        first: datetime | None
        last: datetime | None
        people: set[str]

    roots = []
    for key, members in groups.items():
        members.sort(key=_sort_key)
        first_msg = members[0]
        subj, is_reply = normalise_subject(first_msg.subject)
        dated = [m.sent_at for m in members if m.sent_at]
        acct = Counter(m.account_id for m in members if m.account_id).most_common(1)
        people: set[str] = set()
        for m in members:
            people |= m.participants
        roots.append(
            _Root(
                key,
                subj,
                is_reply,
                acct[0][0] if acct else None,
                min(dated) if dated else None,
                max(dated) if dated else None,
                people,
            )
        )
    by_subject: dict[tuple[str, str | None], list[_Root]] = {}
    for r in roots:
        if len(r.subject) >= 3:
            by_subject.setdefault((r.subject, r.account), []).append(r)
    merged_into: dict[str, str] = {}
    for (_, account), rs in by_subject.items():
        rs.sort(key=lambda r: (r.first or _NO_DATE, r.key))
        for i, r in enumerate(rs):
            if not r.is_reply or r.first is None:
                continue
            for earlier in rs[:i]:
                if earlier.key in merged_into or earlier.first is None or earlier.last is None:
                    continue
                if not (earlier.first <= r.first <= earlier.last + window):
                    continue
                if account is None and not (earlier.people & r.people):
                    continue
                merged_into[r.key] = earlier.key
                earlier.last = max(earlier.last, r.last or r.first)
                earlier.people |= r.people
                break
    out: dict[str, list[ThreadMessage]] = {}
    for key, members in groups.items():
        target = merged_into.get(key, key)
        out.setdefault(target, []).extend(members)
    return out
