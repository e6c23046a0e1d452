"""``triage account ACCOUNT``: one account's timeline in the terminal, or as JSON."""

from __future__ import annotations

import json
from datetime import datetime

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from triage.app import open_db
from triage.cli.app import Context, cli, pass_ctx
from triage.publish.timeline import AccountTimeline, load_timeline

__all__: list[str] = []

_STYLE = {
    "signal": "red",
    "ask": "yellow",
    "commitment": "yellow",
    "meeting": "cyan",
    "unread": "bold cyan",
    "done": "green",
    "dismiss": "magenta",
}


def _header(tl: AccountTimeline) -> list[str]:
    arr = f", ARR ${tl.arr / 1000:,.0f}k" if tl.arr else ""
    am = escape(tl.owner_am or "no AM")
    lines = [f"[bold]{escape(tl.name)}[/] ({tl.account_id}) — {am}, {tl.tier or 'no tier'}{arr}"]
    if tl.as_of is not None:
        if tl.rank is not None:
            lines.append(f"On the list of {tl.as_of:%a %d %b %Y}: rank {tl.rank}, score {tl.score:.1f}")
        elif tl.score is not None:
            lines.append(f"Not on the list of {tl.as_of:%a %d %b %Y} ({tl.skipped_reason}, score {tl.score:.1f})")
        else:
            lines.append(f"Not on the list of {tl.as_of:%a %d %b %Y} (nothing to score)")
    e = tl.engagement
    if e:
        parts = []
        if e.get("last_inbound_at"):
            gap = f", usually every {e['usual_gap_days']:g} days" if e.get("usual_gap_days") is not None else ""
            parts.append(f"last client mail {e['last_inbound_at']:%d %b} ({e['silent_days']} days ago{gap})")
        if e.get("median_reply_hours_recent") is not None:
            parts.append(f"our median reply {e['median_reply_hours_recent'] / 24:.1f} days")
        if e.get("longest_wait_business_days"):
            parts.append(f"longest wait {e['longest_wait_business_days']} business days")
        flags = [k for k in ("engagement_drop", "slow_response") if e.get(k)]
        if flags:
            parts.append("[bold red]" + ", ".join(flags) + "[/]")
        if parts:
            lines.append("Engagement: " + "; ".join(parts))
    if tl.unread:
        lines.append(f"[bold cyan]{escape(tl.unread)}[/] " + escape("(not in [nlp] languages: read them yourself)"))
    return lines


@cli.command(
    "account",
    epilog="""\b
Examples:
  triage account acme                    # the timeline, newest first
  triage account acme --since 2026-11-01 # only from that day
  triage account acme --limit 10         # the ten newest events
  triage account acme --json | jq '.events[] | select(.kind == "ask")'""",
)
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout (account, list position, engagement, events).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only events from this day on.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N events.")
@pass_ctx
def account_cmd(ctx: Context, account_id: str, as_json: bool, since: datetime | None, limit: int | None) -> None:
    """One account's timeline, newest first: signals, asks and their status, meetings, feedback.

    Read-only (works next to a running night). ACCOUNT is the id of the accounts file; an unknown id
    fails with the closest known ones.
    """
    db = open_db(ctx.settings, migrate=False)
    tl = load_timeline(db, account_id, since=since.date() if since else None, limit=limit,
                       languages=ctx.settings.nlp.languages)
    if as_json:
        click.echo(json.dumps(tl.as_dict(), indent=2))
        return
    console = Console()
    for line in _header(tl):
        console.print(line, highlight=False, soft_wrap=True)
    if not tl.events:
        console.print("No signals, asks, meetings or feedback stored for this account.")
        return
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("when (UTC)", no_wrap=True)
    table.add_column("what")
    table.add_column("who")
    table.add_column("text", ratio=1)
    for ev in tl.events:
        style = _STYLE.get(ev.kind, "")
        table.add_row(
            f"{ev.at:%a %d %b %Y %H:%M}",
            f"[{style}]{escape(ev.title)}[/]" if style else escape(ev.title),
            escape(ev.who or ""),
            escape(ev.text),
        )
    console.print(table)
