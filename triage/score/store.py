"""The I/O seam of scoring: read its inputs in one read phase, write its results in one transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from triage.score.asks import Ask, AskSignal, Meeting, Reply
from triage.score.calendar import day_end, to_utc
from triage.score.engagement import Inbound, MeetingContact
from triage.score.engagement_store import load_activity
from triage.score.priority import AccountInfo, AccountScore, Evidence
from triage.settings import ScoringSettings

__all__ = ["ListedAccount", "ScoreInputs", "load_inputs", "write_results"]

# signals with a usable time and a link: the signal's own, else the message / transcript moment
_SIGNALS = """
WITH sig AS (
    SELECT s.*,
           coalesce(s.occurred_at, m.sent_at,
                    t.meeting_at + to_microseconds(CAST(coalesce(s.start_s, 0) * 1e6 AS BIGINT)),
                    s.created_at) AS sig_at,
           coalesce(s.link,
                    CASE WHEN s.source_type = 'email' THEN m.link
                         ELSE t.link || CASE WHEN s.start_s IS NULL THEN ''
                                             ELSE '#t=' || CAST(floor(s.start_s) AS BIGINT) END
                    END) AS any_link
    FROM signals s
    LEFT JOIN messages m ON s.source_type = 'email' AND m.message_key = s.source_key
    LEFT JOIN transcripts t ON s.source_type = 'meeting' AND t.transcript_key = s.source_key
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
    #: client mail and meetings for engagement (going quiet, slow answers)
    inbound: list[Inbound] = field(default_factory=list)
    activity_meetings: list[MeetingContact] = field(default_factory=list)


@dataclass
class ListedAccount:
    rank: int
    scored: AccountScore
    brief: str


def _utc(v: Any) -> datetime:
    out = to_utc(v)
    assert out is not None
    return out


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(v: int) -> datetime:
    """Epoch microseconds (``epoch_us(ts)`` in SQL) -> aware UTC datetime; much faster than letting the
    driver convert TIMESTAMPTZ values one by one."""
    return _EPOCH + timedelta(microseconds=v)


def load_inputs(con: duckdb.DuckDBPyConnection, as_of: date, cfg: ScoringSettings) -> ScoreInputs:
    """Everything scoring needs for ``as_of``, read in one go (dismissed evidence already removed)."""
    con.execute("SET TimeZone = 'UTC'")
    cutoff = day_end(as_of)
    start = cutoff - timedelta(days=max(cfg.lookback_days, cfg.trend_days + cfg.baseline_days))
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
    dismissed = {
        r[0] for r in con.execute("SELECT signal_id FROM feedback WHERE action = 'dismiss'").fetchall()
    }
    done = {
        r[0]: _utc(r[1])
        for r in con.execute(
            "SELECT account_id, max(created_at) FROM feedback WHERE action = 'done' GROUP BY account_id"
        ).fetchall()
    }
    asks = [
        AskSignal(
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], _us(r[10]), r[11], r[12], float(r[13])
        )
        for r in con.execute(
            _SIGNALS
            + """SELECT signal_id, kind, subtype, party, account_id, thread_id, source_type, source_key,
                        sentence, speaker, epoch_us(sig_at), due_date, any_link, score
                 FROM sig WHERE kind IN ('ask', 'commitment') AND sig_at < ?
                 ORDER BY sig_at, signal_id""",
            [cutoff],
        ).fetchall()
    ]
    evidence = [
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
                   AND account_id IN (SELECT account_id FROM accounts) AND sig_at >= ? AND sig_at < ?
                 ORDER BY sig_at, signal_id""",
            [start, cutoff],
        ).fetchall()
        if r[0] not in dismissed
    ]
    replies = [
        Reply(r[0], r[1], r[2], _us(r[3]))
        for r in con.execute(
            """SELECT message_key, thread_id, account_id, epoch_us(sent_at) FROM messages
               WHERE direction = 'outbound' AND sent_at IS NOT NULL AND sent_at < ?""",
            [cutoff],
        ).fetchall()
    ]
    meetings = [
        Meeting(r[0], r[1], _us(r[2]))
        for r in con.execute(
            """SELECT t.transcript_key, t.account_id, epoch_us(t.meeting_at) FROM transcripts t
               WHERE t.account_id IS NOT NULL AND t.meeting_at IS NOT NULL AND t.meeting_at < ?
                 AND EXISTS (SELECT 1 FROM utterances u
                             WHERE u.transcript_key = t.transcript_key AND u.role = 'internal')""",
            [cutoff],
        ).fetchall()
    ]
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
    inbound, activity = load_activity(con, as_of, cfg)
    return ScoreInputs(
        accounts, contacts, asks, evidence, replies, meetings, dismissed, done, first_seen, inbound, activity
    )


def _ts(v: datetime | None) -> datetime | None:
    return v.astimezone(UTC) if v is not None else None


def ask_dict(a: Ask) -> dict[str, Any]:
    """The JSON shape of an open ask in ``call_list.open_asks``."""
    return {
        "ask_id": a.ask_id,
        "kind": a.kind,
        "text": a.text,
        "asked_by": a.asked_by,
        "opened_at": a.opened_at.isoformat(),
        "due_date": a.due_date.isoformat() if a.due_date else None,
        "age_business_days": a.age_business_days,
        "overdue": a.overdue,
        "link": a.link,
        "source_type": a.source_type,
        "score": round(a.score, 4),
    }


_TS = pa.timestamp("us", tz="UTC")


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, data: dict[str, list[Any]], schema: pa.Schema
) -> None:
    tbl = pa.table(data, schema=schema)
    view = f"_new_{table}"
    con.register(view, tbl)
    try:
        cols = ", ".join(schema.names)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {view}")
    finally:
        con.unregister(view)


def write_results(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    run_id: str | None,
    asks: list[Ask],
    scores: list[AccountScore],
    listed: list[ListedAccount],
) -> None:
    """Replace the asks, and the account scores and call list of ``as_of`` (call in one transaction)."""
    now = datetime.now(UTC)
    con.execute("DELETE FROM asks")
    _insert(
        con,
        "asks",
        {
            "ask_id": [a.ask_id for a in asks],
            "kind": [a.kind for a in asks],
            "subtype": [a.subtype for a in asks],
            "account_id": [a.account_id for a in asks],
            "thread_id": [a.thread_id for a in asks],
            "source_type": [a.source_type for a in asks],
            "source_key": [a.source_key for a in asks],
            "text": [a.text for a in asks],
            "asked_by": [a.asked_by for a in asks],
            "opened_at": [_ts(a.opened_at) for a in asks],
            "due_date": [a.due_date for a in asks],
            "resolved_at": [_ts(a.resolved_at) for a in asks],
            "resolved_by": [a.resolved_by for a in asks],
            "resolved_via": [a.resolved_via for a in asks],
            "status": [a.status for a in asks],
            "age_business_days": [a.age_business_days for a in asks],
            "overdue": [a.overdue for a in asks],
            "link": [a.link for a in asks],
            "score": [a.score for a in asks],
            "as_of": [as_of] * len(asks),
            "updated_at": [now] * len(asks),
            "run_id": [run_id] * len(asks),
        },
        pa.schema(
            [
                ("ask_id", pa.string()),
                ("kind", pa.string()),
                ("subtype", pa.string()),
                ("account_id", pa.string()),
                ("thread_id", pa.string()),
                ("source_type", pa.string()),
                ("source_key", pa.string()),
                ("text", pa.string()),
                ("asked_by", pa.string()),
                ("opened_at", _TS),
                ("due_date", pa.date32()),
                ("resolved_at", _TS),
                ("resolved_by", pa.string()),
                ("resolved_via", pa.string()),
                ("status", pa.string()),
                ("age_business_days", pa.int32()),
                ("overdue", pa.bool_()),
                ("link", pa.string()),
                ("score", pa.float64()),
                ("as_of", pa.date32()),
                ("updated_at", _TS),
                ("run_id", pa.string()),
            ]
        ),
    )
    listed_ids = {entry.scored.account.account_id for entry in listed}
    con.execute("DELETE FROM account_scores WHERE as_of = ?", [as_of])
    _insert(
        con,
        "account_scores",
        {
            "as_of": [as_of] * len(scores),
            "account_id": [s.account.account_id for s in scores],
            "score": [round(s.score, 4) for s in scores],
            "components": [json.dumps(s.components, sort_keys=True) for s in scores],
            "listed": [s.account.account_id in listed_ids for s in scores],
            "skipped_reason": [s.skipped_reason for s in scores],
            "computed_at": [now] * len(scores),
            "run_id": [run_id] * len(scores),
        },
        pa.schema(
            [
                ("as_of", pa.date32()),
                ("account_id", pa.string()),
                ("score", pa.float64()),
                ("components", pa.string()),
                ("listed", pa.bool_()),
                ("skipped_reason", pa.string()),
                ("computed_at", _TS),
                ("run_id", pa.string()),
            ]
        ),
    )
    con.execute(
        """INSERT OR REPLACE INTO call_list_builds VALUES (?, ?, ?, ?, ?, ?, ?)""",
        [
            as_of,
            now,
            run_id,
            len(scores),
            len(listed),
            sum(1 for a in asks if a.status == "open"),
            sum(1 for a in asks if a.overdue),
        ],
    )
    con.execute("DELETE FROM call_list WHERE as_of = ?", [as_of])
    rows = [(e.rank, e.scored, e.brief) for e in listed]
    _insert(
        con,
        "call_list",
        {
            "as_of": [as_of] * len(rows),
            "rank": [r for r, _, _ in rows],
            "account_id": [s.account.account_id for _, s, _ in rows],
            "account_name": [s.account.name for _, s, _ in rows],
            "owner_am": [s.account.owner_am for _, s, _ in rows],
            "am_email": [s.account.am_email for _, s, _ in rows],
            "score": [round(s.score, 4) for _, s, _ in rows],
            "tier": [s.account.tier for _, s, _ in rows],
            "arr": [s.account.arr for _, s, _ in rows],
            "reasons": [json.dumps([x.as_dict() for x in s.reasons]) for _, s, _ in rows],
            "open_asks": [json.dumps([ask_dict(a) for a in s.open_asks]) for _, s, _ in rows],
            "open_ask_count": [len(s.open_asks) for _, s, _ in rows],
            "overdue_ask_count": [sum(1 for a in s.open_asks if a.overdue) for _, s, _ in rows],
            "brief": [b for _, _, b in rows],
            "last_evidence_at": [_ts(s.last_evidence_at) for _, s, _ in rows],
            "created_at": [now] * len(rows),
            "run_id": [run_id] * len(rows),
        },
        pa.schema(
            [
                ("as_of", pa.date32()),
                ("rank", pa.int32()),
                ("account_id", pa.string()),
                ("account_name", pa.string()),
                ("owner_am", pa.string()),
                ("am_email", pa.string()),
                ("score", pa.float64()),
                ("tier", pa.string()),
                ("arr", pa.float64()),
                ("reasons", pa.string()),
                ("open_asks", pa.string()),
                ("open_ask_count", pa.int32()),
                ("overdue_ask_count", pa.int32()),
                ("brief", pa.string()),
                ("last_evidence_at", _TS),
                ("created_at", _TS),
                ("run_id", pa.string()),
            ]
        ),
    )
