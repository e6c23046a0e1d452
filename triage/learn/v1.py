"""The v1 detectors (frozen all-MiniLM-L6-v2 + stacked heads), kept as the baseline ``triage eval`` runs.

v1 scored every sentence of a text with a head per detector stacked over three views (an LR on the
standardised base-encoder embedding, an LR on tf-idf word 1-2 grams, rule features and, for
frustration, the four VADER scores), raised or capped the score by its rule floors, and flagged a text
when any sentence crossed the head's threshold. Its heads are frozen in ``models/v1/`` (trained
2026-11-23); :class:`V1Scorer` reproduces that decision on the base int8 encoder, without the v2
evidence filter, so ``triage eval`` can put v1 next to v2 on the same texts.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from triage.errors import DetectorError, ModelNotFoundError
from triage.nlp.decision import Floor, apply_floor_table
from triage.nlp.encoder import load_encoder
from triage.nlp.runtime import get_segmenter

__all__ = ["V1_FLOORS", "V1_KINDS", "Head", "Lexicon", "LinearModel", "V1Scorer", "load_head", "vader_features"]

HEAD_FORMAT = 1
V1_KINDS = ("frustration", "buying_signal", "ask")
FloatArray = npt.NDArray[np.float32]
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
TRAIN_HINT = "the v1 heads ship in models/v1/ (restore them from git)"


class Lexicon:
    """tf-idf over lower-cased word 1-2 grams (sublinear tf, smooth idf, L2 rows), numpy-only."""

    def __init__(self, terms: Sequence[str], idf: npt.NDArray[np.float64]) -> None:
        self.terms = list(terms)
        self.index = {t: i for i, t in enumerate(self.terms)}
        self.idf = np.asarray(idf, dtype=np.float64)

    @staticmethod
    def grams(text: str) -> list[str]:
        words = _TOKEN.findall(text.lower())
        return words + [f"{a} {b}" for a, b in pairwise(words)]

    @classmethod
    def fit(cls, texts: Sequence[str], *, min_df: int = 2, max_terms: int = 20000) -> Lexicon:
        df: Counter[str] = Counter()
        for t in texts:
            df.update(set(cls.grams(t)))
        kept = sorted((g for g, c in df.items() if c >= min_df), key=lambda g: (-df[g], g))[:max_terms]
        kept.sort()
        n = len(texts)
        idf = np.array([math.log((1 + n) / (1 + df[g])) + 1.0 for g in kept])
        return cls(kept, idf)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        rows, cols, vals = [], [], []
        for r, text in enumerate(texts):
            counts = Counter(g for g in self.grams(text) if g in self.index)
            if not counts:
                continue
            idx = np.fromiter((self.index[g] for g in counts), dtype=np.int64, count=len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
            w = tf * self.idf[idx]
            w /= np.linalg.norm(w)
            rows.extend([r] * len(idx))
            cols.extend(idx.tolist())
            vals.extend(w.tolist())
        return sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(self.terms)), dtype=np.float64)


@dataclass
class LinearModel:
    """``sigmoid(((x - mean) / scale) @ coef + bias)``; mean/scale optional (empty = identity)."""

    coef: npt.NDArray[np.float64]
    bias: float
    mean: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    scale: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def logit(self, x: Any) -> npt.NDArray[np.float64]:
        if sparse.issparse(x):
            dense: npt.NDArray[np.float64] = np.asarray(x @ self.coef, dtype=np.float64).ravel()
            return dense + self.bias
        arr: npt.NDArray[np.float64] = np.asarray(x, dtype=np.float64)
        if self.mean.size:
            arr = (arr - self.mean) / self.scale
        out: npt.NDArray[np.float64] = arr @ self.coef + self.bias
        return out


def _sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


_vader: Any = None


def vader_features(texts: Sequence[str]) -> FloatArray:
    """VADER neg/neu/pos/compound per text (a lexicon, no weights to download)."""
    global _vader
    if _vader is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _vader = SentimentIntensityAnalyzer()
    rows = [_vader.polarity_scores(t) for t in texts]
    return np.array([[d["neg"], d["neu"], d["pos"], d["compound"]] for d in rows], dtype=np.float32).reshape(-1, 4)


@dataclass
class Head:
    """One trained detector head (see the module docstring)."""

    kind: str
    encoder_hash: str
    emb: LinearModel
    lex: LinearModel
    lexicon: Lexicon
    stack: LinearModel
    rule_features: list[str]
    use_vader: bool
    thresholds: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)
    #: optional subtype model: multinomial coef (k, 384) + bias (k,), or centroids (k, 384)
    subtype_labels: list[str] = field(default_factory=list)
    subtype_coef: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    subtype_bias: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    file_hash: str = ""

    def stack_inputs(self, emb: FloatArray, texts: Sequence[str], rules: FloatArray) -> npt.NDArray[np.float64]:
        parts = [
            self.emb.logit(emb)[:, None],
            self.lex.logit(self.lexicon.transform(texts))[:, None],
            np.asarray(rules, dtype=np.float64).reshape(len(texts), -1),
        ]
        if self.use_vader:
            parts.append(vader_features(texts).astype(np.float64))
        return np.hstack(parts)

    def predict(self, emb: FloatArray, texts: Sequence[str], rules: FloatArray) -> npt.NDArray[np.float64]:
        """Probability per sentence (0..1)."""
        if not len(texts):
            return np.zeros(0)
        return _sigmoid(self.stack.logit(self.stack_inputs(emb, texts, rules)))

    def subtype(self, emb: FloatArray) -> list[str | None]:
        if not self.subtype_labels:
            return [None] * len(emb)
        scores = np.asarray(emb, dtype=np.float64) @ self.subtype_coef.T + self.subtype_bias
        return [self.subtype_labels[i] for i in scores.argmax(axis=1)]

    def threshold(self, profile: str = "balanced") -> float:
        if profile not in self.thresholds:
            raise DetectorError(
                f"unknown threshold profile {profile!r} for {self.kind} (have: {', '.join(sorted(self.thresholds))})"
            )
        return self.thresholds[profile]


def head_paths(models_dir: Path, kind: str) -> tuple[Path, Path]:
    return Path(models_dir) / f"{kind}.json", Path(models_dir) / f"{kind}.npz"


def head_file_hash(models_dir: Path, kind: str) -> str:
    """sha256 of the head's two files (its identity in detector versions); ModelNotFoundError if absent."""
    meta_path, arr_path = head_paths(models_dir, kind)
    h = hashlib.sha256()
    for p in (meta_path, arr_path):
        try:
            h.update(p.read_bytes())
        except FileNotFoundError:
            raise ModelNotFoundError(f"the {kind} head is missing ({p}); {TRAIN_HINT}") from None
        except OSError as e:
            raise DetectorError(f"cannot read {p}: {e.strerror}") from e
    return h.hexdigest()


def load_head(models_dir: Path, kind: str, *, encoder_hash: str | None) -> Head:
    """Load a head; refuse one trained for another encoder (unless ``encoder_hash`` is None)."""
    file_hash = head_file_hash(models_dir, kind)
    meta_path, arr_path = head_paths(models_dir, kind)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(arr_path) as z:
            arr = {k: z[k].astype(np.float64) for k in z.files}
    except (OSError, ValueError, KeyError) as e:
        raise DetectorError(f"the {kind} head in {models_dir} is unreadable ({e}); {TRAIN_HINT}") from e
    if meta.get("format") != HEAD_FORMAT or meta.get("kind") != kind:
        raise DetectorError(f"{meta_path} is not a format-{HEAD_FORMAT} {kind} head; {TRAIN_HINT}")
    if encoder_hash is not None and meta["encoder_hash"] != encoder_hash:
        raise DetectorError(
            f"the {kind} head was trained for encoder {meta['encoder_hash'][:12]} but the installed encoder "
            f"is {encoder_hash[:12]}; retrain the heads for this encoder: {TRAIN_HINT}"
        )
    try:
        return Head(
            kind=kind,
            encoder_hash=meta["encoder_hash"],
            emb=LinearModel(arr["emb_coef"], float(meta["emb_bias"]), arr["emb_mean"], arr["emb_scale"]),
            lex=LinearModel(arr["lex_coef"], float(meta["lex_bias"])),
            lexicon=Lexicon(meta["terms"], arr["lex_idf"]),
            stack=LinearModel(arr["stack_coef"], float(meta["stack_bias"])),
            rule_features=list(meta["rule_features"]),
            use_vader=bool(meta["use_vader"]),
            thresholds={k: float(v) for k, v in meta["thresholds"].items()},
            meta=dict(meta.get("meta", {})),
            subtype_labels=list(meta.get("subtype_labels", [])),
            subtype_coef=arr["subtype_coef"],
            subtype_bias=arr["subtype_bias"],
            file_hash=file_hash,
        )
    except KeyError as e:
        raise DetectorError(f"the {kind} head in {models_dir} lacks {e}; {TRAIN_HINT}") from e


#: v1's rule floors and caps, frozen as they were (v2's live in :mod:`triage.nlp.decision`)
V1_FLOORS: dict[str, tuple[Floor, ...]] = {
    "frustration": (
        Floor("churn_threat", ("frustration:churn",), (), 0.9),
        Floor("escalation", ("frustration:escalation",), (), 0.8),
    ),
    "ask": (
        Floor("question", ("ask:qmark",), ("ask:question_start", "ask:modal"), 0.6),
        Floor("closing", ("ask:closing",), (), 0.2, cap=True,
              none_of=("ask:qmark", "ask:modal", "ask:please", "ask:need", "ask:reply", "ask:imperative")),
        Floor("no_request_form", (), (), 0.1, cap=True, below=0.6,
              none_of=("ask:qmark", "ask:question_start", "ask:modal", "ask:please", "ask:need", "ask:reply",
                       "ask:imperative", "repeat:", "commit:")),
    ),
    "buying_signal": (),
}


def _floored(kind: str, names: Sequence[str], p: npt.NDArray[np.float64],
             rules: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    return apply_floor_table(V1_FLOORS[kind], names, p, rules)


class V1Scorer:
    """v1's text-level decisions: every scorable sentence scored, the text flagged when one crosses."""

    def __init__(self, models_dir: Path, cache_dir: Path | None = None) -> None:

        self.encoder = load_encoder("onnx", Path(models_dir), cache_dir=cache_dir, base_only=True)
        v1_dir = Path(models_dir) / "v1"
        self.heads = {k: load_head(v1_dir, k, encoder_hash=self.encoder.encoder_hash) for k in V1_KINDS}
        self.segmenter = get_segmenter()

    def score(self, texts: Sequence[str], kind: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """(text score = highest floored sentence score, text label) for ``kind``."""

        head = self.heads[kind]
        sents: list[list[Any]] = []
        for doc in self.segmenter.pipe(texts, batch_size=256):
            sents.append([s for s in doc._.triage_sents or [] if s.scorable])
        flat = [s for ss in sents for s in ss]
        unique = list(dict.fromkeys(s.text for s in flat))
        vectors = self.encoder.encode(unique)
        row = {t: i for i, t in enumerate(unique)}
        emb = vectors[[row[s.text] for s in flat]] if flat else np.zeros((0, vectors.shape[1]), dtype=np.float32)
        names = head.rule_features
        feats = np.asarray([[1.0 if s.rules.has(p) else 0.0 for p in names] for s in flat],
                           dtype=np.float32).reshape(len(flat), len(names))
        raw = head.predict(emb, [s.text for s in flat], feats)
        scores = _floored(kind, names, raw, feats)
        out = np.zeros(len(texts))
        i = 0
        for n, ss in enumerate(sents):
            if ss:
                out[n] = float(scores[i : i + len(ss)].max())
            i += len(ss)
        return out, out >= head.threshold("balanced")
