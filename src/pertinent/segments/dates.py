"""Dates in conditions: days since a date, and anniversaries, as comparisons of ISO strings.

A date a condition reads is a string in the computed bag: a computed time
(`computed.last_order_at`, written by the fold as UTC ISO-8601) or the canonical copy of a
date trait (`computed.trait_dates.<trait>`, made by `canonical_date` when the trait is set).
Canonical strings of one format sort like the instants they name, so "more than 30 days ago"
is `date <= (now - 30 days).isoformat()`: a plain string comparison, the same in the Python
evaluator and in SQL, whatever a stored string holds. Only the timers parse the strings, to
know when such a comparison will flip.

Whole days: `days_since = floor((now - date) / 1 day)`. With `T(k) = now - k days`,
`days >= k` is `date <= T(k)` and `days < k` is `date > T(k)`.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

DAY = timedelta(days=1)
TRAIT_DATES = "trait_dates"  # the computed bag's copy of date traits, canonical
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ].{0,40})?$")
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def canonical_date(value: Any) -> str | None:
    """An ISO-8601 date or date-time trait (`1990-05-17`, `2026-01-15T10:00:00.000Z`,
    `...+02:00`) as a UTC ISO string; a time without a zone is UTC, a date is its midnight.
    None for anything else (a number is not a date here)."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC).isoformat()
    except OverflowError:
        return None


def stored_path(date_path: str) -> str:
    """Where in the computed bag a condition's `date` is: `computed.x` is `x`; a trait
    (`signed_up_at` or `traits.signed_up_at`) is its canonical copy."""
    if date_path.startswith("computed."):
        return date_path.removeprefix("computed.")
    return f"{TRAIT_DATES}.{date_path.removeprefix('traits.')}"


def parse_instant(text: Any) -> datetime | None:
    """A stored date string as an instant, for timers (None when it is not one)."""
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _shifted(now: datetime, days: int) -> datetime:
    try:
        return now - days * DAY
    except OverflowError:
        return _EARLIEST if days > 0 else _LATEST


def threshold(now: datetime, days: int) -> str:
    """T(days) as a stored date string: `date <= T(k)` is "at least k days ago"."""
    return _shifted(now, days).isoformat()


def day_bounds(op: str, value: Any) -> tuple[int | None, int | None]:
    """(lo, hi) in whole days such that the comparison holds when `T(lo) < date <= T(hi)`
    (None: no bound); for `ne`, the bounds of `eq`. An empty range has lo <= hi."""
    if op == "between":
        low, high = value
        return math.floor(high) + 1, math.ceil(low)
    match op:
        case "gte":
            return None, math.ceil(value)
        case "gt":
            return None, math.floor(value) + 1
        case "lte":
            return math.floor(value) + 1, None
        case "lt":
            return math.ceil(value), None
        case "eq" | "ne":
            if value != math.floor(value):
                return 0, 0  # a whole number of days never equals 2.5
            return int(value) + 1, int(value)
    raise ValueError(f"no day bounds for {op!r}")


def day_range(op: str, value: Any, now: datetime) -> tuple[str | None, str | None]:
    """`day_bounds` as stored date strings: the comparison holds when lo < date <= hi."""
    lo, hi = day_bounds(op, value)
    return (
        threshold(now, lo) if lo is not None else None,
        threshold(now, hi) if hi is not None else None,
    )


def in_range(text: str, bounds: tuple[str | None, str | None]) -> bool:
    lo, hi = bounds
    return (lo is None or text > lo) and (hi is None or text <= hi)


def next_day_edge(op: str, value: Any, anchor: datetime, now: datetime) -> datetime | None:
    """The first instant after `now` at which a days-since comparison of the date `anchor`
    can flip: `date <= T(k)` turns true at `anchor + k days`, `date > T(k)` false then."""
    if op in ("exists", "not_exists"):
        return None
    candidates = []
    for days in day_bounds(op, value):
        if days is None:
            continue
        try:
            candidates.append(anchor + days * DAY)
        except OverflowError:
            continue
    later = [at for at in candidates if at > now]
    return min(later) if later else None


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def anniversary_days(now: datetime, days: int) -> list[str]:
    """The month-days (`MM-DD`) of the next `days` days in UTC, today included; `02-29` too
    when the range holds the 28 February of a year without a 29th."""
    today = now.astimezone(UTC).date()
    found: list[str] = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        found.append(day.strftime("%m-%d"))
        if day.month == 2 and day.day == 28 and not _leap(day.year):
            found.append("02-29")
    return sorted(set(found))


def month_day(text: str) -> str:
    """The `MM-DD` of a stored date string (characters 6 to 10, as SQL's substr reads it)."""
    return text[5:10]


def _occurrence(month: int, day: int, year: int) -> date:
    if month == 2 and day == 29 and not _leap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def next_anniversary_edge(anchor: datetime, days: int, now: datetime) -> datetime | None:
    """The next UTC midnight after `now` at which "the anniversary of `anchor` is in the
    next `days` days" can flip: the day after the next anniversary if it is in range now,
    else the first day it is."""
    today = now.astimezone(UTC).date()
    month, day = anchor.month, anchor.day
    try:
        nearest = _occurrence(month, day, today.year)
        if nearest < today:
            nearest = _occurrence(month, day, today.year + 1)
    except (ValueError, OverflowError):
        return None
    edge = nearest + DAY if (nearest - today).days < days else nearest - (days - 1) * DAY
    return datetime(edge.year, edge.month, edge.day, tzinfo=UTC)
