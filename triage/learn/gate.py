"""``triage train --with-feedback``: a candidate from the team's clicks, the install gate, the install.

1. The learnable clicks (:func:`triage.learn.feedback.read_clicks`) become rows on the units the shipped
   detectors decided on; a candidate refits the heads of the detectors that have feedback
   (:func:`~triage.learn.feedback.candidate_heads`, thresholds kept). A candidate is always made from the
   **shipped** model and all the feedback, never from the last team version: no drift from one week's
   install to the next.
2. The gate, every check against the shipped model run in the same command:

   * **external development data** (customer complaints, GoEmotions, Parakweet, MailEx, buying
     signals): no F1 lower by more than ``[learn] max_f1_drop`` (0.01);
   * **known positives**: GoEmotions frustration and customer-complaint recall not lower by more than
     ``max_recall_drop`` (0.02);
   * **calm real business mail** (Berkeley Enron dev): the share flagged at most ``max_calm_flagged``
     (5%), or no higher than the shipped model's;
   * **the team's own feedback, held back**: the clicks in ``folds`` parts, each part judged by a
     candidate made without it: at least one held-back false alarm gone, no held-back Confirm lost, and
     at least ``min_heldback_confirms`` held-back Confirms for every retrained detector (with fewer,
     the held-back clicks cannot show a loss of recall: measured in models/MODEL_CARD.md).

3. Installed only when every check passes: a new version in the team's models directory becomes current
   (:mod:`triage.nlp.team`); the one before stays for ``triage model rollback``. A refused candidate is
   deleted; the history keeps why.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage.db import Database
from triage.errors import TriageError
from triage.learn.evaluate import evaluate
from triage.learn.feedback import (
    BaseRows,
    Click,
    FeedbackRow,
    base_rows,
    candidate_heads,
    click_rows,
    fold_of,
    metrics_moved,
    read_clicks,
    row_vectors,
)
from triage.learn.metrics import EvalReport
from triage.log import get_logger
from triage.nlp.cache import vector_memo
from triage.nlp.encoder import ADAPTER_DIR, build_dir
from triage.nlp.heads import Heads, head_file_hash, load_heads, save_heads
from triage.nlp.runtime import PipelineSpec, Runtime, get_runtime
from triage.nlp.scoring import score_texts
from triage.nlp.spec import effective_thresholds, spec_from_settings
from triage.nlp.team import LEARNING, team_models
from triage.settings import Settings

__all__ = ["Check", "Judged", "Outcome", "Prepared", "judge", "learn_from_feedback", "prepare"]

log = get_logger("learn.gate")

#: what the recall guard watches: (detector, dataset)
RECALL_GUARDS = (("frustration", "goemotions-dev"), ("complaint", "complaints-test"))
CALM = ("frustration or complaint", "berkeley-dev")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Outcome:
    installed: bool
    version: str | None
    clicks: dict[str, dict[str, int]]
    checks: list[Check] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)
    heldback: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"installed": self.installed, "version": self.version, "clicks": self.clicks,
                "checks": [dataclasses.asdict(c) for c in self.checks], "heldback": self.heldback,
                "moved": self.moved}


@dataclass
class _Ctx:
    settings: Settings
    data_dir: Path
    shipped_dir: Path
    build: Path
    spec: PipelineSpec
    shipped: Heads
    thresholds: dict[str, float]


def _fired(runtime: Runtime, clicks: Sequence[Click]) -> list[bool]:
    out = [False] * len(clicks)
    for party in sorted({c.party for c in clicks}):
        idx = [i for i, c in enumerate(clicks) if c.party == party]
        scored = score_texts(runtime, [clicks[i].text for i in idx], parties=[party] * len(idx))
        for i, s in zip(idx, scored, strict=True):
            out[i] = bool(s.labels.get(clicks[i].kind, False))
    return out


def _write_candidate(ctx: _Ctx, heads: Heads, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ctx.shipped_dir / ADAPTER_DIR, target / ADAPTER_DIR)
    save_heads(heads, target)
    return target


def _runtime(ctx: _Ctx, models: Path) -> Runtime:
    return get_runtime(dataclasses.replace(ctx.spec, models_dir=str(models.resolve())))


def _heldback(ctx: _Ctx, shipped_rt: Runtime, clicks: list[Click], rows: list[FeedbackRow], base: BaseRows,
              vectors: dict[str, Any], stage: Path) -> tuple[list[Check], dict[str, Any]]:
    """The clicks in folds; each fold judged by a candidate made without it, against the shipped model."""
    learn = ctx.settings.learn
    before = _fired(shipped_rt, clicks)
    after = list(before)
    for f in range(learn.folds):
        held = [i for i, c in enumerate(clicks) if fold_of(c.feedback_id, learn.folds) == f]
        train_rows = [r for r in rows if fold_of(r.feedback_id, learn.folds) != f]
        if not held or not train_rows:
            continue
        heads = candidate_heads(ctx.shipped, base, train_rows, vectors, learn.feedback_share)
        fold_dir = _write_candidate(ctx, heads, stage / f"fold-{f}")
        fired = _fired(_runtime(ctx, fold_dir), [clicks[i] for i in held])
        for i, v in zip(held, fired, strict=True):
            after[i] = v
        shutil.rmtree(fold_dir, ignore_errors=True)
    gone = sum(1 for c, b, a in zip(clicks, before, after, strict=True) if not c.confirm and b and not a)
    lost = sum(1 for c, b, a in zip(clicks, before, after, strict=True) if c.confirm and b and not a)
    confirms = {k: sum(1 for c in clicks if c.kind == k and c.confirm) for k in sorted({r.kind for r in rows})}
    facts = {"false_alarms_held_back": sum(1 for c, b in zip(clicks, before, strict=True) if not c.confirm and b),
             "false_alarms_gone": gone, "confirms_held_back": confirms, "confirms_lost": lost}
    few = {k: n for k, n in confirms.items() if n < learn.min_heldback_confirms}
    checks = [
        Check("held-back false alarms gone", gone >= 1, f"{gone} of {facts['false_alarms_held_back']}"),
        Check("held-back Confirms kept", lost == 0, f"{lost} lost of {sum(confirms.values())}"),
        Check(f"held-back Confirms >= {learn.min_heldback_confirms} per retrained detector", not few,
              ", ".join(f"{k} {n}" for k, n in confirms.items()) or "none"),
    ]
    return checks, facts


def _dev_checks(ctx: _Ctx, before: EvalReport, after: EvalReport) -> list[Check]:
    learn = ctx.settings.learn
    checks = []
    for m in before.metrics:
        if m.method != "model" or not m.external or m.dataset.startswith("berkeley"):
            continue
        new = after.get(m.detector, m.dataset)
        checks.append(Check(f"F1 {m.detector} on {m.dataset}", new.f1 >= m.f1 - learn.max_f1_drop,
                            f"{m.f1:.3f} -> {new.f1:.3f}"))
    for kind, dataset in RECALL_GUARDS:
        old, new = before.get(kind, dataset), after.get(kind, dataset)
        checks.append(Check(f"recall {kind} on {dataset}", new.recall >= old.recall - learn.max_recall_drop,
                            f"{old.recall:.3f} -> {new.recall:.3f}"))
    old_fa, new_fa = before.get(*CALM).false_alarms or 0.0, after.get(*CALM).false_alarms or 0.0
    checks.append(Check("calm Berkeley mail flagged", new_fa <= max(learn.max_calm_flagged, old_fa),
                        f"{old_fa:.1%} -> {new_fa:.1%}"))
    return checks


@dataclass
class Prepared:
    """What every candidate of one run shares: the shipped model, its training rows, its dev evaluation."""

    ctx: _Ctx
    base: BaseRows
    before: EvalReport

    def runtime(self, models: Path) -> Runtime:
        """The pipeline with the heads in ``models`` (the shipped model's, a candidate's)."""
        return _runtime(self.ctx, models)


@dataclass
class Judged:
    """A candidate and every check of the gate."""

    heads: Heads
    rows: list[FeedbackRow]
    checks: list[Check]
    heldback: dict[str, Any]
    after: EvalReport
    models_dir: Path

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def prepare(settings: Settings, data_dir: Path) -> Prepared:
    """The shipped model, its training rows as vectors and its development metrics (call inside
    :func:`~triage.nlp.cache.vector_memo`: every candidate then costs its heads only)."""
    shipped_dir = Path(settings.nlp.models_dir).resolve()
    build = build_dir(shipped_dir, settings.nlp.cache_dir)
    spec = dataclasses.replace(spec_from_settings(settings), models_dir=str(shipped_dir), cache_dir=str(build))
    encoder = get_runtime(spec).encoder
    ctx = _Ctx(settings, data_dir, shipped_dir, build, spec,
               load_heads(shipped_dir, encoder_identity=encoder.encoder_hash), effective_thresholds(spec))
    base = base_rows(data_dir, encoder, build)
    before = evaluate(data_dir, shipped_dir, cache_dir=build, baselines=False)
    return Prepared(ctx, base, before)


def judge(prep: Prepared, clicks: list[Click], stage: Path) -> Judged:
    """A candidate from ``clicks`` (written to ``stage/candidate``) and the gate's checks."""
    ctx = prep.ctx
    runtime = _runtime(ctx, ctx.shipped_dir)
    rows = click_rows(runtime, clicks, ctx.thresholds)
    vectors = row_vectors(runtime.encoder, rows)
    checks, held = _heldback(ctx, runtime, clicks, rows, prep.base, vectors, stage)
    heads = candidate_heads(ctx.shipped, prep.base, rows, vectors, ctx.settings.learn.feedback_share)
    cand_dir = _write_candidate(ctx, heads, stage / "candidate")
    after = evaluate(ctx.data_dir, cand_dir, cache_dir=ctx.build, baselines=False)
    return Judged(heads, rows, _dev_checks(ctx, prep.before, after) + checks, held, after, cand_dir)


def _count(clicks: list[Click]) -> dict[str, dict[str, int]]:
    per_kind: dict[str, dict[str, int]] = {}
    for c in clicks:
        d = per_kind.setdefault(c.kind, {"not_a_problem": 0, "confirm": 0})
        d["confirm" if c.confirm else "not_a_problem"] += 1
    return per_kind


def learn_from_feedback(settings: Settings, data_dir: Path, db: Database, *, by: str | None = None) -> Outcome:
    """Build, judge and (when every check passes) install a team model; see the module docstring."""
    clicks = read_clicks(db)
    if not clicks:
        raise TriageError("no feedback to learn from yet: mark wrong signals 'Not a problem' (wrong kind or not "
                          "the client's words) or 'Confirm' right ones, in the web app or with the CLI")
    per_kind = _count(clicks)
    team = team_models(settings)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with vector_memo():
        prep = prepare(settings, data_dir)
        stage = prep.ctx.build / f"feedback-{stamp}"
        stage.mkdir(parents=True, exist_ok=True)
        try:
            j = judge(prep, clicks, stage)
            outcome = Outcome(j.ok, stamp if j.ok else None, per_kind, j.checks,
                              metrics_moved(prep.before.as_dict()["metrics"], j.after.as_dict()["metrics"]),
                              j.heldback)
            facts = {"clicks": per_kind, "rows": len(j.rows), "share": settings.learn.feedback_share,
                     "checks": [dataclasses.asdict(c) for c in j.checks], "heldback": j.heldback}
            if j.ok:
                (j.models_dir / "metrics.json").write_text(
                    json.dumps({"report": j.after.as_dict()}, indent=1) + "\n", encoding="utf-8")
                meta = {**facts, "created_at": stamp, "base_heads_hash": head_file_hash(prep.ctx.shipped_dir),
                        "feedback_ids": sorted({c.feedback_id for c in clicks}), "by": by}
                (j.models_dir / LEARNING).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
                team.add_version(j.models_dir, stamp)
                team.set_current(stamp)
                team.record("installed", version=stamp, by=by, **facts)
            else:
                team.record("refused", by=by, why=[c.name for c in j.checks if not c.ok], **facts)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return outcome
