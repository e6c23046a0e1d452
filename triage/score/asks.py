"""Ask resolution: which client asks and which of our commitments are still open, and for how long.

Pure logic over rows already read from DuckDB (see :mod:`triage.score.store` for the I/O).

The heuristic (and its limits):

* A **client ask** (signal kind ``ask``, party ``client``) is resolved by the earliest of

  - the first *outbound* message (from us to the client; ``messages.direction = 'outbound'``, i.e.
    found in a Sent folder or sent from one of ``org.our_domains`` to the client) in the **same
    thread** after the ask; when the ask has **no thread** (a meeting, or a mail the parser could not
    thread), the first outbound message **to the same account** after it;
  - the first **later meeting** with that account in which an internal speaker talks (an AM or one
    of ``org.internal_people``). The meeting the ask was made in does not count: answers given on
    the spot are not visible to us, so a meeting ask stays open until the next contact.

* **Our commitment** (kind ``commitment``, party ``us``: "I'll send it tomorrow") is resolved by the
  first outbound message in the same thread after it (no thread: to the same account), other than
  the message that made the commitment.

* Mail between colleagues only (``internal``) never resolves anything, and nothing before the ask
  does. Limits: any later reply counts as the answer, even a holding reply or one about something
  else in the same thread; a reply in a *different* thread does not resolve a threaded ask; asks
  and commitments by other parties (party ``unknown``, a client's own promise) are not tracked.

Ages are business days (Mon-Fri, no holidays) from the day the ask was made to the day it was
resolved, or to ``as_of`` while open. An open ask is **overdue** when its due date ("by Friday",
resolved by the detector) is before ``as_of``, or, without a due date, when it is older than
``scoring.ask_overdue_business_days``. Asks whose signal was dismissed get status ``dismissed``.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from triage.score.calendar import business_days_between, day_end

__all__ = ["Ask", "AskSignal", "Meeting", "Reply", "ReplyIndex", "resolve_asks"]

AskKind = Literal["client_ask", "our_commitment"]
AskStatus = Literal["open", "resolved", "dismissed"]
ResolvedVia = Literal["thread_reply", "account_reply", "meeting", "by_hand"]


@dataclass(frozen=True)
class AskSignal:
    """A signal of kind ``ask`` or ``commitment`` (a row of ``signals``)."""

    signal_id: str
    kind: str  # ask | commitment
    subtype: str | None
    party: str  # client | us | unknown
    account_id: str | None
    thread_id: str | None
    source_type: str  # email | meeting
    source_key: str
    sentence: str
    speaker: str | None
    occurred_at: datetime  # aware UTC
    due_date: date | None
    link: str | None
    score: float = 1.0  # detector confidence 0..1


@dataclass(frozen=True)
class Reply:
    """An outbound message from us (a row of ``messages`` with direction ``outbound``)."""

    message_key: str
    thread_id: str | None
    account_id: str | None
    sent_at: datetime  # aware UTC


@dataclass(frozen=True)
class Meeting:
    """A meeting with an account in which at least one internal speaker talked."""

    transcript_key: str
    account_id: str
    meeting_at: datetime  # aware UTC


@dataclass(frozen=True)
class Ask:
    """One row of the ``asks`` table."""

    ask_id: str
    kind: AskKind
    subtype: str | None
    account_id: str | None
    thread_id: str | None
    source_type: str
    source_key: str
    text: str
    asked_by: str | None
    opened_at: datetime
    due_date: date | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolved_via: ResolvedVia | None
    status: AskStatus
    age_business_days: int
    overdue: bool
    link: str | None
    score: float = 1.0  # the detector's confidence that this is an ask / a promise

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class _Timeline:
    """(time, key) events sorted by time, for 'first event after t' look-ups."""

    def __init__(self) -> None:
        self._times: list[datetime] = []
        self._keys: list[str] = []

    def add(self, at: datetime, key: str) -> None:
        i = bisect.bisect_right(self._times, at)
        self._times.insert(i, at)
        self._keys.insert(i, key)

    def first_after(self, at: datetime, *, exclude: str, before: datetime) -> tuple[datetime, str] | None:
        i = bisect.bisect_right(self._times, at)
        while i < len(self._times) and self._times[i] < before:
            if self._keys[i] != exclude:
                return self._times[i], self._keys[i]
            i += 1
        return None


class ReplyIndex:
    """Outbound messages by thread and by account, and meetings with internal speakers by account."""

    def __init__(self, replies: Iterable[Reply], meetings: Iterable[Meeting]) -> None:
        self._by_thread: dict[str, _Timeline] = defaultdict(_Timeline)
        self._by_account: dict[str, _Timeline] = defaultdict(_Timeline)
        self._meetings: dict[str, _Timeline] = defaultdict(_Timeline)
        for r in sorted(replies, key=lambda r: (r.sent_at, r.message_key)):
            if r.thread_id:
                self._by_thread[r.thread_id].add(r.sent_at, r.message_key)
            if r.account_id:
                self._by_account[r.account_id].add(r.sent_at, r.message_key)
        for m in sorted(meetings, key=lambda m: (m.meeting_at, m.transcript_key)):
            self._meetings[m.account_id].add(m.meeting_at, m.transcript_key)

    def thread_reply(
        self, thread_id: str, after: datetime, *, exclude: str, before: datetime
    ) -> tuple[datetime, str] | None:
        tl = self._by_thread.get(thread_id)
        return tl.first_after(after, exclude=exclude, before=before) if tl else None

    def account_reply(
        self, account_id: str, after: datetime, *, exclude: str, before: datetime
    ) -> tuple[datetime, str] | None:
        tl = self._by_account.get(account_id)
        return tl.first_after(after, exclude=exclude, before=before) if tl else None

    def meeting(
        self, account_id: str, after: datetime, *, exclude: str, before: datetime
    ) -> tuple[datetime, str] | None:
        tl = self._meetings.get(account_id)
        return tl.first_after(after, exclude=exclude, before=before) if tl else None


def _ask_kind(sig: AskSignal) -> AskKind | None:
    if sig.kind == "ask" and sig.party == "client":
        return "client_ask"
    if sig.kind == "commitment" and sig.party == "us":
        return "our_commitment"
    return None


def _resolution(
    sig: AskSignal, kind: AskKind, index: ReplyIndex, before: datetime
) -> tuple[datetime, str, ResolvedVia] | None:
    found: list[tuple[datetime, str, ResolvedVia]] = []
    at, key = sig.occurred_at, sig.source_key
    if sig.thread_id:
        hit = index.thread_reply(sig.thread_id, at, exclude=key, before=before)
        if hit:
            found.append((*hit, "thread_reply"))
    elif sig.account_id:
        hit = index.account_reply(sig.account_id, at, exclude=key, before=before)
        if hit:
            found.append((*hit, "account_reply"))
    if kind == "client_ask" and sig.account_id:
        hit = index.meeting(sig.account_id, at, exclude=key, before=before)
        if hit:
            found.append((*hit, "meeting"))
    return min(found) if found else None


def resolve_asks(
    signals: Iterable[AskSignal],
    index: ReplyIndex,
    as_of: date,
    *,
    overdue_after_business_days: int,
    dismissed: frozenset[str] | set[str] = frozenset(),
    answered: Mapping[str, tuple[datetime, str | None]] | None = None,
) -> list[Ask]:
    """Asks and commitments as of the end of ``as_of``, sorted by (opened_at, ask_id).

    Signals that are neither a client ask nor our commitment are skipped; so are signals made after
    ``as_of``, and answers after ``as_of`` are not seen (re-building an old day gives that day's view).
    """
    before = day_end(as_of)
    out: list[Ask] = []
    for sig in signals:
        kind = _ask_kind(sig)
        if kind is None or sig.occurred_at >= before:
            continue
        res = _resolution(sig, kind, index, before)
        by_hand = (answered or {}).get(sig.signal_id)
        if by_hand is not None and (res is None or by_hand[0] < res[0]):
            # closed by an AM ("answered on the phone"): like a dismissal, it holds for every list built
            # after the click, also one rebuilt for an earlier day (the list an AM acts on is the latest)
            res = (by_hand[0], by_hand[1] or "", "by_hand")
        opened_day = sig.occurred_at.date()
        if sig.signal_id in dismissed:
            status: AskStatus = "dismissed"
        elif res is not None:
            status = "resolved"
        else:
            status = "open"
        end_day = res[0].date() if res is not None else as_of
        age = business_days_between(opened_day, min(end_day, as_of))
        if status != "open":
            overdue = False
        elif sig.due_date is not None:
            overdue = sig.due_date < as_of
        else:
            overdue = age > overdue_after_business_days
        out.append(
            Ask(
                ask_id=sig.signal_id,
                kind=kind,
                subtype=sig.subtype,
                account_id=sig.account_id,
                thread_id=sig.thread_id,
                source_type=sig.source_type,
                source_key=sig.source_key,
                text=sig.sentence,
                asked_by=sig.speaker,
                opened_at=sig.occurred_at,
                due_date=sig.due_date,
                resolved_at=res[0] if res else None,
                resolved_by=res[1] if res else None,
                resolved_via=res[2] if res else None,
                status=status,
                age_business_days=age,
                overdue=overdue,
                link=sig.link,
                score=sig.score,
            )
        )
    out.sort(key=lambda a: (a.opened_at, a.ask_id))
    return out
