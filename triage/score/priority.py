"""Account priority: an explainable score per account from its evidence (pure; no I/O).

For an account, with ``cutoff`` = the end of ``as_of`` (UTC) and ``decay(d) = 0.5 ** (d / half_life_days)``
for evidence ``d`` whole days old, the score is::

    subtotal = frustration + frustration_repetition + frustration_trend + complaints
             + open_asks + overdue_asks + buying_signals + engagement_drop + slow_response
             + unread_language + recency
    score    = subtotal x tier_multiplier x value_multiplier

* frustration = w.frustration x sum over frustrated messages/meetings (client party, last
  ``lookback_days``) of max intensity in that message x decay(age)
* frustration_repetition = w.frustration_repetition x min(n - 1, repetition_cap), n = frustrated
  messages/meetings in the last ``repetition_days``
* frustration_trend = w.frustration_trend x max(0, recent - expected): recent = frustration (sum of
  per-message max intensity, no decay) in the last ``trend_days``; expected = the account's own rate
  over the ``baseline_days`` before that x ``trend_days``. A usually calm account that turns angry
  scores high; an account that always grumbles does not.
* complaints = w.complaint x sum over messages/meetings where the client reports a problem (last
  ``lookback_days``) of max complaint score in that message x decay(age)
* open_asks / overdue_asks = w.open_ask / w.overdue_ask x sum over open client asks and our open
  commitments (made in the lookback) of detector score x (1 + min(age, 20) / ask_age_scale_bd), where
  ask_age_scale_bd = ``ask_age_scale_business_days``
* buying_signals = w.buying_signal x sum over messages/meetings with a buying signal of max score x decay
* engagement_drop / slow_response = from message metadata (see :mod:`triage.score.engagement`):
  a normally active account gone quiet; a client kept waiting, or our reply times up on its baseline
* unread_language = w.unread_language x decay(age of the newest unread unit): client mail (last
  ``lookback_days``) in a language the detectors do not read (``[nlp] languages``), or a meeting where
  most of the client's turns are; nothing in them was scored, so the AM is told to look
* recency = w.recency x decay(age of the latest counting evidence), only when there is any
* tier_multiplier = scoring.tier_multipliers[tier] (1.0 when unknown);
  value_multiplier = 1 + w.value x ln(1 + ARR / arr_reference)

An account is listed when its **evidence points** (``subtotal - recency``: what it said, before the
tier/value multipliers) reach ``scoring.min_score``; tier and ARR order the list but never put a calm
account on it. Dismissed signals never count. An account marked done counts only evidence that is new
since the done (see :func:`is_new_evidence`) and is skipped while there is none.

Each account gets reasons (one per non-zero component, strongest first, plus one for the tier/value
multiplier last); their ``weight`` values add up to the score.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from triage.score.asks import Ask
from triage.score.calendar import day_end
from triage.score.engagement import Engagement
from triage.score.model import AccountInfo, AccountScore, Evidence, Reason, Unread
from triage.score.reasons import (
    Quoted,
    ask_reasons,
    buying_reason,
    complaint_reason,
    drop_reason,
    frustration_reason,
    recency_reason,
    repetition_reason,
    slow_reason,
    subtypes,
    trend_reason,
    unread_reason,
    value_reason,
)
from triage.settings import ScoringSettings

__all__ = ["is_new_evidence", "score_account"]


def is_new_evidence(occurred_at: datetime, source_first_seen: datetime | None, done_at: datetime) -> bool:
    """Evidence counts again after a done when it happened after it, or its source (message,
    meeting) was first seen after it (late mail with an old Date). Re-scoring a known message with a
    new detector version is not new evidence."""
    return occurred_at > done_at or (source_first_seen is not None and source_first_seen > done_at)


def _per_source(items: Iterable[Evidence]) -> list[Evidence]:
    """The strongest signal of each message/meeting (ties: earliest signal id)."""
    best: dict[str, Evidence] = {}
    for e in items:
        cur = best.get(e.source_key)
        if cur is None or (e.strength, cur.signal_id) > (cur.strength, e.signal_id):
            best[e.source_key] = e
    return sorted(best.values(), key=lambda e: (e.occurred_at, e.signal_id))


@dataclass
class _Window:
    """What of an account's evidence and asks counts as of a day (the scoring windows)."""

    frus_all: list[Evidence]  # frustration of all history (the trend's baseline)
    frus: list[Evidence]
    buys: list[Evidence]
    complaints: list[Evidence]
    open_all: list[Ask]  # every open ask, overdue and oldest first
    counted: list[Ask]
    overdue: list[Ask]
    fresh: list[Ask]
    last_evidence_at: datetime | None
    unread: list[Unread]


def _window(evidence: Iterable[Evidence], asks: Iterable[Ask], as_of: date, cfg: ScoringSettings,
            done_at: datetime | None, source_first_seen: Callable[[str], datetime | None],
            unread: Iterable[Unread] = ()) -> _Window:
    cutoff = day_end(as_of)
    lookback_start = cutoff - timedelta(days=cfg.lookback_days)

    def counts(at: datetime, key: str) -> bool:
        return done_at is None or is_new_evidence(at, source_first_seen(key), done_at)

    all_ev = [e for e in evidence if e.party == "client" and e.occurred_at < cutoff]
    window = [e for e in all_ev if e.occurred_at >= lookback_start and counts(e.occurred_at, e.source_key)]
    open_all = sorted(
        (a for a in asks if a.is_open),
        # overdue first; client asks before our promises; the surest first (quoted as evidence); the oldest
        key=lambda a: (not a.overdue, a.kind != "client_ask", -round(a.score, 1), -a.age_business_days, a.opened_at,
                       a.ask_id),
    )
    counted = [a for a in open_all if a.opened_at >= lookback_start and counts(a.opened_at, a.source_key)]
    return _Window(
        frus_all=_per_source(e for e in all_ev if e.kind == "frustration"),
        frus=_per_source(e for e in window if e.kind == "frustration"),
        buys=_per_source(e for e in window if e.kind == "buying_signal"),
        complaints=_per_source(e for e in window if e.kind == "complaint"),
        open_all=open_all,
        counted=counted,
        overdue=[a for a in counted if a.overdue],
        fresh=[a for a in counted if not a.overdue],
        last_evidence_at=max((e.occurred_at for e in all_ev), default=None),
        unread=[u for u in unread if lookback_start <= u.occurred_at < cutoff
                and (done_at is None or u.occurred_at > done_at)],
    )


def score_account(
    account: AccountInfo,
    evidence: Iterable[Evidence],
    asks: Iterable[Ask],
    as_of: date,
    cfg: ScoringSettings,
    *,
    done_at: datetime | None = None,
    source_first_seen: Callable[[str], datetime | None] = lambda _key: None,
    engagement: Engagement | None = None,
    unread: Iterable[Unread] = (),
) -> AccountScore:
    """Score one account. ``evidence`` and ``asks`` are the account's, dismissed ones already removed;
    ``engagement`` is what its message metadata says (:func:`triage.score.engagement.measure_engagement`);
    ``unread`` its client mail and meetings in a language the detectors do not read."""
    win = _window(evidence, asks, as_of, cfg, done_at, source_first_seen, unread)
    recent_start = day_end(as_of) - timedelta(days=cfg.trend_days)
    baseline_start = recent_start - timedelta(days=cfg.baseline_days)
    repetition_start = day_end(as_of) - timedelta(days=cfg.repetition_days)
    quoted = Quoted()
    comp: dict[str, float] = {}
    reasons: list[Reason | None] = []

    frus = frustration_reason(win.frus, as_of, cfg, quoted)
    comp["frustration"] = frus.points
    rep = [e for e in win.frus if e.occurred_at >= repetition_start]
    repeated = repetition_reason(rep, cfg, quoted)
    comp["frustration_repetition"] = repeated.points
    base = sum(e.strength for e in win.frus_all if baseline_start <= e.occurred_at < recent_start)
    trend = trend_reason([e for e in win.frus if e.occurred_at >= recent_start], base, cfg, quoted)
    comp["frustration_trend"] = trend.points
    complaint = complaint_reason(win.complaints, as_of, cfg, quoted)
    comp["complaints"] = complaint.points
    reasons += [frus.reason, repeated.reason, trend.reason, complaint.reason]
    for name, points, reason in ask_reasons(win.overdue, win.fresh, cfg):
        comp[name] = points
        reasons.append(reason)
    buying = buying_reason(win.buys, as_of, cfg)
    comp["buying_signals"] = buying.points
    reasons.append(buying.reason)
    eng = engagement
    comp["engagement_drop"] = eng.drop_points if eng is not None else 0.0
    comp["slow_response"] = eng.slow_points if eng is not None else 0.0
    if eng is not None:
        reasons += [drop_reason(eng, cfg) if eng.drop_points > 0 else None,
                    slow_reason(eng, cfg) if eng.slow_points > 0 else None]
    comp["unread_language"], unread_r, unread_langs = unread_reason(win.unread, as_of, cfg)
    reasons.append(unread_r)
    comp["recency"], recency, latest_at = recency_reason(
        [*win.frus, *win.complaints, *win.buys], win.counted, as_of, cfg, quoted)
    reasons.append(recency)

    subtotal = sum(comp.values())
    tier_mult, value_mult, value = value_reason(account, cfg, subtotal)
    score = subtotal * tier_mult * value_mult
    listed = sorted((r for r in reasons if r is not None), key=lambda r: (-r.weight, r.kind))
    if value is not None:
        listed.append(value)
    components = _components(comp, subtotal, tier_mult, value_mult, score, _inputs(win, rep, trend, done_at, eng))
    last_at = max((t for t in [latest_at, win.last_evidence_at] if t is not None), default=None)
    return AccountScore(account, score, components, listed, win.open_all, last_at, frus.top, buying.top,
                        subtypes(win.buys), skipped_reason="done" if done_at is not None and subtotal == 0 else None,
                        top_complaint=complaint.top, complaint_subtypes=subtypes(win.complaints), engagement=eng,
                        unread_languages=unread_langs)


def _inputs(win: _Window, rep: list[Evidence], trend: Any, done_at: datetime | None,
            eng: Engagement | None) -> dict[str, Any]:
    return {
        "frustrated_sources": len(win.frus),
        "repeated_sources": len(rep),
        "recent_frustration": round(trend.recent, 4),
        "expected_frustration": round(trend.expected, 4),
        "open_asks": len(win.fresh),
        "overdue_asks": len(win.overdue),
        "buying_sources": len(win.buys),
        "complaint_sources": len(win.complaints),
        "unread_sources": len(win.unread),
        "done_at": done_at.isoformat() if done_at else None,
        "silent_days": eng.silent_days if eng else None,
        "usual_gap_days": eng.usual_gap_days if eng else None,
        "waiting_business_days": eng.waiting_business_days if eng else None,
        "median_reply_hours_recent": eng.median_reply_hours_recent if eng else None,
        "median_reply_hours_baseline": eng.median_reply_hours_baseline if eng else None,
    }


def _components(comp: dict[str, float], subtotal: float, tier_mult: float, value_mult: float, score: float,
                inputs: dict[str, Any]) -> dict[str, Any]:
    components: dict[str, Any] = {k: round(v, 4) for k, v in comp.items()}
    components.update(
        subtotal=round(subtotal, 4),
        evidence=round(subtotal - comp["recency"], 4),
        tier_multiplier=round(tier_mult, 4),
        value_multiplier=round(value_mult, 4),
        score=round(score, 4),
        inputs=inputs,
    )
    return components
