"""Rich terminal rendering of the call list (what ``triage run`` and ``triage list`` print)."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from triage.publish.model import CallListEntry, UnknownSender
from triage.score.brief import short_quote

__all__ = ["print_call_list", "print_unknown_senders"]

_KIND_STYLE = {
    "frustration": "red",
    "frustration_trend": "red",
    "frustration_repetition": "red",
    "complaint": "magenta",
    "overdue_asks": "yellow",
    "open_asks": "yellow",
    "buying_signal": "green",
    "unread_language": "cyan",
    "recency": "dim",
    "value": "dim",
}


def _reasons_cell(e: CallListEntry, n: int) -> Group:
    items = []
    for r in e.top_reasons(n):
        t = Text()
        t.append(f"{r.weight:>4.1f} ", style="dim")
        t.append(r.text, style=_KIND_STYLE.get(r.kind, ""))
        if r.evidence:
            t.append(f'\n     "{short_quote(r.evidence, 70)}"', style="italic")
        items.append(t)
    return Group(*items)


def _asks_cell(e: CallListEntry) -> Text:
    if not e.open_asks:
        return Text("none", style="dim")
    n = len(e.open_asks)
    t = Text(f"{n} open ask{'s' if n != 1 else ''}")
    if e.overdue_count:
        t.append(f"\n{e.overdue_count} overdue", style="bold yellow")
    oldest = max(a.age_business_days for a in e.open_asks)
    t.append(f"\noldest {oldest} bd", style="dim")
    return t


def print_call_list(
    entries: list[CallListEntry], console: Console, *, top_reasons: int = 3, brief: bool = True
) -> None:
    """A table: rank, account (tier), AM, score, top reasons with evidence, open/overdue asks, brief.

    Below 120 columns the AM and the asks go into the account cell and the briefs are printed
    under the table.
    """
    if not entries:
        console.print("[green]No account needs a call today.[/]")
        return
    wide = console.width >= 120
    as_of = entries[0].as_of
    table = Table(
        title=f"Accounts to call — {as_of:%A %d %B %Y}",
        title_justify="left",
        show_lines=True,
        expand=True,
        header_style="bold",
    )
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Account", ratio=2, min_width=16)
    if wide:
        table.add_column("AM", ratio=1, min_width=8)
    table.add_column("Score", justify="right", no_wrap=True)
    table.add_column("Why (points, evidence)", ratio=5, min_width=24)
    if wide:
        table.add_column("Asks", no_wrap=True)
    if brief and wide:
        table.add_column("Brief", ratio=4, min_width=20)
    for e in entries:
        account = Text(e.name, style="bold")
        if e.tier:
            account.append(f"\n{e.tier}", style="dim")
        if e.arr:
            account.append(f" · ${e.arr / 1000:,.0f}k", style="dim")
        account.append(f"\n{e.account_id}", style="dim")
        if not wide:  # narrow: AM and asks in the account cell, so the reasons keep their room
            account.append(f"\nAM {e.owner_am or '—'}\n")
            account.append_text(_asks_cell(e))
        row: list[RenderableType] = [str(e.rank), account]
        if wide:
            row.append(e.owner_am or "—")
        row += [f"{e.score:.1f}", _reasons_cell(e, top_reasons)]
        if wide:
            row.append(_asks_cell(e))
        if brief and wide:
            row.append(Text(e.brief))
        table.add_row(*row)
    console.print(table)
    if brief and not wide:  # narrow terminal: the briefs under the table, one block per account
        for e in entries:
            console.print(Text(f"{e.rank}. {e.name}", style="bold"))
            console.print(Text(e.brief))
            console.print()


def print_unknown_senders(senders: list[UnknownSender], console: Console) -> None:
    """Senders of no known account with signals (not on the list, shown so nothing is dropped)."""
    if not senders:
        console.print("[dim]No signals from unknown senders.[/]")
        return
    table = Table(title="Signals from senders of no known account", title_justify="left", expand=True)
    table.add_column("Sender", ratio=3, min_width=20, overflow="fold")
    table.add_column("Signals", ratio=2, min_width=12)
    table.add_column("Example", ratio=4)
    for s in senders:
        kinds = [
            f"{n} {k}"
            for n, k in ((s.frustration, "frustration"), (s.asks, "asks"), (s.buying_signals, "buying"))
            if n
        ]
        last = f"\nlast {s.last_at:%Y-%m-%d}" if s.last_at else ""
        table.add_row(s.sender, f"{s.signals}: {', '.join(kinds)}{last}", short_quote(s.example, 90))
    console.print(table)
