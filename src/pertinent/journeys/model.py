"""Journey definitions: a trigger, a graph of steps with ids, exit criteria, a re-entry policy,
a goal, caps; and the instance of a journey one person is in.

Triggers and steps are closed sets (discriminated by `type`), handled with `match`. Steps
have ids and say where to go `next`; a plain list of steps without ids still loads, as a
sequence (`step1`, `step2` ...), so workspaces written before graphs keep working. The graph
itself is checked in `journeys/graph.py`; how an instance moves through it is the journeys
phase of the processor (`processor/journeys.py`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pertinent.journeys.timing import ZoneName
from pertinent.segments.language import Condition, Duration, PropertyFilter

# A step id starts with a letter, so it can never be mistaken for a number anywhere.
StepId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]*$", max_length=64)]
# Where an outcome leads: `continue` (the step's `next`), `exit`, or a step id.
Target = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]*$", max_length=64)]
RESERVED = frozenset({"continue", "exit", "end"})
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventMatch(_Node):
    """An event by name, optionally with property filters (the segment language's)."""

    event: str = Field(min_length=1)
    where: list[PropertyFilter] = Field(default_factory=list)


class EventTrigger(_Node):
    """Start when the person performs `event` with properties that pass `where`."""

    type: Literal["event"]
    event: str = Field(min_length=1)
    where: list[PropertyFilter] = Field(default_factory=list)


class SegmentEnteredTrigger(_Node):
    """Start when the person enters `segment`."""

    type: Literal["segment_entered"]
    segment: str = Field(min_length=1)


class SegmentExitedTrigger(_Node):
    """Start when the person leaves `segment`."""

    type: Literal["segment_exited"]
    segment: str = Field(min_length=1)


class ScheduleTrigger(_Node):
    """At each time of `cron` (five fields) in `timezone`, everyone in `segment` starts."""

    type: Literal["schedule"]
    cron: str = Field(min_length=9, max_length=200)
    timezone: ZoneName = "UTC"
    segment: str = Field(min_length=1)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from cronsim import CronSim, CronSimError

        try:
            CronSim(value, datetime(2026, 1, 1, tzinfo=UTC))
        except CronSimError as exc:
            raise ValueError(f"not a cron expression: {exc}") from None
        if len(value.split()) != 5:
            raise ValueError("write five cron fields: minute hour day month weekday")
        return value


Trigger = Annotated[
    EventTrigger | SegmentEnteredTrigger | SegmentExitedTrigger | ScheduleTrigger,
    Field(discriminator="type"),
]


class _Step(_Node):
    id: StepId | None = None
    next: Target | None = None
    name: str = ""


class WaitStep(_Step):
    """Wait for a `duration`; or until a local time of day (`until_time`, on `weekdays` if
    given) in the person's time zone; or until the date in a trait (`until_trait`) plus
    `offset` (negative: before). Exactly one of the three."""

    type: Literal["wait"]
    duration: Duration | None = None
    until_time: time | None = None
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=list
    )
    until_trait: str | None = Field(default=None, min_length=1, max_length=256)
    offset: timedelta = timedelta()

    @field_validator("offset", mode="before")
    @classmethod
    def _offset(cls, value: Any) -> Any:
        from pertinent.segments.language import parse_duration

        if isinstance(value, str) and value.strip().startswith("-"):
            return -parse_duration(value.strip()[1:])
        if isinstance(value, str):
            return parse_duration(value.strip().removeprefix("+"))
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> WaitStep:
        kinds = [self.duration, self.until_time, self.until_trait]
        if sum(k is not None for k in kinds) != 1:
            raise ValueError("a wait needs exactly one of duration, until_time, until_trait")
        if self.weekdays and self.until_time is None:
            raise ValueError("weekdays go with until_time")
        if self.offset and self.until_trait is None:
            raise ValueError("offset goes with until_trait")
        return self


class WaitForEventStep(_Step):
    """Wait until the person performs `event` (passing `where`), or `timeout` passes. Each
    outcome goes to `continue` (this step's `next`), `exit`, or a step id."""

    type: Literal["wait_for_event"]
    event: str = Field(min_length=1)
    where: list[PropertyFilter] = Field(default_factory=list)
    timeout: Duration
    on_event: Target = "exit"
    on_timeout: Target = "continue"


class Branch(_Node):
    condition: Condition
    next: Target


class BranchStep(_Step):
    """The first branch whose condition holds for the person decides where to go; `else`
    (default: this step's `next`) when none does."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: Literal["branch"]
    branches: list[Branch] = Field(min_length=1)
    otherwise: Target | None = Field(default=None, alias="else")


class SendStep(_Step):
    """Send `template` to the person (subject to caps, quiet hours and suppression)."""

    type: Literal["send"]
    template: str = Field(min_length=1)


class UpdateTraitsStep(_Step):
    """Set traits on the profile (through an identify event in the log)."""

    type: Literal["update_traits"]
    traits: dict[str, Any] = Field(min_length=1)


class WebhookStep(_Step):
    """POST the person and the step as JSON to `url`, signed; retried with backoff."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=2000)
    headers: dict[str, str] = Field(default_factory=dict)


class ExitStep(_Step):
    type: Literal["exit"]


Step = Annotated[
    WaitStep | WaitForEventStep | BranchStep | SendStep | UpdateTraitsStep | WebhookStep | ExitStep,
    Field(discriminator="type"),
]
# Steps at which an instance rests until a time or an event.
WAITING_STEPS = (WaitStep, WaitForEventStep)


class ExitCriteria(_Node):
    """End an instance early: when the person performs one of `events`, or when
    `condition` holds for them (checked at each of their events and each step)."""

    events: list[EventMatch] = Field(default_factory=list)
    condition: Condition | None = None

    @field_validator("events", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"event": v} if isinstance(v, str) else v for v in value]
        return value


class Goal(_Node):
    """A conversion: the person performs `event` (passing `where`) within `within` of
    entering the journey."""

    event: str = Field(min_length=1)
    where: list[PropertyFilter] = Field(default_factory=list)
    within: Duration


class Cap(_Node):
    """At most `max` marketing emails per `per`."""

    max: int = Field(ge=0)
    per: Duration


class JourneyDefinition(_Node):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=128)
    name: str = ""
    trigger: Trigger
    steps: list[Step] = Field(min_length=1)
    exit: ExitCriteria = Field(default_factory=ExitCriteria)
    exit_on: list[str] = Field(default_factory=list, description="events that end it early")
    reentry: Literal["after_exit", "never"] = "after_exit"
    cooldown: Duration | None = Field(
        default=None, description="with after_exit: not again until this long after an entry"
    )
    goal: Goal | None = None
    caps: list[Cap] = Field(default_factory=list, description="on top of the workspace's")
    migrate: dict[StepId, StepId] = Field(
        default_factory=dict,
        description="instances of older versions at a key step move to the value step",
    )

    @model_validator(mode="after")
    def _named_steps(self) -> JourneyDefinition:
        """Steps without ids get `step1`, `step2` ... by position; ids are unique and none is
        a reserved word."""
        named = []
        for index, step in enumerate(self.steps):
            if step.id is None:
                step = step.model_copy(update={"id": f"step{index + 1}"})
            named.append(step)
        ids = [s.id for s in named]
        for index, step_id in enumerate(ids):
            if step_id in RESERVED:
                raise ValueError(f"steps.{index}.id: {step_id!r} is reserved")
            if ids.index(step_id) != index:
                raise ValueError(f"steps.{index}.id: {step_id!r} is used twice")
        if self.cooldown is not None and self.reentry != "after_exit":
            raise ValueError("cooldown goes with reentry: after_exit")
        object.__setattr__(self, "steps", named)
        return self

    @model_validator(mode="after")
    def _sound_graph(self) -> JourneyDefinition:
        from pertinent.journeys.graph import problems

        found = problems(self)
        if found:
            raise ValueError("; ".join(found))
        return self

    def conditions(self) -> list[tuple[str, Condition]]:
        """(key path, condition) of every condition in the journey: branches and exit."""
        found = [
            (f"steps.{index}.branches.{n}.condition", branch.condition)
            for index, step in enumerate(self.steps)
            if isinstance(step, BranchStep)
            for n, branch in enumerate(step.branches)
        ]
        if self.exit.condition is not None:
            found.append(("exit.condition", self.exit.condition))
        return found

    @property
    def exit_events(self) -> list[EventMatch]:
        return [*self.exit.events, *(EventMatch(event=name) for name in self.exit_on)]

    def digest(self) -> str:
        """A fingerprint of what the journey does (not its file's layout or comments)."""
        text = self.model_dump_json(by_alias=True, exclude_none=True)
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


Status = Literal["waiting", "completed", "exited"]


def instance_key(journey_key: str, profile_id: str, trigger_message_id: str) -> str:
    """The instance's identity, derived from what started it, so a replayed batch makes the
    same instance (and the same idempotency keys for its emails), never a second one."""
    text = f"{journey_key}\x1f{profile_id}\x1f{trigger_message_id}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Instance:
    """One person in one journey: the version and step they are at, since when, and when
    it wakes."""

    key: str
    journey_key: str
    profile_id: str
    step: str
    status: Status
    started_at: datetime
    trigger: dict[str, Any] = field(default_factory=dict)
    wake_at: datetime | None = None
    wait_event: str | None = None
    ended_at: datetime | None = None
    version: int = 1
    step_at: datetime | None = None  # when it arrived at `step` (None: when it started)
    exit_reason: str | None = None
    goal_at: datetime | None = None  # when it converted

    @property
    def arrived(self) -> datetime:
        return self.step_at or self.started_at

    def moved(self, step: str, at: datetime) -> Instance:
        """At `step` since `at`, not resting yet. (Built directly: `dataclasses.replace`
        costs more than the step itself on the wake-up path.)"""
        return Instance(
            self.key,
            self.journey_key,
            self.profile_id,
            step,
            self.status,
            self.started_at,
            self.trigger,
            None,
            None,
            self.ended_at,
            self.version,
            at,
            self.exit_reason,
            self.goal_at,
        )

    def resting(self, until: datetime, wait_event: str | None) -> Instance:
        """Waiting at its step until `until` (or the event)."""
        return Instance(
            self.key,
            self.journey_key,
            self.profile_id,
            self.step,
            "waiting",
            self.started_at,
            self.trigger,
            until,
            wait_event,
            self.ended_at,
            self.version,
            self.step_at,
            self.exit_reason,
            self.goal_at,
        )

    @property
    def entry(self) -> str:
        """What started the instance (its trigger's message id): with the person and the
        step, what makes a send or a webhook call once and only once."""
        found = self.trigger.get("message_id")
        return str(found) if found is not None else self.key
