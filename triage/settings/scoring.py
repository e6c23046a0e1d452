"""The ``[scoring]`` section: weights of the priority formula, windows, thresholds (docs/scoring.md)."""

from __future__ import annotations

from pydantic import Field

from triage.settings.base import Section

__all__ = ["ScoringSettings", "ScoringWeights"]


class ScoringWeights(Section):
    """Points per unit of each score component (see triage/score/priority.py for the formulas)."""

    #: per frustrated message/meeting: max intensity there x time decay
    frustration: float = 3.0
    #: per unit of frustration this week above what the account's own baseline predicts
    frustration_trend: float = 1.5
    #: per extra frustrated message/meeting (beyond the first) in the repetition window
    frustration_repetition: float = 0.75
    #: per open ask/commitment, x (1 + age / ask_age_scale_business_days)
    open_ask: float = 1.0
    #: per overdue ask/commitment, same age factor
    overdue_ask: float = 2.0
    #: per message/meeting where the client reports a problem: max detector score x time decay
    complaint: float = 2.0
    #: per message/meeting with a buying signal: max detector score x time decay
    buying_signal: float = 1.5
    #: x time decay of the latest counting evidence
    recency: float = 1.0
    #: value multiplier = 1 + value x ln(1 + ARR / arr_reference)
    value: float = 0.3
    #: a normally active account gone quiet: x min(2, silence / (engagement_gap_factor x usual gap))
    engagement_drop: float = 3.0
    #: a client kept waiting: x the waiting message's detector score x min(2, wait / slow_response_business_days);
    #: or our median reply time up on the account's own baseline: x min(2, ratio / slow_response_factor)
    slow_response: float = 2.0
    #: client mail (or a meeting) in a language the detectors do not read ([nlp] languages): x time decay of
    #: the newest such message; nothing in it was scored, so this small amount says "look": fresh, it lists an
    #: otherwise quiet account for about three days (3.0 x decay >= min_score 2.5)
    unread_language: float = 3.0


class ScoringSettings(Section):
    weights: ScoringWeights = Field(default_factory=lambda: ScoringWeights())
    #: multiplier per account tier (unknown tiers count 1.0)
    tier_multipliers: dict[str, float] = Field(
        default_factory=lambda: {"strategic": 1.5, "enterprise": 1.3, "growth": 1.0, "smb": 0.8}
    )
    half_life_days: float = Field(14.0, gt=0)
    lookback_days: int = Field(90, gt=0)
    baseline_days: int = Field(60, gt=0)
    #: the "recent" window whose frustration is compared with the baseline before it
    trend_days: int = Field(7, gt=0)
    #: window in which several frustrated messages/meetings earn the repetition bonus
    repetition_days: int = Field(14, gt=0)
    repetition_cap: int = Field(4, ge=0)
    #: an open ask without a due date is overdue when older than this (business days)
    ask_overdue_business_days: int = Field(2, ge=0)
    ask_age_scale_business_days: float = Field(5.0, gt=0)
    arr_reference: float = Field(50_000.0, gt=0)
    max_accounts: int = Field(20, gt=0)
    #: list an account only when its evidence points (components before the tier/value multipliers,
    #: recency excluded) reach this: a single fresh question or a weak signal is not a reason to call
    min_score: float = Field(2.5, ge=0)
    #: engagement (docs/scoring.md): the window a client's usual inbound and meeting cadence is measured over
    engagement_baseline_days: int = Field(180, gt=0)
    #: an account is "normally active" with at least this many inbound messages (or meetings) in that window
    engagement_min_contacts: int = Field(4, ge=2)
    #: gone quiet: no inbound mail (or meeting) for more than this x its usual gap ...
    engagement_gap_factor: float = Field(2.0, gt=1)
    #: ... and at least this many business days
    engagement_min_business_days: int = Field(10, ge=0)
    #: slow response: a client message that needs an answer (a client ask or frustration)
    #: waited more than this many business days for any reply (mail in its thread, or a meeting) ...
    slow_response_business_days: int = Field(3, ge=0)
    #: ... within the last this many days; also the "recent" window of median reply times
    slow_response_window_days: int = Field(30, gt=0)
    #: ... or our median reply time in that window is more than this x the median of the baseline before
    slow_response_factor: float = Field(2.0, gt=1)
    #: replies needed on each side (recent, baseline) before medians are compared
    slow_response_min_replies: int = Field(3, gt=0)
