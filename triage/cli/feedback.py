"""What an AM tells the list from a terminal: done, dismiss, confirm, answered, snooze, undo.

The same library function as the web app's buttons (:func:`triage.app.record`): the action is queued
durably, applied once, and the latest list is built again at once.
"""

from __future__ import annotations

import getpass
from datetime import datetime

import click

from triage.app import Recorded, open_db, record
from triage.cli.app import Context, cli, pass_ctx
from triage.errors import TriageError
from triage.score.feedback import REASON_CODES, new_action

__all__ = ["author_of"]

_DATE = click.DateTime(formats=["%Y-%m-%d"])
_NO_REBUILD = click.option("--no-rebuild", is_flag=True, help="Record only; the next run (or click) applies it.")
_AUTHOR = click.option("--author", help="Who (default: the current user).")


def author_of(author: str | None) -> str:
    if author:
        return author
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _apply(ctx: Context, kind: str, author: str | None, no_rebuild: bool, **fields: object) -> Recorded:
    db = open_db(ctx.settings)
    done = record(ctx.settings, db, new_action(kind, author_of(author), source="cli", **fields),
                  rebuild=not no_rebuild)
    if done.rejected:
        raise TriageError(done.rejected)
    return done


def _rebuilt(done: Recorded) -> str:
    return f"; re-built the list of {done.rebuilt.isoformat()}" if done.rebuilt else ""


@cli.command(epilog="""\b
Examples:
  triage done acme                           # Acme is handled: off the list until new evidence
  triage done acme --note "called Priya, fix ships Monday"
  triage done acme --no-rebuild              # record only; the next run applies it""")
@click.argument("account")
@click.option("--note", help="What was done (stored with the feedback).")
@_AUTHOR
@_NO_REBUILD
@pass_ctx
def done(ctx: Context, account: str, note: str | None, author: str | None, no_rebuild: bool) -> None:
    """Mark an account handled: it leaves the list until new evidence arrives (then only that counts)."""
    r = _apply(ctx, "done", author, no_rebuild, account_id=account, note=note)
    click.echo(f"marked {account} done ({r.action.action_id}){_rebuilt(r)}")


@cli.command(epilog="""\b
Examples:
  triage dismiss 3f9c2a1b7d4e5f60 --reason "sarcasm, not frustration"
  triage dismiss 3f9c2a --reason "quoted from their customer" --code not_client
Codes: wrong_kind (not what the detector says), not_client (not the client's own words),
already_handled (right, but dealt with); signal ids: `triage list --json`, `triage account ID`.""")
@click.argument("signal_id")
@click.option("--reason", required=True, help="Why the signal is wrong or irrelevant.")
@click.option("--code", type=click.Choice(sorted(REASON_CODES)), default="wrong_kind", show_default=True,
              help="Why, as a code (what learning from it uses).")
@_AUTHOR
@_NO_REBUILD
@pass_ctx
def dismiss(ctx: Context, signal_id: str, reason: str, code: str, author: str | None, no_rebuild: bool) -> None:
    """Not a problem: the signal stops counting in scores, asks and the list."""
    if not reason.strip():
        raise TriageError("a reason is required to dismiss a signal (--reason ...)")
    r = _apply(ctx, "dismiss", author, no_rebuild, signal_id=signal_id, note=reason, reason_code=code)
    db = open_db(ctx.settings, migrate=False)
    with db.read() as con:
        row = con.execute("SELECT signal_id FROM feedback WHERE feedback_id = ?", [r.action.action_id]).fetchone()
    click.echo(f"dismissed signal {row[0] if row else signal_id} ({r.action.action_id}){_rebuilt(r)}")


@cli.command(epilog="""\b
Examples:
  triage confirm 3f9c2a1b7d4e5f60       # the signal is right (learning uses it)""")
@click.argument("signal_id")
@_AUTHOR
@pass_ctx
def confirm(ctx: Context, signal_id: str, author: str | None) -> None:
    """Confirm a signal: it is right (kept for `triage train --with-feedback`)."""
    r = _apply(ctx, "confirm", author, True, signal_id=signal_id)
    click.echo(f"confirmed signal {signal_id} ({r.action.action_id})")


@cli.command(epilog="""\b
Examples:
  triage answered 7f8e8abf790d65ed      # a client ask (or our promise) answered by phone""")
@click.argument("ask_id")
@_AUTHOR
@_NO_REBUILD
@pass_ctx
def answered(ctx: Context, ask_id: str, author: str | None, no_rebuild: bool) -> None:
    """Close a client ask or one of our promises by hand (answered on the phone, in person)."""
    r = _apply(ctx, "answered", author, no_rebuild, ask_id=ask_id)
    click.echo(f"closed {ask_id} by hand ({r.action.action_id}){_rebuilt(r)}")


@cli.command(epilog="""\b
Examples:
  triage snooze cedar --until 2026-12-01     # off the list through that day
A new churn threat or escalation brings the account back earlier.""")
@click.argument("account")
@click.option("--until", "until", type=_DATE, required=True, help="Last day the account stays off the list.")
@_AUTHOR
@_NO_REBUILD
@pass_ctx
def snooze(ctx: Context, account: str, until: datetime, author: str | None, no_rebuild: bool) -> None:
    """Snooze an account until a day (back early on a churn threat or an escalation)."""
    r = _apply(ctx, "snooze", author, no_rebuild, account_id=account, until=until.date())
    click.echo(f"snoozed {account} through {until.date().isoformat()} ({r.action.action_id}){_rebuilt(r)}")


@cli.command(epilog="""\b
Examples:
  triage undo 4be2c0f1a3d94e0fb1b2f0a5c3f1d2e4   # an action's id (printed when it was made)""")
@click.argument("action_id")
@_AUTHOR
@_NO_REBUILD
@pass_ctx
def undo(ctx: Context, action_id: str, author: str | None, no_rebuild: bool) -> None:
    """Take back an action (done, dismiss, confirm, answered, snooze); it stays recorded as undone."""
    r = _apply(ctx, "undo", author, no_rebuild, target=action_id)
    click.echo(f"undid {action_id} ({r.action.action_id}){_rebuilt(r)}")
