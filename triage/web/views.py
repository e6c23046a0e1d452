"""What the web app's pages show, read from DuckDB read-only and cut to what the signed-in user may see.

Every loader takes a :class:`~triage.web.auth.User` and returns only that user's accounts (a manager's
are all); another AM's account is simply not found. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from triage.db import Database
from triage.publish import load_call_list, load_run_info, load_unknown_senders
from triage.publish.model import CallListEntry, RunInfo, UnknownSender
from triage.publish.timeline import AccountTimeline, load_timeline
from triage.publish.trend import Trend, load_trends
from triage.score.feedback import REASON_CODES
from triage.web.auth import User

__all__ = [
    "AccountPage",
    "Directory",
    "ListPage",
    "Marks",
    "SourceView",
    "load_account_page",
    "load_ams",
    "load_list_page",
    "load_marks",
    "load_source",
]

#: a run that started this long ago and is still "running" died (a later run marks it interrupted)
_RUN_FRESH = timedelta(hours=3)


@dataclass
class Marks:
    """What the AMs already said about what a page shows (their actions that still hold)."""

    confirmed: set[str] = field(default_factory=set)
    dismissed: dict[str, str] = field(default_factory=dict)  # signal -> reason label
    #: account -> (through day, feedback id)
    snoozed: dict[str, tuple[date, str]] = field(default_factory=dict)
    #: feedback id -> (action, account, target, author, at) for the flash line and undo
    actions: dict[str, tuple[str, str | None, str | None, str | None, datetime]] = field(default_factory=dict)


@dataclass
class ListPage:
    as_of: date | None
    entries: list[CallListEntry]
    run: RunInfo | None
    unknown: list[UnknownSender]
    trends: dict[str, Trend]
    marks: Marks
    updating: bool
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class AccountPage:
    timeline: AccountTimeline
    entry: CallListEntry | None
    trend: Trend | None
    marks: Marks
    updating: bool
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class SourceView:
    """A message or a meeting an evidence line came from (the words the detectors read)."""

    kind: str  # email | meeting
    account_id: str | None
    title: str
    who: str | None
    at: datetime | None
    text: str
    turns: list[tuple[float | None, str | None, str]] = field(default_factory=list)
    highlight: str | None = None


@dataclass(frozen=True)
class Directory:
    """Who owns which account: (owner_am, am_email, account_id) rows, and the accounts' names."""

    ams: list[tuple[str | None, str | None, str]]
    names: dict[str, str]


def load_ams(db: Database) -> Directory:
    with db.read() as con:
        rows = con.execute("SELECT owner_am, am_email, account_id, name FROM accounts ORDER BY account_id").fetchall()
    return Directory([(r[0], r[1], str(r[2])) for r in rows], {str(r[2]): str(r[3] or r[2]) for r in rows})


def load_marks(db: Database, accounts: frozenset[str] | None) -> Marks:
    """The actions on ``accounts`` (None: every account)."""
    m = Marks()
    with db.read() as con:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(
            """SELECT feedback_id, action, account_id, coalesce(signal_id, ask_id, undoes), reason_code, until_date,
                      author, created_at, undone_at
               FROM feedback ORDER BY created_at, feedback_id""").fetchall()
        repeats = [str(r[0]) for r in con.execute(
            "SELECT signal_id FROM v_dismissed_signals WHERE via = 'same words dismissed'").fetchall()]
    m.dismissed.update(dict.fromkeys(repeats, "same words marked not a problem"))
    for fid, action, acc, target, code, until, author, at, undone in rows:
        if accounts is not None and acc not in accounts:
            continue
        m.actions[fid] = (action, acc, target, author, at)
        if undone is not None:
            continue
        if action == "confirm":
            m.confirmed.add(target)
        elif action == "dismiss":
            m.dismissed[target] = REASON_CODES.get(code or "", "not a problem")
        elif action == "snooze":
            m.snoozed[acc] = (until, fid)
    return m


def _updating(db: Database) -> bool:
    with db.read() as con:
        row = con.execute("SELECT max(started_at) FROM runs WHERE status = 'running'").fetchone()
    started = row[0] if row else None
    return started is not None and datetime.now(UTC) - started.astimezone(UTC) < _RUN_FRESH


def load_list_page(db: Database, user: User, lookback_days: int) -> ListPage:
    with db.read():  # one connection for every loader below
        return _list_page(db, user, lookback_days)


def _list_page(db: Database, user: User, lookback_days: int) -> ListPage:
    entries = [e for e in load_call_list(db) if user.can_see(e.account_id)]
    as_of = entries[0].as_of if entries else _latest(db)
    run = load_run_info(db, as_of) if as_of else None
    unknown = load_unknown_senders(db, as_of, lookback_days) if as_of and user.manager else []
    trends = load_trends(db, [e.account_id for e in entries], as_of) if as_of and entries else {}
    marks = load_marks(db, None if user.manager else user.accounts)
    return ListPage(as_of, entries, run, unknown, trends, marks, _updating(db))


def _latest(db: Database) -> date | None:
    with db.read() as con:
        row = con.execute("SELECT max(as_of) FROM call_list_builds").fetchone()
    return row[0] if row else None


def load_account_page(db: Database, user: User, account_id: str) -> AccountPage | None:
    """The account's page, or None when the user may not see it (or it does not exist): a 404 either way."""
    if not user.can_see(account_id):
        return None
    with db.read():  # one connection for every loader below
        return _account_page(db, user, account_id)


def _account_page(db: Database, user: User, account_id: str) -> AccountPage | None:
    timeline = load_timeline(db, account_id)
    if timeline.account_id != account_id:  # matched case-insensitively: the canonical id is the one to check
        return None
    entry = next((e for e in load_call_list(db) if e.account_id == account_id), None)
    trend = load_trends(db, [account_id], timeline.as_of).get(account_id) if timeline.as_of else None
    return AccountPage(timeline, entry, trend, load_marks(db, frozenset({account_id})), _updating(db))


def load_source(db: Database, user: User, signal_id: str) -> SourceView | None:
    """The message or meeting a signal came from, when the user may see its account."""
    with db.read() as con:
        con.execute("SET TimeZone = 'UTC'")
        sig = con.execute("SELECT source_type, source_key, account_id, sentence, utterance_seq FROM signals "
                          "WHERE signal_id = ?", [signal_id]).fetchone()
        if sig is None or not user.can_see(sig[2]):
            return None
        if sig[0] == "email":
            row = con.execute("SELECT subject, coalesce(from_name, from_addr), sent_at, new_text FROM messages "
                              "WHERE message_key = ?", [sig[1]]).fetchone()
            if row is None:
                return None
            return SourceView("email", sig[2], row[0] or "(no subject)", row[1], row[2], row[3] or "", [], sig[3])
        meet = con.execute("SELECT title, meeting_at FROM transcripts WHERE transcript_key = ?", [sig[1]]).fetchone()
        turns: list[Any] = con.execute("SELECT start_s, speaker, coalesce(text, '') FROM utterances "
                                       "WHERE transcript_key = ? ORDER BY seq", [sig[1]]).fetchall()
    if meet is None:
        return None
    return SourceView("meeting", sig[2], meet[0] or "(untitled meeting)", None, meet[1], "",
                      [(t[0], t[1], t[2]) for t in turns], sig[3])
