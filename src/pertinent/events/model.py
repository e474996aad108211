"""The normalized event, as the log stores it and every part reads it.

Incoming JSON follows the Segment spec (camelCase, several shapes); inside Pertinent there is
one shape, with UTC times and the clock skew already corrected (see `normalize`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

EventType = Literal["track", "identify", "page", "screen", "group", "alias"]

# Names that a page or screen call counts as in profiles and segments, so a segment can say
# "performed Page Viewed at least 3 times" the same way it speaks of track events.
PAGE_ACTION = "Page Viewed"
SCREEN_ACTION = "Screen Viewed"

# Why an accepted event was marked: its time was in the future and was set to its arrival, it
# broke its tracking plan (in "flag" mode), or no tracking plan names it.
FlagKind = Literal["future_timestamp", "tracking_plan", "unplanned_event"]


@dataclass(frozen=True, slots=True)
class Flag:
    """A mark on an accepted event: what is wrong, where (a JSON pointer into the event as
    sent, RFC 6901) and why."""

    kind: FlagKind
    field: str
    reason: str


@dataclass(slots=True)
class Event:
    """One normalized event. `name` is the track event name or the page/screen name.

    Treated as immutable (change one with `dataclasses.replace`), but not frozen: a frozen
    dataclass takes three times as long to build, and the processor builds one per event.
    """

    message_id: str
    type: EventType
    timestamp: datetime
    received_at: datetime
    user_id: str | None = None
    anonymous_id: str | None = None
    name: str | None = None
    previous_id: str | None = None
    group_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    is_bot: bool = False
    flags: tuple[Flag, ...] = ()
    # Sent with a browser write key: anyone who reads the shop's pages can send such events,
    # so their data describes the person only, never the shared catalogue.
    browser_key: bool = False

    @property
    def action(self) -> str | None:
        """What the person did, as segments and journeys name it; None for identity calls."""
        if self.type == "track":
            return self.name
        if self.type == "page":
            return PAGE_ACTION
        if self.type == "screen":
            return SCREEN_ACTION
        return None


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event with its place in the log."""

    seq: int
    event: Event
