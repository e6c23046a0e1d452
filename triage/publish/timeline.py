"""One account's history, newest first: signals, asks and their status, meetings, feedback (read-only).

What ``triage account ACCOUNT`` prints. Asks come from ``asks`` (the state of the latest build: open,
resolved, dismissed, overdue); the other signals from ``signals`` (a dismissed one is shown as such);
meetings from ``transcripts``; ``done`` and ``dismiss`` from ``feedback``. The header says where the
account stands on the latest list and what its engagement looks like (``v_account_engagement``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from triage.db import Database
from triage.score.feedback import REASON_CODES, unknown_account
from triage.score.inputs import load_unread
from triage.score.reasons import unread_text
from triage.types import language_name

__all__ = ["AccountTimeline", "TimelineEvent", "load_timeline"]


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime  # aware UTC
    kind: str  # signal | ask | commitment | meeting | unread | done | dismiss | confirm | answered | snooze | undo
    title: str  # e.g. "frustration (churn threat) 0.95", "client ask: open, overdue", "meeting"
    text: str  # the sentence, the meeting title, the note
    who: str | None = None
    link: str | None = None
    id: str | None = None  # signal id, ask id, transcript key, feedback id
    status: str | None = None  # asks: open | resolved | dismissed; signals: counts | dismissed; unread


@dataclass
class AccountTimeline:
    account_id: str
    name: str
    owner_am: str | None
    tier: str | None
    arr: float | None
    #: the latest built list: its day, and the account's rank and score there (None: not listed)
    as_of: date | None = None
    rank: int | None = None
    score: float | None = None
    skipped_reason: str | None = None
    engagement: dict[str, Any] | None = None
    #: client mail and meetings in a language the detectors do not read, e.g. "3 messages in German not
    #: analysed since Thu 12 Nov" (None: none)
    unread: str | None = None
    events: list[TimelineEvent] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            if isinstance(v, datetime | date):
                return v.isoformat()
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            if isinstance(v, list):
                return [plain(x) for x in v]
            return v

        out: dict[str, Any] = plain(asdict(self))
        return out


def _utc(v: Any) -> datetime:
    assert isinstance(v, datetime)
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


def _label(kind: str, subtype: str | None) -> str:
    return kind.replace("_", " ") + (f" ({subtype.replace('_', ' ')})" if subtype else "")


def load_timeline(
    db: Database, account_id: str, *, since: date | None = None, limit: int | None = None,
    languages: Iterable[str] = ("en",),
) -> AccountTimeline:
    """The account's timeline, newest first (``since``: only from that day; ``limit``: the newest n);
    ``languages``: those the detectors read (``[nlp] languages``): client mail in others is shown as unread.

    Raises UnknownAccountError (suggesting similar ids) for an account that is not loaded.
    """
    with db.read() as con:
        con.execute("SET TimeZone = 'UTC'")
        row = _account_row(con, account_id)
        tl = AccountTimeline(row[0], row[1], row[2], row[3], row[4])
        _list_state(con, tl)
        acc = tl.account_id
        asked: set[str] = set()
        events = [*_ask_events(con, acc, asked), *_signal_events(con, acc, asked), *_meeting_events(con, acc),
                  *_feedback_events(con, acc), *_unread_events(con, tl, languages)]
    if since is not None:
        events = [e for e in events if e.at.date() >= since]
    events.sort(key=lambda e: (e.at, e.kind, e.id or ""), reverse=True)
    tl.events = events[:limit] if limit is not None else events
    return tl


def _account_row(con: duckdb.DuckDBPyConnection, account_id: str) -> tuple[Any, ...]:
    """The account's row (its id matched exactly, else case-insensitively), or UnknownAccountError."""
    known = [(r[0], r[1]) for r in con.execute("SELECT account_id, name FROM accounts ORDER BY 1").fetchall()]
    row = con.execute(
        "SELECT account_id, name, owner_am, tier, arr FROM accounts WHERE account_id = ?", [account_id]
    ).fetchone()
    if row is None:
        lowered = {k.lower(): k for k, _ in known}
        if account_id.lower() not in lowered:
            raise unknown_account(account_id, known)
        row = con.execute(
            "SELECT account_id, name, owner_am, tier, arr FROM accounts WHERE account_id = ?",
            [lowered[account_id.lower()]],
        ).fetchone()
        assert row is not None
    return tuple(row)


def _list_state(con: duckdb.DuckDBPyConnection, tl: AccountTimeline) -> None:
    """The account's place and score on the latest list, and its engagement."""
    acc = tl.account_id
    built = con.execute("SELECT max(as_of) FROM call_list_builds").fetchone()
    tl.as_of = built[0] if built else None
    if tl.as_of is not None:
        sc = con.execute(
            "SELECT s.score, s.skipped_reason, c.rank FROM account_scores s "
            "LEFT JOIN call_list c ON c.as_of = s.as_of AND c.account_id = s.account_id "
            "WHERE s.as_of = ? AND s.account_id = ?",
            [tl.as_of, acc],
        ).fetchone()
        if sc is not None:
            tl.score, tl.skipped_reason, tl.rank = sc[0], sc[1], sc[2]
        cur = con.execute("SELECT * FROM v_account_engagement WHERE account_id = ?", [acc])
        cols = [d[0] for d in cur.description]
        eng = cur.fetchone()
        if eng is not None:
            tl.engagement = {
                k: v for k, v in zip(cols, eng, strict=True) if k not in ("account_id", "account_name")
            }



def _ask_events(con: duckdb.DuckDBPyConnection, acc: str, asked: set[str]) -> list[TimelineEvent]:
    events: list[TimelineEvent] = []
    for r in con.execute(
        """SELECT ask_id, kind, text, asked_by, opened_at, status, overdue, due_date, age_business_days,
                  resolved_at, resolved_via, link
           FROM asks WHERE account_id = ? AND opened_at IS NOT NULL""",
        [acc],
    ).fetchall():
        asked.add(r[0])
        state = r[5] + (", overdue" if r[6] else "")
        if r[5] == "resolved" and r[9] is not None:
            state += f" {_utc(r[9]):%d %b} ({(r[10] or '').replace('_', ' ')})"
        due = f", due {r[7]:%d %b}" if r[7] else ""
        who = "client ask" if r[1] == "client_ask" else "our promise"
        events.append(
            TimelineEvent(
                _utc(r[4]),
                "ask" if r[1] == "client_ask" else "commitment",
                f"{who}: {state}{due}, {r[8]} business day{'s' if r[8] != 1 else ''}",
                r[2],
                r[3],
                r[11],
                r[0],
                r[5],
            )
        )
    return events


def _signal_events(con: duckdb.DuckDBPyConnection, acc: str, asked: set[str]) -> list[TimelineEvent]:
    events: list[TimelineEvent] = []
    for r in con.execute(
        """SELECT s.signal_id, s.kind, s.subtype, s.score, s.intensity, s.sentence, s.speaker,
                  coalesce(s.occurred_at, s.created_at), s.link,
                  s.signal_id IN (SELECT signal_id FROM v_dismissed_signals),
                  EXISTS (SELECT 1 FROM feedback f WHERE f.action = 'confirm' AND f.signal_id = s.signal_id
                          AND f.undone_at IS NULL)
           FROM signals s WHERE s.account_id = ?""",
        [acc],
    ).fetchall():
        if r[0] in asked:
            continue
        strength = r[4] if r[1] == "frustration" and r[4] is not None else r[3]
        events.append(
            TimelineEvent(
                _utc(r[7]),
                "signal",
                f"{_label(r[1], r[2])} {float(strength):.2f}"
                + (" (not a problem)" if r[9] else " (confirmed)" if r[10] else ""),
                r[5],
                r[6],
                r[8],
                r[0],
                "dismissed" if r[9] else "confirmed" if r[10] else "counts",
            )
        )
    return events


def _meeting_events(con: duckdb.DuckDBPyConnection, acc: str) -> list[TimelineEvent]:
    events: list[TimelineEvent] = []
    for r in con.execute(
        """SELECT t.transcript_key, t.title, t.meeting_at, t.link, t.utterance_count,
                  list(DISTINCT u.speaker ORDER BY u.speaker) FILTER (WHERE u.speaker IS NOT NULL)
           FROM transcripts t LEFT JOIN utterances u USING (transcript_key)
           WHERE t.account_id = ? AND t.meeting_at IS NOT NULL
           GROUP BY ALL""",
        [acc],
    ).fetchall():
        people = ", ".join(r[5] or [])
        events.append(
            TimelineEvent(_utc(r[2]), "meeting", f"meeting, {r[4]} turns", r[1] or "(untitled)", people or None,
                          r[3], r[0])
        )
    return events


_EVER = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))


def _unread_events(con: duckdb.DuckDBPyConnection, tl: AccountTimeline, languages: Iterable[str]
                   ) -> list[TimelineEvent]:
    """Client mail and meetings not analysed for their language (and the summary in ``tl.unread``)."""
    items = [u for u in load_unread(con, *_EVER, languages) if u.account_id == tl.account_id]
    if items:
        tl.unread = unread_text(items)[0]
    return [
        TimelineEvent(u.occurred_at, "unread", f"{'meeting' if u.source_type == 'meeting' else 'message'} in "
                      f"{language_name(u.language)}: not analysed", u.subject or "(no subject)", u.speaker, u.link,
                      u.source_key, "unread")
        for u in items
    ]


_ACTION_TITLES = {
    "done": "marked done",
    "dismiss": "not a problem",
    "confirm": "confirmed a signal",
    "answered": "answered by hand",
    "snooze": "snoozed",
    "undo": "undid an action",
}


def _feedback_events(con: duckdb.DuckDBPyConnection, acc: str) -> list[TimelineEvent]:
    events: list[TimelineEvent] = []
    for fid, action, note, author, at, target, code, until, undone_at, undone_by in con.execute(
        """SELECT feedback_id, action, reason, author, created_at, coalesce(signal_id, ask_id, undoes), reason_code,
                  until_date, undone_at, undone_by
           FROM feedback WHERE account_id = ?""",
        [acc],
    ).fetchall():
        title = _ACTION_TITLES.get(action, action)
        if action == "dismiss" and code:
            title += f" ({REASON_CODES.get(code, code)})"
        if action == "snooze" and until:
            title += f" until {until:%a %d %b}"
        if target and action != "undo":
            title += f": {target}"
        if undone_at is not None:
            title += f" (undone {_utc(undone_at):%d %b %H:%M}{f' by {undone_by}' if undone_by else ''})"
        events.append(TimelineEvent(_utc(at), action, title, note or "", author, None, fid,
                                    "undone" if undone_at is not None else None))
    return events
