"""Phase 2, segments: who enters and leaves which segment, and when to look again.

Which (segments, people) to evaluate follows from what the fold changed
(`segments.dependencies`); the loader asks the store which of those people each segment's
condition holds for now, who is in it, and when the windowed events in it happened; the
engine turns that into entries, exits, `segment_entered`/`segment_exited` events and timers.

After each evaluation a person's timer is set to the next instant the truth could flip with no
new event (`segments.timing`): the oldest event a `performed ... within` counts leaving its
window, the silence of a `not_performed ... within` reaching its length, a cart's 24 hours
running out, a birthday coming into range. Between such instants nothing changes without an
event, so "no login for 30 days" fires at the 30-day mark, not at a nightly batch.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, assert_never

from pertinent.events.model import Event
from pertinent.events.system import system_event
from pertinent.processor.effects import (
    Effect,
    EmitEvents,
    EnterSegment,
    ExitSegment,
    SetSegmentTimers,
)
from pertinent.profiles.computed import changed_keys
from pertinent.segments.definitions import SegmentSet
from pertinent.segments.dependencies import can_change
from pertinent.segments.evaluate import lookup
from pertinent.segments.language import (
    AggregateCondition,
    AllCondition,
    AnniversaryCondition,
    AnyCondition,
    Condition,
    DaysSinceCondition,
    InSegmentCondition,
    NotCondition,
    NotPerformedCondition,
    PerformedCondition,
    SequenceCondition,
    TraitCondition,
)
from pertinent.segments.timing import Clock, next_edge
from pertinent.storage.ports import Transaction


@dataclass(frozen=True)
class Work:
    """Segments to evaluate (in evaluation order), each for the people it may have changed
    for."""

    people: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, keys: Sequence[str], people: frozenset[str]) -> Work:
        """Every one of `keys` for all of `people`."""
        return cls(dict.fromkeys(keys, people))

    @property
    def keys(self) -> list[str]:
        return list(self.people)

    @property
    def among(self) -> frozenset[str]:
        """Everyone some segment is evaluated for."""
        return frozenset().union(*self.people.values())

    def __bool__(self) -> bool:
        return any(self.people.values())


@dataclass(frozen=True)
class SegmentView:
    """What the store says about `Work.among` at `now`."""

    matching: Mapping[str, set[str]]  # segment -> people its condition holds for
    current: Mapping[str, set[str]]  # segment -> people in it
    anchors: Sequence[tuple[int, str, datetime]]  # (index in `clocks_of`, person, anchor)


@dataclass(frozen=True)
class _Reads:
    """What a condition looks at, coarsely: enough to rule most events out at a glance."""

    actions: frozenset[str]
    computed: frozenset[str]  # top-level computed properties
    identify: bool  # a trait an identify call can set
    filtered: tuple[str, ...] = ()  # event properties its filters look at


def _reads(cond: Condition, segments: Mapping[str, Condition]) -> _Reads:
    match cond:
        case TraitCondition():
            if cond.trait.startswith("computed."):
                return _Reads(frozenset(), frozenset({cond.trait.split(".")[1]}), False)
            return _Reads(frozenset(), frozenset(), True)
        case DaysSinceCondition() | AnniversaryCondition():
            if cond.date.startswith("computed."):
                return _Reads(frozenset(), frozenset({cond.date.split(".")[1]}), False)
            return _Reads(frozenset(), frozenset(), True)
        case PerformedCondition() | NotPerformedCondition() | AggregateCondition():
            paths = {f.property for f in cond.where}
            return _Reads(frozenset({cond.event}), frozenset(), False, tuple(sorted(paths)))
        case SequenceCondition():
            steps = (cond.first, cond.second)
            paths = {f.property for step in steps for f in step.where}
            actions = frozenset(step.event for step in steps)
            return _Reads(actions, frozenset(), False, tuple(sorted(paths)))
        case InSegmentCondition():
            return _reads(segments[cond.segment], segments)
        case AllCondition() | AnyCondition() | NotCondition():
            children = cond.conditions if not isinstance(cond, NotCondition) else [cond.condition]
            parts = [_reads(c, segments) for c in children]
            return _Reads(
                frozenset().union(*(p.actions for p in parts)),
                frozenset().union(*(p.computed for p in parts)),
                any(p.identify for p in parts),
                tuple(sorted({path for p in parts for path in p.filtered})),
            )
        case _:
            assert_never(cond)


_NO_TRAITS: frozenset[str] = frozenset()


def _can_change(
    key: str,
    conditions: Mapping[str, Condition],
    reads: _Reads,
    event: Event,
    decided: dict[tuple[object, ...], bool],
) -> bool:
    """`can_change`, remembered for events alike in everything the segment looks at (their
    action, the filtered properties' values, the traits an identify sets)."""
    # With their types: True == 1 as keys, but a filter on 1 does not match true.
    values = tuple((type(v), v) for v in (lookup(event.properties, p) for p in reads.filtered))
    traits = frozenset(event.traits) if event.type == "identify" else _NO_TRAITS
    memo = (key, event.action, event.type, values, traits)
    try:
        known = decided.get(memo)
    except TypeError:  # a filtered value that is a list or an object: decide afresh
        return can_change(conditions[key], event, conditions)
    if known is None:
        known = decided[memo] = can_change(conditions[key], event, conditions)
    return known


def work_for(
    segments: SegmentSet,
    inputs: Sequence[tuple[str, Event]],
    renewed: Collection[str],
) -> Work:
    """The segments an event batch can change, and for whom: every segment for `renewed`
    people (new, or merged), and each segment for the people with an event that can change it
    (`segments.dependencies.can_change`, asked only where a glance cannot rule it out)."""
    conditions = segments.conditions
    reads = {key: _reads(cond, conditions) for key, cond in conditions.items()}
    people: dict[str, set[str]] = {key: set(renewed) for key in conditions}
    glance: dict[tuple[str | None, bool], list[str]] = {}
    decided: dict[tuple[object, ...], bool] = {}
    for pid, event in inputs:
        identify = event.type == "identify"
        candidates = glance.get((event.action, identify))
        if candidates is None:
            folded = changed_keys(event)
            candidates = [
                key
                for key, r in reads.items()
                if event.action in r.actions or r.computed & folded or (r.identify and identify)
            ]
            glance[(event.action, identify)] = candidates
        for key in candidates:
            if pid not in people[key] and _can_change(key, conditions, reads[key], event, decided):
                people[key].add(pid)
    return Work({s.key: frozenset(people[s.key]) for s in segments if people[s.key]})


def reading(segments: SegmentSet, computed: Collection[str]) -> list[str]:
    """The segments whose conditions read one of these computed properties (what a scheduled
    recompute of them must evaluate again), in evaluation order."""
    conditions, wanted = segments.conditions, set(computed)
    return [s.key for s in segments if _reads(conditions[s.key], conditions).computed & wanted]


def clocks_of(segments: SegmentSet, keys: Sequence[str]) -> list[tuple[str, Clock]]:
    """(segment, clock) for every clock of these segments, in a fixed order."""
    return [(key, clock) for key in keys for clock in segments.clocks(key)]


def load_view(tx: Transaction, segments: SegmentSet, work: Work, now: datetime) -> SegmentView:
    """What the store says about the work's people: the loader of `evaluate`."""
    clocks = clocks_of(segments, work.keys)
    return SegmentView(
        matching=tx.segments.matching(segments.conditions, work.people, now),
        current=tx.segments.current(work.among),
        anchors=tx.segments.anchors([(c, work.people[k]) for k, c in clocks], now)
        if clocks
        else [],
    )


def evaluate(
    segments: SegmentSet,
    work: Work,
    view: SegmentView,
    now: datetime,
    origin: str,
    marks: Mapping[str, Any] | None = None,
) -> list[Effect]:
    """Entries, exits, their events and the next timers for `work`; `origin` names what
    caused this evaluation (a batch, a timer run), for the events' ids; `marks` are more
    properties for the events (a backfill's)."""
    effects: list[Effect] = []
    events: list[Event] = []
    clocks = clocks_of(segments, work.keys)
    due: dict[str, dict[str, datetime]] = {key: {} for key in work.keys}
    for index, pid, at in view.anchors:
        key, clock = clocks[index]
        edge = next_edge(clock, at, now)
        if edge is not None and (pid not in due[key] or edge < due[key][pid]):
            due[key][pid] = edge
    for key, among in work.people.items():
        matching = view.matching.get(key, set()) & among
        current = view.current.get(key, set()) & among
        entered, exited = matching - current, current - matching
        if entered:
            effects.append(EnterSegment(key, frozenset(entered), now))
        if exited:
            effects.append(ExitSegment(key, frozenset(exited), now))
        for kind, people in (("entered", entered), ("exited", exited)):
            events.extend(
                system_event(
                    f"segment_{kind}",
                    pid,
                    {"segment": key, **(marks or {})},
                    now,
                    cause=f"{key}\x1f{origin}",
                )
                for pid in sorted(people)
            )
        if segments.clocks(key):
            effects.append(SetSegmentTimers(key, due[key], among))
    effects.append(EmitEvents(events))
    return effects
