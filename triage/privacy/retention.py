"""Retention (``[retention]``, ``triage purge``): raw bytes and derived rows kept only so long.

Ages are measured from ``as_of`` (the run's day) back to when the item happened: a message's
``Date`` (else when it was fetched), a meeting's date, a signal's moment, a list's day.

* **raw window** (``raw_days``): the mail as received and the meeting text go. ``raw_messages.raw``
  becomes NULL and ``purged_at`` is set: the row itself (key, hashes, size, where it was seen) stays,
  so the message is never fetched again as new nor parsed again; ``messages.body_text`` (the full
  text, quotes included) and ``utterances.text`` become NULL, and so does the ``detail`` of older
  quarantine rows (it may quote a line of the item). What the detectors found stays, so the list, the
  asks and the account history are unchanged.
* **derived window** (``derived_days``, at least the scoring window): signals (with their evidence
  sentence), asks, meeting turns (``utterances``), ``messages.new_text`` and the call lists of older
  days (``call_list``, ``call_list_builds``: their reasons quote evidence) go, and so do the AMs'
  free-text notes on older feedback (the feedback itself stays: it still decides what counts), older
  same-day alert and digest records. ``account_scores`` (numbers only) stay for trends;
  ``detections`` stay, so nothing is scored again.

A purge that removed anything records a durable job (:mod:`triage.privacy.jobs`) in its transaction:
the application layer then rewrites the file (``compact``) so no freed block keeps old bytes, and a
purge killed before that is finished by the next command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import duckdb

from triage.db import Database
from triage.log import get_logger
from triage.privacy.jobs import PrivacyJob, record
from triage.settings import Settings

__all__ = ["PurgeResult", "purge"]

log = get_logger("privacy.retention")


@dataclass
class PurgeResult:
    as_of: date
    raw_cutoff: datetime | None
    derived_cutoff: datetime | None
    #: rows changed per "table.what": {"raw_messages.raw": 12, "signals": 40, ...}
    counts: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    bytes_before: int = 0
    bytes_after: int = 0
    #: the file rewrite still to do (None: nothing changed, or a dry run)
    job: PrivacyJob | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class _DryRun(Exception):
    """Control flow: roll the purge's transaction back (a dry run)."""


def _n(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> int:
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


_MESSAGE_AT = (
    "coalesce((SELECT m.sent_at FROM messages m WHERE m.message_key = raw_messages.message_key), "
    "raw_messages.internal_date, raw_messages.fetched_at)"
)


def _purge_raw(con: duckdb.DuckDBPyConnection, cutoff: datetime, now: datetime) -> dict[str, int]:
    c: dict[str, int] = {}
    c["raw_messages.raw"] = _n(con, f"""UPDATE raw_messages SET raw = NULL, purged_at = ?
        WHERE purged_at IS NULL AND {_MESSAGE_AT} < ?""", [now, cutoff])
    c["messages.body_text"] = _n(con, """UPDATE messages SET body_text = NULL
        WHERE body_text IS NOT NULL AND coalesce(sent_at, parsed_at) < ?""", [cutoff])
    c["utterances.text"] = _n(con, """UPDATE utterances SET text = NULL WHERE text IS NOT NULL
        AND transcript_key IN (SELECT transcript_key FROM transcripts WHERE coalesce(meeting_at, parsed_at) < ?)""",
                             [cutoff])
    c["quarantine.detail"] = _n(con, """UPDATE quarantine SET detail = NULL
        WHERE detail IS NOT NULL AND last_seen_at < ?""", [cutoff])
    return c


def _purge_derived(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> dict[str, int]:
    c: dict[str, int] = {}
    c["signals"] = _n(con, """DELETE FROM signals WHERE coalesce(occurred_at,
        (SELECT m.sent_at FROM messages m WHERE signals.source_type = 'email' AND m.message_key = signals.source_key),
        (SELECT t.meeting_at FROM transcripts t
         WHERE signals.source_type = 'meeting' AND t.transcript_key = signals.source_key),
        created_at) < ?""", [cutoff])
    c["asks"] = _n(con, "DELETE FROM asks WHERE ask_id NOT IN (SELECT signal_id FROM signals)", [])
    c["utterances"] = _n(con, """DELETE FROM utterances WHERE transcript_key IN
        (SELECT transcript_key FROM transcripts WHERE coalesce(meeting_at, parsed_at) < ?)""", [cutoff])
    c["messages.new_text"] = _n(con, """UPDATE messages SET new_text = NULL, body_text = NULL
        WHERE new_text IS NOT NULL AND coalesce(sent_at, parsed_at) < ?""", [cutoff])
    c["call_list"] = _n(con, "DELETE FROM call_list WHERE as_of < ?", [cutoff.date()])
    c["call_list_builds"] = _n(con, "DELETE FROM call_list_builds WHERE as_of < ?", [cutoff.date()])
    c["feedback.note"] = _n(con, """UPDATE feedback SET reason = NULL
        WHERE action = 'done' AND reason IS NOT NULL AND created_at < ?""", [cutoff])
    c["alert_log"] = _n(con, "DELETE FROM alert_log WHERE sent_at < ?", [cutoff])
    c["digest_log"] = _n(con, "DELETE FROM digest_log WHERE as_of < ?", [cutoff.date()])
    return c


def purge(settings: Settings, db: Database, as_of: date, *, dry_run: bool = False) -> PurgeResult:
    """Apply the ``[retention]`` windows as of ``as_of``; see the module docstring."""
    cfg = settings.retention
    end = datetime.combine(as_of, datetime.min.time(), tzinfo=UTC)
    result = PurgeResult(
        as_of,
        end - timedelta(days=cfg.raw_days) if cfg.raw_days else None,
        end - timedelta(days=cfg.derived_days) if cfg.derived_days else None,
        dry_run=dry_run,
    )
    if result.raw_cutoff is None and result.derived_cutoff is None:
        return result
    try:
        with db.write() as con:
            con.execute("SET TimeZone = 'UTC'")
            if result.raw_cutoff is not None:
                result.counts.update(_purge_raw(con, result.raw_cutoff, datetime.now(UTC)))
            if result.derived_cutoff is not None:
                result.counts.update(_purge_derived(con, result.derived_cutoff))
            if dry_run:
                raise _DryRun
            if result.total:
                result.job = record(con, "purge", compact=cfg.compact)
    except _DryRun:
        return result
    log.info("retention as of %s: %s", as_of, {k: v for k, v in result.counts.items() if v} or "nothing to purge")
    return result
