"""What account managers tell the list, stored in ``feedback``: one row per action, undone rows kept.

* ``done`` (``triage done ACCOUNT``, the page's "Done"): the AM handled the account. It leaves the
  list until new evidence arrives, and then only the new evidence counts (see
  :func:`triage.score.priority.is_new_evidence`). An optional note says what was done.
* ``dismiss`` ("Not a problem", ``triage dismiss SIGNAL``): a signal is wrong or needs nothing. It stops
  counting everywhere (scores, asks get status ``dismissed``, ``v_account_signals``). Why, as a code:
  ``wrong_kind`` (it is not what the detector says), ``not_client`` (not the client's own words: a
  quote, a forward, a signature), ``already_handled`` (right, but dealt with).
* ``confirm``: the signal is right (kept for learning; the list is unchanged).
* ``answered``: a client ask or one of our promises was closed by hand (answered on the phone); the ask
  is resolved from that moment (``resolved_via = 'by_hand'``).
* ``snooze``: the account is off the list through ``until_date``; a new churn threat or escalation
  after the snooze brings it back at once.
* ``undo``: any of these, taken back; the row stays with ``undone_at`` / ``undone_by``.

:func:`apply_action` records one :class:`Action` in the caller's transaction and is idempotent by the
action's id (a queued click applied twice is recorded once). Each takes effect at the next
:func:`triage.score.build_call_list`; the callers (CLI, web app) build the latest list again at once.
"""

from __future__ import annotations

import difflib
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from triage.db import Database
from triage.errors import TriageError, UnknownAccountError, UnknownSignalError

__all__ = [
    "ACTIONS",
    "REASON_CODES",
    "Action",
    "ActionError",
    "Feedback",
    "apply_action",
    "dismiss_signal",
    "list_feedback",
    "mark_done",
    "new_action",
    "unknown_account",
]

_MIN_PREFIX = 6
ACTIONS = ("done", "dismiss", "confirm", "answered", "snooze", "undo")
#: why a signal is not a problem (the page's choices)
REASON_CODES = {
    "wrong_kind": "wrong kind",
    "not_client": "not the client's words",
    "already_handled": "already handled",
}
#: subtypes of frustration that end a snooze at once
SNOOZE_BREAKERS = ("churn_threat", "escalation")


class ActionError(TriageError):
    """An action that cannot be applied as asked (unknown target, already undone, a bad date)."""


@dataclass(frozen=True)
class Action:
    """What an AM asked for: the payload of a click, the durable queue's row, a CLI command."""

    action: str  # done | dismiss | confirm | answered | snooze | undo
    author: str | None
    at: datetime
    action_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # = feedback_id: applied once
    account_id: str | None = None
    signal_id: str | None = None
    ask_id: str | None = None
    until: date | None = None
    reason_code: str | None = None
    note: str | None = None
    target: str | None = None  # undo: the feedback_id taken back
    source: str = "cli"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = self.at.isoformat()
        out["until"] = self.until.isoformat() if self.until else None
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Action:
        values = dict(data)
        values["at"] = datetime.fromisoformat(values["at"])
        values["until"] = date.fromisoformat(values["until"]) if values.get("until") else None
        return cls(**values)


def new_action(action: str, author: str | None, **kwargs: Any) -> Action:
    """An action made now, checked for shape (the targets are checked when it is applied)."""
    if action not in ACTIONS:
        raise ActionError(f"unknown action {action!r} (valid: {', '.join(ACTIONS)})")
    code = kwargs.get("reason_code")
    if code is not None and code not in REASON_CODES:
        raise ActionError(f"unknown reason {code!r} (valid: {', '.join(REASON_CODES)})")
    note = kwargs.get("note")
    if note is not None:
        kwargs["note"] = note.strip()[:2000] or None
    return Action(action, author, datetime.now(UTC), **kwargs)


@dataclass(frozen=True)
class Feedback:
    feedback_id: str
    action: str
    account_id: str | None
    signal_id: str | None
    reason: str | None
    author: str | None
    created_at: datetime


@dataclass(frozen=True)
class Applied:
    """What applying an action did: the feedback row's id and account, and whether it was new."""

    feedback_id: str
    account_id: str | None
    new: bool


def _similar(wanted: str, known: list[tuple[str, str]]) -> list[str]:
    """Account ids whose id or name is close to ``wanted`` (or contains it)."""
    w = wanted.lower()
    by_key: dict[str, str] = {}
    for acc, name in known:
        by_key[acc.lower()] = acc
        by_key[name.lower()] = acc
    hits = [by_key[k] for k in difflib.get_close_matches(w, list(by_key), n=5, cutoff=0.5)]
    hits += [acc for acc, name in known if w in acc.lower() or w in name.lower()]
    return list(dict.fromkeys(hits))[:5]


def unknown_account(account_id: str, known: list[tuple[str, str]]) -> UnknownAccountError:
    """The error for an account id not in ``known`` ((id, name) pairs), suggesting similar ids."""
    if not known:
        return UnknownAccountError(f"unknown account {account_id!r}: no accounts loaded yet (run `triage run`)")
    similar = _similar(account_id, known)
    hint = f"; did you mean: {', '.join(similar)}" if similar else f"; known: {', '.join(k for k, _ in known[:10])}"
    return UnknownAccountError(f"unknown account {account_id!r}{hint}")


def _check_account(con: duckdb.DuckDBPyConnection, account_id: str | None) -> str:
    known = [(r[0], r[1]) for r in con.execute("SELECT account_id, name FROM accounts ORDER BY account_id").fetchall()]
    if account_id not in {k for k, _ in known}:
        raise unknown_account(account_id or "", known)
    return str(account_id)


def find_signal(con: duckdb.DuckDBPyConnection, signal_id: str, kinds: tuple[str, ...] = ()) -> tuple[str, str | None]:
    """(signal id, account) of a signal given by its id or a unique prefix of 6+ characters."""
    wanted = signal_id.strip().lower()
    where = f" AND kind IN ({', '.join('?' * len(kinds))})" if kinds else ""
    rows = con.execute(f"SELECT signal_id, account_id FROM signals WHERE signal_id = ?{where}",
                       [wanted, *kinds]).fetchall()
    if not rows and len(wanted) >= _MIN_PREFIX:
        rows = con.execute(
            f"SELECT signal_id, account_id FROM signals WHERE starts_with(signal_id, ?){where} "
            "ORDER BY signal_id LIMIT 6", [wanted, *kinds]).fetchall()
    if not rows:
        what = "ask or promise" if kinds else "signal"
        raise UnknownSignalError(
            f"unknown {what} {signal_id!r} (signal ids are shown by `triage list --json` and in v_account_signals)"
        )
    if len(rows) > 1:
        raise UnknownSignalError(f"signal id prefix {signal_id!r} is ambiguous: {', '.join(r[0] for r in rows[:5])}...")
    return str(rows[0][0]), rows[0][1]


def _resolve(con: duckdb.DuckDBPyConnection, a: Action) -> tuple[str | None, str | None, str | None]:
    """(account, signal, ask) the action is about, checked against the database."""
    if a.action in ("done", "snooze"):
        if a.action == "snooze" and (a.until is None or a.until < a.at.date()):
            raise ActionError("snooze needs a day that is not in the past")
        return _check_account(con, a.account_id), None, None
    if a.action in ("dismiss", "confirm", "answered"):
        kinds = ("ask", "commitment") if a.action == "answered" else ()
        sid, acc = find_signal(con, (a.ask_id if a.action == "answered" else a.signal_id) or "", kinds)
        if a.account_id is not None and acc != a.account_id:  # a form naming one account and another's signal
            raise ActionError(f"signal {sid} is not of account {a.account_id}")
        return (acc, None, sid) if a.action == "answered" else (acc, sid, None)
    row = con.execute("SELECT account_id, action FROM feedback WHERE feedback_id = ?", [a.target]).fetchone()
    if row is None or row[1] == "undo":
        raise ActionError(f"nothing to undo: no action {a.target!r}")
    return row[0], None, None


def apply_action(con: duckdb.DuckDBPyConnection, a: Action) -> Applied:
    """Record ``a`` in the caller's transaction; applying the same action again changes nothing."""
    if a.action not in ACTIONS:
        raise ActionError(f"unknown action {a.action!r} (valid: {', '.join(ACTIONS)})")
    seen = con.execute("SELECT account_id FROM feedback WHERE feedback_id = ?", [a.action_id]).fetchone()
    if seen is not None:
        return Applied(a.action_id, seen[0], False)
    if a.action == "undo":
        account, _, _ = _resolve(con, a)
        con.execute("UPDATE feedback SET undone_at = ?, undone_by = ? WHERE feedback_id = ? AND undone_at IS NULL",
                    [a.at, a.author, a.target])
        con.execute("INSERT INTO feedback (feedback_id, action, account_id, author, created_at, source, undoes) "
                    "VALUES (?, 'undo', ?, ?, ?, ?, ?)", [a.action_id, account, a.author, a.at, a.source, a.target])
        return Applied(a.action_id, account, True)
    account, signal, ask = _resolve(con, a)
    con.execute(
        """INSERT INTO feedback (feedback_id, action, account_id, signal_id, reason, author, created_at, ask_id,
                                 until_date, reason_code, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [a.action_id, a.action, account, signal, a.note, a.author, a.at, ask, a.until, a.reason_code, a.source],
    )
    return Applied(a.action_id, account, True)


def mark_done(db: Database, account_id: str, *, note: str | None = None, author: str | None = None,
              now: datetime | None = None) -> Feedback:
    """``triage done``: record that ``account_id`` was handled (UnknownAccountError with similar ids)."""
    a = new_action("done", author, account_id=account_id, note=note)
    if now is not None:
        a = Action(**{**asdict(a), "at": now.astimezone(UTC)})
    with db.write() as con:
        apply_action(con, a)
    return Feedback(a.action_id, "done", account_id, None, a.note, author, a.at)


def dismiss_signal(db: Database, signal_id: str, *, reason: str, author: str | None = None,
                   now: datetime | None = None, reason_code: str | None = None) -> Feedback:
    """``triage dismiss``: a signal does not count. ``signal_id`` may be a unique prefix (>= 6 characters).

    Raises UnknownSignalError when no (or more than one) signal matches, TriageError without a reason."""
    if not reason or not reason.strip():
        raise TriageError("a reason is required to dismiss a signal (--reason ...)")
    a = new_action("dismiss", author, signal_id=signal_id, note=reason.strip(), reason_code=reason_code)
    if now is not None:
        a = Action(**{**asdict(a), "at": now.astimezone(UTC)})
    with db.write() as con:
        applied = apply_action(con, a)
        sid = con.execute("SELECT signal_id FROM feedback WHERE feedback_id = ?", [applied.feedback_id]).fetchone()
    return Feedback(a.action_id, "dismiss", applied.account_id, str(sid[0]) if sid else signal_id, a.note, author,
                    a.at)


def list_feedback(db: Database) -> list[Feedback]:
    """All feedback that still holds (not undone), newest first."""
    with db.read() as con:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(
            "SELECT feedback_id, action, account_id, coalesce(signal_id, ask_id), reason, author, created_at "
            "FROM feedback WHERE undone_at IS NULL AND action <> 'undo' ORDER BY created_at DESC, feedback_id"
        ).fetchall()
    return [Feedback(*r) for r in rows]
