"""Account priority: an explainable score per account from its evidence (pure; no I/O).

For an account, with ``cutoff`` = the end of ``as_of`` (UTC) and ``decay(d) = 0.5 ** (d / half_life_days)``
for evidence ``d`` whole days old, the score is::

    subtotal = frustration + frustration_repetition + frustration_trend + complaints
             + open_asks + overdue_asks + buying_signals + engagement_drop + slow_response + recency
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

import math
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

from triage.score.asks import Ask
from triage.score.calendar import day_end
from triage.score.engagement import Engagement, drop_reason, slow_reason
from triage.score.evidence import AccountInfo, AccountScore, Evidence, Reason
from triage.settings import ScoringSettings

__all__ = ["AccountInfo", "AccountScore", "Evidence", "Reason", "is_new_evidence", "score_account"]

_MAX_AGE_BD = 20
_QUOTE_CHARS = 300


def is_new_evidence(occurred_at: datetime, source_first_seen: datetime | None, done_at: datetime) -> bool:
    """Evidence counts again after a done when it happened after it, or its source (message,
    meeting) was first seen after it (late mail with an old Date). Re-scoring a known message with a
    new detector version is not new evidence."""
    return occurred_at > done_at or (source_first_seen is not None and source_first_seen > done_at)


def _decay(at: datetime, as_of: date, half_life: float) -> tuple[float, int]:
    days = max(0, (as_of - at.date()).days)
    return 0.5 ** (days / half_life), days


def _per_source(items: Iterable[Evidence]) -> list[Evidence]:
    """The strongest signal of each message/meeting (ties: earliest signal id)."""
    best: dict[str, Evidence] = {}
    for e in items:
        cur = best.get(e.source_key)
        if cur is None or (e.strength, cur.signal_id) > (cur.strength, e.signal_id):
            best[e.source_key] = e
    return sorted(best.values(), key=lambda e: (e.occurred_at, e.signal_id))


def _decayed(items: list[Evidence], weight: float, as_of: date, half_life: float) -> tuple[float, Evidence | None]:
    """weight x sum of strength x decay, and the item contributing most (latest on ties)."""
    scored = [(e.strength * _decay(e.occurred_at, as_of, half_life)[0], e) for e in items]
    top = max(scored, key=lambda t: (t[0], t[1].occurred_at))[1] if scored else None
    return weight * sum(v for v, _ in scored), top


def _subtypes(items: list[Evidence]) -> list[str]:
    return sorted({e.subtype for e in items if e.subtype})


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _sources_text(items: list[Evidence]) -> str:
    mails = sum(1 for e in items if e.source_type == "email")
    meets = len(items) - mails
    parts = [p for p in (mails and _plural(mails, "message"), meets and _plural(meets, "meeting")) if p]
    return " and ".join(parts)


def _quote(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1].rstrip() + "…"


def _reason_from(kind: str, text: str, weight: float, e: Evidence | None) -> Reason:
    if e is None:
        return Reason(kind, text, weight)
    return Reason(
        kind, text, weight, _quote(e.sentence), e.link, e.occurred_at, e.signal_id, e.source_type, e.speaker
    )


def _ask_reason(kind: str, asks: list[Ask], weight: float, label: str) -> Reason:
    """``asks`` in list order (client asks first, the surest first): the first is quoted, the oldest dated."""
    oldest = max(asks, key=lambda a: (a.age_business_days, -a.opened_at.timestamp(), a.ask_id))
    top = asks[0]
    client = sum(1 for a in asks if a.kind == "client_ask")
    ours = len(asks) - client
    who = " and ".join(
        p
        for p in (
            client and _plural(client, "client ask"),
            ours and _plural(ours, "commitment of ours", "commitments of ours"),
        )
        if p
    )
    due = f", due {oldest.due_date.isoformat()}" if oldest.due_date else ""
    text = f"{who} {label} (oldest {_plural(oldest.age_business_days, 'business day')}{due})"
    return Reason(
        kind,
        text,
        weight,
        _quote(top.text),
        top.link,
        top.opened_at,
        top.ask_id,
        top.source_type,
        top.asked_by,
    )


def _ask_points(asks: list[Ask], scale: float) -> float:
    return sum(a.score * (1.0 + min(a.age_business_days, _MAX_AGE_BD) / scale) for a in asks)


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
) -> AccountScore:
    """Score one account. ``evidence`` and ``asks`` are the account's, dismissed ones already removed;
    ``engagement`` is what its message metadata says (:func:`triage.score.engagement.measure_engagement`)."""
    w = cfg.weights
    cutoff = day_end(as_of)
    lookback_start = cutoff - timedelta(days=cfg.lookback_days)
    recent_start = cutoff - timedelta(days=cfg.trend_days)
    baseline_start = recent_start - timedelta(days=cfg.baseline_days)
    repetition_start = cutoff - timedelta(days=cfg.repetition_days)

    def counts(at: datetime, key: str) -> bool:
        return done_at is None or is_new_evidence(at, source_first_seen(key), done_at)

    all_ev = [e for e in evidence if e.party == "client" and e.occurred_at < cutoff]
    frus_all = _per_source(e for e in all_ev if e.kind == "frustration")
    window = [e for e in all_ev if e.occurred_at >= lookback_start and counts(e.occurred_at, e.source_key)]
    frus = _per_source(e for e in window if e.kind == "frustration")
    buys = _per_source(e for e in window if e.kind == "buying_signal")
    complaints = _per_source(e for e in window if e.kind == "complaint")
    open_all = sorted(
        (a for a in asks if a.is_open),
        # overdue first; client asks before our promises; the surest first (quoted as evidence); the oldest
        key=lambda a: (not a.overdue, a.kind != "client_ask", -round(a.score, 1), -a.age_business_days, a.opened_at,
                       a.ask_id),
    )
    counted = [a for a in open_all if a.opened_at >= lookback_start and counts(a.opened_at, a.source_key)]
    overdue = [a for a in counted if a.overdue]
    fresh = [a for a in counted if not a.overdue]

    reasons: list[Reason] = []
    comp: dict[str, float] = {}
    shown: set[str] = set()  # messages/meetings already quoted: each reason quotes another when it can

    def pick(candidates: list[Evidence]) -> Evidence:
        best = next((e for e in candidates if e.source_key not in shown), candidates[0])
        shown.add(best.source_key)
        return best

    # frustration: decayed sum over messages/meetings
    comp["frustration"], top_frus = _decayed(frus, w.frustration, as_of, cfg.half_life_days)
    if comp["frustration"] > 0 and top_frus is not None:
        shown.add(top_frus.source_key)
        threat = f", strongest: {top_frus.subtype.replace('_', ' ')}" if top_frus.subtype else ""
        reasons.append(
            _reason_from(
                "frustration",
                f"Frustration in {_sources_text(frus)}{threat} (intensity {top_frus.strength:.2f})",
                comp["frustration"],
                top_frus,
            )
        )

    # repetition: several frustrated messages/meetings recently
    rep = [e for e in frus if e.occurred_at >= repetition_start]
    comp["frustration_repetition"] = w.frustration_repetition * min(max(len(rep) - 1, 0), cfg.repetition_cap)
    if comp["frustration_repetition"] > 0:
        threads = len({e.thread_id or e.source_key for e in rep})
        latest = pick(sorted(rep, key=lambda e: (-e.strength, -e.occurred_at.timestamp(), e.signal_id)))
        reasons.append(
            _reason_from(
                "frustration_repetition",
                f"Frustrated {len(rep)} times in {_plural(threads, 'conversation')} "
                f"in the last {cfg.repetition_days} days",
                comp["frustration_repetition"],
                latest,
            )
        )

    # trend against the account's own baseline (all history, not only what is new since a done)
    recent_items = [e for e in frus if e.occurred_at >= recent_start]
    recent = sum(e.strength for e in recent_items)
    base = sum(e.strength for e in frus_all if baseline_start <= e.occurred_at < recent_start)
    expected = base / cfg.baseline_days * cfg.trend_days
    comp["frustration_trend"] = w.frustration_trend * max(0.0, recent - expected)
    if comp["frustration_trend"] > 0:
        latest = pick(sorted(recent_items, key=lambda e: (-e.occurred_at.timestamp(), e.signal_id)))
        reasons.append(
            _reason_from(
                "frustration_trend",
                f"Frustration rising: {recent:.1f} in the last {cfg.trend_days} days "
                f"vs {expected:.1f} expected "
                f"from its own {cfg.baseline_days}-day baseline",
                comp["frustration_trend"],
                latest,
            )
        )

    # complaints: the client reports a problem (broken, late, wrong, missing, billing...)
    comp["complaints"], top_comp = _decayed(complaints, w.complaint, as_of, cfg.half_life_days)
    comp_subtypes = _subtypes(complaints)
    if comp["complaints"] > 0 and top_comp is not None:
        what = f" ({', '.join(s.replace('_', ' ') for s in comp_subtypes)})" if comp_subtypes else ""
        shown_top = pick(sorted(complaints, key=lambda e: (-e.strength, -e.occurred_at.timestamp(), e.signal_id)))
        reasons.append(_reason_from("complaint", f"Problem reported{what} in {_sources_text(complaints)}",
                                    comp["complaints"], shown_top))

    # asks and commitments
    comp["overdue_asks"] = w.overdue_ask * _ask_points(overdue, cfg.ask_age_scale_business_days)
    if overdue and comp["overdue_asks"] > 0:
        reasons.append(_ask_reason("overdue_asks", overdue, comp["overdue_asks"], "overdue"))
    comp["open_asks"] = w.open_ask * _ask_points(fresh, cfg.ask_age_scale_business_days)
    if fresh and comp["open_asks"] > 0:
        reasons.append(_ask_reason("open_asks", fresh, comp["open_asks"], "awaiting our reply"))

    # buying signals
    comp["buying_signals"], top_buy = _decayed(buys, w.buying_signal, as_of, cfg.half_life_days)
    subtypes = _subtypes(buys)
    if comp["buying_signals"] > 0 and top_buy is not None:
        what = f" ({', '.join(s.replace('_', ' ') for s in subtypes)})" if subtypes else ""
        reasons.append(
            _reason_from(
                "buying_signal",
                f"Buying signal{what} in {_sources_text(buys)}",
                comp["buying_signals"],
                top_buy,
            )
        )

    # going quiet and slow answers (message metadata)
    eng = engagement
    comp["engagement_drop"] = eng.drop_points if eng is not None else 0.0
    if eng is not None and eng.drop_points > 0:
        reasons.append(drop_reason(eng, cfg))
    comp["slow_response"] = eng.slow_points if eng is not None else 0.0
    if eng is not None and eng.slow_points > 0:
        reasons.append(slow_reason(eng, cfg))

    # recency of the latest counting evidence
    latest_at: datetime | None = None
    latest_ev: Evidence | None = None
    for e in [*frus, *complaints, *buys]:
        if latest_at is None or e.occurred_at > latest_at:
            latest_at, latest_ev = e.occurred_at, e
    for a in counted:
        if latest_at is None or a.opened_at > latest_at:
            latest_at, latest_ev = a.opened_at, None
    comp["recency"] = 0.0
    if latest_at is not None:
        factor, days = _decay(latest_at, as_of, cfg.half_life_days)
        comp["recency"] = w.recency * factor
        when = "today" if days == 0 else f"{_plural(days, 'day')} ago"
        quote = latest_ev is not None and latest_ev.source_key not in shown
        reasons.append(
            Reason(
                "recency",
                f"Latest signal {when}",
                comp["recency"],
                _quote(latest_ev.sentence) if latest_ev and quote else None,
                latest_ev.link if latest_ev else None,
                latest_at,
                latest_ev.signal_id if latest_ev else None,
                latest_ev.source_type if latest_ev else None,
                latest_ev.speaker if latest_ev else None,
            )
        )

    subtotal = sum(comp.values())
    tier_mult = cfg.tier_multipliers.get((account.tier or "").lower(), 1.0)
    value_mult = 1.0 + w.value * math.log1p(max(account.arr or 0.0, 0.0) / cfg.arr_reference)
    score = subtotal * tier_mult * value_mult
    reasons.sort(key=lambda r: (-r.weight, r.kind))
    if subtotal > 0 and score != subtotal:
        tier = (account.tier or "no tier").capitalize()
        arr = f"ARR ${account.arr / 1000:,.0f}k" if account.arr else "no ARR"
        reasons.append(Reason("value", f"{tier} ×{tier_mult:.2f}, {arr} ×{value_mult:.2f}", score - subtotal))

    components: dict[str, Any] = {k: round(v, 4) for k, v in comp.items()}
    components.update(
        subtotal=round(subtotal, 4),
        evidence=round(subtotal - comp["recency"], 4),
        tier_multiplier=round(tier_mult, 4),
        value_multiplier=round(value_mult, 4),
        score=round(score, 4),
        inputs={
            "frustrated_sources": len(frus),
            "repeated_sources": len(rep),
            "recent_frustration": round(recent, 4),
            "expected_frustration": round(expected, 4),
            "open_asks": len(fresh),
            "overdue_asks": len(overdue),
            "buying_sources": len(buys),
            "complaint_sources": len(complaints),
            "done_at": done_at.isoformat() if done_at else None,
            "silent_days": eng.silent_days if eng else None,
            "usual_gap_days": eng.usual_gap_days if eng else None,
            "waiting_business_days": eng.waiting_business_days if eng else None,
            "median_reply_hours_recent": eng.median_reply_hours_recent if eng else None,
            "median_reply_hours_baseline": eng.median_reply_hours_baseline if eng else None,
        },
    )
    skipped = "done" if done_at is not None and subtotal == 0 else None
    last_at = max((t for t in [latest_at, *(e.occurred_at for e in all_ev)] if t is not None), default=None)
    return AccountScore(account, score, components, reasons, open_all, last_at, top_frus, top_buy, subtypes,
                        skipped_reason=skipped, top_complaint=top_comp, complaint_subtypes=comp_subtypes,
                        engagement=eng)
