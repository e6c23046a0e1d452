"""Reading what scoring needs for a day, in one read phase (the read half of the score floor's I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from triage.score.asks import AskSignal, Meeting, Reply
from triage.score.calendar import day_end, to_utc
from triage.score.engagement import Inbound, MeetingContact
from triage.score.engagement_store import load_activity
from triage.score.model import AccountInfo, Evidence, Unread
from triage.settings import ScoringSettings

__all__ = ["ScoreInputs", "load_inputs", "load_unread"]

# signals with a usable time and a link: the signal's own, else the message / transcript moment. The joins
# are on the key alone (a join condition that also tests source_type makes DuckDB plan a nested loop:
# 0.9 s instead of 3 ms over 10,000 signals); source_type picks the side in the expressions instead.
_SIGNALS = """
WITH sig AS (
    SELECT s.*,
           coalesce(s.occurred_at,
                    CASE WHEN s.source_type = 'email' THEN m.sent_at END,
                    CASE WHEN s.source_type = 'meeting'
                         THEN t.meeting_at + to_microseconds(CAST(coalesce(s.start_s, 0) * 1e6 AS BIGINT)) END,
                    s.created_at) AS sig_at,
           coalesce(s.link,
                    CASE WHEN s.source_type = 'email' THEN m.link
                         ELSE t.link || CASE WHEN s.start_s IS NULL THEN ''
                                             ELSE '#t=' || CAST(floor(s.start_s) AS BIGINT) END
                    END) AS any_link
    FROM signals s
    LEFT JOIN messages m ON m.message_key = s.source_key
    LEFT JOIN transcripts t ON t.transcript_key = s.source_key
)
"""


@dataclass
class ScoreInputs:
    accounts: dict[str, AccountInfo]
    contacts: dict[str, str]
    ask_signals: list[AskSignal]
    evidence: list[Evidence]
    replies: list[Reply]
    meetings: list[Meeting]
    dismissed: set[str]
    done: dict[str, datetime]
    first_seen: dict[str, datetime] = field(default_factory=dict)
    #: asks and promises closed by hand; snoozed accounts (see :class:`Feedback`)
    answered: dict[str, tuple[datetime, str | None]] = field(default_factory=dict)
    snoozed: dict[str, tuple[date, datetime]] = field(default_factory=dict)
    #: client mail and meetings for engagement (going quiet, slow answers)
    inbound: list[Inbound] = field(default_factory=list)
    activity_meetings: list[MeetingContact] = field(default_factory=list)
    #: client mail and meetings in a language the detectors do not read
    unread: list[Unread] = field(default_factory=list)


def _utc(v: Any) -> datetime:
    out = to_utc(v)
    assert out is not None
    return out


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(v: int) -> datetime:
    """Epoch microseconds (``epoch_us(ts)`` in SQL) -> aware UTC datetime; much faster than letting the
    driver convert TIMESTAMPTZ values one by one."""
    return _EPOCH + timedelta(microseconds=v)


def load_inputs(con: duckdb.DuckDBPyConnection, as_of: date, cfg: ScoringSettings,
                only: set[str] | None = None, languages: Iterable[str] = ("en",)) -> ScoreInputs:
    """Everything scoring needs for ``as_of``, read in one go (dismissed evidence already removed); with
    ``only``, what the accounts in it need (the web app's clicks re-score one account); ``languages``: those
    the detectors read (``[nlp] languages``)."""
    con.execute("SET TimeZone = 'UTC'")
    cutoff = day_end(as_of)
    start = cutoff - timedelta(days=max(cfg.lookback_days, cfg.trend_days + cfg.baseline_days))
    accounts, contacts = _accounts(con)
    scored = sorted(accounts if only is None else set(accounts) & only)
    con.register("_scored_accounts", pa.table({"account_id": pa.array(scored, pa.string())}))
    try:
        fb = _feedback(con)
        replies, meetings = _replies_and_meetings(con, cutoff, partial=only is not None)
        inbound, activity = load_activity(con, as_of, cfg)
        unread = load_unread(con, cutoff - timedelta(days=cfg.lookback_days), cutoff, languages)
        return ScoreInputs(
            accounts, contacts, _ask_signals(con, cutoff, partial=only is not None),
            _evidence(con, start, cutoff, fb.dismissed), replies, meetings,
            fb.dismissed, fb.done, _first_seen(con, fb.done | {a: s[1] for a, s in fb.snoozed.items()}),
            answered=fb.answered, snoozed=fb.snoozed, inbound=inbound, activity_meetings=activity,
            unread=unread if only is None else [u for u in unread if u.account_id in only],
        )
    finally:
        con.unregister("_scored_accounts")


def _accounts(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, AccountInfo], dict[str, str]]:
    accounts = {
        r[0]: AccountInfo(r[0], r[1], r[2], r[3], r[4], r[5])
        for r in con.execute(
            "SELECT account_id, name, owner_am, am_email, tier, arr FROM accounts"
        ).fetchall()
    }
    contacts = {
        str(r[0]).lower(): str(r[1])
        for r in con.execute(
            "SELECT email, name FROM contacts WHERE name IS NOT NULL AND name <> ''"
        ).fetchall()
    }
    return accounts, contacts


@dataclass
class Feedback:
    """What the AMs' actions that still hold (not undone) say, as scoring needs it."""

    dismissed: set[str] = field(default_factory=set)
    #: latest done per account
    done: dict[str, datetime] = field(default_factory=dict)
    #: asks and promises closed by hand: when, by whom
    answered: dict[str, tuple[datetime, str | None]] = field(default_factory=dict)
    #: latest snooze per account: (through this day, set at)
    snoozed: dict[str, tuple[date, datetime]] = field(default_factory=dict)


def _feedback(con: duckdb.DuckDBPyConnection) -> Feedback:
    # dismissed, and the same words of the same kind dismissed as the wrong kind (the view's doc)
    fb = Feedback(dismissed={str(r[0]) for r in con.execute("SELECT signal_id FROM v_dismissed_signals").fetchall()})
    for action, account, _signal, ask, author, at, until in con.execute(
        """SELECT action, account_id, signal_id, ask_id, author, created_at, until_date FROM feedback
           WHERE undone_at IS NULL AND action IN ('done', 'answered', 'snooze')
           ORDER BY created_at, feedback_id"""
    ).fetchall():
        if action == "done":
            fb.done[account] = _utc(at)
        elif action == "answered":
            fb.answered[ask] = (_utc(at), author)
        else:
            fb.snoozed[account] = (until, _utc(at))
    return fb


#: a partial read (some accounts re-scored) keeps to their rows; the full one also reads unknown senders' asks
_ONLY_SCORED = " AND account_id IN (SELECT account_id FROM _scored_accounts)"


def _ask_signals(con: duckdb.DuckDBPyConnection, cutoff: datetime, *, partial: bool = False) -> list[AskSignal]:
    return [
        AskSignal(
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], _us(r[10]), r[11], r[12], float(r[13])
        )
        for r in con.execute(
            _SIGNALS
            + """SELECT signal_id, kind, subtype, party, account_id, thread_id, source_type, source_key,
                        sentence, speaker, epoch_us(sig_at), due_date, any_link, score
                 FROM sig WHERE kind IN ('ask', 'commitment') AND sig_at < ?""" + (_ONLY_SCORED if partial else "")
            + " ORDER BY sig_at, signal_id",
            [cutoff],
        ).fetchall()
    ]


def _evidence(con: duckdb.DuckDBPyConnection, start: datetime, cutoff: datetime, dismissed: set[str]
              ) -> list[Evidence]:
    return [
        Evidence(
            r[0],
            r[14],
            r[1],
            r[2],
            float(r[3]),
            r[4],
            r[5],
            r[6],
            r[7],
            _us(r[8]),
            _us(r[9]),
            r[10],
            r[11],
            r[12],
            r[13],
        )
        for r in con.execute(
            _SIGNALS
            + """SELECT signal_id, kind, subtype, score, intensity, sentence, speaker, party,
                        epoch_us(sig_at), epoch_us(created_at), source_type, source_key, thread_id,
                        any_link, account_id
                 FROM sig
                 WHERE kind IN ('frustration', 'complaint', 'buying_signal') AND party = 'client'
                   AND account_id IN (SELECT account_id FROM _scored_accounts) AND sig_at >= ? AND sig_at < ?
                 ORDER BY sig_at, signal_id""",
            [start, cutoff],
        ).fetchall()
        if r[0] not in dismissed
    ]


def _replies_and_meetings(con: duckdb.DuckDBPyConnection, cutoff: datetime, *, partial: bool = False
                          ) -> tuple[list[Reply], list[Meeting]]:
    # a partial read: our replies to the accounts re-scored, or in their threads
    mine = (""" AND (account_id IN (SELECT account_id FROM _scored_accounts) OR thread_id IN
               (SELECT thread_id FROM messages WHERE account_id IN (SELECT account_id FROM _scored_accounts)))"""
            if partial else "")
    replies = [
        Reply(r[0], r[1], r[2], _us(r[3]))
        for r in con.execute(
            """SELECT message_key, thread_id, account_id, epoch_us(sent_at) FROM messages
               WHERE direction = 'outbound' AND sent_at IS NOT NULL AND sent_at < ?""" + mine,
            [cutoff],
        ).fetchall()
    ]
    meetings = [
        Meeting(r[0], r[1], _us(r[2]))
        for r in con.execute(
            """SELECT t.transcript_key, t.account_id, epoch_us(t.meeting_at) FROM transcripts t
               WHERE t.account_id IS NOT NULL AND t.meeting_at IS NOT NULL AND t.meeting_at < ?"""
            + (" AND t.account_id IN (SELECT account_id FROM _scored_accounts)" if partial else "") + """
                 AND EXISTS (SELECT 1 FROM utterances u
                             WHERE u.transcript_key = t.transcript_key AND u.role = 'internal')""",
            [cutoff],
        ).fetchall()
    ]
    return replies, meetings


def _first_seen(con: duckdb.DuckDBPyConnection, done: dict[str, datetime]) -> dict[str, datetime]:
    """When each source of a done account was first scored (late mail with an old Date counts as new)."""
    first_seen: dict[str, datetime] = {}
    if done:
        con.register("done_accounts", pa.table({"account_id": list(done)}))
        try:
            first_seen = {
                r[0]: _utc(r[1])
                for r in con.execute(
                    """SELECT source_key, min(created_at) FROM signals
                       WHERE account_id IN (SELECT account_id FROM done_accounts) GROUP BY source_key"""
                ).fetchall()
            }
        finally:
            con.unregister("done_accounts")
    return first_seen


def load_unread(con: duckdb.DuckDBPyConnection, start: datetime, cutoff: datetime, languages: Iterable[str]
                ) -> list[Unread]:
    """Client mail of known accounts (people, not machines) sent in [start, cutoff) whose language is not
    in ``languages`` (``und``: read as English), and the meetings where most of the client's turns of a
    known language are such (their most frequent one)."""
    langs = sorted(set(languages))
    mails = con.execute(
        """SELECT 'email', message_key, account_id, language, epoch_us(sent_at), link, subject, from_addr
           FROM messages
           WHERE direction = 'inbound' AND machine_sent IS NULL AND sent_at >= ? AND sent_at < ?
             AND account_id IN (SELECT account_id FROM accounts)
             AND language IS NOT NULL AND language <> 'und' AND NOT list_contains(?, language)
           ORDER BY sent_at, message_key""",
        [start, cutoff, langs],
    ).fetchall()
    meetings = con.execute(
        """SELECT 'meeting', t.transcript_key, t.account_id,
                  mode(u.language) FILTER (WHERE NOT list_contains(?, u.language)), epoch_us(t.meeting_at),
                  t.link, t.title, NULL
           FROM transcripts t JOIN utterances u USING (transcript_key)
           WHERE t.account_id IN (SELECT account_id FROM accounts) AND t.meeting_at >= ? AND t.meeting_at < ?
             AND u.role = 'client' AND u.language IS NOT NULL AND u.language <> 'und'
           GROUP BY t.transcript_key, t.account_id, t.meeting_at, t.link, t.title
           HAVING 2 * count(*) FILTER (WHERE NOT list_contains(?, u.language)) > count(*)
           ORDER BY t.meeting_at, t.transcript_key""",
        [langs, start, cutoff, langs],
    ).fetchall()
    return [Unread(r[0], r[1], r[2], r[3], _us(r[4]), r[5], r[6], r[7]) for r in [*mails, *meetings]]
