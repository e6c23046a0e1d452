"""A list that learns: the account managers' clicks as training rows for the detector heads.

What counts (``feedback``, actions not undone; the latest action on a signal wins):

* **Not a problem** as the wrong kind or not the client's words (``dismiss``, reason codes ``wrong_kind``
  / ``not_client``): a false alarm of that detector. "Already handled" says the signal was right and
  is not learnt from.
* **Confirm**: this signal is right.

A click becomes rows on the unit the detector decided on, not on the evidence sentence alone
(frustration and complaints are decided on passages): a Not-a-problem makes **every** unit of that
detector at or above its threshold in that message or utterance a negative (else the next-best passage
fires instead), a Confirm makes the deciding unit a positive. A text dismissed and confirmed at once
(the same words in two places) is left out.

:func:`candidate_heads` refits only the heads of detectors that have feedback, on the shipped training
rows plus the feedback, which gets ``share`` of each head's training weight; the other heads, the
subtypes and **the thresholds are kept** (thresholds chosen again on the team's own clicks would be
chosen on the evaluation data). The candidate is judged by :mod:`triage.learn.gate`.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from triage.db import Database
from triage.learn.corpus import build_corpus
from triage.learn.train import embed_cached, logistic
from triage.nlp.cache import get_vector_memo, key_of
from triage.nlp.encoder import Encoder
from triage.nlp.heads import KINDS, Heads
from triage.nlp.runtime import Runtime, get_segmenter
from triage.nlp.scoring import decision_units
from triage.progress import track

__all__ = ["BaseRows", "Click", "FeedbackRow", "base_rows", "candidate_heads", "click_rows", "fold_of",
           "metrics_moved", "read_clicks"]

#: reason codes of "Not a problem" that say the detector was wrong
LEARN_CODES = ("wrong_kind", "not_client")


@dataclass(frozen=True)
class Click:
    """One learnable action: which detector, right or wrong, on which text (message own words or utterance)."""

    feedback_id: str
    kind: str
    confirm: bool
    text: str
    party: str
    sentence: str
    account_id: str | None


@dataclass(frozen=True)
class FeedbackRow:
    kind: str
    text: str
    label: bool
    feedback_id: str


def read_clicks(db: Database) -> list[Click]:
    """The learnable clicks in the database, oldest first."""
    kinds = list(KINDS)
    with db.read() as con:
        rows = con.execute(
            f"""
            WITH latest AS (
                SELECT f.*, row_number() OVER (PARTITION BY f.signal_id
                                               ORDER BY f.created_at DESC, f.feedback_id DESC) AS rn
                FROM feedback f
                WHERE f.signal_id IS NOT NULL AND f.undone_at IS NULL
                  AND (f.action = 'confirm'
                       OR (f.action = 'dismiss' AND coalesce(f.reason_code, 'wrong_kind') IN {LEARN_CODES}))
            )
            SELECT l.feedback_id, l.action, s.kind, coalesce(s.party, 'client'), s.sentence, s.account_id,
                   CASE WHEN s.source_type = 'email' THEN m.new_text ELSE u.text END AS text
            FROM latest l
            JOIN signals s ON s.signal_id = l.signal_id
            LEFT JOIN messages m ON s.source_type = 'email' AND m.message_key = s.source_key
            LEFT JOIN utterances u ON s.source_type = 'meeting' AND u.transcript_key = s.source_key
                                   AND u.seq = s.utterance_seq
            WHERE l.rn = 1 AND list_contains(?, s.kind)
            ORDER BY l.created_at, l.feedback_id
            """,
            [kinds],
        ).fetchall()
    return [Click(str(fid), str(kind), action == "confirm", str(text or sentence or ""), str(party),
                  str(sentence or ""), account)
            for fid, action, kind, party, sentence, account, text in rows if (text or sentence)]


def click_rows(runtime: Runtime, clicks: Sequence[Click], thresholds: dict[str, float]) -> list[FeedbackRow]:
    """The rows of ``clicks`` on the units the detectors of ``runtime`` decided on (see the module docstring)."""
    rows: list[FeedbackRow] = []
    for kind in sorted({c.kind for c in clicks}):
        mine = [c for c in clicks if c.kind == kind]
        units = decision_units(runtime, [c.text for c in mine], kind, parties=[c.party for c in mine])
        for c, u in zip(mine, units, strict=True):
            chosen = u.units[:1] if c.confirm else u.at_or_above(thresholds[kind])
            if not chosen:  # the model moved since the click: the evidence sentence itself
                chosen = [(c.sentence, 0.0)]
            rows += [FeedbackRow(kind, text, c.confirm, c.feedback_id) for text, _ in chosen if text.strip()]
    # one row per text as the encoder sees it (key_of); a text clicked both ways is dropped
    labels: dict[tuple[str, int], set[bool]] = {}
    for r in rows:
        labels.setdefault((r.kind, key_of(r.text)), set()).add(r.label)
    seen: set[tuple[str, int]] = set()
    out = []
    for r in rows:
        unit = (r.kind, key_of(r.text))
        if len(labels[unit]) == 1 and unit not in seen:
            seen.add(unit)
            out.append(r)
    return out


def fold_of(feedback_id: str, folds: int) -> int:
    """The held-back fold of a click (stable: the same click is always held back in the same fold)."""
    return int(hashlib.sha256(feedback_id.encode("utf-8")).hexdigest()[:8], 16) % folds


@dataclass
class BaseRows:
    """The shipped heads' training rows as production vectors, per detector: (X, y, weights)."""

    per_kind: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.float64]]]


def base_rows(data_dir: Path, encoder: Encoder, build: Path) -> BaseRows:
    """The rows ``triage train`` fits the heads on, encoded (cached in the build directory after the first time)."""
    corpus = build_corpus(data_dir, get_segmenter())
    texts = list(dict.fromkeys(r.text for r in corpus.rows))
    emb = embed_cached(encoder, texts, build, "training rows")
    index = {t: i for i, t in enumerate(texts)}
    per_kind = {}
    for kind in KINDS:
        rows = [r for r in corpus.rows if kind in r.labels]
        X = emb[[index[r.text] for r in rows]].astype(np.float64)
        y = np.array([r.labels[kind] > 0.5 for r in rows])
        w = np.array([r.weight for r in rows], dtype=np.float64)
        per_kind[kind] = (X, y, w)
    return BaseRows(per_kind)


def row_vectors(encoder: Encoder, rows: Sequence[FeedbackRow]) -> dict[str, npt.NDArray[np.float32]]:
    """The vector of each row's text: the one the pipeline scored (learning memo), else encoded now."""
    texts = list(dict.fromkeys(r.text for r in rows))
    known = get_vector_memo().get(encoder.encoder_hash, [key_of(t) for t in texts])
    missing = [t for t, v in zip(texts, known, strict=True) if v is None]
    fresh = dict(zip(missing, encoder.encode(missing), strict=True)) if missing else {}
    return {t: (v if v is not None else fresh[t]) for t, v in zip(texts, known, strict=True)}


def candidate_heads(shipped: Heads, base: BaseRows, rows: Sequence[FeedbackRow],
                    vectors: dict[str, npt.NDArray[np.float32]], share: float) -> Heads:
    """The shipped heads with the heads of detectors that have feedback refitted (thresholds kept)."""
    heads = copy.deepcopy(shipped)
    refit: dict[str, dict[str, int]] = {}
    kinds = sorted({r.kind for r in rows})
    with track("Refitting heads on the feedback", len(kinds)) as progress:
        for kind in kinds:
            mine = [r for r in rows if r.kind == kind]
            X0, y0, w0 = base.per_kind[kind]
            Xf = np.stack([vectors[r.text] for r in mine]).astype(np.float64)
            yf = np.array([r.label for r in mine])
            wf = np.full(len(mine), share / (1.0 - share) * float(w0.sum()) / len(mine))
            model = logistic(1.0).fit(np.vstack([X0, Xf]), np.concatenate([y0, yf]),
                                      sample_weight=np.concatenate([w0, wf]))
            j = KINDS.index(kind)
            heads.W[j], heads.b[j] = model.coef_[0], model.intercept_[0]
            refit[kind] = {"negatives": int((~yf).sum()), "positives": int(yf.sum())}
            progress.advance()
    heads.meta = {**shipped.meta, "feedback": {"share": share, "refit": refit}}
    return heads


def metrics_moved(before: list[dict[str, Any]], current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model metric of ``current`` also in ``before``: before, after and the change of F1, precision,
    recall and false alarms."""

    def key(m: dict[str, Any]) -> tuple[str, str, str]:
        return (str(m.get("detector")), str(m.get("dataset")), str(m.get("method", "model")))

    old = {key(m): m for m in before}
    out = []
    for m in current:
        if m.get("method", "model") != "model" or key(m) not in old:
            continue
        b = old[key(m)]
        row: dict[str, Any] = {"detector": m["detector"], "dataset": m["dataset"]}
        for field in ("f1", "precision", "recall", "false_alarms"):
            if m.get(field) is not None and b.get(field) is not None:
                row[field] = {"before": b[field], "after": m[field], "change": round(m[field] - b[field], 4)}
        if len(row) > 2:
            out.append(row)
    return out
