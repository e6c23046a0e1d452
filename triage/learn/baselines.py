"""The baselines ``triage eval`` runs next to the shipped detectors, on the same texts, in the same command.

* **keyword rules**: the rule tables alone (:mod:`triage.nlp.patterns`), a text flagged when any of
  its sentences has a rule of the detector (buying: and no hard-negative rule);
* **VADER**: the most negative sentence's compound score below a threshold picked on training data
  (GoEmotions train for frustration, the complaints training part for complaints);
* **v1**: the previous detectors (:class:`triage.learn.v1.V1Scorer`; v1 had no complaint detector, so
  its frustration decision stands in for it, which says how many complaints v1 would have surfaced).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from triage.learn.metrics import prf
from triage.learn.v1 import vader_features
from triage.nlp.runtime import get_segmenter

__all__ = ["KEYWORD_RULES", "keyword_flags", "vader_min_compound", "vader_threshold"]

KEYWORD_RULES = {
    "frustration": ("frustration:",),
    "complaint": ("complaint:",),
    "buying_signal": ("buying:",),
    "ask": ("ask:qmark", "ask:modal", "ask:please", "ask:need", "ask:reply", "ask:imperative"),
}


def _sentences(texts: Sequence[str]) -> list[list[object]]:
    seg = get_segmenter()
    return [[s for s in doc._.triage_sents or [] if s.scorable] for doc in seg.pipe(texts, batch_size=256)]


def keyword_flags(kind: str, texts: Sequence[str]) -> npt.NDArray[np.bool_]:
    """Text flagged when any sentence fires one of the detector's rules (see the module docstring)."""
    prefixes = KEYWORD_RULES[kind]
    out = np.zeros(len(texts), dtype=bool)
    for i, sents in enumerate(_sentences(texts)):
        for s in sents:
            r = s.rules  # type: ignore[attr-defined]
            if any(r.has(p) for p in prefixes) and not (kind == "buying_signal" and r.has("buying_neg:")):
                out[i] = True
                break
    return out


def vader_min_compound(texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """The lowest VADER compound score over each text's sentences (0 for a text without sentences)."""
    sents = _sentences(texts)
    flat = [s.text for ss in sents for s in ss]  # type: ignore[attr-defined]
    comp = vader_features(flat)[:, 3].astype(np.float64) if flat else np.zeros(0)
    out = np.zeros(len(texts))
    i = 0
    for n, ss in enumerate(sents):
        if ss:
            out[n] = float(comp[i : i + len(ss)].min())
        i += len(ss)
    return out


def vader_threshold(texts: Sequence[str], labels: Sequence[bool]) -> float:
    """The compound threshold (flag below it) with the best F1 on training ``texts``."""
    comp = vader_min_compound(texts)
    grid = np.round(np.arange(-0.95, 0.51, 0.05), 2)
    return float(max(grid, key=lambda t: prf(labels, (comp < t).tolist())[2]))
