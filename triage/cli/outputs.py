"""Reading commands: list, html, digest."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import click
from rich.console import Console

from triage.app import open_db
from triage.app.links import link_maker
from triage.cli.app import Context, cli, pass_ctx
from triage.db import Database
from triage.errors import TriageError
from triage.publish.model import CallListEntry, UnknownSender

__all__: list[str] = []

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _db(ctx: Context) -> Database:
    return open_db(ctx.settings, migrate=False)


def _day(db: Database, as_of: datetime | None) -> date:
    """The day asked for (it must have been built), else the latest built day."""
    from triage.publish import built_days

    days = built_days(db)
    if not days:
        raise TriageError("no call list has been built yet; run `triage run` first")
    if as_of is None:
        return days[0]
    if as_of.date() not in days:
        shown = ", ".join(d.isoformat() for d in days[:5])
        raise TriageError(
            f"no call list was built for {as_of.date().isoformat()} (latest: {shown}); "
            f"build it with `triage run --as-of {as_of.date().isoformat()}`"
        )
    return as_of.date()


_CSV_COLUMNS = [
    "rank",
    "account_id",
    "account_name",
    "owner_am",
    "am_email",
    "tier",
    "arr",
    "score",
    "open_asks",
    "overdue_asks",
    "top_reason",
    "evidence",
    "link",
    "reasons",
    "brief",
]


def _csv(entries: list[CallListEntry], unknown: list[UnknownSender] | None) -> str:
    buf = io.StringIO()
    if unknown is not None:
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(
            ["sender", "signals", "frustration", "asks", "buying_signals", "last_at", "example", "link"]
        )
        for u in unknown:
            w.writerow(
                [
                    u.sender,
                    u.signals,
                    u.frustration,
                    u.asks,
                    u.buying_signals,
                    u.last_at.isoformat() if u.last_at else "",
                    u.example or "",
                    u.link or "",
                ]
            )
        return buf.getvalue()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_CSV_COLUMNS)
    for e in entries:
        top = e.top_reasons(1)
        first = top[0] if top else None
        w.writerow(
            [
                e.rank,
                e.account_id,
                e.name,
                e.owner_am or "",
                e.am_email or "",
                e.tier or "",
                "" if e.arr is None else f"{e.arr:.0f}",
                f"{e.score:.3f}",
                len(e.open_asks),
                e.overdue_count,
                first.text if first else "",
                (first.evidence or "") if first else "",
                (first.link or "") if first else "",
                "; ".join(f"{r.text} (+{r.weight:.1f})" for r in e.reasons),
                " | ".join(e.brief_lines()),
            ]
        )
    return buf.getvalue()


@cli.command(
    "list",
    epilog="""\b
Examples:
  triage list                      # the latest list as a table
  triage list --am dana            # only Dana's accounts (name or e-mail contains "dana")
  triage list --json > today.json  # for scripts (signal ids included, for `triage dismiss`)
  triage list --csv --as-of 2026-11-20
  triage list --unknown            # also senders of no known account that carry signals""",
)
@click.option("--as-of", type=_DATE, help="Day of the list (default: the latest built).")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout (with --unknown: the unknown senders).")
@click.option("--am", help="Only accounts whose AM name or e-mail contains this (case-insensitive).")
@click.option("--unknown", is_flag=True, help="Show signals from senders of no known account.")
@click.option("--no-brief", is_flag=True, help="Table without the brief column (narrow terminals).")
@pass_ctx
def list_cmd(
    ctx: Context,
    as_of: datetime | None,
    as_json: bool,
    as_csv: bool,
    am: str | None,
    unknown: bool,
    no_brief: bool,
) -> None:
    """Show the call list: rank, account, AM, score, reasons with evidence, open asks, brief (read-only)."""
    from triage.publish import load_call_list, load_unknown_senders
    from triage.publish.terminal import print_call_list, print_unknown_senders

    if as_json and as_csv:
        raise click.UsageError("--json and --csv are exclusive")
    db = _db(ctx)
    day = _day(db, as_of)
    entries = load_call_list(db, day, am=am)
    senders = load_unknown_senders(db, day, ctx.settings.scoring.lookback_days) if unknown else None
    if as_json:
        out: dict[str, object] = {"as_of": day.isoformat(), "accounts": [e.to_dict() for e in entries]}
        if senders is not None:
            out["unknown_senders"] = [s.to_dict() for s in senders]
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    elif as_csv:
        click.echo(_csv(entries, senders), nl=False)
    else:
        console = Console()
        print_call_list(entries, console, top_reasons=ctx.settings.output.top_reasons, brief=not no_brief)
        if senders is not None:
            print_unknown_senders(senders, console)


@cli.command(
    epilog="""\b
Examples:
  triage html --am dana                # only Dana's accounts -> triage-today-dana-whitfield.html
  triage html --am luis@northwind.example /srv/www/luis/today.html
  triage html                          # ALL accounts: the manager / ops view, on purpose
  triage html -o /srv/www/today.html --as-of 2026-11-20
Each AM needs to see only their accounts: give AMs their --am page (or the digest); keep the
all-accounts page for managers and ops.""",
)
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.option("--as-of", type=_DATE, help="Day of the list (default: the latest built).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Where to write (same as PATH; default: output.html_path)."
)
@click.option("--am", help="Only this AM's accounts (name or e-mail; must match one AM); no unknown senders.")
@pass_ctx
def html(ctx: Context, path: str | None, as_of: datetime | None, output: str | None, am: str | None) -> None:
    """Write the self-contained HTML page to PATH (inline CSS, no scripts, no external assets)."""
    from triage.publish import write_html

    if path and output and path != output:
        raise click.UsageError(f"two places to write: PATH {path!r} and --output {output!r}; give one")
    db = _db(ctx)
    click.echo(write_html(ctx.settings, db, _day(db, as_of), path or output, am=am))


@cli.command(
    epilog="""\b
Examples:
  triage digest --dry-run              # show who would get what, send nothing
  triage digest                        # send today's digests (each AM once per day)
  triage digest --force --as-of 2026-11-20   # send again
SMTP settings: [digest] in the config; the password comes from $TRIAGE_SMTP_PASSWORD
(digest.password_env) and is only read when digest.username is set.""",
)
@click.option("--as-of", type=_DATE, help="Day of the list (default: the latest built).")
@click.option("--dry-run", is_flag=True, help="Print the digests instead of sending them.")
@click.option("--force", is_flag=True, help="Send again to AMs who already got this day's digest.")
@pass_ctx
def digest(ctx: Context, as_of: datetime | None, dry_run: bool, force: bool) -> None:
    """E-mail each AM their part of the list (plain text + HTML), over SMTP."""
    from triage.publish import send_digest

    db = _db(ctx)
    day = _day(db, as_of)
    result = send_digest(ctx.settings, db, day, force=force, dry_run=dry_run, link_for=link_maker(ctx.settings))
    if dry_run:
        for m in result.mails:
            accounts = ", ".join(e.account_id for e in m.entries) or "nothing"
            click.echo(f"=== to {m.recipient}: {accounts}")
            body = m.message.get_body(preferencelist=("plain",))
            click.echo(body.get_content() if body is not None else "")
    else:
        for r in result.sent:
            click.echo(f"sent to {r}")
        for r in result.already_sent:
            click.echo(f"already sent to {r} (use --force to send again)")
    if result.unassigned:
        click.echo(f"no AM e-mail for: {', '.join(result.unassigned)}", err=True)
