"""spaCy components, registered under versioned names, and the pipeline that chains them.

    triage_lines -> sentencizer -> triage_rules -> triage_encoder
        -> frustration (frustration.v1) -> buying_signal (buying_signal.v1) -> ask (ask.v1)

spaCy factory names cannot contain dots, so the detectors are versioned the spaCy way: the factories
``triage_frustration`` / ``triage_buying_signal`` / ``triage_ask`` take a ``detector`` built by a function
registered in ``spacy.registry.misc`` under the versioned name (``frustration.v1``, ...), with explicit
keyword defaults; the pipeline's config is data (``{"detector": {"@misc": "frustration.v1", ...}}``).

Docs carry ``doc._.triage_party`` (client | us | unknown) and ``doc._.triage_anchor`` (the date due
dates are resolved against); the result is ``doc._.triage_sents``: one :class:`SentInfo` per sentence
with its rules and :class:`Hit` list. ``sentence_encoder.v1`` encodes every sentence of a batch of docs
in one call (deduplicated); the detectors score a whole batch at once. Client and unknown text is
scored for frustration, buying signals and asks; our own text ("us") only for commitments (ask.v1).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from itertools import islice
from typing import Any, TypeVar

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import registry

from triage.nlp.dates import resolve_due_date
from triage.nlp.decision import FLOORS, apply_floors
from triage.nlp.encoder import encoder_hash, load_encoder
from triage.nlp.heads import Head, load_head
from triage.nlp.patterns import PATTERNS_VERSION
from triage.nlp.rules import RuleSet, SentenceRules, is_scorable, rule_features
from triage.nlp.spec import CODE_VERSION

__all__ = ["Hit", "SentInfo", "content_hash", "ensure_extensions"]

_SENT_END = frozenset(".!?;:")
_BULLET = frozenset("-*•–>")
_D = TypeVar("_D", bound="Detector")
_BUYING_ORDER = ("budget", "renewal", "upgrade", "seats", "expansion", "addon", "pricing")


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
    vector: np.ndarray | None = None
    scores: dict[str, float] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)


def content_hash(head_hash: str, kind: str) -> str:
    """10 hex chars over the head file hash, the rule tables, the floors and the code version."""
    blob = json.dumps([head_hash, PATTERNS_VERSION, [asdict(f) for f in FLOORS[kind]], CODE_VERSION])
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:10]


def _chunks(items: Iterable[Doc], size: int) -> Iterator[list[Doc]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def ensure_extensions() -> None:
    for name, default in (("triage_party", "client"), ("triage_anchor", None), ("triage_sents", None)):
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=default)


def _sents(doc: Doc) -> list[SentInfo]:
    sents: list[SentInfo] | None = doc._.triage_sents
    return sents if sents is not None else []


# --- sentence boundaries ---------------------------------------------------------------------------


class LineBreaks:
    """Sentence starts at line breaks, except inside hard-wrapped paragraphs (long lines).

    A blank line always ends a sentence; a single newline does when the line before ends with
    punctuation, is shorter than ``wrapped_line_chars`` (greetings, list items, sign-offs), or the next
    line starts with a bullet. Whitespace tokens never start a sentence.
    """

    def __init__(self, wrapped_line_chars: int) -> None:
        self.wrapped_line_chars = wrapped_line_chars

    def __call__(self, doc: Doc) -> Doc:
        line_start = 0
        prev_punct = False
        for tok in doc:
            if tok.is_space:
                if tok.i > 0:
                    tok.is_sent_start = False
                nl = tok.text.count("\n")
                if tok.i + 1 < len(doc):
                    nxt = doc[tok.i + 1]
                    if nl:
                        line_len = tok.idx - doc[line_start].idx
                        split = (nl >= 2 or prev_punct or line_len < self.wrapped_line_chars
                                 or nxt.text[:1] in _BULLET)
                        nxt.is_sent_start = split
                    elif prev_punct:
                        nxt.is_sent_start = True
                if nl:
                    line_start = min(tok.i + 1, len(doc) - 1)
                continue
            prev_punct = tok.text[-1:] in _SENT_END
        return doc


@Language.factory("triage_lines", default_config={"wrapped_line_chars": 60})
def make_lines(nlp: Language, name: str, wrapped_line_chars: int = 60) -> LineBreaks:
    return LineBreaks(wrapped_line_chars)


# --- rules -------------------------------------------------------------------------------------------


class RulesComponent:
    def __init__(self, nlp: Language, max_sentence_chars: int) -> None:
        ensure_extensions()
        self.ruleset = RuleSet(nlp.vocab, nlp.make_doc)
        self.max_sentence_chars = max_sentence_chars

    def __call__(self, doc: Doc) -> Doc:
        infos = []
        for i, (sent, rules) in enumerate(zip(doc.sents, self.ruleset.apply(doc), strict=True)):
            text = sent.text.strip()
            ok = is_scorable(text, max_chars=self.max_sentence_chars)
            if len(text) > self.max_sentence_chars:
                text = text[: self.max_sentence_chars].rstrip() + "…"
            infos.append(SentInfo(i, text, rules, ok))
        doc._.triage_sents = infos
        return doc


@Language.factory("triage_rules", default_config={"max_sentence_chars": 1000})
def make_rules(nlp: Language, name: str, max_sentence_chars: int = 1000) -> RulesComponent:
    return RulesComponent(nlp, max_sentence_chars)


# --- the shared encoder call ------------------------------------------------------------------------


def _needs_vector(doc: Doc, s: SentInfo) -> bool:
    if not s.scorable:
        return False
    return doc._.triage_party != "us" or s.rules.has("commit:")


class SentenceEncoder:
    def __init__(self, backend: str, models_dir: str, cache_dir: str | None, batch_size: int,
                 threads: int, docs_per_call: int) -> None:
        from pathlib import Path

        ensure_extensions()
        self.encoder = load_encoder(
            backend,  # type: ignore[arg-type]
            Path(models_dir),
            cache_dir=Path(cache_dir) if cache_dir else None,
            batch_size=batch_size,
            threads=threads,
        )
        self.docs_per_call = docs_per_call

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 0) -> Iterator[Doc]:
        for batch in _chunks(docs, max(batch_size, self.docs_per_call)):
            wanted = [s for d in batch for s in _sents(d) if _needs_vector(d, s)]
            unique = list(dict.fromkeys(s.text for s in wanted))
            vectors = self.encoder.encode(unique)
            row = {t: i for i, t in enumerate(unique)}
            for s in wanted:
                s.vector = vectors[row[s.text]]
            yield from batch


@Language.factory(
    "triage_encoder",
    default_config={"backend": "onnx", "models_dir": "models", "cache_dir": None, "batch_size": 64,
                    "threads": 0, "docs_per_call": 512},
)
def make_encoder(nlp: Language, name: str, backend: str = "onnx", models_dir: str = "models",
                 cache_dir: str | None = None, batch_size: int = 64, threads: int = 0,
                 docs_per_call: int = 512) -> SentenceEncoder:
    return SentenceEncoder(backend, models_dir, cache_dir, batch_size, threads, docs_per_call)


# --- detectors ---------------------------------------------------------------------------------------


class Detector:
    """Base: scores the eligible sentences of a batch of docs with one head call.

    ``decide`` receives the floored score (:mod:`triage.nlp.decision`) and the raw head probability.
    """

    kind = ""
    head_kind = ""

    def __init__(self, name: str, models_dir: str, threshold: float | None, profile: str) -> None:
        from pathlib import Path

        ensure_extensions()
        self.detector_name = name  # (spaCy sets ``.name`` to the pipe name)
        self.head: Head = load_head(Path(models_dir), self.head_kind, encoder_hash=encoder_hash())
        self.threshold = float(threshold) if threshold is not None else self.head.threshold(profile)
        #: name + hash of what decides the content of a signal: the head, the rule tables, the floors
        self.version = f"{name}+{content_hash(self.head.file_hash, self.head_kind)}"

    def eligible(self, doc: Doc, s: SentInfo) -> bool:
        return doc._.triage_party != "us" and s.vector is not None

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 512) -> Iterator[Doc]:
        for batch in _chunks(docs, max(batch_size, 512)):
            pairs = [(d, s) for d in batch for s in _sents(d) if self.eligible(d, s)]
            if pairs:
                vecs = np.stack([s.vector for _, s in pairs])  # type: ignore[misc]
                texts = [s.text for _, s in pairs]
                feats = rule_features(self.head_kind, [s.rules for _, s in pairs])
                raw = self.head.predict(vecs, texts, feats)
                scores = apply_floors(self.head_kind, raw, feats)
                subtypes = self.head.subtype(vecs)
                for (d, s), p, score, sub in zip(pairs, raw, scores, subtypes, strict=True):
                    s.scores[self.kind] = float(score)
                    self.decide(d, s, float(score), float(p), sub)
            yield from batch

    def hit(self, s: SentInfo, kind: str, subtype: str | None, score: float, intensity: float | None = None,
            due: date | None = None) -> None:
        s.hits.append(Hit(kind, subtype, round(min(max(score, 0.0), 1.0), 6), intensity, due,
                          tuple(sorted(s.rules.rules)), self.detector_name, self.version))

    def decide(self, doc: Doc, s: SentInfo, score: float, p: float, subtype: str | None) -> None:
        raise NotImplementedError


class FrustrationDetector(Detector):
    """Frustration with intensity; subtypes churn_threat / escalation (rules) else the head's emotion."""

    kind = head_kind = "frustration"

    def decide(self, doc: Doc, s: SentInfo, score: float, p: float, subtype: str | None) -> None:
        if score < self.threshold:
            return
        r = s.rules
        intensity = score
        if r.has("frustration:unresolved") or r.has("repeat:"):
            intensity += 0.15
        if r.has("frustration:shouting"):
            intensity += 0.1
        if r.has("frustration:escalation"):
            subtype, intensity = "escalation", max(intensity, 0.9)
        if r.has("frustration:churn"):
            subtype, intensity = "churn_threat", max(intensity, 0.95)
        self.hit(s, self.kind, subtype, score, round(min(intensity, 1.0), 6))


@registry.misc("frustration.v1")  # type: ignore[untyped-decorator]
def frustration_v1(models_dir: str = "models", threshold: float | None = None,
                   profile: str = "balanced") -> FrustrationDetector:
    return FrustrationDetector("frustration.v1", models_dir, threshold, profile)


@Language.factory("triage_frustration", default_config={"detector": {"@misc": "frustration.v1"}})
def make_frustration(nlp: Language, name: str, detector: Any) -> FrustrationDetector:
    return _checked(detector, FrustrationDetector)


class BuyingDetector(Detector):
    """Buying signals; subtype from the rule that fired, else the nearest seed category."""

    kind = head_kind = "buying_signal"

    def decide(self, doc: Doc, s: SentInfo, score: float, p: float, subtype: str | None) -> None:
        if score >= self.threshold:
            fired = next((c for c in _BUYING_ORDER if s.rules.has(f"buying:{c}")), None)
            self.hit(s, self.kind, fired or subtype, score)


@registry.misc("buying_signal.v1")  # type: ignore[untyped-decorator]
def buying_signal_v1(models_dir: str = "models", threshold: float | None = None,
                     profile: str = "balanced") -> BuyingDetector:
    return BuyingDetector("buying_signal.v1", models_dir, threshold, profile)


@Language.factory("triage_buying_signal", default_config={"detector": {"@misc": "buying_signal.v1"}})
def make_buying(nlp: Language, name: str, detector: Any) -> BuyingDetector:
    return _checked(detector, BuyingDetector)


class AskDetector(Detector):
    """Client asks (question/request, due date) and, on our own text, commitments.

    A commitment needs a commitment phrase (rules) and scores ``1 - (1 - p_ask) * (1 - commit_rule_weight)``.
    """

    kind = head_kind = "ask"

    def __init__(self, name: str, models_dir: str, threshold: float | None, profile: str,
                 commit_rule_weight: float, commit_threshold: float) -> None:
        super().__init__(name, models_dir, threshold, profile)
        self.commit_rule_weight = commit_rule_weight
        self.commit_threshold = commit_threshold

    def eligible(self, doc: Doc, s: SentInfo) -> bool:
        return s.vector is not None

    def decide(self, doc: Doc, s: SentInfo, score: float, p: float, subtype: str | None) -> None:
        r = s.rules
        due = resolve_due_date(r.due_phrase, doc._.triage_anchor) if r.due_phrase else None
        if doc._.triage_party == "us":
            s.scores.pop(self.kind, None)
            if r.has("commit:"):
                commit = 1.0 - (1.0 - p) * (1.0 - self.commit_rule_weight)
                s.scores["commitment"] = commit
                if commit >= self.commit_threshold:
                    self.hit(s, "commitment", "commitment", commit, due=due)
            return
        if score >= self.threshold:
            question = r.has("ask:qmark") or (r.has("ask:question_start") and not r.has("ask:imperative"))
            self.hit(s, self.kind, "question" if question else "request", score, due=due)


@registry.misc("ask.v1")  # type: ignore[untyped-decorator]
def ask_v1(models_dir: str = "models", threshold: float | None = None, profile: str = "balanced",
           commit_rule_weight: float = 0.6, commit_threshold: float = 0.6) -> AskDetector:
    return AskDetector("ask.v1", models_dir, threshold, profile, commit_rule_weight, commit_threshold)


@Language.factory("triage_ask", default_config={"detector": {"@misc": "ask.v1"}})
def make_ask(nlp: Language, name: str, detector: Any) -> AskDetector:
    return _checked(detector, AskDetector)


def _checked(detector: object, cls: type[_D]) -> _D:
    if not isinstance(detector, cls):
        raise TypeError(f"expected a {cls.__name__} from the registry, got {type(detector).__name__}")
    return detector
