"""What the detectors work on and decide: a unit's sentences (:class:`SentInfo`), passages, hits and the
unit's decision per detector, kept on the spaCy doc (``doc._.triage_*``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date

from spacy.tokens import Doc

from triage.nlp.decision import FLOORS
from triage.nlp.patterns import PATTERNS_VERSION
from triage.nlp.rules import SentenceRules
from triage.nlp.spec import CODE_VERSION

__all__ = [
    "Hit",
    "Passage",
    "SentInfo",
    "UnitDecision",
    "approx_tokens",
    "content_hash",
    "ensure_extensions",
    "passages_of",
    "sents_of",
    "unit_of",
]


@dataclass
class Hit:
    kind: str
    subtype: str | None
    score: float
    intensity: float | None
    due_date: date | None
    rules: tuple[str, ...]
    detector: str
    detector_version: str


@dataclass
class SentInfo:
    idx: int
    text: str
    rules: SentenceRules
    scorable: bool
    #: False for boilerplate (legal notices, auto-reply lines) and fillers ("Yeah.", "Okay, thanks."):
    #: never evidence, never encoded
    evidence: bool = True
    #: scored by the model (fresh or from the score cache)
    encoded: bool = False
    ids: list[int] | None = None
    scores: dict[str, float] = field(default_factory=dict)
    #: the model's subtype per detector that has subtypes (frustration emotion, complaint/buying category)
    subtypes: dict[str, str | None] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)


@dataclass
class Passage:
    """Consecutive evidence sentences (indices into the doc's sentences) and their passage scores."""

    sents: list[int]
    scores: dict[str, float] = field(default_factory=dict)
    encoded: bool = False


@dataclass
class UnitDecision:
    """A detector's decision for the whole unit: the score it decided on and whether it fired."""

    score: float = 0.0
    label: bool = False


def content_hash(head_hash: str, kind: str) -> str:
    """10 hex chars over the heads' file hash, the rule tables, the floors and the code version."""
    blob = json.dumps([head_hash, kind, PATTERNS_VERSION, [asdict(f) for f in FLOORS[kind]], CODE_VERSION])
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:10]


def approx_tokens(text: str) -> int:
    """About the word pieces of an English sentence (passages are grouped without tokenising)."""
    return len(text.split()) * 4 // 3 + 1


def ensure_extensions() -> None:
    for name, default in (("triage_party", "client"), ("triage_anchor", None), ("triage_sents", None),
                          ("triage_passages", None), ("triage_unit", None)):
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=default)


def sents_of(doc: Doc) -> list[SentInfo]:
    sents: list[SentInfo] | None = doc._.triage_sents
    return sents if sents is not None else []


def passages_of(doc: Doc) -> list[Passage]:
    ps: list[Passage] | None = doc._.triage_passages
    return ps if ps is not None else []


def unit_of(doc: Doc) -> dict[str, UnitDecision]:
    if doc._.triage_unit is None:
        doc._.triage_unit = {}
    unit: dict[str, UnitDecision] = doc._.triage_unit
    return unit
