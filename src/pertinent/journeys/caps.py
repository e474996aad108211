"""Whether an email may go now: categories, quiet hours, frequency caps, and what was sent.

Pure: the decision takes what was already sent to the person (the outbox, as `SentRecord`s,
plus what this run decided), their traits (for their time zone) and `now`.

- `transactional` templates (order confirmations, password resets) skip quiet hours and
  caps; only a hard bounce stops them (the compose phase checks suppression).
- `marketing` templates (the default) wait out quiet hours in the person's zone, then count
  against the workspace's caps and the journey's own; unsubscribes apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pertinent.journeys.model import Cap
from pertinent.journeys.timing import QuietHours, person_zone

Category = Literal["marketing", "transactional"]


@dataclass(frozen=True)
class SentRecord:
    """An email in the outbox (pending, on its way or sent), as caps and duplicates see it."""

    profile_id: str
    created_at: datetime
    category: str
    journey_key: str | None = None
    step: str | None = None
    broadcast: int | None = None

    @staticmethod
    def of(
        profile_id: str, created_at: datetime, journey_key: str | None, meta: Mapping[str, Any]
    ) -> SentRecord:
        """From an outbox row's columns and meta (rows older than categories count as
        marketing)."""
        step, broadcast = meta.get("step"), meta.get("broadcast")
        return SentRecord(
            profile_id,
            created_at,
            str(meta.get("category") or "marketing"),
            journey_key,
            str(step) if step is not None else None,
            int(broadcast) if isinstance(broadcast, int) else None,
        )


@dataclass(frozen=True)
class Send:
    category: Category


@dataclass(frozen=True)
class Delay:
    until: datetime


@dataclass(frozen=True)
class Capped:
    cap: Cap


Decision = Send | Delay | Capped


@dataclass(frozen=True)
class SendPolicy:
    caps: Sequence[Cap]
    quiet: QuietHours | None
    default_zone: ZoneInfo
    category_of: Callable[[str], Category]

    def window(self, journey_caps: Sequence[Cap] = ()) -> timedelta:
        """How far back caps look: what history the loader must hand over."""
        return max((c.per for c in [*self.caps, *journey_caps]), default=timedelta())

    def decide(
        self,
        template: str,
        traits: Mapping[str, Any],
        history: Sequence[SentRecord],
        now: datetime,
        *,
        journey_key: str | None = None,
        journey_caps: Sequence[Cap] = (),
    ) -> Decision:
        category = self.category_of(template)
        if category == "transactional":
            return Send(category)
        if self.quiet is not None:
            until = self.quiet.release(now, person_zone(traits, self.default_zone))
            if until is not None:
                return Delay(until)
        marketing = [r for r in history if r.category == "marketing"]
        for cap in self.caps:
            if _count(marketing, now - cap.per) >= cap.max:
                return Capped(cap)
        own = [r for r in marketing if r.journey_key == journey_key and r.broadcast is None]
        for cap in journey_caps:
            if _count(own, now - cap.per) >= cap.max:
                return Capped(cap)
        return Send(category)


def _count(records: Sequence[SentRecord], since: datetime) -> int:
    return sum(1 for r in records if r.created_at > since)


def describe(cap: Cap) -> str:
    days = cap.per / timedelta(days=1)
    span = f"{days:g}d" if days >= 1 else f"{cap.per / timedelta(hours=1):g}h"
    return f"at most {cap.max} per {span}"
