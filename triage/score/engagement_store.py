"""The I/O of engagement: client mail and meetings read with the scoring inputs; ``account_engagement`` written
with the day's scores (same transaction)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from triage.score.calendar import day_end
from triage.score.engagement import Engagement, Inbound, MeetingContact
from triage.settings import ScoringSettings

__all__ = ["load_activity", "write_engagement"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TS = pa.timestamp("us", tz="UTC")


def _us(v: int) -> datetime:
    return _EPOCH + timedelta(microseconds=v)


def load_activity(
    con: duckdb.DuckDBPyConnection, as_of: date, cfg: ScoringSettings
) -> tuple[list[Inbound], list[MeetingContact]]:
    """Client mail (people, not machines) of the accounts scored (a ``_scored_accounts`` table the caller
    registered: :func:`triage.score.inputs.load_inputs`) and their meetings, as far back as engagement looks."""
    cutoff = day_end(as_of)
    start = cutoff - timedelta(days=cfg.engagement_baseline_days + cfg.slow_response_window_days)
    inbound = [
        Inbound(r[0], r[1], r[2], _us(r[3]), r[4], r[5], r[6])
        for r in con.execute(
            """SELECT message_key, account_id, thread_id, epoch_us(sent_at), from_addr, subject, link
               FROM messages
               WHERE direction = 'inbound' AND machine_sent IS NULL AND sent_at >= ? AND sent_at < ?
                 AND account_id IN (SELECT account_id FROM _scored_accounts)""",
            [start, cutoff],
        ).fetchall()
    ]
    meetings = [
        MeetingContact(r[0], r[1], _us(r[2]), r[3], r[4], bool(r[5]))
        for r in con.execute(
            """SELECT t.transcript_key, t.account_id, epoch_us(t.meeting_at), t.title, t.link,
                      EXISTS (SELECT 1 FROM utterances u
                              WHERE u.transcript_key = t.transcript_key AND u.role = 'internal')
               FROM transcripts t
               WHERE t.account_id IN (SELECT account_id FROM _scored_accounts)
                 AND t.meeting_at >= ? AND t.meeting_at < ?""",
            [start, cutoff],
        ).fetchall()
    ]
    return inbound, meetings


_SCHEMA = pa.schema(
    [
        ("as_of", pa.date32()),
        ("account_id", pa.string()),
        ("inbound_messages", pa.int32()),
        ("last_inbound_at", _TS),
        ("last_inbound_key", pa.string()),
        ("usual_gap_days", pa.float64()),
        ("silent_days", pa.int32()),
        ("silent_business_days", pa.int32()),
        ("meetings", pa.int32()),
        ("last_meeting_at", _TS),
        ("usual_meeting_gap_days", pa.float64()),
        ("replies_recent", pa.int32()),
        ("replies_baseline", pa.int32()),
        ("median_reply_hours_recent", pa.float64()),
        ("median_reply_hours_baseline", pa.float64()),
        ("longest_wait_business_days", pa.int32()),
        ("waiting_message_key", pa.string()),
        ("waiting_since", _TS),
        ("waiting_answered_at", _TS),
        ("engagement_drop", pa.bool_()),
        ("drop_channel", pa.string()),
        ("engagement_drop_points", pa.float64()),
        ("slow_response", pa.bool_()),
        ("slow_kind", pa.string()),
        ("slow_response_points", pa.float64()),
        ("computed_at", _TS),
        ("run_id", pa.string()),
    ]
)


def write_engagement(
    con: duckdb.DuckDBPyConnection, as_of: date, run_id: str | None, rows: list[Engagement],
    only: set[str] | None = None,
) -> None:
    """Replace the engagement rows of ``as_of`` (``only``: of those accounts) in the scoring write transaction."""
    now = datetime.now(UTC)
    dicts: list[dict[str, Any]] = [
        {"as_of": as_of, **e.row(), "computed_at": now, "run_id": run_id} for e in rows
    ]
    data = {name: [d[name] for d in dicts] for name in _SCHEMA.names}
    if only is None:
        con.execute("DELETE FROM account_engagement WHERE as_of = ?", [as_of])
    else:
        con.execute("DELETE FROM account_engagement WHERE as_of = ? AND account_id IN (SELECT unnest(?::VARCHAR[]))",
                    [as_of, sorted(only)])
    tbl = pa.table(data, schema=_SCHEMA)
    con.register("_new_account_engagement", tbl)
    try:
        cols = ", ".join(_SCHEMA.names)
        con.execute(f"INSERT INTO account_engagement ({cols}) SELECT {cols} FROM _new_account_engagement")
    finally:
        con.unregister("_new_account_engagement")
