"""Time in the person's zone: waits until a local time of day, waits until a date trait,
quiet hours, and schedule triggers' next times.

Pure functions of UTC instants and zones. A person's zone is their `timezone` trait when it
names an IANA zone, else the workspace's default; a trait that is not one is ignored, never
an error (traits are the client's data).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim
from pydantic import AfterValidator

UTC_ZONE = ZoneInfo("UTC")
TIMEZONE_TRAIT = "timezone"
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=1024)
def zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone called `name`, or None when there is none (or the name is hostile)."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def known_zone(name: str) -> str:
    """A validator: `name` if it is an IANA zone, else a ValueError saying what to write."""
    if zone_named(name) is None:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name like Europe/Paris")
    return name


ZoneName = Annotated[str, AfterValidator(known_zone)]


def person_zone(traits: Mapping[str, Any], default: ZoneInfo) -> ZoneInfo:
    value = traits.get(TIMEZONE_TRAIT)
    found = zone_named(value) if isinstance(value, str) else None
    return found or default


def next_local_time(
    after: datetime, at: time, weekdays: Collection[str], zone: ZoneInfo
) -> datetime:
    """The first instant at or after `after` when the clock in `zone` shows `at` on one of
    `weekdays` (any day if empty), in UTC. A time skipped by a DST change is taken as the
    same wall time with the offset before the change (what zoneinfo gives), so a wait never
    skips a day."""
    local = after.astimezone(zone)
    for days in range(8):
        day: date = local.date() + timedelta(days=days)
        candidate = datetime.combine(day, at, tzinfo=zone)
        if weekdays and _WEEKDAYS[candidate.weekday()] not in weekdays:
            continue
        if candidate >= local:
            return candidate.astimezone(UTC)
    raise AssertionError("a week always holds an allowed weekday")


def trait_date(value: Any, zone: ZoneInfo) -> datetime | None:
    """A trait's value as an instant: an ISO date-time (a naive one in `zone`) or a date
    (its midnight in `zone`); None for anything else."""
    if not isinstance(value, str) or not 8 <= len(value) <= 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


class QuietHours:
    """A nightly window in the person's zone during which marketing email waits, from
    `start` to `end` (wrapping midnight when `end` <= `start`)."""

    def __init__(self, start: time, end: time):
        self.start = start
        self.end = end

    def _inside(self, clock: time) -> bool:
        if self.start <= self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def release(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """When the window that `now` falls in ends, in UTC; None when `now` is outside."""
        local = now.astimezone(zone)
        if not self._inside(local.time().replace(tzinfo=None)):
            return None
        return next_local_time(now, self.end, (), zone)


def next_fire(cron: str, zone_name: str, after: datetime) -> datetime:
    """The first time of `cron` in the zone strictly after `after`, in UTC."""
    zone = zone_named(zone_name) or UTC_ZONE
    start = after.astimezone(zone).replace(second=0, microsecond=0)
    fire: datetime = next(CronSim(cron, start))
    while fire <= after:
        fire = next(CronSim(cron, fire))
    return fire.astimezone(UTC)
