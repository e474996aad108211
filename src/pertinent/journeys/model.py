"""Journey definitions (a trigger, a list of steps, exit events, a re-entry policy) and the
instance of a journey one person is in.

Steps and triggers are closed sets (discriminated by `type`), handled with `match`. How an
instance moves through the steps is the journeys phase of the processor
(`processor/journeys.py`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pertinent.segments.language import Duration, PropertyFilter


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventTrigger(_Node):
    """Start when the person performs `event` (optionally with matching properties)."""

    type: Literal["event"]
    event: str = Field(min_length=1)
    where: list[PropertyFilter] = Field(default_factory=list)


class SegmentEnteredTrigger(_Node):
    """Start when the person enters `segment`."""

    type: Literal["segment_entered"]
    segment: str = Field(min_length=1)


Trigger = Annotated[EventTrigger | SegmentEnteredTrigger, Field(discriminator="type")]


class WaitStep(_Node):
    type: Literal["wait"]
    duration: Duration


class WaitForEventStep(_Node):
    """Wait until the person performs `event`, or `timeout` passes."""

    type: Literal["wait_for_event"]
    event: str = Field(min_length=1)
    timeout: Duration
    on_event: Literal["continue", "exit"] = "exit"
    on_timeout: Literal["continue", "exit"] = "continue"


class SendStep(_Node):
    type: Literal["send"]
    template: str = Field(min_length=1)


class ExitStep(_Node):
    type: Literal["exit"]


Step = Annotated[WaitStep | WaitForEventStep | SendStep | ExitStep, Field(discriminator="type")]


class JourneyDefinition(_Node):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=128)
    name: str = ""
    trigger: Trigger
    steps: list[Step] = Field(min_length=1)
    exit_on: list[str] = Field(
        default_factory=list, description="events that end the journey early"
    )
    reentry: Literal["after_exit", "never"] = Field(
        default="after_exit",
        description="after_exit: a person may start again once their instance ended",
    )


Status = Literal["waiting", "completed", "exited"]


def instance_key(journey_key: str, profile_id: str, trigger_message_id: str) -> str:
    """The instance's identity, derived from what started it, so a replayed batch makes the
    same instance (and the same idempotency keys for its emails), never a second one."""
    text = f"{journey_key}\x1f{profile_id}\x1f{trigger_message_id}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Instance:
    """One person in one journey: the step they are at and when it wakes."""

    key: str
    journey_key: str
    profile_id: str
    step: int
    status: Status
    started_at: datetime
    trigger: dict[str, Any] = field(default_factory=dict)
    wake_at: datetime | None = None
    wait_event: str | None = None
    ended_at: datetime | None = None
