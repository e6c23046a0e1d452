"""Score owns who to call and why: ask resolution, engagement, account priority, the daily call list.

:func:`build_call_list` reads its inputs in one read phase, computes in memory (pure functions in
:mod:`.asks`, :mod:`.priority`, :mod:`.brief`) and writes the asks, the account scores and the call
list of ``as_of`` in one short transaction. Re-running it for the same day replaces that day's rows
with identical ones (only the ``computed_at``/``created_at`` stamps change).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date

from triage.db import Database
from triage.log import get_logger
from triage.progress import track
from triage.score.asks import Ask, ReplyIndex, resolve_asks
from triage.score.brief import build_brief
from triage.score.calendar import day_end
from triage.score.engagement import (
    Engagement,
    Inbound,
    MeetingContact,
    NeedsReply,
    OutboundIndex,
    measure_engagement,
)
from triage.score.engagement_store import write_engagement
from triage.score.feedback import SNOOZE_BREAKERS
from triage.score.inputs import ScoreInputs, load_inputs
from triage.score.model import AccountScore, Evidence, Unread
from triage.score.priority import is_new_evidence, score_account
from triage.score.store import ListedAccount, write_partial, write_results
from triage.settings import ScoringSettings, Settings
from triage.types import ScoreReport

__all__ = ["ScoreResult", "build_call_list", "compute", "measure_all", "rebuild_accounts", "rebuild_latest"]

log = get_logger("score")


@dataclass
class ScoreResult:
    asks: list[Ask]
    scores: list[AccountScore]
    listed: list[ListedAccount]
    engagement: list[Engagement] = field(default_factory=list)

    def report(self) -> ScoreReport:
        return ScoreReport(
            asks_open=sum(1 for a in self.asks if a.status == "open"),
            asks_resolved=sum(1 for a in self.asks if a.status == "resolved"),
            accounts_scored=len(self.scores),
            accounts_listed=len(self.listed),
        )


def _needs_reply(inputs: ScoreInputs) -> dict[str, NeedsReply]:
    """Per client message, its strongest counting client ask or frustration (it needs an answer).

    A complaint alone does not: "we received the invoice, forwarded for payment" is a typical complaint
    false positive on a mail that needs no reply, and an open ask or frustration is what a reply must meet."""
    best: dict[str, NeedsReply] = {}
    items = [
        (a.source_key, a.signal_id, a.kind, a.score, a.sentence)
        for a in inputs.ask_signals
        if a.kind == "ask" and a.party == "client" and a.source_type == "email" and a.signal_id not in inputs.dismissed
    ]
    items += [
        (e.source_key, e.signal_id, e.kind, e.score, e.sentence)
        for e in inputs.evidence
        if e.kind == "frustration" and e.source_type == "email"
    ]
    for key, sid, kind, score, sentence in items:
        cur = best.get(key)
        if cur is None or (score, cur.signal_id) > (cur.score, sid):
            best[key] = NeedsReply(sid, kind, score, sentence)
    return best


def measure_all(inputs: ScoreInputs, as_of: date, cfg: ScoringSettings) -> dict[str, Engagement]:
    """Engagement of every account with client mail or meetings in the window (pure)."""
    inbound: dict[str, list[Inbound]] = defaultdict(list)
    for m in inputs.inbound:
        inbound[m.account_id].append(m)
    meetings: dict[str, list[MeetingContact]] = defaultdict(list)
    for t in inputs.activity_meetings:
        meetings[t.account_id].append(t)
    replies = OutboundIndex((r.thread_id, r.sent_at) for r in inputs.replies)
    needs = _needs_reply(inputs)
    return {
        acc: measure_engagement(
            acc, inbound.get(acc, []), meetings.get(acc, []), replies, needs, as_of, cfg, done_at=inputs.done.get(acc)
        )
        for acc in sorted((set(inbound) | set(meetings)) & set(inputs.accounts))
    }


def _snoozed(inputs: ScoreInputs, account_id: str, evidence: dict[str, list[Evidence]], as_of: date) -> bool:
    """Snoozed through a day not yet past, and no churn threat or escalation since the snooze."""
    snooze = inputs.snoozed.get(account_id)
    if snooze is None or as_of > snooze[0]:
        return False
    set_at = snooze[1]
    return not any(
        e.kind == "frustration" and e.subtype in SNOOZE_BREAKERS
        and is_new_evidence(e.occurred_at, inputs.first_seen.get(e.source_key), set_at)
        for e in evidence.get(account_id, [])
    )


def compute(inputs: ScoreInputs, as_of: date, cfg: ScoringSettings) -> ScoreResult:
    """Pure: resolve the asks, score every account with evidence, rank the list and write the briefs."""
    index = ReplyIndex(inputs.replies, inputs.meetings)
    asks = resolve_asks(
        inputs.ask_signals,
        index,
        as_of,
        overdue_after_business_days=cfg.ask_overdue_business_days,
        dismissed=inputs.dismissed,
        answered=inputs.answered,
    )
    asks_by_account: dict[str, list[Ask]] = defaultdict(list)
    for a in asks:
        if a.account_id in inputs.accounts and a.status != "dismissed":
            asks_by_account[a.account_id].append(a)
    ev_by_account: dict[str, list[Evidence]] = defaultdict(list)
    for e in inputs.evidence:
        if e.account_id in inputs.accounts:
            ev_by_account[e.account_id].append(e)
    unread: dict[str, list[Unread]] = defaultdict(list)
    for u in inputs.unread:
        unread[u.account_id].append(u)
    cutoff = day_end(as_of)
    engagement = measure_all(inputs, as_of, cfg)
    candidates = sorted(
        {acc for acc, items in ev_by_account.items() if items}
        | {
            acc
            for acc, items in asks_by_account.items()
            if any(a.is_open and a.opened_at < cutoff for a in items)
        }
        | {acc for acc, e in engagement.items() if e.drop_points > 0 or e.slow_points > 0}
        | {acc for acc, items in unread.items() if items and acc in inputs.accounts}
    )
    scores: list[AccountScore] = []
    with track("Scoring accounts", len(candidates)) as t:
        for acc in candidates:
            scores.append(
                score_account(
                    inputs.accounts[acc],
                    ev_by_account.get(acc, []),
                    asks_by_account.get(acc, []),
                    as_of,
                    cfg,
                    done_at=inputs.done.get(acc),
                    source_first_seen=inputs.first_seen.get,
                    engagement=engagement.get(acc),
                    unread=unread.get(acc, []),
                )
            )
            t.advance()
    for s in scores:
        if s.skipped_reason is None and (s.score <= 0 or s.components["evidence"] < cfg.min_score):
            s.skipped_reason = "below_min_score"
        if s.skipped_reason is None and _snoozed(inputs, s.account.account_id, ev_by_account, as_of):
            s.skipped_reason = "snoozed"
    ranked = sorted(
        (s for s in scores if s.skipped_reason is None),
        key=lambda s: (-round(s.score, 6), s.account.account_id),
    )
    for s in ranked[cfg.max_accounts :]:
        s.skipped_reason = "beyond_max_accounts"

    def name_of(speaker: str | None) -> str | None:
        return inputs.contacts.get((speaker or "").lower(), speaker) if speaker else None

    listed = []
    for i, s in enumerate(ranked[: cfg.max_accounts], start=1):
        brief = build_brief(s, name_of)
        # readers see people's names (from the contacts) rather than addresses where known
        s.reasons = [replace(r, speaker=name_of(r.speaker)) for r in s.reasons]
        s.open_asks = [replace(a, asked_by=name_of(a.asked_by)) for a in s.open_asks]
        listed.append(ListedAccount(i, s, brief))
    return ScoreResult(asks, scores, listed, list(engagement.values()))


def build_call_list(settings: Settings, db: Database, as_of: date, run_id: str | None) -> ScoreReport:
    """Resolve asks, score accounts and replace the call list of ``as_of``."""
    cfg = settings.scoring
    with db.read() as con:
        inputs = load_inputs(con, as_of, cfg, languages=settings.nlp.languages)
    result = compute(inputs, as_of, cfg)
    with db.write() as con:
        write_results(con, as_of, run_id, result.asks, result.scores, result.listed)
        write_engagement(con, as_of, run_id, result.engagement)
    report = result.report()
    log.info(
        "call list %s: %d accounts listed of %d scored; asks %d open, %d resolved",
        as_of,
        report.accounts_listed,
        report.accounts_scored,
        report.asks_open,
        report.asks_resolved,
    )
    return report


def rebuild_accounts(settings: Settings, db: Database, accounts: set[str]) -> date | None:
    """The latest stored list again after feedback on ``accounts`` (an AM's click): only they are scored
    again; every other account keeps its score and reasons and moves only in rank. Exactly what the full
    build gives (a test compares them), at a fraction of its cost; when another account would come onto
    the list, its reasons and brief are needed and the full build runs instead. None when no list exists."""
    cfg = settings.scoring
    with db.read() as con:
        row = con.execute("SELECT as_of, run_id FROM call_list_builds ORDER BY as_of DESC LIMIT 1").fetchone()
        if row is None or row[0] is None:
            return None
        as_of, run_id = row[0], row[1]
        inputs = load_inputs(con, as_of, cfg, only=accounts, languages=settings.nlp.languages)
        others = [(str(a), float(sc), sk) for a, sc, sk in con.execute(
            "SELECT account_id, score, skipped_reason FROM account_scores WHERE as_of = ? AND account_id NOT IN "
            "(SELECT unnest(?::VARCHAR[]))", [as_of, sorted(accounts)]).fetchall()]
        listed_before = {str(r[0]) for r in con.execute("SELECT account_id FROM call_list WHERE as_of = ?",
                                                        [as_of]).fetchall()}
    result = compute(inputs, as_of, cfg)
    mine = [(s.account.account_id, s.score, s.skipped_reason) for s in result.scores]
    eligible = [(a, sc) for a, sc, sk in [*others, *mine] if sk in (None, "beyond_max_accounts")]
    ranked = sorted(eligible, key=lambda t: (-round(t[1], 6), t[0]))
    top = [a for a, _ in ranked[: cfg.max_accounts]]
    briefed = {e.scored.account.account_id for e in result.listed}
    if any(a not in briefed if a in accounts else a not in listed_before for a in top):
        build_call_list(settings, db, as_of, run_id)  # a newcomer: its reasons and brief are needed
        return date.fromisoformat(str(as_of))
    ranks: dict[str, int | None] = {a: None for a, _ in ranked}
    ranks.update({a: i for i, a in enumerate(top, start=1)})
    with db.write() as con:
        write_partial(con, as_of, run_id, accounts, result.asks, result.scores, result.listed, ranks)
        write_engagement(con, as_of, run_id, result.engagement, only=accounts)
    return date.fromisoformat(str(as_of))


def rebuild_latest(settings: Settings, db: Database) -> date | None:
    """Re-build the most recent stored call list (after feedback), keeping its run id; None if none."""
    with db.read() as con:
        row = con.execute("SELECT as_of, run_id FROM call_list_builds ORDER BY as_of DESC LIMIT 1").fetchone()
    if row is None or row[0] is None:
        return None
    build_call_list(settings, db, row[0], row[1])
    return date.fromisoformat(str(row[0]))
