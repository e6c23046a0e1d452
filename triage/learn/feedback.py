"""A list that learns: account managers' feedback as training rows for the detector heads.

* A **dismissed** signal (``triage dismiss``) is a false alarm: its sentence becomes a negative row
  for its detector, weight ``negative_weight`` (3, as our hand-written seed sets).
* Signals of an account marked **done** (``triage done``: the AM called, so the list was right)
  become weak positive rows, weight ``weak_weight`` (0.3): the call may have been about another of
  its signals, so one done says little about each sentence. Only signals from before the done, and
  never a dismissed one.

``triage train --with-feedback`` adds these rows to the heads' training rows and fits the heads again
on the shipped encoder (``--heads-only``: cached vectors, minutes), then thresholds, evaluation, card.
The metrics before are kept in ``models/metrics.before-feedback.json``; ``triage eval`` prints how
the development metrics moved against them (:func:`metrics_moved`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage.db import Database
from triage.learn.finetune import TrainRow
from triage.nlp.heads import KINDS

__all__ = ["BEFORE_FILE", "FeedbackRows", "feedback_rows", "metrics_moved"]

BEFORE_FILE = "metrics.before-feedback.json"


@dataclass(frozen=True)
class FeedbackRows:
    rows: tuple[TrainRow, ...]
    negatives: int
    weak_positives: int
    #: kind -> (negatives, weak positives)
    per_kind: dict[str, tuple[int, int]]


def feedback_rows(db: Database, *, negative_weight: float = 3.0, weak_weight: float = 0.3) -> FeedbackRows:
    """Training rows from the ``feedback`` table (dismissed -> negatives, done accounts -> weak positives)."""
    with db.read() as con:
        dismissed = con.execute(
            """SELECT DISTINCT s.kind, s.sentence FROM feedback f JOIN signals s ON s.signal_id = f.signal_id
               WHERE f.action = 'dismiss' AND s.sentence IS NOT NULL"""
        ).fetchall()
        done = con.execute(
            """SELECT DISTINCT s.kind, s.sentence FROM signals s
               JOIN (SELECT account_id, max(created_at) AS done_at FROM feedback WHERE action = 'done'
                     GROUP BY account_id) d ON d.account_id = s.account_id
               WHERE coalesce(s.occurred_at, s.created_at) <= d.done_at AND s.sentence IS NOT NULL
                 AND s.signal_id NOT IN (SELECT signal_id FROM feedback WHERE action = 'dismiss'
                                         AND signal_id IS NOT NULL)"""
        ).fetchall()
    negatives = {(k, t) for k, t in dismissed if k in KINDS}
    positives = {(k, t) for k, t in done if k in KINDS} - negatives  # a dismissal wins over a done
    rows = [TrainRow(t, {k: 0.0}, negative_weight) for k, t in sorted(negatives)]
    rows += [TrainRow(t, {k: 1.0}, weak_weight) for k, t in sorted(positives)]
    per_kind = {
        k: (sum(1 for kk, _ in negatives if kk == k), sum(1 for kk, _ in positives if kk == k)) for k in KINDS
    }
    return FeedbackRows(tuple(rows), len(negatives), len(positives), {k: v for k, v in per_kind.items() if any(v)})


def _key(m: dict[str, Any]) -> tuple[str, str, str]:
    return (str(m.get("detector")), str(m.get("dataset")), str(m.get("method", "model")))


def metrics_moved(models_dir: Path, current: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Per model metric of ``current`` also in the metrics kept before the last feedback retrain: before,
    after and the change of F1, precision, recall and false alarms. None when there is no such file."""
    path = models_dir / BEFORE_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    before = {_key(m): m for m in data.get("report", data).get("metrics", [])}
    out = []
    for m in current:
        if m.get("method", "model") != "model" or _key(m) not in before:
            continue
        b = before[_key(m)]
        row: dict[str, Any] = {"detector": m["detector"], "dataset": m["dataset"]}
        for field in ("f1", "precision", "recall", "false_alarms"):
            if m.get(field) is not None and b.get(field) is not None:
                row[field] = {"before": b[field], "after": m[field], "change": round(m[field] - b[field], 4)}
        if len(row) > 2:
            out.append(row)
    return out
