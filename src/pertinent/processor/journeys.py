"""Phase 3, journeys: start, advance and end instances for a batch's events or due wake-ups.

Pure: the loader hands over the active instances of the people concerned, when each last
entered each journey, their profiles, events and recent emails (`Context`); the engine
returns the instances to save, a timeline of `journey_step` events and trait updates in
which each send is a `SendRequest` for the compose phase, the webhook calls to enqueue, and
counts per step.

Each step runs where the instance is: a wait is a condition on time evaluated against when
the instance arrived at the step, so a wake-up (on time, early, or after an edit moved the
instance) always does the right thing; a send asks the policy (quiet hours, caps) and may
rest at its step until the quiet hours end.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, assert_never

from pertinent.events.model import Event
from pertinent.events.system import system_event
from pertinent.journeys.caps import Capped, Category, Delay, Send, SendPolicy, SentRecord
from pertinent.journeys.graph import END, EXIT, Graph
from pertinent.journeys.model import (
    BranchStep,
    EventMatch,
    EventTrigger,
    ExitStep,
    Instance,
    ScheduleTrigger,
    SegmentEnteredTrigger,
    SegmentExitedTrigger,
    SendStep,
    Status,
    Step,
    UpdateTraitsStep,
    WaitForEventStep,
    WaitStep,
    WebhookStep,
    instance_key,
)
from pertinent.journeys.timing import next_local_time, person_zone, trait_date
from pertinent.journeys.versions import JourneySet, Version
from pertinent.journeys.webhooks import WebhookCall, call_key, encode
from pertinent.profiles.state import ProfileState
from pertinent.segments.evaluate import Person, PersonEvent, holds, matches_filters
from pertinent.segments.language import Condition

MAX_MOVES = 64  # per instance and call; the graph check rules out loops without a wait
HISTORIC = "historic"  # context.pertinent.historic: an imported event, which starts nothing
HISTORIC_CONTEXT: dict[str, Any] = {"pertinent": {HISTORIC: True}}


@dataclass(frozen=True)
class SendRequest:
    """A send step reached and allowed: the compose phase makes the email (or says why not)."""

    instance: Instance
    step: str
    template: str
    category: Category

    @property
    def idempotency_key(self) -> str:
        """Per person, journey step and entry (not per instance): two instances of one
        person's entry, however they came about, cannot both send the step."""
        inst = self.instance
        text = f"{inst.journey_key}\x1f{self.step}\x1f{inst.profile_id}\x1f{inst.entry}"
        return "j:" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


Timeline = list[Event | SendRequest]
# (journey, version, step, metric) -> how many
Counts = Counter[tuple[str, int, str, str]]


@dataclass
class Context:
    """What the engine may know of the people it handles."""

    profiles: Mapping[str, ProfileState] = field(default_factory=dict)
    events: Mapping[str, Sequence[PersonEvent]] = field(default_factory=dict)
    sent: dict[str, list[SentRecord]] = field(default_factory=dict)
    segments: Mapping[str, Condition] = field(default_factory=dict)
    # Traits set by update_traits steps in this call, not yet folded from the log.
    updated: dict[str, dict[str, Any]] = field(default_factory=dict)

    def person(self, pid: str) -> Person:
        state = self.profiles.get(pid)
        computed = state.computed if state is not None else {}
        return Person(self.traits(pid), computed, self.events.get(pid, ()))

    def traits(self, pid: str) -> Mapping[str, Any]:
        state = self.profiles.get(pid)
        traits = state.traits if state is not None else {}
        updated = self.updated.get(pid)
        return {**traits, **updated} if updated else traits


@dataclass
class JourneyState:
    active: dict[str, list[Instance]]  # person -> waiting instances, oldest first
    last_entered: dict[tuple[str, str], datetime] = field(default_factory=dict)
    recent: dict[str, list[Instance]] = field(default_factory=dict)  # ended, for goals


@dataclass(frozen=True)
class Advanced:
    instances: list[Instance]  # to save, each by key, in its final state
    timeline: Timeline
    webhooks: list[WebhookCall]
    counts: Counts


def is_historic(event: Event) -> bool:
    marker = event.context.get("pertinent")
    return isinstance(marker, dict) and marker.get(HISTORIC) is True


def trigger_payload(event: Event) -> dict[str, Any]:
    """What a template sees as `event`: the trigger's name, time and properties."""
    return {
        "name": event.name,
        "timestamp": event.timestamp.isoformat(),
        "properties": event.properties,
        "message_id": event.message_id,
    }


def _matches(match: EventMatch | WaitForEventStep, event: Event) -> bool:
    return event.action == match.event and matches_filters(match.where, event.properties)


def triggers(version: Version, event: Event) -> bool:
    """Whether the event starts the version's journey (re-entry aside)."""
    trigger = version.definition.trigger
    match trigger:
        case EventTrigger():
            return event.action == trigger.event and matches_filters(
                trigger.where, event.properties
            )
        case SegmentEnteredTrigger() | SegmentExitedTrigger():
            return (
                event.action == trigger.type and event.properties.get("segment") == trigger.segment
            )
        case ScheduleTrigger():
            return False
        case _:
            assert_never(trigger)


class _Run:
    """One engine call: collects saved instances, the timeline, webhooks and counts."""

    def __init__(
        self, journeys: JourneySet, policy: SendPolicy, context: Context, now: datetime
    ) -> None:
        self.journeys = journeys
        self.policy = policy
        self.context = context
        self.now = now
        self.saved: dict[str, Instance] = {}
        self.timeline: Timeline = []
        self.webhooks: list[WebhookCall] = []
        self.counts: Counts = Counter()

    def advanced(self) -> Advanced:
        return Advanced(list(self.saved.values()), self.timeline, self.webhooks, self.counts)

    def count(self, inst: Instance, metric: str) -> None:
        self.counts[(inst.journey_key, inst.version, inst.step, metric)] += 1

    def step_event(self, inst: Instance, transition: str, **props: Any) -> None:
        self.timeline.append(
            system_event(
                "journey_step",
                inst.profile_id,
                {
                    "journey": inst.journey_key,
                    "version": inst.version,
                    "step": inst.step,
                    "transition": transition,
                    **props,
                },
                self.now,
                cause=f"{inst.key}\x1f{inst.version}\x1f{inst.step}\x1f{transition}\x1f{inst.arrived}",
            )
        )

    def save(self, inst: Instance) -> Instance:
        self.saved[inst.key] = inst
        return inst

    def end(self, inst: Instance, status: Status, reason: str) -> Instance:
        self.step_event(inst, status, reason=reason)
        self.count(inst, "completed" if status == "completed" else f"exit:{reason}")
        return self.save(
            replace(
                inst,
                status=status,
                wake_at=None,
                wait_event=None,
                ended_at=self.now,
                exit_reason=reason,
            )
        )

    def version_of(self, inst: Instance) -> tuple[Instance, Version | None]:
        """The instance on the version it runs on, moved first if the live version migrates
        its step; None when the journey or the version is gone."""
        latest = self.journeys.latest(inst.journey_key)
        if latest is None:
            return inst, None
        target = latest.definition.migrate.get(inst.step)
        if inst.version < latest.number and target is not None:
            self.step_event(inst, "migrated", to_version=latest.number, to_step=target)
            inst = replace(inst, version=latest.number, step=target)
            return inst, latest
        return inst, self.journeys.get(inst.journey_key, inst.version)

    def start(
        self, version: Version, pid: str, trigger: dict[str, Any], cause: str, *, run: bool = True
    ) -> Instance:
        """A new instance at the first step; run at once, or (`run` false) left due now for
        the wake-ups to run in their batches."""
        inst = Instance(
            instance_key(version.key, pid, cause),
            version.key,
            pid,
            version.graph.first,
            "waiting",
            self.now,
            trigger,
            version=version.number,
            step_at=self.now,
        )
        self.step_event(inst, "entered")
        self.count(inst, "entered")
        return self.run(version, inst) if run else self.rest(inst, self.now)

    def go(self, version: Version, inst: Instance, target: str) -> Instance:
        if target == END:
            return self.end(inst, "completed", "done")
        if target == EXIT:
            return self.end(inst, "exited", f"exit at {inst.step}")
        return self.run(version, inst.moved(target, self.now))

    def run(self, version: Version, inst: Instance) -> Instance:
        """Do the instance's steps until it waits or ends."""
        graph = version.graph
        exit_condition = version.definition.exit.condition
        for _ in range(MAX_MOVES):
            step = graph.step(inst.step)
            if step is None:
                return self.end(inst, "exited", f"step {inst.step} gone")
            if exit_condition is not None and self.holds(exit_condition, inst.profile_id):
                return self.end(inst, "exited", "exit condition")
            target = self.execute(graph, step, inst)
            if isinstance(target, Instance):
                return target
            if target in (END, EXIT):
                return self.go(version, inst, target)
            inst = inst.moved(target, self.now)
        return self.end(inst, "exited", "too many steps at once")

    def holds(self, condition: Condition, pid: str) -> bool:
        return holds(condition, self.context.person(pid), self.now, self.context.segments)

    def rest(self, inst: Instance, until: datetime, wait_event: str | None = None) -> Instance:
        return self.save(inst.resting(until, wait_event))

    def execute(self, graph: Graph, step: Step, inst: Instance) -> Instance | str:
        """Do one step: the instance if it rests or ends here, else where it goes next."""
        match step:
            case WaitStep():
                due = self.wait_until(step, inst)
                if due is None:
                    return self.end(inst, "exited", f"no date in {step.until_trait}")
                return graph.next_of(step) if due <= self.now else self.rest(inst, due)
            case WaitForEventStep():
                deadline = inst.arrived + step.timeout
                if deadline <= self.now:
                    self.count(inst, "timeout")
                    return graph.resolve(step, step.on_timeout)
                return self.rest(inst, deadline, step.event)
            case BranchStep():
                for branch in step.branches:
                    if self.holds(branch.condition, inst.profile_id):
                        return graph.resolve(step, branch.next)
                return graph.resolve(step, step.otherwise or "continue")
            case SendStep():
                return self.send(graph, step, inst)
            case UpdateTraitsStep():
                self.update_traits(inst, step)
                return graph.next_of(step)
            case WebhookStep():
                self.webhooks.append(
                    WebhookCall(
                        call_key(inst.journey_key, inst.step, inst.profile_id, inst.entry),
                        inst.journey_key,
                        inst.step,
                        inst.profile_id,
                        step.url,
                        encode(self.payload(inst)),
                        self.now,
                        step.headers,
                    )
                )
                self.count(inst, "webhook")
                return graph.next_of(step)
            case ExitStep():
                return self.end(inst, "exited", "exit step")
            case _:
                assert_never(step)

    def wait_until(self, step: WaitStep, inst: Instance) -> datetime | None:
        if step.duration is not None:
            return inst.arrived + step.duration
        traits = self.context.traits(inst.profile_id)
        zone = person_zone(traits, self.policy.default_zone)
        if step.until_time is not None:
            return next_local_time(inst.arrived, step.until_time, step.weekdays, zone)
        assert step.until_trait is not None
        date = trait_date(traits.get(step.until_trait.removeprefix("traits.")), zone)
        return date + step.offset if date is not None else None

    def send(self, graph: Graph, step: SendStep, inst: Instance) -> Instance | str:
        sent = self.context.sent.setdefault(inst.profile_id, [])
        if any(
            r.journey_key == inst.journey_key
            and r.step == inst.step
            and r.created_at >= inst.started_at
            for r in sent
        ):
            self.step_event(inst, "send", template=step.template, outcome="already sent")
            return graph.next_of(step)
        definition = self.journeys.get(inst.journey_key, inst.version)
        caps = definition.definition.caps if definition is not None else []
        decision = self.policy.decide(
            step.template,
            self.context.traits(inst.profile_id),
            sent,
            self.now,
            journey_key=inst.journey_key,
            journey_caps=caps,
        )
        match decision:
            case Delay():
                if inst.wake_at != decision.until:  # counted once per stay
                    self.count(inst, "delayed")
                    self.step_event(inst, "delayed", until=decision.until.isoformat())
                return self.rest(inst, decision.until)
            case Capped():
                self.count(inst, "capped")
                self.step_event(
                    inst, "send", template=step.template, outcome="capped", cap=decision.cap.max
                )
                return graph.next_of(step)
            case Send():
                request = SendRequest(inst, inst.step, step.template, decision.category)
                self.timeline.append(request)
                sent.append(
                    SentRecord(
                        inst.profile_id, self.now, decision.category, inst.journey_key, inst.step
                    )
                )
                return graph.next_of(step)
            case _:
                assert_never(decision)

    def update_traits(self, inst: Instance, step: UpdateTraitsStep) -> None:
        """Through the log, as an identify the fold applies; the engine's own view of the
        person changes at once, so a branch right after it sees the new values."""
        identify = system_event(
            "journey_step",
            inst.profile_id,
            {},
            self.now,
            cause=f"{inst.key}\x1f{inst.step}\x1f{inst.arrived}\x1ftraits",
        )
        self.timeline.append(
            replace(identify, type="identify", name=None, traits=dict(step.traits))
        )
        self.context.updated.setdefault(inst.profile_id, {}).update(step.traits)
        self.count(inst, "traits")

    def payload(self, inst: Instance) -> dict[str, Any]:
        state = self.context.profiles.get(inst.profile_id)
        return {
            "journey": inst.journey_key,
            "version": inst.version,
            "step": inst.step,
            "instance": inst.key,
            "at": self.now.isoformat(),
            "person": {
                "id": inst.profile_id,
                "traits": state.traits if state is not None else {},
            },
            "trigger": inst.trigger,
        }

    def resume(self, inst: Instance) -> Instance:
        """An instance touched by a wake-up or an edit: run its step again where it is."""
        inst, version = self.version_of(inst)
        if version is None:
            reason = (
                "journey removed"
                if self.journeys.latest(inst.journey_key) is None
                else (f"version {inst.version} gone")
            )
            return self.end(inst, "exited", reason)
        return self.run(version, inst)


def on_events(
    journeys: JourneySet,
    policy: SendPolicy,
    state: JourneyState,
    context: Context,
    inputs: Sequence[tuple[str, Event]],
    merged: Collection[str],
    now: datetime,
) -> Advanced:
    """React to each event of a batch, in order: goals, exits, awaited events, new
    instances. Imported history (`is_historic`) starts, ends and advances nothing.

    First, the people who absorbed someone in this batch keep at most one active instance
    per journey: the oldest goes on, the others exit with reason `merged`."""
    run = _Run(journeys, policy, context, now)
    for pid in merged:
        kept: dict[str, Instance] = {}
        for inst in sorted(state.active.get(pid, []), key=lambda i: (i.started_at, i.key)):
            if inst.journey_key in kept:
                run.end(inst, "exited", "merged")
            else:
                kept[inst.journey_key] = inst
        state.active[pid] = list(kept.values())
    for pid, event in inputs:
        if is_historic(event):
            continue
        _goals(run, state, pid, event)
        _counted_bounce(run, event)
        still: list[Instance] = []
        for inst in state.active.get(pid, []):
            inst = _react(run, inst, event)
            if inst.status == "waiting":
                still.append(inst)
        running = {i.journey_key for i in still}
        for version in journeys.starting_on(event.action):
            if version.key in running or not triggers(version, event):
                continue
            if not _may_enter(version, state, pid, now):
                continue
            state.last_entered[(version.key, pid)] = now
            inst = run.start(version, pid, trigger_payload(event), event.message_id)
            if inst.status == "waiting":
                still.append(inst)
        state.active[pid] = still
    return run.advanced()


def _may_enter(version: Version, state: JourneyState, pid: str, now: datetime) -> bool:
    last = state.last_entered.get((version.key, pid))
    if last is None:
        return True
    journey = version.definition
    if journey.reentry == "never":
        return False
    return journey.cooldown is None or last + journey.cooldown <= now


def _react(run: _Run, inst: Instance, event: Event) -> Instance:
    moved, version = run.version_of(inst)
    if version is None:
        return run.resume(inst)
    if moved is not inst:  # migrated by an edit: it settles at its new step first
        inst = run.run(version, moved)
        if inst.status != "waiting":
            return inst
    journey = version.definition
    if any(_matches(m, event) for m in journey.exit_events):
        return run.end(inst, "exited", f"event {event.action}")
    step = version.graph.step(inst.step)
    if isinstance(step, WaitForEventStep) and _matches(step, event):
        run.count(inst, "got event")
        target = version.graph.resolve(step, step.on_event)
        return run.go(version, inst, target)
    if journey.exit.condition is not None and run.holds(journey.exit.condition, inst.profile_id):
        return run.end(inst, "exited", "exit condition")
    return inst


def _goals(run: _Run, state: JourneyState, pid: str, event: Event) -> None:
    """A goal event converts each of the person's instances it is the goal of, entered within
    the goal's window before it, once."""
    for inst in [*state.active.get(pid, []), *state.recent.get(pid, [])]:
        if inst.goal_at is not None:
            continue
        version = run.journeys.get(inst.journey_key, inst.version)
        goal = version.definition.goal if version is not None else None
        if goal is None or event.action != goal.event:
            continue
        if not matches_filters(goal.where, event.properties):
            continue
        if not inst.started_at <= event.timestamp <= inst.started_at + goal.within:
            continue
        converted = replace(run.saved.get(inst.key, inst), goal_at=run.now)
        run.save(converted)
        run.count(converted, "goal")
        run.step_event(converted, "goal", event=event.action)
        _replace(state.active.get(pid, []), converted)
        _replace(state.recent.get(pid, []), converted)


def _replace(instances: list[Instance], new: Instance) -> None:
    for index, inst in enumerate(instances):
        if inst.key == new.key:
            instances[index] = new


def _counted_bounce(run: _Run, event: Event) -> None:
    """A bounce of a journey's email counts as failed at its step."""
    if event.action != "email_bounced":
        return
    props = event.properties
    journey, step, version = props.get("journey"), props.get("step"), props.get("version")
    if isinstance(journey, str) and isinstance(step, str) and isinstance(version, int):
        run.counts[(journey, version, step, "failed")] += 1


def on_wake(
    journeys: JourneySet,
    policy: SendPolicy,
    context: Context,
    due: Sequence[Instance],
    now: datetime,
) -> Advanced:
    """Waiting instances whose time came: each runs its step again where it is."""
    run = _Run(journeys, policy, context, now)
    for inst in due:
        run.resume(inst)
    return run.advanced()


def on_schedule(
    journeys: JourneySet,
    policy: SendPolicy,
    state: JourneyState,
    context: Context,
    version: Version,
    people: Sequence[str],
    fired_at: datetime,
    now: datetime,
) -> Advanced:
    """A schedule trigger fired: each of `people` (the segment's members then) enters,
    unless already in the journey or the re-entry policy says no."""
    run = _Run(journeys, policy, context, now)
    cause = f"schedule@{fired_at.isoformat()}"
    payload = {
        "name": "schedule",
        "timestamp": fired_at.isoformat(),
        "properties": {},
        "message_id": cause,
    }
    for pid in people:
        if any(i.journey_key == version.key for i in state.active.get(pid, [])):
            continue
        if not _may_enter(version, state, pid, now):
            continue
        state.last_entered[(version.key, pid)] = now
        run.start(version, pid, payload, cause, run=False)
    return run.advanced()
