"""The list that learns, from a terminal: ``triage train --with-feedback`` (its output) and
``triage model status | rollback`` (which model the runs use, and the way back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from triage.cli.app import Context, cli, pass_ctx

__all__ = ["train_with_feedback"]


def _console() -> Console:
    import sys

    return Console() if sys.stdout.isatty() else Console(width=160)


def train_with_feedback(ctx: Context, data_dir: Path, author: str) -> None:
    """Candidate from the clicks, the gate, the install (see :mod:`triage.learn.gate`); prints every check."""
    from triage.app import open_db
    from triage.learn.gate import learn_from_feedback

    outcome = learn_from_feedback(ctx.settings, data_dir, open_db(ctx.settings), by=author)
    clicks = ", ".join(f"{k}: {v['not_a_problem']} not a problem, {v['confirm']} confirmed"
                       for k, v in sorted(outcome.clicks.items()))
    click.echo(f"feedback: {clicks}")
    table = Table(title="Install gate (candidate against the shipped model)", title_justify="left")
    for col in ("check", "result", "measured"):
        table.add_column(col)
    for c in outcome.checks:
        table.add_row(c.name, "ok" if c.ok else "[bold red]fails[/]", c.detail)
    _console().print(table)
    if outcome.installed:
        click.echo(f"installed team model {outcome.version}: the next run uses it (and scores the stored text "
                   "again); `triage model rollback` goes back")
    else:
        failed = [c.name for c in outcome.checks if not c.ok]
        click.echo(f"not installed: {'; '.join(failed)}. The model in use is unchanged.")


@cli.group(epilog="""\b
Examples:
  triage model status        # which model the runs use, the team's versions, what happened last
  triage model rollback      # back to the version before (or the shipped model)""")
def model() -> None:
    """The team's own models (made by `triage train --with-feedback`): status and rollback."""


def _versions_table(rows: list[Any], current: str | None) -> Table:
    table = Table(title="Team versions", title_justify="left")
    for col in ("version", "in use", "clicks", "false alarms gone (held back)", "made for shipped heads"):
        table.add_column(col)
    for v in rows:
        held = v.meta.get("heldback", {})
        clicks = "; ".join(f"{k} {d.get('not_a_problem', 0)}/{d.get('confirm', 0)}"
                           for k, d in sorted(v.meta.get("clicks", {}).items()))
        table.add_row(v.name, "yes" if v.name == current else "", clicks,
                      f"{held.get('false_alarms_gone', '?')} of {held.get('false_alarms_held_back', '?')}",
                      v.base_heads[:12])
    return table


@model.command("status")
@click.option("--history", "last", type=int, default=10, show_default=True, help="Events of the history to show.")
@pass_ctx
def status(ctx: Context, last: int) -> None:
    """Which model the nightly run uses, the team's versions and the latest events."""
    from triage.nlp.team import team_models

    team = team_models(ctx.settings)
    current = team.current()
    if current is None:
        click.echo(f"in use: the shipped model ({team.shipped})")
        named = team.current_name()
        if named:
            click.echo(f"  ({team.root / 'CURRENT'} names {named}, which is missing or made for another shipped "
                       "model)")
    else:
        click.echo(f"in use: team model {current.name} ({current.path})")
    versions = team.versions()
    if versions:
        _console().print(_versions_table(versions, current.name if current else None))
    events = team.history(last)
    if not events:
        click.echo(f"no history yet in {team.root}: `triage train --with-feedback` makes the first candidate")
    for e in events:
        what = e.get("version") or ""
        extra = ""
        if e.get("event") == "refused":
            extra = "failed: " + "; ".join(e.get("why", []))
        elif e.get("event") == "rolled back":
            extra = f"to {e.get('to')}"
        elif e.get("event") == "retired":
            extra = str(e.get("why", ""))
        click.echo(f"{e.get('at')}  {e.get('event'):<12} {what} {extra}".rstrip())


@model.command("rollback")
@click.option("--author", help="Who (default: the current user).")
@pass_ctx
def rollback(ctx: Context, author: str | None) -> None:
    """Go back to the version installed before the current one (or to the shipped model)."""
    from triage.cli.feedback import author_of
    from triage.nlp.team import team_models

    team = team_models(ctx.settings)
    now = team.current_name()
    to = team.rollback(by=author_of(author))
    click.echo(f"rolled back from {now} to {to or 'the shipped model'}; the next run uses it")
