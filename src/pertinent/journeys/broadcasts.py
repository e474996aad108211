"""Broadcasts: one template to everyone in a segment, now or at a time, throttled, under the
same caps, quiet hours and suppression as journeys; one email per person per broadcast.

A broadcast is scheduled (the API or the CLI) and then, when its time comes, targeted by the
processor: the segment's members at that moment become recipients, each due at the send
time (at that wall-clock time in their own zone with `local_time`), spread out when the
broadcast is throttled (`per_hour`). Recipients are then sent in the timer batches like
journey wake-ups; a recipient in quiet hours waits for the morning, a capped one is
skipped, and each outcome is kept on its recipient row, so the numbers are exact and a
crash at any point neither loses nor repeats one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pertinent.errors import InputError
from pertinent.journeys.timing import person_zone
from pertinent.profiles.state import ProfileState
from pertinent.storage.ports import Storage

# The furthest any zone is ahead of UTC: a local-time broadcast starts targeting this early.
EARLIEST_OFFSET = timedelta(hours=14)

Outcome = Literal["sent", "capped", "suppressed", "failed", "not sent", "already sent"]


class BroadcastRequest(BaseModel):
    """What a marketer asks for (`POST /v1/broadcasts`, `pertinent broadcast send`)."""

    model_config = ConfigDict(extra="forbid")

    template: str = Field(min_length=1, max_length=128)
    segment: str = Field(min_length=1, max_length=128)
    name: str = Field(default="", max_length=200)
    send_at: AwareDatetime | None = Field(default=None, description="default: now")
    local_time: bool = Field(
        default=False, description="send at send_at's wall-clock time in each person's zone"
    )
    per_hour: int | None = Field(default=None, ge=1, le=10_000_000, description="throttle")


@dataclass(frozen=True)
class Broadcast:
    id: int
    name: str
    template: str
    segment: str
    send_at: datetime
    local_time: bool
    per_hour: int | None
    status: str  # scheduled | sending
    created_at: datetime
    targeted: int = 0


@dataclass(frozen=True)
class Recipient:
    broadcast_id: int
    profile_id: str
    due_at: datetime


@dataclass
class BroadcastNumbers:
    broadcast: Broadcast
    outcomes: dict[str, int] = field(default_factory=dict)
    pending: int = 0
    opened: int = 0
    clicked: int = 0

    @property
    def status(self) -> str:
        if self.broadcast.status == "scheduled":
            return "scheduled"
        return "sending" if self.pending else "sent"


def starts_targeting(broadcast: Broadcast) -> datetime:
    """When the processor must target the broadcast: its time, or for local time the moment
    it is that time in the zone furthest ahead."""
    return broadcast.send_at - EARLIEST_OFFSET if broadcast.local_time else broadcast.send_at


def schedule(
    broadcast: Broadcast,
    members: Sequence[str],
    profiles: Mapping[str, ProfileState],
    default_zone: ZoneInfo,
    now: datetime,
) -> list[Recipient]:
    """Each member's due time: the send time (its wall-clock time in their zone with
    `local_time`; a time already past is now), spread `3600 / per_hour` seconds apart in
    that order when throttled."""
    due: list[tuple[datetime, str]] = []
    wall = broadcast.send_at.astimezone(UTC).replace(tzinfo=None)
    for pid in sorted(members):
        at = broadcast.send_at
        if broadcast.local_time:
            state = profiles.get(pid)
            zone = person_zone(state.traits if state else {}, default_zone)
            at = wall.replace(tzinfo=zone).astimezone(UTC)
        due.append((max(at, now), pid))
    due.sort()
    if broadcast.per_hour:
        gap = timedelta(seconds=3600 / broadcast.per_hour)
        start = due[0][0] if due else now
        due = [(max(at, start + gap * n), pid) for n, (at, pid) in enumerate(due)]
    return [Recipient(broadcast.id, pid, at) for at, pid in due]


def create(
    storage: Storage,
    request: BroadcastRequest,
    segments: Collection[str],
    templates: Collection[str],
    now: datetime,
) -> Broadcast:
    """Schedule a broadcast; an unknown template or segment is an InputError naming it."""
    if request.template not in templates:
        raise InputError(
            f"no template {request.template!r}",
            where="template",
            hint=f"templates: {', '.join(sorted(templates)) or 'none'}",
        )
    if request.segment not in segments:
        raise InputError(
            f"no segment {request.segment!r}",
            where="segment",
            hint=f"segments: {', '.join(sorted(segments)) or 'none'}",
        )
    broadcast = Broadcast(
        id=0,
        name=request.name or f"{request.template} to {request.segment}",
        template=request.template,
        segment=request.segment,
        send_at=(request.send_at or now).astimezone(UTC),
        local_time=request.local_time,
        per_hour=request.per_hour,
        status="scheduled",
        created_at=now,
    )
    with storage.transaction() as tx:
        return replace(broadcast, id=tx.broadcasts.add(broadcast))
