"""Resolve due-date phrases ("by Friday", "by EOD", "by the 15th", "next Tuesday") to a date.

Pure functions over text and an anchor date (the day the message was sent or the meeting held).
Conventions (documented in data/LABELLING.md too):

* a weekday ("by Friday", "on Friday", "this Friday") is its next occurrence on or after the anchor
  (the anchor day itself when it is that weekday);
* "next <weekday>" is that weekday in the following calendar week (Monday-Sunday);
* "today", "tonight", "EOD", "COB", "end of (the) day", "ASAP", "this afternoon" are the anchor day;
  "tomorrow" the day after;
* "end of (the) week" / "EOW" / "this week" is the Friday of the anchor's week (or the anchor when it
  is a weekend); "next week" the Monday of the following week; "end of next week" that Friday;
* "end of (the) month" / "EOM" the last day of the month; "end of (the) quarter" / "year" likewise;
* "the 15th" is the next 15th on or after the anchor; "Dec 3", "3 December", "12/3" (US month/day),
  "2026-12-03" are that date, in the anchor's year unless it is more than 60 days in the past, then the
  next year;
* "in 3 days" / "within 2 weeks" / "within 5 business days" count from the anchor.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

__all__ = ["resolve_due_date"]

_WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3,
    "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_NUM_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10, "a": 1}

_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_SLASH = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b")
_MONTH_DAY = re.compile(r"\b([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b")
_DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\b")
_THE_DAY = re.compile(r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)?\b")
_IN_N = re.compile(r"\b(?:in|within)\s+(?:the\s+)?(?:next\s+)?(\d+|[a-z]+)\s+(business\s+|working\s+)?(day|week)s?\b")
_WEEKDAY = re.compile(r"\b(next|this|coming)?\s*(" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + r")\b")
_END_OF = re.compile(r"\bend[\s-]+of[\s-]+(?:the\s+|this\s+)?(next\s+)?(business\s+day|day|week|month|quarter|year)\b")


def _next_weekday(anchor: date, weekday: int) -> date:
    return anchor + timedelta(days=(weekday - anchor.weekday()) % 7)


def _friday_of_week(anchor: date) -> date:
    return anchor if anchor.weekday() >= 5 else anchor + timedelta(days=4 - anchor.weekday())


def _add_business_days(anchor: date, n: int) -> date:
    d = anchor
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _in_year(anchor: date, month: int, day: int) -> date | None:
    d = _safe_date(anchor.year, month, day)
    if d is not None and (anchor - d).days > 60:
        d = _safe_date(anchor.year + 1, month, day)
    return d


def _end_of(unit: str, is_next: bool, anchor: date) -> date:
    if unit in ("day", "business day"):
        return anchor + timedelta(days=1) if is_next else anchor
    if unit == "week":
        base = _friday_of_week(anchor)
        return base + timedelta(days=7) if is_next else base
    if unit == "month":
        y, m = anchor.year, anchor.month
        if is_next:
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return date(y, m, calendar.monthrange(y, m)[1])
    if unit == "quarter":
        q_end = ((anchor.month - 1) // 3 + 1) * 3 + (3 if is_next else 0)
        y = anchor.year + (q_end - 1) // 12
        m = (q_end - 1) % 12 + 1
        return date(y, m, calendar.monthrange(y, m)[1])
    return date(anchor.year + (1 if is_next else 0), 12, 31)  # year


def resolve_due_date(phrase: str, anchor: date | None) -> date | None:
    """The date ``phrase`` means when said on ``anchor``; None when it names no date (or no anchor)."""
    if anchor is None or not phrase:
        return None
    text = " ".join(phrase.lower().replace("’", "'").split())
    if m := _ISO.search(text):
        return _safe_date(int(m[1]), int(m[2]), int(m[3]))
    if re.search(r"\btomorrow\b", text):  # also "end of day tomorrow", "tomorrow EOD"
        return anchor + timedelta(days=1)
    if m := _END_OF.search(text):
        return _end_of(m[2], bool(m[1]), anchor)
    if re.search(r"\b(eod|cob|close of business|today|tonight|asap|this afternoon|this morning)\b", text):
        return anchor
    if re.search(r"\beow\b|\bthis week\b", text):
        return _friday_of_week(anchor)
    if re.search(r"\beom\b", text):
        return _end_of("month", False, anchor)
    if re.search(r"\bnext week\b", text):
        return anchor + timedelta(days=7 - anchor.weekday())
    if m := _IN_N.search(text):
        n = int(m[1]) if m[1].isdigit() else _NUM_WORDS.get(m[1])
        if n is None:
            return None
        if m[3] == "week":
            return anchor + timedelta(weeks=n)
        return _add_business_days(anchor, n) if m[2] else anchor + timedelta(days=n)
    if m := _SLASH.search(text):
        month, day = int(m[1]), int(m[2])
        if m[3]:
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            return _safe_date(year, month, day)
        return _in_year(anchor, month, day)
    for rx, mi, di in ((_MONTH_DAY, 1, 2), (_DAY_MONTH, 2, 1)):
        for m in rx.finditer(text):
            named = _MONTHS.get(m[mi])
            if named:
                return _in_year(anchor, named, int(m[di]))
    if m := _THE_DAY.search(text):
        day = int(m[1])
        if not 1 <= day <= 31:
            return None
        y, mo = anchor.year, anchor.month
        for _ in range(3):  # the next month that has this day
            d = _safe_date(y, mo, day)
            if d is not None and d >= anchor:
                return d
            y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)
        return None
    if m := _WEEKDAY.search(text):
        wd = _WEEKDAYS[m[2]]
        if m[1] == "next":
            monday_next = anchor + timedelta(days=7 - anchor.weekday())
            return monday_next + timedelta(days=wd)
        return _next_weekday(anchor, wd)
    return None
