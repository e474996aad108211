"""The durable journey runtime.

An instance is a row: which step a person is at, and when it wakes. Every transition runs
inside the processor's (or the timer loop's) transaction, together with its side effects (an
outbox row, a journey_step event), so a crash replays nothing twice and loses nothing. A send
step's outbox row carries the idempotency key (instance, step): a retried transition cannot
enqueue a second email.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, assert_never

from pertinent.events.model import Event
from pertinent.journeys.model import (
    EventTrigger,
    ExitStep,
    JourneyDefinition,
    SegmentEnteredTrigger,
    SendStep,
    WaitForEventStep,
    WaitStep,
)
from pertinent.segments.language import PropertyFilter

if TYPE_CHECKING:
    from pertinent.storage.ports import Transaction

Status = Literal["waiting", "completed", "exited"]


@dataclass(frozen=True)
class Instance:
    journey_key: str
    profile_id: str
    step: int
    status: Status
    started_at: datetime
    trigger: dict[str, Any] = field(default_factory=dict)
    wake_at: datetime | None = None
    wait_event: str | None = None
    ended_at: datetime | None = None
    id: int | None = None


class JourneyStore(Protocol):
    def active(self, profile_ids: set[str]) -> list[Instance]: ...

    def has_entered(self, journey_key: str, profile_id: str) -> bool: ...

    def save(self, instance: Instance) -> Instance:
        """Insert (id None) or update; return the instance with its id."""
        ...

    def due(self, now: datetime, limit: int) -> list[Instance]: ...


# Renders and enqueues one email in the transaction; returns its message id, or None if it
# was not enqueued (no address, suppressed, template error), with the reason.
SendFn = Callable[["Transaction", Instance, SendStep, str], tuple[str | None, str]]
# Makes a system event about a person (journey_step and friends).
EventFn = Callable[[str, str, dict[str, Any]], Event]


def _matches(filters: list[PropertyFilter], props: dict[str, Any]) -> bool:
    for f in filters:
        value = props.get(f.property)
        if f.op == "eq" and value != f.value:
            return False
        if f.op == "ne" and value == f.value:
            return False
        if f.op == "in" and value not in f.value:
            return False
        if f.op == "exists" and value is None:
            return False
    return True


def trigger_payload(event: Event) -> dict[str, Any]:
    """What a template sees as `event`: the trigger's name, time and properties."""
    return {
        "name": event.name,
        "timestamp": event.timestamp.isoformat(),
        "properties": event.properties,
        "message_id": event.message_id,
    }


class JourneyRuntime:
    def __init__(self, journeys: list[JourneyDefinition], send: SendFn, emit: EventFn):
        self.journeys = {j.key: j for j in journeys}
        self._send = send
        self._emit = emit

    def on_event(
        self,
        tx: Transaction,
        active: list[Instance],
        profile_id: str,
        event: Event,
        now: datetime,
    ) -> tuple[list[Instance], list[Event]]:
        """React to one event of a person: exits, waits satisfied, new instances.

        `active` is the person's active instances; returns the new list and events to log.
        """
        emitted: list[Event] = []
        action = event.action
        still: list[Instance] = []
        for inst in active:
            journey = self.journeys.get(inst.journey_key)
            if journey is None:
                still.append(inst)
                continue
            if action in journey.exit_on:
                inst = self._end(tx, inst, "exited", now, emitted, reason=f"exit_on {action}")
            elif inst.wait_event is not None and inst.wait_event == action:
                step = journey.steps[inst.step]
                assert isinstance(step, WaitForEventStep)
                if step.on_event == "exit":
                    inst = self._end(tx, inst, "exited", now, emitted, reason=f"got {action}")
                else:
                    inst = self._run(
                        tx,
                        journey,
                        replace(inst, step=inst.step + 1, wake_at=None, wait_event=None),
                        now,
                        emitted,
                    )
            if inst.status == "waiting":
                still.append(inst)
        active_keys = {i.journey_key for i in still}
        for journey in self.journeys.values():
            if journey.key in active_keys or not self._triggers(journey, event):
                continue
            if journey.reentry == "never" and tx.journeys.has_entered(journey.key, profile_id):
                continue
            inst = Instance(journey.key, profile_id, 0, "waiting", now, trigger_payload(event))
            inst = tx.journeys.save(inst)
            emitted.append(
                self._emit(
                    profile_id,
                    "journey_step",
                    {"journey": journey.key, "step": 0, "transition": "entered"},
                )
            )
            inst = self._run(tx, journey, inst, now, emitted)
            if inst.status == "waiting":
                still.append(inst)
        return still, emitted

    def on_wake(self, tx: Transaction, inst: Instance, now: datetime) -> list[Event]:
        """A waiting instance's time came: a wait ended or a wait-for-event timed out."""
        emitted: list[Event] = []
        journey = self.journeys.get(inst.journey_key)
        if journey is None:
            self._end(tx, inst, "exited", now, emitted, reason="journey removed")
            return emitted
        step = journey.steps[inst.step]
        if isinstance(step, WaitForEventStep) and step.on_timeout == "exit":
            self._end(tx, inst, "exited", now, emitted, reason="timeout")
            return emitted
        self._run(
            tx,
            journey,
            replace(inst, step=inst.step + 1, wake_at=None, wait_event=None),
            now,
            emitted,
        )
        return emitted

    def _triggers(self, journey: JourneyDefinition, event: Event) -> bool:
        trigger = journey.trigger
        match trigger:
            case EventTrigger():
                return event.action == trigger.event and _matches(trigger.where, event.properties)
            case SegmentEnteredTrigger():
                return (
                    event.action == "segment_entered"
                    and event.properties.get("segment") == trigger.segment
                )
            case _:
                assert_never(trigger)

    def _run(
        self,
        tx: Transaction,
        journey: JourneyDefinition,
        inst: Instance,
        now: datetime,
        emitted: list[Event],
    ) -> Instance:
        """Run steps from `inst.step` until the instance waits or ends."""
        while inst.step < len(journey.steps):
            step = journey.steps[inst.step]
            match step:
                case WaitStep():
                    return tx.journeys.save(
                        replace(inst, status="waiting", wake_at=now + step.duration)
                    )
                case WaitForEventStep():
                    return tx.journeys.save(
                        replace(
                            inst,
                            status="waiting",
                            wake_at=now + step.timeout,
                            wait_event=step.event,
                        )
                    )
                case SendStep():
                    message_id, outcome = self._send(tx, inst, step, f"{inst.id}:{inst.step}")
                    emitted.append(
                        self._emit(
                            inst.profile_id,
                            "journey_step",
                            {
                                "journey": journey.key,
                                "step": inst.step,
                                "transition": "send",
                                "template": step.template,
                                "message_id": message_id,
                                "outcome": outcome,
                            },
                        )
                    )
                    inst = replace(inst, step=inst.step + 1)
                case ExitStep():
                    return self._end(tx, inst, "exited", now, emitted, reason="exit step")
                case _:
                    assert_never(step)
        return self._end(tx, inst, "completed", now, emitted, reason="done")

    def _end(
        self,
        tx: Transaction,
        inst: Instance,
        status: Status,
        now: datetime,
        emitted: list[Event],
        *,
        reason: str,
    ) -> Instance:
        emitted.append(
            self._emit(
                inst.profile_id,
                "journey_step",
                {
                    "journey": inst.journey_key,
                    "step": inst.step,
                    "transition": status,
                    "reason": reason,
                },
            )
        )
        return tx.journeys.save(
            replace(inst, status=status, wake_at=None, wait_event=None, ended_at=now)
        )
