"""Plain data passed between stages. The database is the bus; these are the in-memory shapes.

Stage reports are small dataclasses of counts so the flow can sum them into the ``runs`` row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

__all__ = [
    "LANGUAGE_NAMES",
    "UNDETERMINED",
    "DetectReport",
    "IngestReport",
    "ParseReport",
    "Party",
    "PublishReport",
    "ScoreReport",
    "Signal",
    "SourceType",
    "TextUnit",
    "TranscriptReport",
    "is_read",
    "language_name",
    "stable_id",
]

SourceType = Literal["email", "meeting"]
Party = Literal["client", "us", "unknown"]


#: the languages a unit can be identified as (ISO 639-1; triage.parse.language), with their English names
LANGUAGE_NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "nl": "Dutch",
    "pt": "Portuguese", "pl": "Polish", "sv": "Swedish", "da": "Danish", "nb": "Norwegian", "fi": "Finnish",
    "cs": "Czech", "ru": "Russian", "tr": "Turkish", "ja": "Japanese", "zh": "Chinese", "ko": "Korean",
}
#: the language of a unit too short to tell ("Thanks!", a name, a number): read as English
UNDETERMINED = "und"


def language_name(code: str) -> str:
    """``de`` -> ``German`` (the code itself when unknown)."""
    return LANGUAGE_NAMES.get(code, code)


def is_read(language: str | None, languages: Iterable[str]) -> bool:
    """Whether the detectors read a unit of ``language`` under ``[nlp] languages``: ``und`` (too short to
    tell) and NULL (not identified yet) count as English."""
    return (language if language and language != UNDETERMINED else "en") in set(languages)


def stable_id(*parts: object, length: int = 16) -> str:
    """A short deterministic id (hex sha256 prefix) of the parts, for idempotent keys."""
    h = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8"))
    return h.hexdigest()[:length]


@dataclass
class IngestReport:
    source: str
    fetched: int = 0  # new messages stored
    already_known: int = 0  # seen before (other folder, re-run, UIDVALIDITY resync)
    quarantined: int = 0
    folders: int = 0
    suppressed: int = 0  # not stored: on the suppression list (erased with `triage forget`)


@dataclass
class ParseReport:
    parsed: int = 0
    quarantined: int = 0
    threads: int = 0
    unknown_senders: int = 0


@dataclass
class TranscriptReport:
    parsed: int = 0
    skipped: int = 0  # unchanged content hash
    quarantined: int = 0
    utterances: int = 0


@dataclass(frozen=True)
class TextUnit:
    """One piece of text to run the detectors over: a message's new text or one utterance."""

    source_type: SourceType
    source_key: str  # message_key | transcript_key
    seq: int  # utterance seq (meetings); 0 for e-mail
    text: str
    party: Party  # who said it: the client, us, or unknown
    account_id: str | None = None
    thread_id: str | None = None
    speaker: str | None = None
    occurred_at: datetime | None = None
    start_s: float | None = None
    link: str | None = None
    #: the detector pipeline version that selected this unit (set by nlp.pending_batches; store_signals
    #: records it in ``detections`` so the next run skips what this version already scored)
    pipeline_version: str | None = None
    #: ISO 639-1 code or ``und`` (the parse stage's ``language`` column; None: not identified)
    language: str | None = None
    #: True when ``language`` is not in ``[nlp] languages``: the English detectors do not read it (no
    #: signals); it is still recorded as handled in ``detections`` (set by nlp.pending_batches)
    unread: bool = False


@dataclass(frozen=True)
class Signal:
    """One detector hit on one sentence; maps 1:1 to a row of the ``signals`` table."""

    signal_id: str
    kind: Literal["frustration", "buying_signal", "ask", "commitment"]
    subtype: str | None
    score: float
    intensity: float | None
    sentence: str
    sentence_idx: int
    source_type: SourceType
    source_key: str
    utterance_seq: int | None
    start_s: float | None
    thread_id: str | None
    account_id: str | None
    speaker: str | None
    party: Party
    occurred_at: datetime | None
    due_date: date | None
    rules: tuple[str, ...]
    detector: str
    detector_version: str
    link: str | None


@dataclass
class DetectReport:
    units: int = 0
    sentences: int = 0
    signals: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    unread: int = 0  # units in a language not in [nlp] languages: recorded as handled, not scored


@dataclass
class ScoreReport:
    asks_open: int = 0
    asks_resolved: int = 0
    accounts_scored: int = 0
    accounts_listed: int = 0


@dataclass
class PublishReport:
    html_path: str | None = None
    digests_sent: int = 0
    digest_recipients: list[str] = field(default_factory=list)
