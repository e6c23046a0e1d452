"""Writing what scoring found for a day in one transaction: asks, account scores, the call list (the
write half of the score floor's I/O; the read half is :mod:`triage.score.inputs`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from triage.score.asks import Ask
from triage.score.model import AccountScore

__all__ = ["ListedAccount", "ask_dict", "write_partial", "write_results"]


@dataclass
class ListedAccount:
    rank: int
    scored: AccountScore
    brief: str


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
    _write_asks(con, as_of, run_id, now, asks)
    con.execute("DELETE FROM account_scores WHERE as_of = ?", [as_of])
    _write_scores(con, as_of, run_id, now, scores, listed)
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
    _write_call_list(con, as_of, run_id, now, listed)


def _write_asks(con: duckdb.DuckDBPyConnection, as_of: date, run_id: str | None, now: datetime,
                asks: list[Ask]) -> None:
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


def _write_scores(con: duckdb.DuckDBPyConnection, as_of: date, run_id: str | None, now: datetime,
                  scores: list[AccountScore], listed: list[ListedAccount]) -> None:
    listed_ids = {entry.scored.account.account_id for entry in listed}
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


def _write_call_list(con: duckdb.DuckDBPyConnection, as_of: date, run_id: str | None, now: datetime,
                     listed: list[ListedAccount], *, replace: bool = True) -> None:
    if replace:
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


def write_partial(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    run_id: str | None,
    accounts: set[str],
    asks: list[Ask],
    scores: list[AccountScore],
    listed: list[ListedAccount],
    ranks: dict[str, int | None],
) -> None:
    """Replace what scoring says about ``accounts`` only (their asks, scores and list rows of ``as_of``), and
    give every account of the day its new place: ``ranks`` (None: off the list, beyond ``max_accounts``)."""
    now = datetime.now(UTC)
    con.register("_only_accounts", pa.table({"account_id": pa.array(sorted(accounts), pa.string())}))
    try:
        mine = "account_id IN (SELECT account_id FROM _only_accounts)"
        con.execute(f"DELETE FROM asks WHERE {mine}")
        con.execute(f"DELETE FROM account_scores WHERE as_of = ? AND {mine}", [as_of])
        con.execute(f"DELETE FROM call_list WHERE as_of = ? AND {mine}", [as_of])
    finally:
        con.unregister("_only_accounts")
    _write_asks(con, as_of, run_id, now, asks)
    _write_scores(con, as_of, run_id, now, scores, listed)
    _write_call_list(con, as_of, run_id, now, listed, replace=False)
    places = pa.table({"account_id": pa.array(list(ranks), pa.string()),
                       "place": pa.array(list(ranks.values()), pa.int32())})
    con.register("_places", places)
    try:
        con.execute("""UPDATE account_scores SET listed = p.place IS NOT NULL,
                           skipped_reason = CASE WHEN p.place IS NULL AND skipped_reason IS NULL
                                                   THEN 'beyond_max_accounts'
                                                 WHEN p.place IS NOT NULL THEN NULL ELSE skipped_reason END
                       FROM _places p WHERE account_scores.as_of = ? AND account_scores.account_id = p.account_id""",
                    [as_of])
        con.execute("DELETE FROM call_list WHERE as_of = ? AND account_id IN "
                    "(SELECT account_id FROM _places WHERE place IS NULL)", [as_of])
        con.execute("UPDATE call_list SET rank = p.place FROM _places p "
                    "WHERE call_list.as_of = ? AND call_list.account_id = p.account_id", [as_of])
    finally:
        con.unregister("_places")
    con.execute(
        """INSERT OR REPLACE INTO call_list_builds
           SELECT ?, ?, ?, (SELECT count(*) FROM account_scores WHERE as_of = ?),
                  (SELECT count(*) FROM call_list WHERE as_of = ?),
                  (SELECT count(*) FROM asks WHERE status = 'open'), (SELECT count(*) FROM asks WHERE overdue)""",
        [as_of, now, run_id, as_of, as_of],
    )
