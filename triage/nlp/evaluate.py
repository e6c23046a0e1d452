"""Precision/recall/F1 of the detectors on development data, next to baselines, in one call.

Protocols (what each number means):

* frustration, GoEmotions ``dev.tsv`` (the head never saw it; thresholds were picked by CV on train):
  the full pipeline, exactly as in production (sentences, rules, threshold; a comment counts as
  frustrated when any sentence is flagged). Baselines on the same texts: VADER compound below a
  threshold picked on GoEmotions train, and the keyword rules alone.
* ask, Parakweet train (the only development split): 5-fold cross-validation of the whole training
  procedure (head + threshold learned on 4/5, measured on 1/5); baseline: keyword rules.
* buying_signal, our seed set: 5-fold cross-validation likewise; baseline: keyword rules.
* client e-mail sanity set (ours, never trained on): the shipped pipeline on client-style sentences,
  all three detectors plus commitments on our own sentences and due-date resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from triage.log import get_logger
from triage.nlp.data import Labelled, load_buying_seed, load_client_emails, load_goemotions, load_parakweet
from triage.nlp.decision import apply_floors
from triage.nlp.encoder import build_dir, load_encoder
from triage.nlp.rules import SentenceRules, rules_for_text
from triage.nlp.runtime import PipelineSpec, get_runtime, get_segmenter
from triage.nlp.scoring import score_texts

__all__ = ["EvalReport", "Metric", "evaluate", "keyword_baseline", "prf"]

log = get_logger("nlp.evaluate")

_KEYWORD_RULES = {
    "frustration": ("frustration:",),
    "buying_signal": ("buying:",),
    "ask": ("ask:qmark", "ask:modal", "ask:please", "ask:need", "ask:reply", "ask:imperative"),
}


@dataclass
class Metric:
    detector: str
    dataset: str
    method: str
    precision: float
    recall: float
    f1: float
    n: int
    positives: int
    protocol: str
    threshold: float | None = None


@dataclass
class EvalReport:
    metrics: list[Metric] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"metrics": [asdict(m) for m in self.metrics], "extras": self.extras}

    def get(self, detector: str, dataset: str, method: str = "model") -> Metric:
        for m in self.metrics:
            if (m.detector, m.dataset, m.method) == (detector, dataset, method):
                return m
        raise KeyError((detector, dataset, method))


def prf(y: Sequence[bool], pred: Sequence[bool]) -> tuple[float, float, float]:
    yy, pp = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    tp = float(np.sum(yy & pp))
    p = tp / max(float(pp.sum()), 1.0)
    r = tp / max(float(yy.sum()), 1.0)
    f = 2 * p * r / (p + r) if p + r else 0.0
    return round(p, 4), round(r, 4), round(f, 4)


def _metric(detector: str, dataset: str, method: str, y: Sequence[bool], pred: Sequence[bool], protocol: str,
            threshold: float | None = None) -> Metric:
    p, r, f = prf(y, pred)
    return Metric(detector, dataset, method, p, r, f, len(y), int(sum(y)), protocol,
                  None if threshold is None else round(threshold, 4))


def keyword_baseline(kind: str, rules: Sequence[SentenceRules]) -> list[bool]:
    """The rules alone: any keyword of the detector fired (and, for buying, no hard-negative cue)."""
    prefixes = _KEYWORD_RULES[kind]
    out = []
    for r in rules:
        hit = any(r.has(p) for p in prefixes)
        if kind == "buying_signal" and r.has("buying_neg:"):
            hit = False
        out.append(hit)
    return out


def _vader_compound(texts: Sequence[str]) -> np.ndarray:
    from triage.nlp.heads import vader_features

    return vader_features(texts)[:, 3].astype(np.float64)


def _cv_metric(kind: str, data: Labelled, emb: np.ndarray, weights: list[float], report: list[bool],
               encoder_hash: str, folds: int) -> Metric:
    """Cross-validate the whole training procedure over the reported rows (others always train)."""
    from triage.nlp.train import CONFIGS, _folds, fit_head, rule_matrix

    rep = np.flatnonzero(report)
    extra = np.flatnonzero(~np.asarray(report, dtype=bool))
    y = np.asarray(data.labels, dtype=np.float64)
    rules = rule_matrix(kind, data.texts)
    pred = np.zeros(len(y), dtype=bool)
    thresholds = []
    for tr_r, te_r in _folds(y[rep], folds, seed=7):
        tr, te = np.concatenate([rep[tr_r], extra]), rep[te_r]
        head, _ = fit_head(CONFIGS[kind], emb[tr], [data.texts[i] for i in tr], rules[tr],
                           [data.labels[i] for i in tr], encoder_hash=encoder_hash, weights=[weights[i] for i in tr])
        t = head.threshold("balanced")
        thresholds.append(t)
        p = apply_floors(kind, head.predict(emb[te], [data.texts[i] for i in te], rules[te]), rules[te])
        pred[te] = p >= t
    name = data.name.split("+")[0]
    return _metric(kind, name, "model", [data.labels[i] for i in rep], pred[rep].tolist(),
                   f"{folds}-fold CV (train+threshold per fold)", float(np.mean(thresholds)))


def evaluate(
    data_dir: Path, models_dir: Path, *, backend: str = "onnx", cache_dir: Path | None = None, folds: int = 5,
    with_cv: bool = True,
) -> EvalReport:
    """Evaluate the shipped heads (and re-trained CV heads) on the development data."""
    from triage.nlp.train import embed_cached, rule_matrix, training_data

    report = EvalReport()
    spec = PipelineSpec(models_dir=str(Path(models_dir).resolve()), backend=backend,
                        cache_dir=str(cache_dir) if cache_dir else None)
    runtime = get_runtime(spec)
    seg = get_segmenter()

    # frustration: GoEmotions dev through the production pipeline
    dev = load_goemotions(data_dir, "dev")
    scored = score_texts(runtime, dev.texts)
    t_fr = runtime.detector("frustration").threshold
    report.metrics.append(_metric("frustration", dev.name, "model", dev.labels,
                                  [s.labels["frustration"] for s in scored], "dev split, production pipeline", t_fr))
    encoder = load_encoder(backend, Path(models_dir), cache_dir=cache_dir)  # type: ignore[arg-type]
    cache = build_dir(Path(models_dir), cache_dir)
    head = runtime.detector("frustration").head
    dev_feats = rule_matrix("frustration", dev.texts)
    whole = apply_floors("frustration", head.predict(embed_cached(encoder, dev.texts, cache, dev.name), dev.texts,
                                                     dev_feats), dev_feats)
    report.metrics.append(_metric("frustration", dev.name, "model, head on the whole comment", dev.labels,
                                  (whole >= t_fr).tolist(), "dev split, one score per comment", t_fr))
    train = load_goemotions(data_dir, "train")
    comp_train = _vader_compound(train.texts)
    grid = np.round(np.arange(-0.95, 0.51, 0.05), 2)
    best = max(grid, key=lambda t: prf(train.labels, (comp_train < t).tolist())[2])
    report.metrics.append(_metric("frustration", dev.name, "baseline: VADER compound", dev.labels,
                                  (_vader_compound(dev.texts) < best).tolist(),
                                  "dev split, threshold picked on train", float(best)))
    dev_rules = rules_for_text(dev.texts, seg)
    report.metrics.append(_metric("frustration", dev.name, "baseline: keyword rules", dev.labels,
                                  keyword_baseline("frustration", dev_rules), "dev split"))

    # ask (Parakweet) and buying (seed): cross-validation of the whole procedure + keyword rules
    for kind, data in (("ask", load_parakweet(data_dir)), ("buying_signal", load_buying_seed())):
        if with_cv:
            full, emb, weights, mask = training_data(kind, data_dir, encoder, cache)
            report.metrics.append(_cv_metric(kind, full, emb, weights, mask, encoder.encoder_hash, folds))
        report.metrics.append(_metric(kind, data.name, "baseline: keyword rules", data.labels,
                                      keyword_baseline(kind, rules_for_text(data.texts, seg)),
                                      "all rows (no training)"))

    _client_emails(report, runtime)
    return report


def _client_emails(report: EvalReport, runtime: Any) -> None:
    rows = load_client_emails()
    parties = ["us" if r.party == "us" else "client" for r in rows]
    scored = score_texts(runtime, [r.text for r in rows], parties=parties, anchors=[r.sent for r in rows])
    seg = get_segmenter()
    rules = rules_for_text([r.text for r in rows], seg)
    for kind in ("frustration", "buying_signal", "ask", "commitment"):
        idx = [i for i, r in enumerate(rows) if getattr(r, kind) is not None]
        y = [bool(getattr(rows[i], kind)) for i in idx]
        report.metrics.append(_metric(kind, "client-emails", "model", y, [scored[i].labels[kind] for i in idx],
                                      "sanity set, shipped pipeline, never trained on"))
        if kind != "commitment":
            kw = keyword_baseline(kind, [rules[i] for i in idx])
            report.metrics.append(_metric(kind, "client-emails", "baseline: keyword rules", y, kw, "sanity set"))
    due_gold = [(i, r.due) for i, r in enumerate(rows) if r.due is not None]
    found = 0
    for i, gold in due_gold:
        dues = {h.due_date for _, _, h in scored[i].hits if h.kind in ("ask", "commitment")}
        found += gold in dues
    report.extras["due_dates"] = {"gold": len(due_gold), "resolved_correctly": found}
