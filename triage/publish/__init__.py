"""Publish owns the outputs: terminal table, self-contained HTML page, per-AM digest, same-day alerts.

Readers open DuckDB read-only (``db.read()``), so ``triage list`` works next to ops sessions.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from triage.db import Database
from triage.errors import OutputError
from triage.log import get_logger
from triage.publish.alerts import LinkFor
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
    "resolve_am",
    "rewrite_pages",
    "send_digest",
    "write_html",
]

log = get_logger("publish")


def write_html(
    settings: Settings, db: Database, as_of: date, path: Path | str | None = None, *, am: str | None = None
) -> str:
    """Render the page of ``as_of`` (accounts, unknown senders, run summary), write it, return the path.

    Without ``am`` it is the all-accounts page (the manager / ops view). With ``am`` (a name or e-mail
    that must match exactly one AM, see :func:`resolve_am`) it holds only that AM's accounts, and no
    senders of unknown accounts; by default it goes next to ``output.html_path`` with the AM in its name.
    """
    run = load_run_info(db, as_of)
    if am is None:
        entries = load_call_list(db, as_of)
        unknown = load_unknown_senders(db, as_of, settings.scoring.lookback_days)
        trends = load_trends(db, [e.account_id for e in entries], as_of)
        html = render_page(entries, as_of=as_of, org_name=settings.org.name, run=run, unknown=unknown,
                           trends=trends)
        target = settings.output.html_path if path is None else Path(path)
    else:
        owner = resolve_am(db, am)
        entries = [e for e in load_call_list(db, as_of) if (e.owner_am, e.am_email) == owner]
        label = owner[0] or owner[1] or am
        trends = load_trends(db, [e.account_id for e in entries], as_of)
        html = render_page(entries, as_of=as_of, org_name=settings.org.name, run=run, unknown=[], trends=trends,
                           heading=f"Accounts to call today: {label}", show_unknown=False)
        default = Path(settings.output.html_path)
        target = default.with_name(f"{default.stem}-{_slug(label)}{default.suffix}") if path is None else Path(path)
    out = write_page(target, html)
    log.info("wrote %s (%d accounts)", out, len(entries))
    return str(out)


def rewrite_pages(settings: Settings, db: Database, as_of: date) -> list[str]:
    """Write again the pages that exist at their default places (the all-accounts page and each AM's
    ``--am`` page next to it), e.g. after an erasure removed words they quoted."""
    written = []
    default = Path(settings.output.html_path)
    if default.exists():
        written.append(write_html(settings, db, as_of))
    with db.read() as con:
        ams = con.execute("SELECT DISTINCT owner_am, am_email FROM accounts WHERE owner_am IS NOT NULL").fetchall()
    for name, email in ams:
        page = default.with_name(f"{default.stem}-{_slug(str(name))}{default.suffix}")
        if page.exists():
            written.append(write_html(settings, db, as_of, page, am=str(email or name)))
    return written


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "am"


def resolve_am(db: Database, name: str) -> tuple[str | None, str | None]:
    """The one AM (owner_am, am_email) of the accounts file whose name or e-mail contains ``name``
    (case-insensitive; an exact match wins). None or several: OutputError listing the AMs."""
    with db.read() as con:
        ams = [(r[0], r[1]) for r in con.execute(
            "SELECT DISTINCT owner_am, am_email FROM accounts WHERE owner_am IS NOT NULL OR am_email IS NOT NULL "
            "ORDER BY 1, 2").fetchall()]
    needle = name.strip().lower()
    exact = [a for a in ams if needle in ((a[0] or "").lower(), (a[1] or "").lower())]
    found = exact or [a for a in ams if needle in (a[0] or "").lower() or needle in (a[1] or "").lower()]
    if len(found) == 1:
        return found[0]
    listed = "; ".join(f"{a[0] or '?'} <{a[1] or '?'}>" for a in ams) or "none"
    why = "matches no AM" if not found else "matches several AMs"
    raise OutputError(f"--am {name!r} {why}; the AMs are: {listed}")


def send_digest(
    settings: Settings, db: Database, as_of: date, *, force: bool = False, dry_run: bool = False,
    link_for: LinkFor | None = None,
) -> DigestResult:
    """Send each AM their part of the list of ``as_of`` (once per day unless ``force``); ``link_for``
    puts a sign-in link of the web app in each (:func:`triage.app.links.link_maker`)."""
    return send_digests(
        settings.digest,
        db,
        load_call_list(db, as_of),
        as_of=as_of,
        org_name=settings.org.name,
        top_reasons=settings.output.top_reasons,
        force=force,
        dry_run=dry_run,
        link_for=link_for,
    )


def publish(settings: Settings, db: Database, as_of: date, *, link_for: LinkFor | None = None) -> PublishReport:
    """Write the HTML page and, when enabled, send each AM their digest (with sign-in links: ``link_for``)."""
    report = PublishReport(html_path=write_html(settings, db, as_of))
    if settings.digest.enabled:
        sent = send_digest(settings, db, as_of, link_for=link_for)
        report.digests_sent = len(sent.sent)
        report.digest_recipients = sent.sent
    return report
