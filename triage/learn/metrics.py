"""Metrics and report types of training and evaluation: what train, evaluate, the baselines and the
model card share (a decision per unit: precision, recall, F1, false alarms; thresholds chosen for a
share of calm units or for an F-beta)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from triage.errors import DetectorError

__all__ = ["CALM_RATES", "EvalReport", "Metric", "calm_thresholds", "metric", "pick_thresholds", "prf"]

#: frustration thresholds: share of Berkeley calm messages flagged, per profile
CALM_RATES = {"balanced": 0.04, "precision": 0.02, "recall": 0.08}
_BETAS = {"balanced": 1.0, "precision": 0.5, "recall": 2.0}


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
    #: share of the negative units flagged (the false alarms an account manager would see)
    false_alarms: float | None = None
    #: public data written by outsiders (the headline) or our own seed sets (reported apart)
    external: bool = True


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


def metric(detector: str, dataset: str, method: str, y: Sequence[bool] | npt.NDArray[Any],
            pred: Sequence[bool] | npt.NDArray[Any],
            protocol: str, threshold: float | None = None, *, external: bool = True) -> Metric:
    yy, pp = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    p, r, f = prf(yy.tolist(), pp.tolist())
    neg = ~yy
    fa = round(float(pp[neg].mean()), 4) if neg.any() else None
    return Metric(detector, dataset, method, p, r, f, len(yy), int(yy.sum()), protocol,
                  None if threshold is None else round(threshold, 4), fa, external)


def _best_f(y: npt.NDArray[np.bool_], p: npt.NDArray[np.float64], beta: float) -> float:
    from sklearn.metrics import precision_recall_curve

    prec, rec, _ = precision_recall_curve(y, p)
    b2 = beta * beta
    return float(np.max((1 + b2) * prec * rec / np.maximum(b2 * prec + rec, 1e-12)))


def pick_thresholds(y: Sequence[bool], p: npt.NDArray[np.float64]) -> dict[str, float]:
    """Thresholds for F1 (balanced), F0.5 (precision) and F2 (recall): ``F*_beta / (1 + beta^2)``, where
    ``F*_beta`` is the best F-beta reached on (``y``, ``p``).

    For calibrated probabilities this is the F-beta-optimal threshold (Lipton, Elkan & Naryanaswamy,
    "Thresholding classifiers to maximize F1 score", 2014). It is far steadier than the arg-max threshold
    of a validation part of a few hundred rows, whose F curve is flat: on the complaints validation part
    the arg-max moved between 0.2 and 0.85 for F1 values within 0.04 of each other. The heads are
    logistic regressions, so their scores are close to calibrated.
    """
    yy = np.asarray(y, dtype=bool)
    pp = np.asarray(p, dtype=np.float64)
    if yy.all() or not yy.any():
        raise DetectorError("cannot choose a threshold: the validation part has a single class")
    return {name: round(_best_f(yy, pp, beta) / (1 + beta * beta), 6) for name, beta in _BETAS.items()}


def calm_thresholds(calm_scores: npt.NDArray[np.float64],
                    negative_scores: npt.NDArray[np.float64] | None = None) -> dict[str, float]:
    """Per profile, a threshold at which at most ``CALM_RATES[profile]`` of the calm units fire.

    Without ``negative_scores``: the lowest such threshold. With them (the units that should fire): of
    the thresholds that keep the calm share, the one that finds the most of them, and among those the
    highest (a false alarm that finds nothing more is not worth taking).
    """
    s = np.sort(np.asarray(calm_scores, dtype=np.float64))[::-1]
    neg = None if negative_scores is None else np.asarray(negative_scores, dtype=np.float64)
    out = {}
    for name, rate in CALM_RATES.items():
        k = int(np.floor(rate * len(s)))  # this many calm units may score at or above the threshold
        t = float(s[k]) if k < len(s) else 0.0
        lowest = min(math.floor(t * 1e6 + 1) / 1e6, 1.0)  # just above the (k+1)-th highest calm score
        if neg is None or not len(neg):
            out[name] = lowest
            continue
        found = int((neg >= lowest).sum())
        # raise the threshold to just below the lowest negative it still finds
        kept = np.sort(neg[neg >= lowest])
        out[name] = float(math.floor(kept[0] * 1e6) / 1e6) if found else lowest
    return out


