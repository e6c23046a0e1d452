"""Feedback from account managers, stored in ``feedback``.

* :func:`mark_done` (``triage done ACCOUNT``): the AM handled the account. It leaves the call list
  until new evidence arrives, and then only the new evidence counts (see
  :func:`triage.score.priority.is_new_evidence`).
* :func:`dismiss_signal` (``triage dismiss SIGNAL --reason ...``): a signal was wrong or irrelevant.
  It stops counting everywhere (scores, asks get status ``dismissed``, ``v_account_signals``).

Both take effect at the next :func:`triage.score.build_call_list`; the CLI also re-builds the latest
stored list right away (``triage.score.rebuild_latest``) so ``triage list`` shows the effect at once.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from triage.db import Database
from triage.errors import TriageError, UnknownAccountError, UnknownSignalError
from triage.types import stable_id

__all__ = ["Feedback", "dismiss_signal", "list_feedback", "mark_done", "unknown_account"]

_MIN_PREFIX = 6


@dataclass(frozen=True)
class Feedback:
    feedback_id: str
    action: str  # done | dismiss
    account_id: str | None
    signal_id: str | None
    reason: str | None
    author: str | None
    created_at: datetime


def _insert(con: duckdb.DuckDBPyConnection, fb: Feedback) -> None:
    con.execute(
        "INSERT INTO feedback (feedback_id, action, account_id, signal_id, reason, author, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [fb.feedback_id, fb.action, fb.account_id, fb.signal_id, fb.reason, fb.author, fb.created_at],
    )


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


def mark_done(
    db: Database,
    account_id: str,
    *,
    note: str | None = None,
    author: str | None = None,
    now: datetime | None = None,
) -> Feedback:
    """Record that ``account_id`` was handled. Raises UnknownAccountError (with similar ids) if unknown."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    with db.write() as con:
        known = [
            (r[0], r[1])
            for r in con.execute("SELECT account_id, name FROM accounts ORDER BY account_id").fetchall()
        ]
        if account_id not in {k for k, _ in known}:
            raise unknown_account(account_id, known)
        fb = Feedback(
            stable_id("done", account_id, at.isoformat(), author),
            "done",
            account_id,
            None,
            note or None,
            author,
            at,
        )
        _insert(con, fb)
    return fb


def dismiss_signal(
    db: Database, signal_id: str, *, reason: str, author: str | None = None, now: datetime | None = None
) -> Feedback:
    """Record that a signal does not count. ``signal_id`` may be a unique prefix (>= 6 characters).

    Raises UnknownSignalError when no (or more than one) signal matches, TriageError without a reason.
    """
    if not reason or not reason.strip():
        raise TriageError("a reason is required to dismiss a signal (--reason ...)")
    wanted = signal_id.strip().lower()
    at = (now or datetime.now(UTC)).astimezone(UTC)
    with db.write() as con:
        rows = con.execute(
            "SELECT signal_id, account_id FROM signals WHERE signal_id = ?", [wanted]
        ).fetchall()
        if not rows and len(wanted) >= _MIN_PREFIX:
            rows = con.execute(
                "SELECT signal_id, account_id FROM signals WHERE starts_with(signal_id, ?) "
                "ORDER BY signal_id LIMIT 6",
                [wanted],
            ).fetchall()
        if not rows:
            raise UnknownSignalError(
                f"unknown signal {signal_id!r} (signal ids are shown by `triage list --json` and in "
                "v_account_signals)"
            )
        if len(rows) > 1:
            raise UnknownSignalError(
                f"signal id prefix {signal_id!r} is ambiguous: {', '.join(r[0] for r in rows[:5])}..."
            )
        sid, acc = rows[0]
        fb = Feedback(
            stable_id("dismiss", sid, at.isoformat(), author), "dismiss", acc, sid, reason.strip(), author, at
        )
        _insert(con, fb)
    return fb


def list_feedback(db: Database) -> list[Feedback]:
    """All feedback, newest first."""
    with db.read() as con:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(
            "SELECT feedback_id, action, account_id, signal_id, reason, author, created_at FROM feedback "
            "ORDER BY created_at DESC, feedback_id"
        ).fetchall()
    return [Feedback(*r) for r in rows]
