"""The reasons an account is on the list: one function per kind, each returning its points and its
reason (text, weight, the evidence it quotes). :func:`triage.score.priority.score_account` calls them in
order and adds them up; the formulas are in its module docstring and in docs/scoring.md."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from triage.score.asks import Ask
from triage.score.engagement import Engagement
from triage.score.model import AccountInfo, Evidence, Reason, Unread
from triage.settings import ScoringSettings
from triage.types import language_name

__all__ = [
    "Quoted",
    "ask_points",
    "ask_reasons",
    "buying_reason",
    "complaint_reason",
    "decay",
    "drop_reason",
    "frustration_reason",
    "plural",
    "quote",
    "recency_reason",
    "repetition_reason",
    "slow_reason",
    "subtypes",
    "trend_reason",
    "unread_reason",
    "unread_text",
    "value_reason",
]

_MAX_AGE_BD = 20
_QUOTE_CHARS = 300


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def quote(text: str | None) -> str | None:
    """``text`` on one line, cut to 300 characters."""
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1].rstrip() + "…"


def decay(at: datetime, as_of: date, half_life: float) -> tuple[float, int]:
    days = max(0, (as_of - at.date()).days)
    return 0.5 ** (days / half_life), days


def _decayed(items: list[Evidence], weight: float, as_of: date, half_life: float) -> tuple[float, Evidence | None]:
    """weight x sum of strength x decay, and the item contributing most (latest on ties)."""
    scored = [(e.strength * decay(e.occurred_at, as_of, half_life)[0], e) for e in items]
    top = max(scored, key=lambda t: (t[0], t[1].occurred_at))[1] if scored else None
    return weight * sum(v for v, _ in scored), top


def subtypes(items: list[Evidence]) -> list[str]:
    return sorted({e.subtype for e in items if e.subtype})


def _sources_text(items: list[Evidence]) -> str:
    mails = sum(1 for e in items if e.source_type == "email")
    meets = len(items) - mails
    parts = [p for p in (mails and plural(mails, "message"), meets and plural(meets, "meeting")) if p]
    return " and ".join(parts)


def _reason_from(kind: str, text: str, weight: float, e: Evidence | None) -> Reason:
    if e is None:
        return Reason(kind, text, weight)
    return Reason(kind, text, weight, quote(e.sentence), e.link, e.occurred_at, e.signal_id, e.source_type, e.speaker)


@dataclass
class Quoted:
    """The messages/meetings already quoted: each reason quotes another one when it can."""

    shown: set[str] = field(default_factory=set)

    def pick(self, candidates: list[Evidence]) -> Evidence:
        best = next((e for e in candidates if e.source_key not in self.shown), candidates[0])
        self.shown.add(best.source_key)
        return best


class Scored(NamedTuple):
    points: float
    reason: Reason | None
    top: Evidence | None = None


def frustration_reason(frus: list[Evidence], as_of: date, cfg: ScoringSettings, quoted: Quoted) -> Scored:
    """Decayed sum over frustrated messages/meetings; quotes the strongest."""
    points, top = _decayed(frus, cfg.weights.frustration, as_of, cfg.half_life_days)
    if not (points > 0 and top is not None):
        return Scored(points, None, top)
    quoted.shown.add(top.source_key)
    threat = f", strongest: {top.subtype.replace('_', ' ')}" if top.subtype else ""
    text = f"Frustration in {_sources_text(frus)}{threat} (intensity {top.strength:.2f})"
    return Scored(points, _reason_from("frustration", text, points, top), top)


def repetition_reason(rep: list[Evidence], cfg: ScoringSettings, quoted: Quoted) -> Scored:
    """Several frustrated messages/meetings in the repetition window."""
    points = cfg.weights.frustration_repetition * min(max(len(rep) - 1, 0), cfg.repetition_cap)
    if points <= 0:
        return Scored(points, None)
    threads = len({e.thread_id or e.source_key for e in rep})
    latest = quoted.pick(sorted(rep, key=lambda e: (-e.strength, -e.occurred_at.timestamp(), e.signal_id)))
    text = (f"Frustrated {len(rep)} times in {plural(threads, 'conversation')} "
            f"in the last {cfg.repetition_days} days")
    return Scored(points, _reason_from("frustration_repetition", text, points, latest))


class Trend(NamedTuple):
    points: float
    reason: Reason | None
    recent: float
    expected: float


def trend_reason(recent_items: list[Evidence], base: float, cfg: ScoringSettings, quoted: Quoted) -> Trend:
    """Frustration of the last ``trend_days`` above what the account's own baseline predicts."""
    recent = sum(e.strength for e in recent_items)
    expected = base / cfg.baseline_days * cfg.trend_days
    points = cfg.weights.frustration_trend * max(0.0, recent - expected)
    if points <= 0:
        return Trend(points, None, recent, expected)
    latest = quoted.pick(sorted(recent_items, key=lambda e: (-e.occurred_at.timestamp(), e.signal_id)))
    text = (f"Frustration rising: {recent:.1f} in the last {cfg.trend_days} days vs {expected:.1f} expected "
            f"from its own {cfg.baseline_days}-day baseline")
    return Trend(points, _reason_from("frustration_trend", text, points, latest), recent, expected)


def complaint_reason(complaints: list[Evidence], as_of: date, cfg: ScoringSettings, quoted: Quoted) -> Scored:
    """The client reports a problem (broken, late, wrong, missing, billing...)."""
    points, top = _decayed(complaints, cfg.weights.complaint, as_of, cfg.half_life_days)
    if not (points > 0 and top is not None):
        return Scored(points, None, top)
    kinds = subtypes(complaints)
    what = f" ({', '.join(s.replace('_', ' ') for s in kinds)})" if kinds else ""
    shown_top = quoted.pick(sorted(complaints, key=lambda e: (-e.strength, -e.occurred_at.timestamp(), e.signal_id)))
    text = f"Problem reported{what} in {_sources_text(complaints)}"
    return Scored(points, _reason_from("complaint", text, points, shown_top), top)


def buying_reason(buys: list[Evidence], as_of: date, cfg: ScoringSettings) -> Scored:
    points, top = _decayed(buys, cfg.weights.buying_signal, as_of, cfg.half_life_days)
    if not (points > 0 and top is not None):
        return Scored(points, None, top)
    kinds = subtypes(buys)
    what = f" ({', '.join(s.replace('_', ' ') for s in kinds)})" if kinds else ""
    return Scored(points, _reason_from("buying_signal", f"Buying signal{what} in {_sources_text(buys)}", points, top),
                  top)


def ask_points(asks: list[Ask], scale: float) -> float:
    return sum(a.score * (1.0 + min(a.age_business_days, _MAX_AGE_BD) / scale) for a in asks)


def _ask_reason(kind: str, asks: list[Ask], weight: float, label: str) -> Reason:
    """``asks`` in list order (client asks first, the surest first): the first is quoted, the oldest dated."""
    oldest = max(asks, key=lambda a: (a.age_business_days, -a.opened_at.timestamp(), a.ask_id))
    top = asks[0]
    client = sum(1 for a in asks if a.kind == "client_ask")
    ours = len(asks) - client
    who = " and ".join(
        p
        for p in (
            client and plural(client, "client ask"),
            ours and plural(ours, "commitment of ours", "commitments of ours"),
        )
        if p
    )
    due = f", due {oldest.due_date.isoformat()}" if oldest.due_date else ""
    text = f"{who} {label} (oldest {plural(oldest.age_business_days, 'business day')}{due})"
    return Reason(kind, text, weight, quote(top.text), top.link, top.opened_at, top.ask_id, top.source_type,
                  top.asked_by)


def ask_reasons(overdue: list[Ask], fresh: list[Ask], cfg: ScoringSettings) -> list[tuple[str, float, Reason | None]]:
    """Overdue asks and open asks awaiting our reply: (component, points, reason) each."""
    out: list[tuple[str, float, Reason | None]] = []
    w, scale = cfg.weights, cfg.ask_age_scale_business_days
    for name, asks, weight, label in (("overdue_asks", overdue, w.overdue_ask, "overdue"),
                                      ("open_asks", fresh, w.open_ask, "awaiting our reply")):
        points = weight * ask_points(asks, scale)
        out.append((name, points, _ask_reason(name, asks, points, label) if asks and points > 0 else None))
    return out


def recency_reason(evidence: list[Evidence], counted: list[Ask], as_of: date, cfg: ScoringSettings,
                   quoted: Quoted) -> tuple[float, Reason | None, datetime | None]:
    """Decay of the latest counting evidence or ask; quotes it unless already quoted."""
    latest_at: datetime | None = None
    latest_ev: Evidence | None = None
    for e in evidence:
        if latest_at is None or e.occurred_at > latest_at:
            latest_at, latest_ev = e.occurred_at, e
    for a in counted:
        if latest_at is None or a.opened_at > latest_at:
            latest_at, latest_ev = a.opened_at, None
    if latest_at is None:
        return 0.0, None, None
    factor, days = decay(latest_at, as_of, cfg.half_life_days)
    points = cfg.weights.recency * factor
    when = "today" if days == 0 else f"{plural(days, 'day')} ago"
    show = latest_ev is not None and latest_ev.source_key not in quoted.shown
    reason = Reason(
        "recency",
        f"Latest signal {when}",
        points,
        quote(latest_ev.sentence) if latest_ev and show else None,
        latest_ev.link if latest_ev else None,
        latest_at,
        latest_ev.signal_id if latest_ev else None,
        latest_ev.source_type if latest_ev else None,
        latest_ev.speaker if latest_ev else None,
    )
    return points, reason, latest_at


def value_reason(account: AccountInfo, cfg: ScoringSettings, subtotal: float) -> tuple[float, float, Reason | None]:
    """Tier and value multipliers, and the reason that shows what they added (None when nothing)."""
    tier_mult = cfg.tier_multipliers.get((account.tier or "").lower(), 1.0)
    value_mult = 1.0 + cfg.weights.value * math.log1p(max(account.arr or 0.0, 0.0) / cfg.arr_reference)
    score = subtotal * tier_mult * value_mult
    if not (subtotal > 0 and score != subtotal):
        return tier_mult, value_mult, None
    tier = (account.tier or "no tier").capitalize()
    arr = f"ARR ${account.arr / 1000:,.0f}k" if account.arr else "no ARR"
    return tier_mult, value_mult, Reason("value", f"{tier} ×{tier_mult:.2f}, {arr} ×{value_mult:.2f}", score - subtotal)


def _days(v: float | None) -> str:
    return "?" if v is None else f"{v:.0f}" if v == int(v) else f"{v:.1f}"


def drop_reason(e: Engagement, cfg: ScoringSettings) -> Reason:
    """The call-list reason of an account gone quiet (quotes the last subject, links the last message)."""
    if e.drop_channel == "meetings" and e.last_meeting is not None:
        m = e.last_meeting
        text = (
            f"Meetings stopped: none for {e.meeting_silent_days} days since {m.meeting_at:%a %d %b}; usually "
            f"every {_days(e.usual_meeting_gap_days)} days ({plural(e.meetings, 'meeting')} in "
            f"{cfg.engagement_baseline_days} days)"
        )
        return Reason("engagement_drop", text, e.drop_points, quote(f"Last meeting: {m.title or 'untitled'}"),
                      m.link, m.meeting_at, None, "meeting", None)
    last = e.last_inbound
    assert last is not None
    text = (
        f"Gone quiet: no mail from the client for {e.silent_days} days "
        f"({plural(e.silent_business_days or 0, 'business day')}) since {last.sent_at:%a %d %b}; usually every "
        f"{_days(e.usual_gap_days)} days ({plural(e.inbound_messages, 'message')} in "
        f"{cfg.engagement_baseline_days} days)"
    )
    return Reason("engagement_drop", text, e.drop_points, quote(f"Last message: {last.subject or '(no subject)'}"),
                  last.link, last.sent_at, None, "email", last.sender)


def slow_reason(e: Engagement, cfg: ScoringSettings) -> Reason:
    """The call-list reason of a client kept waiting (quotes what needed the answer) or slower medians."""
    if e.slow_kind == "waiting" and e.waiting is not None and e.waiting_signal is not None:
        m, sig = e.waiting, e.waiting_signal
        state = f"answered {e.waiting_answered_at:%a %d %b}" if e.waiting_answered_at else "still waiting"
        text = (
            f"Kept waiting {plural(e.waiting_business_days or 0, 'business day')} for any reply from us "
            f"(since {m.sent_at:%a %d %b}, {state}; more than {cfg.slow_response_business_days} is slow)"
        )
        return Reason("slow_response", text, e.slow_points, quote(sig.sentence), m.link, m.sent_at,
                      sig.signal_id, "email", m.sender)
    recent = (e.median_reply_hours_recent or 0.0) / 24.0
    base = (e.median_reply_hours_baseline or 0.0) / 24.0
    text = (
        f"Slower replies: our median reply time {recent:.1f} days over the last {cfg.slow_response_window_days} "
        f"days ({plural(e.replies_recent, 'reply', 'replies')}) vs {base:.1f} days before "
        f"({plural(e.replies_baseline, 'reply', 'replies')})"
    )
    return Reason("slow_response", text, e.slow_points)


def _units_text(items: list[Unread]) -> str:
    mails = sum(1 for u in items if u.source_type == "email")
    meets = len(items) - mails
    return " and ".join(p for p in (mails and plural(mails, "message"), meets and plural(meets, "meeting")) if p)


def unread_text(items: list[Unread]) -> tuple[str, list[str]]:
    """"3 messages in German not analysed since Thu 12 Nov" (several languages: "4 messages not analysed since
    Thu 12 Nov: 2 in German, 1 in French, 1 in Spanish"), and the languages, most frequent first."""
    since = min(u.occurred_at for u in items)
    counts = Counter(u.language for u in items)
    langs = sorted(counts, key=lambda lang: (-counts[lang], language_name(lang)))
    if len(langs) == 1:
        return f"{_units_text(items)} in {language_name(langs[0])} not analysed since {since:%a %d %b}", langs
    each = ", ".join(f"{counts[lang]} in {language_name(lang)}" for lang in langs)
    return f"{_units_text(items)} not analysed since {since:%a %d %b}: {each}", langs


def unread_reason(items: list[Unread], as_of: date, cfg: ScoringSettings) -> tuple[float, Reason | None, list[str]]:
    """Client mail and meetings in a language the detectors do not read: w.unread_language x decay of the
    newest; "3 messages in German not analysed since Thu 12 Nov", linking the newest. Also returns the
    languages, most frequent first."""
    if not items:
        return 0.0, None, []
    newest = max(items, key=lambda u: (u.occurred_at, u.source_key))
    points = cfg.weights.unread_language * decay(newest.occurred_at, as_of, cfg.half_life_days)[0]
    text, langs = unread_text(items)
    what = "meeting" if newest.source_type == "meeting" else "message"
    evidence = quote(f"Newest {what} ({language_name(newest.language)}): {newest.subject or '(no subject)'}")
    if points <= 0:
        return points, None, langs
    return points, Reason("unread_language", text, points, evidence, newest.link, newest.occurred_at, None,
                          newest.source_type, newest.speaker), langs
