"""The multi-task training set: which rows teach which detector, and the validation parts kept out.

Every public set keeps its fixed 20% test part out of training (:func:`triage.learn.data.in_test_part`);
a further 10% (:func:`in_validation_part`) is kept out of fine-tuning to choose sentence-level
thresholds on. Rows, per detector (labels only for the detectors a row says something about):

* frustration: GoEmotions train (every positive, twice as many negatives, seeded sample), our
  frustration seed (weight 3), and calm real business mail (enron-maildir sentences and passages,
  also complaint negatives);
* complaint: the complaints tweets, our complaint seed (weight 3), our frustration seed's first
  neutral problem reports and complaints as positives and its calm rows as negatives;
* buying_signal: our buying seed (weight 3), with Parakweet sentences and our complaint seed as
  negatives (billing disputes and outages mention seats, invoices and upgrades);
* ask: Parakweet;
* commitment: our commitment seed (weight 3) and Parakweet's first-person promises ("I'll ...",
  "We will ...") with Parakweet's label.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from triage.errors import ParseError
from triage.learn.data import (
    Labelled,
    _hash,
    enron_maildir_texts,
    load_complaints,
    load_goemotions,
    load_parakweet,
    load_seed,
)
from triage.learn.finetune import TrainRow
from triage.nlp.evidence import own_words
from triage.nlp.units import approx_tokens
from triage.parse.mime import parse_mail

__all__ = ["Corpus", "build_corpus", "enron_background", "in_validation_part"]

SEED_WEIGHT = 3.0
_PROMISE = re.compile(r"(?i)^\s*(?:i|we)\s*(?:'ll|will|shall|am going to|are going to)\b")
_COMPLAINT_IN_FRUSTRATION_SEED = {"complaint", "neutral_issue"}
_CALM_IN_FRUSTRATION_SEED = {"positive", "neutral_business", "polite_followup", "apology"}


def in_validation_part(key: str) -> bool:
    """The fixed 10% validation part (never the test part): thresholds are chosen here."""
    return _hash(key) % 10 == 1


@dataclass
class Corpus:
    rows: list[TrainRow]
    #: per detector: (texts, labels) kept out of fine-tuning, to choose thresholds on
    validation: dict[str, tuple[list[str], list[bool]]]
    #: rows per source, for the model card
    sizes: dict[str, int]


def enron_background(data_dir: Path, segment: object, *, max_tokens: int = 96) -> tuple[list[str], list[str]]:
    """(sentences, passages) of the new text of every enron-maildir message (deduplicated, stable order)."""

    sentences: dict[str, None] = {}
    passages: dict[str, None] = {}
    for _, raw in enron_maildir_texts(data_dir):
        try:
            text = own_words(parse_mail(raw).new_text).text
        except ParseError:
            continue
        doc = segment(text)  # type: ignore[operator]
        sents = [s.text for s in doc._.triage_sents or [] if s.scorable and s.evidence]
        for s in sents:
            sentences[s] = None
        current: list[str] = []
        width = 0
        for s in sents:
            n = approx_tokens(s)
            if current and width + n > max_tokens:
                passages[" ".join(current)] = None
                current, width = [], 0
            current.append(s)
            width += n
        if len(current) > 1:
            passages[" ".join(current)] = None
    return list(sentences), [p for p in passages if p not in sentences]


def _split(data: Labelled, keys: Sequence[str] | None = None) -> tuple[list[int], list[int]]:
    """(train rows, validation rows) of a dataset's non-test part."""
    keys = keys or data.texts
    train = [i for i, k in enumerate(keys) if not in_validation_part(k)]
    val = [i for i, k in enumerate(keys) if in_validation_part(k)]
    return train, val


def build_corpus(data_dir: Path, segment: object, *, seed: int = 0, limit: int | None = None) -> Corpus:
    """The training rows and validation parts (see the module docstring); ``limit`` caps each source
    (a quick smoke run of ``triage train``, never for a shipped model)."""
    rng = random.Random(seed)
    rows: list[TrainRow] = []
    sizes: dict[str, int] = {}

    def add(name: str, items: Iterable[TrainRow]) -> None:
        got = list(items)
        if limit is not None and len(got) > limit:
            got = rng.sample(got, limit)
        rows.extend(got)
        sizes[name] = len(got)

    ge = load_goemotions(data_dir, "train")
    pos = [i for i, y in enumerate(ge.labels) if y]
    neg = [i for i, y in enumerate(ge.labels) if not y]
    rng.shuffle(neg)
    add("goemotions-train", (TrainRow(ge.texts[i], {"frustration": float(ge.labels[i])})
                             for i in sorted(pos + neg[: 2 * len(pos)])))

    fr = load_seed("frustration_seed", "train")
    add("frustration-seed", (TrainRow(t, _frustration_seed_labels(y, g), SEED_WEIGHT)
                             for t, y, g in zip(fr.texts, fr.labels, fr.groups, strict=True)))

    sentences, passages = enron_background(data_dir, segment)
    rng.shuffle(sentences)
    rng.shuffle(passages)
    calm = {"frustration": 0.0, "complaint": 0.0}
    add("enron-maildir-sentences", (TrainRow(t, calm) for t in sentences[:5000]))
    add("enron-maildir-passages", (TrainRow(t, calm) for t in passages[:1500]))

    validation: dict[str, tuple[list[str], list[bool]]] = {}
    comp = load_complaints(data_dir, "train")
    tr, val = _split(comp)
    add("complaints-train", (TrainRow(comp.texts[i], {"complaint": float(comp.labels[i])}) for i in tr))
    validation["complaint"] = ([comp.texts[i] for i in val], [comp.labels[i] for i in val])
    cs = load_seed("complaint_seed", "train")
    add("complaint-seed", (TrainRow(t, {"complaint": float(y), "buying_signal": 0.0}, SEED_WEIGHT)
                           for t, y in zip(cs.texts, cs.labels, strict=True)))

    buy = load_seed("buying_signals", "train")
    tr, val = _split(buy)
    add("buying-seed", (TrainRow(buy.texts[i], {"buying_signal": float(buy.labels[i])}, SEED_WEIGHT) for i in tr))
    validation["buying_signal"] = ([buy.texts[i] for i in val], [buy.labels[i] for i in val])

    pk = load_parakweet(data_dir, "train")
    tr, val = _split(pk)
    add("parakweet-train", (TrainRow(pk.texts[i], _parakweet_labels(pk.texts[i], pk.labels[i])) for i in tr))
    validation["ask"] = ([pk.texts[i] for i in val], [pk.labels[i] for i in val])

    cm = load_seed("commitment_seed", "train")
    add("commitment-seed", (TrainRow(t, {"commitment": float(y)}, SEED_WEIGHT)
                            for t, y in zip(cm.texts, cm.labels, strict=True)))
    return Corpus(rows, validation, sizes)


def _frustration_seed_labels(label: bool, group: str) -> dict[str, float]:
    out = {"frustration": float(label)}
    if group in _COMPLAINT_IN_FRUSTRATION_SEED:
        out["complaint"] = 1.0
    elif group in _CALM_IN_FRUSTRATION_SEED:
        out["complaint"] = 0.0
    return out


def _parakweet_labels(text: str, label: bool) -> dict[str, float]:
    out = {"ask": float(label), "buying_signal": 0.0}
    if _PROMISE.match(text):
        out["commitment"] = float(label)
    return out
