"""Read the published call list, the unknown senders and the run summary (read-only connections)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from triage.db import Database
from triage.publish.model import CallListEntry, OpenAskView, ReasonView, RunInfo, UnknownSender

__all__ = ["built_days", "latest_as_of", "load_call_list", "load_run_info", "load_unknown_senders"]


def _dt(v: Any) -> datetime | None:
    if v is None:
        return None
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    assert isinstance(v, datetime)
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


def _reason(d: dict[str, Any]) -> ReasonView:
    return ReasonView(
        kind=d["kind"],
        text=d["text"],
        weight=float(d.get("weight") or 0.0),
        evidence=d.get("evidence"),
        link=d.get("link"),
        occurred_at=_dt(d.get("occurred_at")),
        signal_id=d.get("signal_id"),
        source_type=d.get("source_type"),
        speaker=d.get("speaker"),
    )


def _ask(d: dict[str, Any]) -> OpenAskView:
    opened = _dt(d["opened_at"])
    assert opened is not None
    return OpenAskView(
        ask_id=d["ask_id"],
        kind=d["kind"],
        text=d["text"],
        asked_by=d.get("asked_by"),
        opened_at=opened,
        due_date=date.fromisoformat(d["due_date"]) if d.get("due_date") else None,
        age_business_days=int(d.get("age_business_days") or 0),
        overdue=bool(d.get("overdue")),
        link=d.get("link"),
        source_type=d.get("source_type"),
        score=float(d.get("score", 1.0)),
    )


def latest_as_of(db: Database) -> date | None:
    """The day of the most recent stored call list (None before the first build)."""
    with db.read() as con:
        row = con.execute("SELECT max(as_of) FROM call_list_builds").fetchone()
    return row[0] if row and row[0] is not None else None


def built_days(db: Database) -> list[date]:
    """Days a call list was built for, newest first."""
    with db.read() as con:
        rows = con.execute("SELECT as_of FROM call_list_builds ORDER BY as_of DESC").fetchall()
    return [r[0] for r in rows]


def load_call_list(db: Database, as_of: date | None = None, *, am: str | None = None) -> list[CallListEntry]:
    """The call list of ``as_of`` (default: the latest), ranked.

    ``am`` keeps the accounts whose owner AM name or e-mail contains it (case-insensitive).
    """
    with db.read() as con:
        con.execute("SET TimeZone = 'UTC'")
        if as_of is None:
            row = con.execute("SELECT max(as_of) FROM call_list_builds").fetchone()
            if row is None or row[0] is None:
                return []
            as_of = row[0]
        rows = con.execute(
            """SELECT as_of, rank, account_id, account_name, owner_am, am_email, tier, arr, score, reasons,
                      open_asks, brief, last_evidence_at, run_id
               FROM call_list WHERE as_of = ? ORDER BY rank""",
            [as_of],
        ).fetchall()
    out = [
        CallListEntry(
            as_of=r[0],
            rank=r[1],
            account_id=r[2],
            account_name=r[3],
            owner_am=r[4],
            am_email=r[5],
            tier=r[6],
            arr=r[7],
            score=float(r[8]),
            reasons=tuple(_reason(x) for x in json.loads(r[9])),
            open_asks=tuple(_ask(x) for x in json.loads(r[10])),
            brief=r[11],
            last_evidence_at=_dt(r[12]),
            run_id=r[13],
        )
        for r in rows
    ]
    if am:
        needle = am.lower()
        out = [e for e in out if needle in (e.owner_am or "").lower() or needle in (e.am_email or "").lower()]
    return out


def load_unknown_senders(
    db: Database, as_of: date | None = None, lookback_days: int = 90
) -> list[UnknownSender]:
    """People of no known account whose messages carry signals, in the ``lookback_days`` before ``as_of``."""
    day = as_of or datetime.now(UTC).date()
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    start = end - timedelta(days=lookback_days)
    with db.read() as con:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(
            """SELECT lower(coalesce(s.speaker, '(unknown)')) AS sender, count(*),
                      count(*) FILTER (WHERE s.kind = 'frustration'),
                      count(*) FILTER (WHERE s.kind = 'ask'),
                      count(*) FILTER (WHERE s.kind = 'buying_signal'),
                      max(s.occurred_at), arg_max(s.sentence, s.score), arg_max(s.link, s.score)
               FROM v_account_signals s
               WHERE (s.account_id IS NULL OR s.account_name IS NULL) AND s.party <> 'us'
                 AND coalesce(s.occurred_at, s.created_at) >= ? AND coalesce(s.occurred_at, s.created_at) < ?
               GROUP BY 1 ORDER BY max(s.occurred_at) DESC NULLS LAST, 1""",
            [start, end],
        ).fetchall()
    return [UnknownSender(r[0], r[1], r[2], r[3], r[4], _dt(r[5]), r[6], r[7]) for r in rows]


def load_run_info(db: Database, as_of: date) -> RunInfo | None:
    """The latest run for ``as_of`` (None when the list was built outside a run)."""
    with db.read() as con:
        con.execute("SET TimeZone = 'UTC'")
        row = con.execute(
            """SELECT run_id, status, started_at, finished_at, fetched, parsed, transcripts, quarantined,
                      signals, accounts_listed, (SELECT count(*) FROM quarantine)
               FROM runs WHERE as_of = ? ORDER BY started_at DESC LIMIT 1""",
            [as_of],
        ).fetchone()
    if row is None:
        return None
    return RunInfo(
        run_id=row[0],
        status=row[1],
        started_at=_dt(row[2]),
        finished_at=_dt(row[3]),
        fetched=row[4],
        parsed=row[5],
        transcripts=row[6],
        quarantined=row[7],
        signals=row[8],
        accounts_listed=row[9],
        quarantine_total=row[10],
    )
