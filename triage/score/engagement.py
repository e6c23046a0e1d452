"""Engagement from message metadata: has a normally active account gone quiet, and do we answer slowly?

Pure logic over rows already read from DuckDB (:mod:`triage.score.store` does the I/O). For one
account, with ``cutoff`` = the end of ``as_of`` (UTC):

* **engagement_drop** -- the client's usual cadence is the median gap (calendar days) between the
  distinct days it wrote to us (inbound mail a person sent; machine-sent mail never counts) in the
  ``engagement_baseline_days`` before ``cutoff``; the same for meetings. An account with at least
  ``engagement_min_contacts`` such days is *normally active*; it has *gone quiet* when the time since
  the last one is more than ``engagement_gap_factor`` x its usual gap **and** at least
  ``engagement_min_business_days`` business days (a meeting since the last mail ends the silence
  of mail; regular meetings that stopped count on their own). Points: ``w.engagement_drop x min(2,
  silence / (gap_factor x usual gap))`` (the stronger of mail and meetings).
* **slow_response** -- a client message that needs an answer (it carries a client ask or frustration
  that counts) sent in the last ``slow_response_window_days`` waited more than
  ``slow_response_business_days`` business days for *any* reply: our first later mail in its thread,
  or a later meeting in which one of us speaks (still waiting: until ``as_of``). Points:
  ``w.slow_response x its detector score x min(2, wait / slow_response_business_days)`` for the worst
  such message. Or our **median reply time** (inbound mail -> our first later mail in the thread) in
  that window is more than ``slow_response_factor`` x the median over the ``engagement_baseline_days``
  before it (at least ``slow_response_min_replies`` replies on each side): ``w.slow_response x
  min(2, ratio / factor)``. The larger of the two counts.

After ``triage done``, only what is new counts: a message waiting since before the done is not a
reason any more, and silence that began before the done is not either (the AM has called).
"""

from __future__ import annotations

import bisect
import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from triage.score.calendar import business_days_between, day_end
from triage.settings import ScoringSettings

__all__ = [
    "Engagement",
    "Inbound",
    "MeetingContact",
    "NeedsReply",
    "OutboundIndex",
    "measure_engagement",
]

_CAP = 2.0


@dataclass(frozen=True)
class Inbound:
    """A client's message to us (``messages.direction = 'inbound'``, not machine-sent)."""

    message_key: str
    account_id: str
    thread_id: str | None
    sent_at: datetime  # aware UTC
    sender: str | None
    subject: str | None
    link: str | None


@dataclass(frozen=True)
class MeetingContact:
    """A meeting with the account; ``with_us``: one of ours speaks in it (it answers what was asked)."""

    transcript_key: str
    account_id: str
    meeting_at: datetime
    title: str | None
    link: str | None
    with_us: bool


@dataclass(frozen=True)
class NeedsReply:
    """The strongest counting client signal (ask or frustration) of a message."""

    signal_id: str
    kind: str
    score: float
    sentence: str


class OutboundIndex:
    """Our outbound mail per thread, for "the first reply after t"."""

    def __init__(self, outbound: Iterable[tuple[str | None, datetime]]) -> None:
        by_thread: dict[str, list[datetime]] = defaultdict(list)
        for thread_id, at in outbound:
            if thread_id:
                by_thread[thread_id].append(at)
        self._by_thread = {k: sorted(v) for k, v in by_thread.items()}

    def first_after(self, thread_id: str | None, at: datetime) -> datetime | None:
        times = self._by_thread.get(thread_id or "")
        if not times:
            return None
        i = bisect.bisect_right(times, at)
        return times[i] if i < len(times) else None


@dataclass
class Engagement:
    """What the account's message metadata says at ``as_of`` (a row of ``account_engagement``)."""

    account_id: str
    inbound_messages: int = 0
    last_inbound: Inbound | None = None
    usual_gap_days: float | None = None
    silent_days: int | None = None
    silent_business_days: int | None = None
    meetings: int = 0
    last_meeting: MeetingContact | None = None
    usual_meeting_gap_days: float | None = None
    meeting_silent_days: int | None = None
    replies_recent: int = 0
    replies_baseline: int = 0
    median_reply_hours_recent: float | None = None
    median_reply_hours_baseline: float | None = None
    waiting: Inbound | None = None
    waiting_signal: NeedsReply | None = None
    waiting_business_days: int | None = None
    waiting_answered_at: datetime | None = None
    drop_channel: str | None = None  # mail | meetings
    drop_points: float = 0.0
    slow_kind: str | None = None  # waiting | median
    slow_points: float = 0.0

    def row(self) -> dict[str, Any]:
        """Column values of ``account_engagement`` (without as_of, computed_at, run_id)."""
        return {
            "account_id": self.account_id,
            "inbound_messages": self.inbound_messages,
            "last_inbound_at": self.last_inbound.sent_at if self.last_inbound else None,
            "last_inbound_key": self.last_inbound.message_key if self.last_inbound else None,
            "usual_gap_days": _r(self.usual_gap_days),
            "silent_days": self.silent_days,
            "silent_business_days": self.silent_business_days,
            "meetings": self.meetings,
            "last_meeting_at": self.last_meeting.meeting_at if self.last_meeting else None,
            "usual_meeting_gap_days": _r(self.usual_meeting_gap_days),
            "replies_recent": self.replies_recent,
            "replies_baseline": self.replies_baseline,
            "median_reply_hours_recent": _r(self.median_reply_hours_recent),
            "median_reply_hours_baseline": _r(self.median_reply_hours_baseline),
            "longest_wait_business_days": self.waiting_business_days,
            "waiting_message_key": self.waiting.message_key if self.waiting else None,
            "waiting_since": self.waiting.sent_at if self.waiting else None,
            "waiting_answered_at": self.waiting_answered_at,
            "engagement_drop": self.drop_points > 0,
            "drop_channel": self.drop_channel,
            "engagement_drop_points": round(self.drop_points, 4),
            "slow_response": self.slow_points > 0,
            "slow_kind": self.slow_kind,
            "slow_response_points": round(self.slow_points, 4),
        }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def _cadence(days: list[date]) -> float | None:
    """Median gap in days between distinct consecutive days (None with fewer than two)."""
    if len(days) < 2:
        return None
    return float(statistics.median((b - a).days for a, b in itertools.pairwise(days)))


def _drop(
    days: list[date], as_of: date, cfg: ScoringSettings
) -> tuple[float | None, int | None, int | None, float]:
    """(usual gap, silent days, silent business days, ratio) -- ratio > 1 means gone quiet."""
    gap = _cadence(days)
    if not days:
        return None, None, None, 0.0
    silent = (as_of - days[-1]).days
    silent_bd = business_days_between(days[-1], as_of)
    if gap is None or len(days) < cfg.engagement_min_contacts:
        return gap, silent, silent_bd, 0.0
    limit = cfg.engagement_gap_factor * max(gap, 1.0)
    if silent > limit and silent_bd >= cfg.engagement_min_business_days:
        return gap, silent, silent_bd, silent / limit
    return gap, silent, silent_bd, 0.0


def measure_engagement(
    account_id: str,
    inbound: list[Inbound],
    meetings: list[MeetingContact],
    replies: OutboundIndex,
    needs_reply: dict[str, NeedsReply],
    as_of: date,
    cfg: ScoringSettings,
    *,
    done_at: datetime | None = None,
) -> Engagement:
    """The engagement of one account (``inbound`` and ``meetings`` are the account's, any order)."""
    cutoff = day_end(as_of)
    inbound = sorted((m for m in inbound if m.sent_at < cutoff), key=lambda m: (m.sent_at, m.message_key))
    meetings = sorted((m for m in meetings if m.meeting_at < cutoff), key=lambda m: m.meeting_at)
    e = Engagement(account_id)
    _silence(e, inbound, meetings, as_of, cfg, done_at)
    median_points = _reply_times(e, inbound, replies, as_of, cfg)
    waiting_points = _longest_wait(e, inbound, meetings, replies, needs_reply, as_of, cfg, done_at)
    if waiting_points > 0 or median_points > 0:
        e.slow_kind = "waiting" if waiting_points >= median_points else "median"
        e.slow_points = max(waiting_points, median_points)
    return e


def _silence(e: Engagement, inbound: list[Inbound], meetings: list[MeetingContact], as_of: date,
             cfg: ScoringSettings, done_at: datetime | None) -> None:
    """Cadence and silence, mail and meetings: ``drop_points`` when a normally active account went quiet."""
    w = cfg.weights
    base_start = day_end(as_of) - timedelta(days=cfg.engagement_baseline_days)
    window = [m for m in inbound if m.sent_at >= base_start]
    e.inbound_messages = len(window)
    e.last_inbound = inbound[-1] if inbound else None
    mail_days = sorted({m.sent_at.date() for m in window})
    e.usual_gap_days, e.silent_days, e.silent_business_days, mail_ratio = _drop(mail_days, as_of, cfg)
    meet_window = [m for m in meetings if m.meeting_at >= base_start]
    e.meetings = len(meet_window)
    e.last_meeting = meetings[-1] if meetings else None
    meet_days = sorted({m.meeting_at.date() for m in meet_window})
    e.usual_meeting_gap_days, e.meeting_silent_days, _, meet_ratio = _drop(meet_days, as_of, cfg)
    last_contact = max(
        (t for t in (e.last_inbound and e.last_inbound.sent_at, e.last_meeting and e.last_meeting.meeting_at) if t),
        default=None,
    )
    # a meeting after the last mail means they are not silent (mail); regular meetings that stopped count
    # on their own, even while mail goes on
    if mail_ratio and e.last_meeting and e.last_inbound and e.last_meeting.meeting_at > e.last_inbound.sent_at:
        mail_ratio = 0.0
    if done_at is not None and last_contact is not None and done_at > last_contact:
        mail_ratio = meet_ratio = 0.0  # called since they went quiet
    ratio = max(mail_ratio, meet_ratio)
    if ratio > 0:
        e.drop_channel = "mail" if mail_ratio >= meet_ratio else "meetings"
        e.drop_points = w.engagement_drop * min(_CAP, ratio)



def _reply_times(e: Engagement, inbound: list[Inbound], replies: OutboundIndex, as_of: date,
                 cfg: ScoringSettings) -> float:
    """Our reply times (inbound mail -> our first later mail in the thread), recent vs baseline; the
    points when the recent median is slower than the account's own baseline."""
    w = cfg.weights
    cutoff = day_end(as_of)
    recent_start = cutoff - timedelta(days=cfg.slow_response_window_days)
    reply_base_start = recent_start - timedelta(days=cfg.engagement_baseline_days)
    recent_hours: list[float] = []
    base_hours: list[float] = []
    for m in inbound:
        if m.sent_at < reply_base_start:
            continue
        at = replies.first_after(m.thread_id, m.sent_at)
        if at is None or at >= cutoff:
            continue
        hours = (at - m.sent_at).total_seconds() / 3600.0
        (recent_hours if m.sent_at >= recent_start else base_hours).append(hours)
    e.replies_recent, e.replies_baseline = len(recent_hours), len(base_hours)
    e.median_reply_hours_recent = statistics.median(recent_hours) if recent_hours else None
    e.median_reply_hours_baseline = statistics.median(base_hours) if base_hours else None
    median_points = 0.0
    if (
        len(recent_hours) >= cfg.slow_response_min_replies
        and len(base_hours) >= cfg.slow_response_min_replies
        and e.median_reply_hours_recent is not None
        and e.median_reply_hours_baseline is not None
    ):
        ratio = e.median_reply_hours_recent / max(e.median_reply_hours_baseline, 1.0)
        if ratio > cfg.slow_response_factor and e.median_reply_hours_recent >= 24.0:
            median_points = w.slow_response * min(_CAP, ratio / cfg.slow_response_factor)

    return median_points


def _longest_wait(e: Engagement, inbound: list[Inbound], meetings: list[MeetingContact], replies: OutboundIndex,
                  needs_reply: dict[str, NeedsReply], as_of: date, cfg: ScoringSettings,
                  done_at: datetime | None) -> float:
    """The longest wait for any reply (mail in the thread, or a meeting with us) of a client message that
    needs one; the points when it is longer than ``slow_response_business_days``."""
    w = cfg.weights
    cutoff = day_end(as_of)
    recent_start = cutoff - timedelta(days=cfg.slow_response_window_days)
    with_us = sorted(m.meeting_at for m in meetings if m.with_us)
    waiting_points = 0.0
    limit_bd = max(cfg.slow_response_business_days, 1)
    for m in inbound:
        sig = needs_reply.get(m.message_key)
        if sig is None or m.sent_at < recent_start or (done_at is not None and m.sent_at <= done_at):
            continue
        answered = replies.first_after(m.thread_id, m.sent_at)
        i = bisect.bisect_right(with_us, m.sent_at)
        meeting_at = with_us[i] if i < len(with_us) else None
        end = min((t for t in (answered, meeting_at) if t is not None and t < cutoff), default=None)
        waited = business_days_between(m.sent_at.date(), (end or cutoff - timedelta(seconds=1)).date())
        if e.waiting_business_days is None or waited > e.waiting_business_days:
            e.waiting, e.waiting_signal, e.waiting_business_days, e.waiting_answered_at = m, sig, waited, end
        if waited > cfg.slow_response_business_days:
            pts = w.slow_response * sig.score * min(_CAP, waited / limit_bd)
            if pts > waiting_points:
                waiting_points = pts
                e.waiting, e.waiting_signal, e.waiting_business_days, e.waiting_answered_at = m, sig, waited, end
    return waiting_points
