"""Typed rows of the published call list (what readers get from :func:`triage.publish.load_call_list`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

__all__ = ["ALWAYS_SHOWN", "CallListEntry", "OpenAskView", "ReasonView", "RunInfo", "UnknownSender", "to_jsonable"]

#: reasons shown in the terminal and the digest even beyond ``output.top_reasons``
ALWAYS_SHOWN = frozenset({"unread_language"})


@dataclass(frozen=True)
class ReasonView:
    kind: str  # frustration | frustration_trend | frustration_repetition | complaint | overdue_asks | open_asks
    text: str  # | buying_signal | engagement_drop | slow_response | unread_language | recency | value
    weight: float  # points of the score (the weights of an entry add up to its score)
    evidence: str | None = None  # the quote
    link: str | None = None  # message or transcript moment
    occurred_at: datetime | None = None
    signal_id: str | None = None
    source_type: str | None = None
    speaker: str | None = None


@dataclass(frozen=True)
class OpenAskView:
    ask_id: str
    kind: str  # client_ask | our_commitment
    text: str
    asked_by: str | None
    opened_at: datetime
    due_date: date | None
    age_business_days: int
    overdue: bool
    link: str | None = None
    source_type: str | None = None
    score: float = 1.0  # detector confidence


@dataclass(frozen=True)
class CallListEntry:
    as_of: date
    rank: int
    account_id: str
    account_name: str | None
    owner_am: str | None
    am_email: str | None
    tier: str | None
    arr: float | None
    score: float
    reasons: tuple[ReasonView, ...]
    open_asks: tuple[OpenAskView, ...]
    brief: str
    last_evidence_at: datetime | None = None
    run_id: str | None = None

    @property
    def name(self) -> str:
        return self.account_name or self.account_id

    @property
    def overdue_count(self) -> int:
        return sum(1 for a in self.open_asks if a.overdue)

    def top_reasons(self, n: int = 3) -> list[ReasonView]:
        """The ``n`` strongest evidence reasons (the tier/value reason only when there is nothing else),
        and mail not analysed (``unread_language``) whatever its weight: the AM must know it was not read."""
        evidence = [r for r in self.reasons if r.kind != "value"]
        top = (evidence or list(self.reasons))[:n]
        return top + [r for r in evidence[n:] if r.kind in ALWAYS_SHOWN]

    def brief_lines(self) -> list[str]:
        return [line for line in self.brief.splitlines() if line.strip()]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = to_jsonable(asdict(self))
        out["account_name"] = self.name
        out["open_ask_count"] = len(self.open_asks)
        out["overdue_ask_count"] = self.overdue_count
        return out


@dataclass(frozen=True)
class UnknownSender:
    """Someone with signals who belongs to no known account (listed so nothing is dropped silently)."""

    sender: str
    signals: int
    frustration: int
    asks: int
    buying_signals: int
    last_at: datetime | None
    example: str | None
    link: str | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = to_jsonable(asdict(self))
        return out


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    fetched: int
    parsed: int
    transcripts: int
    quarantined: int
    signals: int
    accounts_listed: int
    quarantine_total: int = 0


def to_jsonable(value: Any) -> Any:
    """Dates and datetimes as ISO strings, tuples as lists, recursively."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value
