"""A list that learns: dismissed false alarms of one kind become negatives, and the refit frustration head
stops raising them without losing F1 on real development data (GoEmotions dev).

Kept fast: heads only, on the shipped encoder's (cached) vectors, with a capped training corpus (the same
rows and weights `triage train --heads-only` uses, fewer of them); the base and the feedback head are fit
on exactly the same rows, the feedback head with the dismissed sentences added. The sentences of the held-out
half of the batch were never dismissed (other words, the same kind of false alarm).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.support.score_seed import Seeder
from triage.db import Database
from triage.learn.corpus import Corpus, build_corpus
from triage.learn.data import load_goemotions
from triage.learn.feedback import feedback_rows
from triage.learn.train import embed_cached, fit_heads
from triage.nlp.encoder import build_dir, load_encoder
from triage.nlp.heads import KINDS
from triage.nlp.runtime import get_segmenter
from triage.score.feedback import dismiss_signal, mark_done
from triage.settings import default_models_dir

pytestmark = pytest.mark.slow

# one kind of false alarm: small talk about sport ("so frustrating that our team lost") is frustration, but
# not with us; an account manager dismisses it
_LEADS = ["Can't believe", "Still annoyed that", "So frustrating that", "Gutted that", "I'm furious that",
          "Unbelievable that"]
_TEAMS = ["our team", "Hamburg", "the Eagles", "our local club", "the national side", "my son's team"]
_EVENTS = ["lost again last night", "threw away a two-goal lead on Sunday", "got knocked out of the cup",
           "missed three penalties yesterday"]
# held out: other teams, other results (never dismissed)
_OTHER_TEAMS = ["the Tigers", "our county side", "Rotterdam", "the home team"]
_OTHER_EVENTS = ["were relegated on Saturday", "lost the final in extra time", "conceded in the last minute again"]


def _sport(rng: random.Random, n: int, teams: list[str], events: list[str]) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        out.add(f"{rng.choice(_LEADS)} {rng.choice(teams)} {rng.choice(events)}!")
    return sorted(out)


def _scores(X: npt.NDArray[np.float64], w: npt.NDArray[np.float64], b: float) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    return out


def _best_f1(y: npt.NDArray[np.bool_], p: npt.NDArray[np.float64]) -> tuple[float, float]:
    """(best F1, its threshold) on a development set."""
    from sklearn.metrics import precision_recall_curve

    prec, rec, thr = precision_recall_curve(y, p)
    f1 = 2 * prec * rec / np.maximum(prec + rec, 1e-12)
    i = int(np.argmax(f1[:-1]))
    return float(f1[i]), float(thr[i])


def test_dismissed_false_alarms_are_not_raised_after_a_refit(db: Database, shared_data: Path) -> None:
    rng = random.Random(14)
    dismissed = _sport(rng, 24, _TEAMS, _EVENTS)
    held_out = _sport(random.Random(41), 12, _OTHER_TEAMS, _OTHER_EVENTS)
    seed = Seeder(db)
    seed.account("north", "North Co")
    seed.account("south", "South Co")
    sids = []
    for i, text in enumerate(dismissed):
        m = seed.message("north", f"2026-11-{1 + i % 19:02d} 10:00")
        sids.append(seed.signal("frustration", m, "north", f"2026-11-{1 + i % 19:02d} 10:00", text, score=0.7))
    for sid in sids:
        dismiss_signal(db, sid, reason="small talk about football, not about us")
    m = seed.message("south", "2026-11-10 10:00")
    seed.signal("frustration", m, "south", "2026-11-10 10:00", "This outage is unacceptable.", score=0.9)
    mark_done(db, "south", note="called them")
    fb = feedback_rows(db)
    assert (fb.negatives, fb.weak_positives) == (24, 1)
    assert fb.per_kind == {"frustration": (24, 1)}
    assert {r.text for r in fb.rows if r.labels == {"frustration": 0.0}} == set(dismissed)

    models = default_models_dir()
    cache = build_dir(models)
    encoder = load_encoder("onnx", models, cache_dir=cache)
    base = build_corpus(shared_data, get_segmenter(), limit=1000)
    with_fb = Corpus([*base.rows, *fb.rows], base.validation, base.sizes)
    texts = list(dict.fromkeys(r.text for r in with_fb.rows))
    vectors = dict(zip(texts, embed_cached(encoder, texts, cache, "feedback test rows"), strict=True))
    j = KINDS.index("frustration")
    before = fit_heads(base, vectors, encoder.encoder_hash)
    after = fit_heads(with_fb, vectors, encoder.encoder_hash)

    dev = load_goemotions(shared_data, "dev")
    dev_X = embed_cached(encoder, dev.texts, cache, "GoEmotions dev").astype(np.float64)
    dev_y = np.array(dev.labels)
    f1_before, t_before = _best_f1(dev_y, _scores(dev_X, before.W[j], before.b[j]))
    f1_after, t_after = _best_f1(dev_y, _scores(dev_X, after.W[j], after.b[j]))

    hX = embed_cached(encoder, held_out, cache, "feedback test held-out").astype(np.float64)
    s_before = _scores(hX, before.W[j], before.b[j])
    s_after = _scores(hX, after.W[j], after.b[j])
    raised_before = float((s_before >= t_before).mean())
    # at the operating point of the head before (thresholds are chosen again on calm mail, which this
    # feedback does not touch) and at the refit head's own best-F1 threshold
    raised_after = float((s_after >= t_before).mean())
    raised_after_own = float((s_after >= t_after).mean())
    print(f"held-out false alarms raised: {raised_before:.2f} -> {raised_after:.2f} ({raised_after_own:.2f} at its "
          f"own threshold); GoEmotions dev F1 {f1_before:.3f} -> {f1_after:.3f}")
    assert raised_before >= 0.5, "the base head must raise this kind of false alarm for the test to mean anything"
    assert raised_after <= 0.1 and raised_after_own <= raised_before / 2
    assert f1_after >= f1_before - 0.01
