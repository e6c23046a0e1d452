"""spaCy components, registered under versioned names, and the pipeline that chains them.

    triage_lines -> sentencizer -> triage_rules -> triage_encoder
        -> frustration (frustration.v2) -> complaint (complaint.v1) -> buying_signal (buying_signal.v2)
        -> ask (ask.v2)

spaCy factory names cannot contain dots, so the detectors are versioned the spaCy way: the factories
``triage_frustration`` / ``triage_complaint`` / ``triage_buying_signal`` / ``triage_ask`` take a
``detector`` built by a function registered in ``spacy.registry.misc`` under the versioned name
(``frustration.v2``, ...), with explicit keyword defaults; the pipeline's config is data.

A doc is one unit the user sees flagged or not: a message's own words or one utterance. Docs carry
``doc._.triage_party`` (client | us | unknown) and ``doc._.triage_anchor`` (the date due dates are
resolved against). ``triage_encoder`` encodes the sentences that can be evidence and scores them with
every head; passage detectors (frustration, complaint) are then scored on passages (consecutive
sentences, up to :data:`~triage.nlp.heads.PASSAGE_TOKENS` tokens), encoded only where a sentence of
the passage scores at least the heads' ``passage_gate`` (the cheap first stage decides the clearly
calm rest). Each detector turns the scores into the unit's decision (``doc._.triage_unit``: score and
label per detector, the same numbers ``triage score-text`` prints) and into hits on the evidence
sentence. Client and unknown text is scored for frustration, complaints, buying signals and asks; our
own text ("us") only for commitments.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import registry

from triage.nlp.cache import Entry, get_cache, key_of
from triage.nlp.dates import resolve_due_date
from triage.nlp.decision import FLOORS, apply_floors
from triage.nlp.encoder import encoder_identity, load_encoder
from triage.nlp.heads import KINDS, PASSAGE_TOKENS, Heads, load_heads, model_version
from triage.nlp.patterns import PATTERNS_VERSION
from triage.nlp.rules import RuleSet, SentenceRules, is_filler, is_scorable, rule_features
from triage.nlp.spec import CODE_VERSION

__all__ = ["Hit", "Passage", "SentInfo", "UnitDecision", "approx_tokens", "content_hash", "ensure_extensions"]

_SENT_END = frozenset(".!?;:")
_BULLET = frozenset("-*•–>")
_D = TypeVar("_D", bound="Detector")
_BUYING_ORDER = ("budget", "renewal", "upgrade", "seats", "expansion", "addon", "pricing")
_COMPLAINT_ORDER = ("billing", "missing", "wrong", "late", "broken", "performance", "service")
_PASSAGE_KINDS = ("frustration", "complaint")
_K = {k: i for i, k in enumerate(KINDS)}


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


def _chunks(items: Iterable[Doc], size: int) -> Iterator[list[Doc]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def ensure_extensions() -> None:
    for name, default in (("triage_party", "client"), ("triage_anchor", None), ("triage_sents", None),
                          ("triage_passages", None), ("triage_unit", None)):
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=default)


def _sents(doc: Doc) -> list[SentInfo]:
    sents: list[SentInfo] | None = doc._.triage_sents
    return sents if sents is not None else []


def _passages(doc: Doc) -> list[Passage]:
    ps: list[Passage] | None = doc._.triage_passages
    return ps if ps is not None else []


def _unit(doc: Doc) -> dict[str, UnitDecision]:
    if doc._.triage_unit is None:
        doc._.triage_unit = {}
    unit: dict[str, UnitDecision] = doc._.triage_unit
    return unit


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
            evidence = ok and not rules.has("boilerplate:") and not is_filler(text)
            infos.append(SentInfo(i, text, rules, ok, evidence=evidence))
        doc._.triage_sents = infos
        return doc


@Language.factory("triage_rules", default_config={"max_sentence_chars": 1000})
def make_rules(nlp: Language, name: str, max_sentence_chars: int = 1000) -> RulesComponent:
    return RulesComponent(nlp, max_sentence_chars)


# --- the model: encoder + heads ----------------------------------------------------------------------


def _needs_vector(doc: Doc, s: SentInfo) -> bool:
    if not (s.scorable and s.evidence):
        return False
    return doc._.triage_party != "us" or s.rules.has("commit:")


class SentenceEncoder:
    """Scores a batch of docs' evidence sentences with every head (each distinct text once, from the
    score cache when it has it: :mod:`triage.nlp.cache`), then builds and scores the passages of
    passage-level detectors (see the module docstring)."""

    def __init__(self, backend: str, models_dir: str, cache_dir: str | None, batch_size: int,
                 threads: int, docs_per_call: int) -> None:
        ensure_extensions()
        self.encoder = load_encoder(
            backend,  # type: ignore[arg-type]
            Path(models_dir),
            cache_dir=Path(cache_dir) if cache_dir else None,
            batch_size=batch_size,
            threads=threads,
        )
        self.heads: Heads = load_heads(Path(models_dir), encoder_identity=self.encoder.encoder_hash)
        self.model = model_version(self.encoder.encoder_hash, self.heads.file_hash)
        self.docs_per_call = docs_per_call
        self.cls_id, self.sep_id = 101, 102
        probe = self.encoder.tokenize(["a"])
        if probe and len(probe[0]) >= 2:
            self.cls_id, self.sep_id = probe[0][0], probe[0][-1]
        self._sub_kinds = [k for k in KINDS if k in self.heads.subtype_labels]

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 0) -> Iterator[Doc]:
        """Score chunks of docs in a background thread while the components before this one (spaCy's
        tokenizer, the rules) prepare the next chunk: the encoder's ONNX calls release the GIL, so the
        rules run on the core the encoder leaves free. Results do not depend on the chunking."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1, thread_name_prefix="triage-score") as pool:
            pending: tuple[list[Doc], Any] | None = None
            for batch in _chunks(docs, self.docs_per_call):
                future = pool.submit(self._score_docs, batch)
                if pending is not None:
                    pending[1].result()
                    yield from pending[0]
                pending = (batch, future)
            if pending is not None:
                pending[1].result()
                yield from pending[0]

    def _score_docs(self, batch: list[Doc]) -> None:
        wanted = [s for d in batch for s in _sents(d) if _needs_vector(d, s)]
        entries = self._score([s.text for s in wanted])
        for s, (scores, subtypes) in zip(wanted, entries, strict=True):
            s.encoded = True
            s.scores.update(zip(KINDS, scores, strict=True))
            s.subtypes = self._subtype_names(subtypes)
        self._passages(batch)

    def _score(self, texts: list[str], ids: dict[str, list[int]] | None = None) -> list[Entry]:
        """(scores, subtypes) per text: cached, or encoded now (each distinct text once) and cached."""
        cache = get_cache(self.model)
        unique = list(dict.fromkeys(texts))
        keys = [key_of(t) for t in unique]
        found = cache.get_many(keys)
        missing = [i for i, e in enumerate(found) if e is None]
        if missing:
            given = ids or {}
            todo = [unique[i] for i in missing]
            tokenised = [given.get(t) for t in todo]
            need = [t for t, x in zip(todo, tokenised, strict=True) if x is None]
            fresh = iter(self.encoder.tokenize(need))
            tok = [x if x is not None else next(fresh) for x in tokenised]
            vectors = self.encoder.encode_ids(tok)
            scores = self.heads.scores(vectors)
            subs = [self.heads.subtype_index(k, vectors) for k in self._sub_kinds]
            new: list[tuple[int, Entry]] = []
            for j, i in enumerate(missing):
                # float32 as stored in ``sentence_cache``: a fresh score equals the cached one exactly
                entry = (tuple(float(x) for x in scores[j].astype(np.float32)), tuple(int(sub[j]) for sub in subs))
                found[i] = entry
                new.append((keys[i], entry))
            cache.put_many(new)
        by_text = {t: e for t, e in zip(unique, found, strict=True)}
        return [by_text[t] for t in texts]  # type: ignore[misc]

    def _subtype_names(self, subtypes: tuple[int, ...]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for kind, idx in zip(self._sub_kinds, subtypes, strict=False):
            labels = self.heads.subtype_labels[kind]
            out[kind] = labels[idx] if 0 <= idx < len(labels) else None
        return out

    def _passages(self, docs: list[Doc]) -> None:
        """Group each client doc's evidence sentences into passages; score the gated multi-sentence ones."""
        gate = self.heads.passage_gate
        todo: list[tuple[Passage, str, list[SentInfo]]] = []
        for doc in docs:
            sents = _sents(doc)
            passages: list[Passage] = []
            if doc._.triage_party != "us":
                current: list[int] = []
                width = 0
                for s in sents:
                    if not s.encoded:
                        continue
                    n = approx_tokens(s.text)
                    if current and width + n > PASSAGE_TOKENS:
                        passages.append(Passage(current))
                        current, width = [], 0
                    current.append(s.idx)
                    width += n
                if current:
                    passages.append(Passage(current))
            for p in passages:
                members = [sents[i] for i in p.sents]
                p.scores = {k: max(m.scores[k] for m in members) for k in _PASSAGE_KINDS}
                if len(members) > 1 and max(p.scores.values()) >= gate:
                    todo.append((p, " ".join(m.text for m in members), members))
            doc._.triage_passages = passages
        if not todo:
            return
        texts = [t for _, t, _ in todo]
        cache = get_cache(self.model)
        need = {t for t in texts if not cache.has(key_of(t))}
        ids: dict[str, list[int]] = {}
        if need:
            member_texts = list(dict.fromkeys(m.text for _, t, ms in todo if t in need for m in ms))
            member_ids = dict(zip(member_texts, self.encoder.tokenize(member_texts), strict=True))
            for _, t, ms in todo:
                if t in need:
                    joined = [self.cls_id, *(x for m in ms for x in member_ids[m.text][1:-1])]
                    ids[t] = [*joined[: self.encoder.max_tokens - 1], self.sep_id]
        for (p, _, _), (scores, _) in zip(todo, self._score(texts, ids), strict=True):
            p.scores = {k: scores[_K[k]] for k in _PASSAGE_KINDS}
            p.encoded = True


def approx_tokens(text: str) -> int:
    """About the word pieces of an English sentence (passages are grouped without tokenising)."""
    return len(text.split()) * 4 // 3 + 1


@Language.factory(
    "triage_encoder",
    default_config={"backend": "onnx", "models_dir": "models", "cache_dir": None, "batch_size": 64,
                    "threads": 0, "docs_per_call": 128},
)
def make_encoder(nlp: Language, name: str, backend: str = "onnx", models_dir: str = "models",
                 cache_dir: str | None = None, batch_size: int = 64, threads: int = 0,
                 docs_per_call: int = 128) -> SentenceEncoder:
    return SentenceEncoder(backend, models_dir, cache_dir, batch_size, threads, docs_per_call)


# --- detectors ---------------------------------------------------------------------------------------


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
            pairs = [s for s in _sents(doc) if self.eligible(doc, s) and self.kind in s.scores]
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
        unit = _unit(doc)
        by_idx = {s.idx: s for s in sents}
        best_score, best_sent = 0.0, None
        for p in _passages(doc):
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
        _unit(doc)[self.kind] = UnitDecision(best, fired)


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
            sents = [s for s in _sents(doc) if s.encoded and (not us or s.rules.has("commit:"))]
            if sents:
                raw = np.array([s.scores[kind] for s in sents])
                if us:
                    raw = 1.0 - (1.0 - raw) * (1.0 - COMMIT_RULE_WEIGHT)
                floored = apply_floors(kind, raw, rule_features(kind, [s.rules for s in sents]))
                for s, v in zip(sents, floored, strict=True):
                    s.scores[kind] = float(v)
            for s in _sents(doc):  # our text: only commitments; client text: no commitments
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
        _unit(doc)[kind] = UnitDecision(max((s.scores[kind] for s in sents), default=0.0), fired)


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
