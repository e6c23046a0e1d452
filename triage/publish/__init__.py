"""Outputs: terminal table, self-contained HTML page, per-AM e-mail digest (contract for the flow).

Readers open DuckDB read-only (``db.read()``), so ``triage list`` works next to ops sessions.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from triage.db import Database
from triage.log import get_logger
from triage.publish.digest import DigestResult, send_digests
from triage.publish.html import render_page, write_page
from triage.publish.load import built_days, latest_as_of, load_call_list, load_run_info, load_unknown_senders
from triage.publish.model import CallListEntry, OpenAskView, ReasonView, RunInfo, UnknownSender
from triage.publish.trend import load_trends
from triage.settings import Settings
from triage.types import PublishReport

__all__ = [
    "CallListEntry",
    "DigestResult",
    "OpenAskView",
    "ReasonView",
    "RunInfo",
    "UnknownSender",
    "built_days",
    "latest_as_of",
    "load_call_list",
    "load_run_info",
    "load_unknown_senders",
    "publish",
    "send_digest",
    "write_html",
]

log = get_logger("publish")


def write_html(settings: Settings, db: Database, as_of: date, path: Path | str | None = None) -> str:
    """Render the page of ``as_of`` (accounts, unknown senders, run summary), write it, return the path."""
    entries = load_call_list(db, as_of)
    unknown = load_unknown_senders(db, as_of, settings.scoring.lookback_days)
    run = load_run_info(db, as_of)
    trends = load_trends(db, [e.account_id for e in entries], as_of)
    html = render_page(entries, as_of=as_of, org_name=settings.org.name, run=run, unknown=unknown, trends=trends)
    out = write_page(settings.output.html_path if path is None else Path(path), html)
    log.info("wrote %s (%d accounts)", out, len(entries))
    return str(out)


def send_digest(
    settings: Settings, db: Database, as_of: date, *, force: bool = False, dry_run: bool = False
) -> DigestResult:
    """Send each AM their part of the list of ``as_of`` (once per day unless ``force``)."""
    return send_digests(
        settings.digest,
        db,
        load_call_list(db, as_of),
        as_of=as_of,
        org_name=settings.org.name,
        top_reasons=settings.output.top_reasons,
        force=force,
        dry_run=dry_run,
    )


def publish(settings: Settings, db: Database, as_of: date) -> PublishReport:
    """Write the HTML page and, when enabled, send each AM their digest."""
    report = PublishReport(html_path=write_html(settings, db, as_of))
    if settings.digest.enabled:
        sent = send_digest(settings, db, as_of)
        report.digests_sent = len(sent.sent)
        report.digest_recipients = sent.sent
    return report
