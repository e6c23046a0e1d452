"""Business days (Monday to Friday; no holiday calendar) and the time window of a day's list."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

__all__ = ["add_business_days", "business_days_between", "day_end", "to_utc"]


def business_days_between(start: date, end: date) -> int:
    """Weekdays ``d`` with ``start < d <= end`` (0 when ``end <= start``).

    Friday -> Monday is 1 business day, Monday -> Monday 0, Monday -> next Monday 5. A weekend start
    counts from the following Monday (Saturday -> Monday is 1).
    """
    if end <= start:
        return 0
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    wd = start.weekday()  # Mon 0 .. Sun 6
    for i in range(1, rest + 1):
        if (wd + i) % 7 < 5:
            count += 1
    return count


def add_business_days(start: date, n: int) -> date:
    """The day ``n`` business days after ``start`` (``n >= 0``); inverse of business_days_between."""
    if n < 0:
        raise ValueError("n must be >= 0")
    d = start
    while n:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def day_end(day: date) -> datetime:
    """The instant the list of ``day`` looks back from: midnight UTC after ``day`` (exclusive)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def to_utc(ts: datetime | None) -> datetime | None:
    """Aware UTC datetime (naive values are taken as UTC, as DuckDB TIMESTAMP values are)."""
    if ts is None:
        return None
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)
