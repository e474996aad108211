"""When an event happened: UTC, corrected for the sender's clock, and believable.

- A time without a zone is read as UTC.
- Clock skew is corrected the way Segment does it: when the client says when it sent the call
  (`sentAt`), `timestamp = receivedAt - (sentAt - originalTimestamp)`, so a phone whose clock
  is an hour off still lands its events at the right instant.
- Every time an event gives must fall in 1970–2099 (UTC): year 1 or 9999 is a broken client,
  and rejecting that one event beats an overflow that loses its whole batch.
- A time still more than the allowed skew ahead of the arrival (a phone set to 2031) is set to
  the arrival and flagged: kept, it would hold its person in "the last 24 hours" for years.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pertinent.events.model import Flag
from pertinent.events.validate import EventRejected

# The years a time may fall in, in UTC (compared as years: the bounds are whole years, and
# an int compares faster than two aware datetimes, which this does twice per event).
YEARS = range(1970, 2100)
_RANGE = "times must fall between 1970-01-01 and 2099-12-31 (UTC)"


def as_utc(instant: datetime) -> datetime:
    """The same instant in UTC; a naive time is taken to be UTC already. Raises
    OverflowError when the instant has no UTC form (year 1 east of Greenwich)."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def checked_utc(instant: datetime, field: str) -> datetime:
    """`instant` in UTC; `EventRejected` naming `field` when it is out of range."""
    try:
        utc = as_utc(instant)
    except OverflowError:
        utc = None
    if utc is None or utc.year not in YEARS:
        raise EventRejected(field, f"{instant.isoformat()} is out of range; {_RANGE}")
    return utc


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:.1f} h"


def event_time(
    original: datetime | None,
    sent_at: datetime | None,
    received_at: datetime,
    *,
    max_ahead: timedelta,
    original_field: str = "timestamp",
    sent_field: str = "sentAt",
) -> tuple[datetime, Flag | None]:
    """When the event happened, corrected for the sender's clock skew, and the flag saying
    it was moved to its arrival because it was more than `max_ahead` in the future.

    Raises `EventRejected` (naming the field) for a time out of range, before or after the
    correction.
    """
    if original is None:
        return received_at, None
    happened = checked_utc(original, original_field)
    if sent_at is not None:
        skew = checked_utc(sent_at, sent_field) - happened
        happened = received_at - skew
        if happened.year not in YEARS:
            raise EventRejected(
                original_field,
                f"{original.isoformat()}, corrected by {sent_field} {sent_at.isoformat()} for "
                f"the client's clock, falls at {happened.isoformat()}; {_RANGE}",
            )
    ahead = happened - received_at
    if ahead <= max_ahead:
        return happened, None
    flag = Flag(
        "future_timestamp",
        f"/{original_field}",
        f"{happened.isoformat()} is {_hours(ahead)} after the event arrived (more than "
        f"{_hours(max_ahead)}); set to its arrival, {received_at.isoformat()}",
    )
    return received_at, flag
