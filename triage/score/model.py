"""What account scoring works with (the types of the score floor): account facts, evidence (signals),
reasons and the scored account."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from triage.score.asks import Ask

if TYPE_CHECKING:
    from triage.score.engagement import Engagement

__all__ = ["AccountInfo", "AccountScore", "Evidence", "Reason", "Unread"]


@dataclass(frozen=True)
class AccountInfo:
    account_id: str
    name: str
    owner_am: str | None = None
    am_email: str | None = None
    tier: str | None = None
    arr: float | None = None


@dataclass(frozen=True)
class Evidence:
    """A frustration or buying-signal signal (a row of ``signals``)."""

    signal_id: str
    account_id: str | None
    kind: str  # frustration | complaint | buying_signal
    subtype: str | None
    score: float
    intensity: float | None
    sentence: str
    speaker: str | None
    party: str
    occurred_at: datetime  # aware UTC
    created_at: datetime
    source_type: str
    source_key: str
    thread_id: str | None
    link: str | None

    @property
    def strength(self) -> float:
        if self.kind == "frustration" and self.intensity is not None:
            return float(self.intensity)
        return float(self.score)


@dataclass(frozen=True)
class Unread:
    """A client message, or a meeting where the client mostly spoke, in a language the detectors do not
    read (``[nlp] languages``): nothing was scored in it."""

    source_type: str  # email | meeting
    source_key: str
    account_id: str
    language: str  # ISO 639-1 (meetings: the client's most frequent unread language)
    occurred_at: datetime  # aware UTC
    link: str | None
    subject: str | None  # the message's subject, the meeting's title
    speaker: str | None


@dataclass(frozen=True)
class Reason:
    kind: str
    text: str
    weight: float
    evidence: str | None = None
    link: str | None = None
    occurred_at: datetime | None = None
    signal_id: str | None = None
    source_type: str | None = None
    speaker: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "evidence": self.evidence,
            "link": self.link,
            "weight": round(self.weight, 3),
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at else None,
            "signal_id": self.signal_id,
            "source_type": self.source_type,
            "speaker": self.speaker,
        }


@dataclass
class AccountScore:
    account: AccountInfo
    score: float
    components: dict[str, Any]
    reasons: list[Reason]
    #: every open ask/commitment of the account (counted or not), overdue and oldest first
    open_asks: list[Ask]
    last_evidence_at: datetime | None
    #: the strongest frustration / complaint / buying evidence, for the brief
    top_frustration: Evidence | None = None
    top_buying: Evidence | None = None
    buying_subtypes: list[str] = field(default_factory=list)
    top_complaint: Evidence | None = None
    complaint_subtypes: list[str] = field(default_factory=list)
    skipped_reason: str | None = None
    #: what the account's message metadata says (going quiet, slow answers); None when not measured
    engagement: Engagement | None = None
    #: languages of the client's mail and meetings not analysed in the window (most first)
    unread_languages: list[str] = field(default_factory=list)
