"""Per-account trend: weekly counts of frustration, complaints, buying signals and asks, as an inline SVG.

:func:`load_trends` counts, per account and week (Monday to Sunday, UTC), the messages and meetings in
which the client expressed each kind (signals that count: dismissed ones excluded, party ``client``),
over the ``weeks`` weeks ending with the week of ``as_of`` (13 weeks: the last 90 days).
:func:`trend_svg` draws them as four small bar rows (one per kind, one column per week, the current
week marked): plain SVG elements with ``<title>`` tooltips, no script, no external asset, colours
from the page's CSS (so dark mode works).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from markupsafe import Markup, escape

from triage.db import Database
from triage.score.calendar import day_end

__all__ = ["KINDS", "Trend", "load_trends", "trend_svg"]

#: (signal kind, row label) in drawing order
KINDS: tuple[tuple[str, str], ...] = (
    ("frustration", "frustration"),
    ("complaint", "complaints"),
    ("buying_signal", "buying"),
    ("ask", "asks"),
)


@dataclass
class Trend:
    account_id: str
    weeks: list[date]  # the Mondays, oldest first; the last one is the week of as_of
    counts: dict[str, list[int]] = field(default_factory=dict)  # kind -> per week

    def total(self, kind: str) -> int:
        return sum(self.counts.get(kind, []))


def week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def load_trends(db: Database, account_ids: list[str], as_of: date, weeks: int = 13) -> dict[str, Trend]:
    """Weekly counts for each of ``account_ids`` (accounts without any signal get zero rows)."""
    last = week_start(as_of)
    mondays = [last - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    trends = {
        acc: Trend(acc, mondays, {k: [0] * weeks for k, _ in KINDS}) for acc in account_ids
    }
    if not account_ids:
        return trends
    with db.read() as con:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(
            """SELECT account_id, kind, CAST(date_trunc('week', occurred_at) AS DATE) AS wk,
                      count(DISTINCT source_key)
               FROM v_account_signals
               WHERE party = 'client' AND kind IN ('frustration', 'complaint', 'buying_signal', 'ask')
                 AND account_id IN (SELECT unnest(?)) AND occurred_at >= ? AND occurred_at < ?
               GROUP BY ALL""",
            [account_ids, mondays[0], day_end(as_of)],
        ).fetchall()
    index = {m: i for i, m in enumerate(mondays)}
    for acc, kind, wk, n in rows:
        i = index.get(wk)
        if i is not None and acc in trends:
            trends[acc].counts[kind][i] = int(n)
    return trends


# geometry of the drawing (user units; the SVG scales to the card's width)
_LABEL_W = 66
_COL_W = 18
_ROW_H = 15
_BAR_MAX = 11
_TOP = 3


def trend_svg(trend: Trend) -> Markup:
    """The chart as inline SVG markup (safe to insert in the page)."""
    n = len(trend.weeks)
    width = _LABEL_W + n * _COL_W + 4
    rows_h = len(KINDS) * _ROW_H
    height = _TOP + rows_h + 14
    top_count = max([1, *(c for k, _ in KINDS for c in trend.counts.get(k, []))])
    first = trend.weeks[0]
    summary = ", ".join(f"{trend.total(k)} {label}" for k, label in KINDS)
    title = f"Weekly signals since {first:%d %b}, this week marked: {summary}"
    out = [
        f'<svg class="trend" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
        # the current week: a band over all rows
        f'<rect class="tr-now" x="{_LABEL_W + (n - 1) * _COL_W}" y="0" width="{_COL_W}" height="{_TOP + rows_h + 2}"'
        ' rx="2"/>',
    ]
    for r, (kind, label) in enumerate(KINDS):
        base = _TOP + (r + 1) * _ROW_H - 2
        out.append(f'<text class="tr-label" x="0" y="{base}">{label}</text>')
        out.append(
            f'<line class="tr-axis" x1="{_LABEL_W}" x2="{_LABEL_W + n * _COL_W}" y1="{base}" y2="{base}"/>'
        )
        for i, c in enumerate(trend.counts.get(kind, [0] * n)):
            if c <= 0:
                continue
            h = max(2.0, _BAR_MAX * c / top_count)
            x = _LABEL_W + i * _COL_W + 3
            tip = f"week of {trend.weeks[i]:%d %b}: {c} {label}"
            out.append(
                f'<rect class="tr-bar tr-{kind}" x="{x}" y="{base - h:.1f}" width="{_COL_W - 6}" height="{h:.1f}">'
                f"<title>{escape(tip)}</title></rect>"
            )
    axis_y = _TOP + rows_h + 11
    out.append(f'<text class="tr-date" x="{_LABEL_W}" y="{axis_y}">{first:%d %b}</text>')
    out.append(
        f'<text class="tr-date tr-now-label" x="{_LABEL_W + n * _COL_W}" y="{axis_y}" text-anchor="end">'
        f"this week</text>"
    )
    out.append("</svg>")
    return Markup("".join(out))
