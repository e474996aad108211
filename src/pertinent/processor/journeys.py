"""Phase 3, journeys: start, advance and end instances for a batch's events or due wake-ups.

Pure: the loader hands over the active instances of the people concerned and who has ever
been in a `reentry: never` journey; the engine returns the instances to save and a timeline
of `journey_step` events in which each send step is a `SendRequest`, for the compose phase to
turn into an outbox row and the event that says how it went.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, assert_never

from pertinent.events.model import Event
from pertinent.events.system import system_event
from pertinent.journeys.model import (
    EventTrigger,
    ExitStep,
    Instance,
    JourneyDefinition,
    SegmentEnteredTrigger,
    SendStep,
    Status,
    WaitForEventStep,
    WaitStep,
    instance_key,
)
from pertinent.segments.evaluate import matches_filters


@dataclass(frozen=True)
class SendRequest:
    """A send step reached: the compose phase makes the email (or says why not)."""

    instance: Instance
    step: int
    template: str

    @property
    def idempotency_key(self) -> str:
        return f"{self.instance.key}:{self.step}"


Timeline = list[Event | SendRequest]


@dataclass
class JourneyState:
    active: dict[str, list[Instance]]  # person -> waiting instances, oldest first
    entered: set[tuple[str, str]] = field(default_factory=set)  # (journey, person) ever


@dataclass(frozen=True)
class Advanced:
    instances: list[Instance]  # to save, each by key, in its final state
    timeline: Timeline


def actions_of_interest(journeys: Iterable[JourneyDefinition]) -> set[str]:
    """Every action a journey can react to: triggers, exits, awaited events."""
    found: set[str] = set()
    for journey in journeys:
        match journey.trigger:
            case EventTrigger():
                found.add(journey.trigger.event)
            case SegmentEnteredTrigger():
                found.add("segment_entered")
            case _:
                assert_never(journey.trigger)
        found.update(journey.exit_on)
        found.update(s.event for s in journey.steps if isinstance(s, WaitForEventStep))
    return found


def trigger_payload(event: Event) -> dict[str, Any]:
    """What a template sees as `event`: the trigger's name, time and properties."""
    return {
        "name": event.name,
        "timestamp": event.timestamp.isoformat(),
        "properties": event.properties,
        "message_id": event.message_id,
    }


def _triggers(journey: JourneyDefinition, event: Event) -> bool:
    trigger = journey.trigger
    match trigger:
        case EventTrigger():
            return event.action == trigger.event and matches_filters(
                trigger.where, event.properties
            )
        case SegmentEnteredTrigger():
            return (
                event.action == "segment_entered"
                and event.properties.get("segment") == trigger.segment
            )
        case _:
            assert_never(trigger)


class _Run:
    """One engine call: collects saved instances and the timeline as instances move."""

    def __init__(self, journeys: Mapping[str, JourneyDefinition], now: datetime):
        self.journeys = journeys
        self.now = now
        self.saved: dict[str, Instance] = {}
        self.timeline: Timeline = []

    def step_event(self, inst: Instance, transition: str, **props: Any) -> None:
        self.timeline.append(
            system_event(
                "journey_step",
                inst.profile_id,
                {"journey": inst.journey_key, "step": inst.step, "transition": transition, **props},
                self.now,
                cause=f"{inst.key}\x1f{inst.step}\x1f{transition}",
            )
        )

    def save(self, inst: Instance) -> Instance:
        self.saved[inst.key] = inst
        return inst

    def end(self, inst: Instance, status: Status, reason: str) -> Instance:
        self.step_event(inst, status, reason=reason)
        return self.save(
            replace(inst, status=status, wake_at=None, wait_event=None, ended_at=self.now)
        )

    def run(self, journey: JourneyDefinition, inst: Instance) -> Instance:
        """Run steps from `inst.step` until the instance waits or ends."""
        while inst.step < len(journey.steps):
            step = journey.steps[inst.step]
            match step:
                case WaitStep():
                    return self.save(
                        replace(inst, status="waiting", wake_at=self.now + step.duration)
                    )
                case WaitForEventStep():
                    return self.save(
                        replace(
                            inst,
                            status="waiting",
                            wake_at=self.now + step.timeout,
                            wait_event=step.event,
                        )
                    )
                case SendStep():
                    self.timeline.append(SendRequest(inst, inst.step, step.template))
                    inst = replace(inst, step=inst.step + 1)
                case ExitStep():
                    return self.end(inst, "exited", "exit step")
                case _:
                    assert_never(step)
        return self.end(inst, "completed", "done")

    def next_step(self, journey: JourneyDefinition, inst: Instance) -> Instance:
        return self.run(journey, replace(inst, step=inst.step + 1, wake_at=None, wait_event=None))


def on_events(
    journeys: Mapping[str, JourneyDefinition],
    state: JourneyState,
    inputs: Sequence[tuple[str, Event]],
    now: datetime,
) -> Advanced:
    """React to each event of a batch, in order: exits, waits satisfied, new instances."""
    run = _Run(journeys, now)
    for pid, event in inputs:
        action = event.action
        still: list[Instance] = []
        for inst in state.active.get(pid, []):
            journey = journeys.get(inst.journey_key)
            if journey is not None and action in journey.exit_on:
                inst = run.end(inst, "exited", f"exit_on {action}")
            elif journey is not None and inst.wait_event is not None and inst.wait_event == action:
                step = journey.steps[inst.step] if inst.step < len(journey.steps) else None
                if isinstance(step, WaitForEventStep) and step.on_event == "exit":
                    inst = run.end(inst, "exited", f"got {action}")
                else:
                    inst = run.next_step(journey, inst)
            if inst.status == "waiting":
                still.append(inst)
        running = {i.journey_key for i in still}
        for journey in journeys.values():
            if journey.key in running or not _triggers(journey, event):
                continue
            if journey.reentry == "never" and (journey.key, pid) in state.entered:
                continue
            state.entered.add((journey.key, pid))
            inst = Instance(
                instance_key(journey.key, pid, event.message_id),
                journey.key,
                pid,
                0,
                "waiting",
                now,
                trigger_payload(event),
            )
            run.step_event(inst, "entered")
            inst = run.run(journey, inst)
            if inst.status == "waiting":
                still.append(inst)
        state.active[pid] = still
    return Advanced(list(run.saved.values()), run.timeline)


def on_wake(
    journeys: Mapping[str, JourneyDefinition], due: Sequence[Instance], now: datetime
) -> Advanced:
    """Waiting instances whose time came: a wait ended or a wait-for-event timed out."""
    run = _Run(journeys, now)
    for inst in due:
        journey = journeys.get(inst.journey_key)
        if journey is None:
            run.end(inst, "exited", "journey removed")
            continue
        step = journey.steps[inst.step] if inst.step < len(journey.steps) else None
        if isinstance(step, WaitForEventStep) and step.on_timeout == "exit":
            run.end(inst, "exited", "timeout")
        else:
            run.next_step(journey, inst)
    return Advanced(list(run.saved.values()), run.timeline)
