"""The detectors: spaCy components that turn the heads' scores into a unit's decision
(``doc._.triage_unit``: score and label per detector, the same numbers ``triage score-text`` prints) and
into hits on the evidence sentence.

spaCy factory names cannot contain dots, so the detectors are versioned the spaCy way: the factories
``triage_frustration`` / ``triage_complaint`` / ``triage_buying_signal`` / ``triage_ask`` take a
``detector`` built by a function registered in ``spacy.registry.misc`` under the versioned name
(``frustration.v2``, ...), with explicit keyword defaults; the pipeline's config is data. Client and
unknown text is scored for frustration, complaints, buying signals and asks; our own text ("us") only
for commitments.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import registry

from triage.nlp.dates import resolve_due_date
from triage.nlp.decision import apply_floors
from triage.nlp.encoder import encoder_identity
from triage.nlp.heads import load_heads
from triage.nlp.rules import rule_features
from triage.nlp.units import (
    Hit,
    SentInfo,
    UnitDecision,
    content_hash,
    ensure_extensions,
    passages_of,
    sents_of,
    unit_of,
)

__all__ = ["AskDetector", "BuyingDetector", "ComplaintDetector", "Detector", "FrustrationDetector"]

_D = TypeVar("_D", bound="Detector")
_BUYING_ORDER = ("budget", "renewal", "upgrade", "seats", "expansion", "addon", "pricing")
_COMPLAINT_ORDER = ("billing", "missing", "wrong", "late", "broken", "performance", "service")


class Detector:
    """Base: turns the scores of a doc into the unit decision and hits (floors and caps from the rules)."""

    kind = ""

    def __init__(self, name: str, models_dir: str, threshold: float | None, profile: str) -> None:
        ensure_extensions()
        self.detector_name = name  # (spaCy sets ``.name`` to the pipe name)
        heads = load_heads(Path(models_dir), encoder_identity=encoder_identity(Path(models_dir)))
        self.heads = heads
        self.threshold = float(threshold) if threshold is not None else heads.threshold(self.kind, profile)
        #: name + hash of what decides the content of a signal: the heads, the rule tables, the floors
        self.version = f"{name}+{content_hash(heads.file_hash, self.kind)}"

    def eligible(self, doc: Doc, s: SentInfo) -> bool:
        return doc._.triage_party != "us" and s.encoded

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 512) -> Iterator[Doc]:
        for doc in docs:
            pairs = [s for s in sents_of(doc) if self.eligible(doc, s) and self.kind in s.scores]
            if pairs:
                raw = np.array([s.scores[self.kind] for s in pairs])
                floored = apply_floors(self.kind, raw, rule_features(self.kind, [s.rules for s in pairs]))
                for s, v in zip(pairs, floored, strict=True):
                    s.scores[self.kind] = float(v)
            self.decide(doc, pairs)
            yield doc

    def hit(self, s: SentInfo, kind: str, subtype: str | None, score: float, intensity: float | None = None,
            due: date | None = None) -> None:
        s.hits.append(Hit(kind, subtype, round(min(max(score, 0.0), 1.0), 6), intensity, due,
                          tuple(sorted(s.rules.rules)), self.detector_name, self.version))

    def decide(self, doc: Doc, sents: list[SentInfo]) -> None:
        raise NotImplementedError


class PassageDetector(Detector):
    """Decides on the best passage; rule floors on single sentences (churn threats...) count too.

    The evidence is the sentence carrying the decision: the floored sentence when a rule decided,
    else the passage's sentence with the highest sentence score for this detector.
    """

    def decide(self, doc: Doc, sents: list[SentInfo]) -> None:
        unit = unit_of(doc)
        by_idx = {s.idx: s for s in sents}
        best_score, best_sent = 0.0, None
        for p in passages_of(doc):
            score = p.scores.get(self.kind, 0.0)
            members = [by_idx[i] for i in p.sents if i in by_idx]
            if members and score > best_score:
                best_score = score
                best_sent = max(members, key=lambda s: s.scores.get(self.kind, 0.0))
        for s in sents:  # a sentence raised by a rule floor beats its passage
            if s.scores.get(self.kind, 0.0) > best_score:
                best_score, best_sent = s.scores[self.kind], s
        unit[self.kind] = UnitDecision(best_score, best_sent is not None and best_score >= self.threshold)
        if unit[self.kind].label and best_sent is not None:
            self.fire(doc, best_sent, best_score)

    def fire(self, doc: Doc, s: SentInfo, score: float) -> None:
        raise NotImplementedError


class FrustrationDetector(PassageDetector):
    """Frustration with intensity; subtypes churn_threat / escalation (rules) else the head's emotion."""

    kind = "frustration"

    def fire(self, doc: Doc, s: SentInfo, score: float) -> None:
        r = s.rules
        intensity = score
        subtype = s.subtypes.get(self.kind)
        if r.has("frustration:unresolved") or r.has("repeat:"):
            intensity += 0.15
        if r.has("frustration:shouting"):
            intensity += 0.1
        if r.has("frustration:escalation"):
            subtype, intensity = "escalation", max(intensity, 0.9)
        if r.has("frustration:churn"):
            subtype, intensity = "churn_threat", max(intensity, 0.95)
        self.hit(s, self.kind, subtype, score, round(min(intensity, 1.0), 6))


@registry.misc("frustration.v2")  # type: ignore[untyped-decorator]
def frustration_v2(models_dir: str = "models", threshold: float | None = None,
                   profile: str = "balanced") -> FrustrationDetector:
    return FrustrationDetector("frustration.v2", models_dir, threshold, profile)


@Language.factory("triage_frustration", default_config={"detector": {"@misc": "frustration.v2"}})
def make_frustration(nlp: Language, name: str, detector: Any) -> FrustrationDetector:
    return _checked(detector, FrustrationDetector)


class ComplaintDetector(PassageDetector):
    """The client reports a problem; subtype from the rules (billing, missing, wrong, late, broken,
    performance, service) of the evidence, else the nearest seed category."""

    kind = "complaint"

    def fire(self, doc: Doc, s: SentInfo, score: float) -> None:
        fired = next((c for c in _COMPLAINT_ORDER if s.rules.has(f"complaint:{c}")), None)
        if fired is None:
            fired = s.subtypes.get(self.kind)
        self.hit(s, self.kind, fired, score)


@registry.misc("complaint.v1")  # type: ignore[untyped-decorator]
def complaint_v1(models_dir: str = "models", threshold: float | None = None,
                 profile: str = "balanced") -> ComplaintDetector:
    return ComplaintDetector("complaint.v1", models_dir, threshold, profile)


@Language.factory("triage_complaint", default_config={"detector": {"@misc": "complaint.v1"}})
def make_complaint(nlp: Language, name: str, detector: Any) -> ComplaintDetector:
    return _checked(detector, ComplaintDetector)


class BuyingDetector(Detector):
    """Buying signals, per sentence; subtype from the rule that fired, else the nearest seed category."""

    kind = "buying_signal"

    def decide(self, doc: Doc, sents: list[SentInfo]) -> None:
        best = max((s.scores[self.kind] for s in sents), default=0.0)
        fired = False
        for s in sents:
            score = s.scores[self.kind]
            if score >= self.threshold:
                rule = next((c for c in _BUYING_ORDER if s.rules.has(f"buying:{c}")), None)
                if rule is None:
                    rule = s.subtypes.get(self.kind)
                self.hit(s, self.kind, rule, score)
                fired = True
        unit_of(doc)[self.kind] = UnitDecision(best, fired)


@registry.misc("buying_signal.v2")  # type: ignore[untyped-decorator]
def buying_signal_v2(models_dir: str = "models", threshold: float | None = None,
                     profile: str = "balanced") -> BuyingDetector:
    return BuyingDetector("buying_signal.v2", models_dir, threshold, profile)


@Language.factory("triage_buying_signal", default_config={"detector": {"@misc": "buying_signal.v2"}})
def make_buying(nlp: Language, name: str, detector: Any) -> BuyingDetector:
    return _checked(detector, BuyingDetector)


#: weight of a commitment phrase in a commitment's score (``1 - (1 - p) * (1 - w)``): the phrase is the
#: strong evidence (our promises are formulaic), the commitment head raises or keeps the score
COMMIT_RULE_WEIGHT = 0.4


class AskDetector(Detector):
    """Client asks (question/request, due date) and, on our own text, commitments.

    A commitment needs a commitment phrase (rules); its score is ``1 - (1 - p) * (1 - COMMIT_RULE_WEIGHT)``
    with ``p`` the commitment head's probability, compared with the commitment threshold.
    """

    kind = "ask"

    def __init__(self, name: str, models_dir: str, threshold: float | None, profile: str,
                 commit_threshold: float | None) -> None:
        super().__init__(name, models_dir, threshold, profile)
        self.commit_threshold = (float(commit_threshold) if commit_threshold is not None
                                 else self.heads.threshold("commitment", profile))

    def eligible(self, doc: Doc, s: SentInfo) -> bool:
        return s.encoded

    def pipe(self, docs: Iterable[Doc], batch_size: int = 512) -> Iterator[Doc]:
        for doc in docs:
            us = doc._.triage_party == "us"
            kind = "commitment" if us else self.kind
            sents = [s for s in sents_of(doc) if s.encoded and (not us or s.rules.has("commit:"))]
            if sents:
                raw = np.array([s.scores[kind] for s in sents])
                if us:
                    raw = 1.0 - (1.0 - raw) * (1.0 - COMMIT_RULE_WEIGHT)
                floored = apply_floors(kind, raw, rule_features(kind, [s.rules for s in sents]))
                for s, v in zip(sents, floored, strict=True):
                    s.scores[kind] = float(v)
            for s in sents_of(doc):  # our text: only commitments; client text: no commitments
                s.scores.pop("ask" if us else "commitment", None)
            self.decide(doc, sents)
            yield doc

    def decide(self, doc: Doc, sents: list[SentInfo]) -> None:
        us = doc._.triage_party == "us"
        kind = "commitment" if us else self.kind
        threshold = self.commit_threshold if us else self.threshold
        fired = False
        for s in sents:
            score = s.scores[kind]
            if score < threshold:
                continue
            r = s.rules
            due = resolve_due_date(r.due_phrase, doc._.triage_anchor) if r.due_phrase else None
            if us:
                self.hit(s, "commitment", "commitment", score, due=due)
            else:
                question = r.has("ask:qmark") or (r.has("ask:question_start") and not r.has("ask:imperative"))
                self.hit(s, self.kind, "question" if question else "request", score, due=due)
            fired = True
        unit_of(doc)[kind] = UnitDecision(max((s.scores[kind] for s in sents), default=0.0), fired)


@registry.misc("ask.v2")  # type: ignore[untyped-decorator]
def ask_v2(models_dir: str = "models", threshold: float | None = None, profile: str = "balanced",
           commit_threshold: float | None = None) -> AskDetector:
    return AskDetector("ask.v2", models_dir, threshold, profile, commit_threshold)


@Language.factory("triage_ask", default_config={"detector": {"@misc": "ask.v2"}})
def make_ask(nlp: Language, name: str, detector: Any) -> AskDetector:
    return _checked(detector, AskDetector)


def _checked(detector: object, cls: type[_D]) -> _D:
    if not isinstance(detector, cls):
        raise TypeError(f"expected a {cls.__name__} from the registry, got {type(detector).__name__}")
    return detector
