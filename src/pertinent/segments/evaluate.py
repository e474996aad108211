"""A condition evaluated in Python for one person: the reference semantics of the language.

Journey trigger filters use it, the in-memory storage adapter evaluates segments with it, and
a property test holds the SQL compiler (`storage/sql/conditions.py`) to the same answers.

Comparisons are typed: a number in the condition only matches a JSON number, a string only a
string, true/false only a boolean. A missing value (or JSON null) matches nothing but
`not_exists` and `ne`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, assert_never

from pertinent.segments.language import (
    AllCondition,
    AnyCondition,
    Comparison,
    Condition,
    InSegmentCondition,
    NotCondition,
    NotPerformedCondition,
    PerformedCondition,
    PropertyFilter,
    TraitCondition,
    WindowedCondition,
)

_MISSING: Any = object()


@dataclass(frozen=True)
class PersonEvent:
    action: str | None
    timestamp: datetime
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class Person:
    """What a condition can look at: traits, computed properties, attributed events."""

    traits: Mapping[str, Any] = field(default_factory=dict)
    computed: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[PersonEvent] = ()


def lookup(bag: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted path, or a marker for missing (a non-object on the way too)."""
    value: Any = bag
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same_kind(value: Any, target: Any) -> bool:
    if isinstance(target, bool):
        return isinstance(value, bool)
    if _number(target):
        return _number(value)
    return isinstance(value, str) and isinstance(target, str)


def _equal(value: Any, target: Any) -> bool:
    return _same_kind(value, target) and bool(value == target)


def compare(value: Any, cmp: Comparison) -> bool:
    """Whether `value` (as found, or missing) satisfies the comparison."""
    target = cmp.value
    present = value is not _MISSING and value is not None
    match cmp.op:
        case "exists":
            return present
        case "not_exists":
            return not present
        case "eq":
            return _equal(value, target)
        case "ne":
            return not _equal(value, target)
        case "in":
            return any(_equal(value, t) for t in target)
        case "contains":
            return isinstance(value, str) and target in value
        case "between":
            low, high = target
            return _same_kind(value, low) and bool(low <= value <= high)
        case "gt":
            return _same_kind(value, target) and bool(value > target)
        case "gte":
            return _same_kind(value, target) and bool(value >= target)
        case "lt":
            return _same_kind(value, target) and bool(value < target)
        case "lte":
            return _same_kind(value, target) and bool(value <= target)
        case _:
            assert_never(cmp.op)


def matches_filters(filters: Sequence[PropertyFilter], properties: Mapping[str, Any]) -> bool:
    """Whether an event's properties pass every filter."""
    return all(compare(lookup(properties, f.property), f) for f in filters)


def trait_value(person: Person, trait: str) -> Any:
    """`computed.x` reads computed properties; `traits.x` and a bare `x` read traits."""
    if trait.startswith("computed."):
        return lookup(person.computed, trait.removeprefix("computed."))
    return lookup(person.traits, trait.removeprefix("traits."))


def _counted(
    leaf: WindowedCondition, events: Sequence[PersonEvent], now: datetime
) -> list[datetime]:
    start = now - leaf.within if leaf.within is not None else None
    return [
        e.timestamp
        for e in events
        if e.action == leaf.event
        and (start is None or e.timestamp >= start)
        and matches_filters(leaf.where, e.properties)
    ]


def holds(
    cond: Condition, person: Person, now: datetime, segments: Mapping[str, Condition]
) -> bool:
    """Whether `cond` is true of `person` at `now`; `in_segment` evaluates that segment's
    condition from `segments`."""
    match cond:
        case TraitCondition():
            return compare(trait_value(person, cond.trait), cond)
        case PerformedCondition():
            return len(_counted(cond, person.events, now)) >= cond.at_least
        case NotPerformedCondition():
            return not _counted(cond, person.events, now)
        case InSegmentCondition():
            return holds(segments[cond.segment], person, now, segments)
        case AllCondition():
            return all(holds(c, person, now, segments) for c in cond.conditions)
        case AnyCondition():
            return any(holds(c, person, now, segments) for c in cond.conditions)
        case NotCondition():
            return not holds(cond.condition, person, now, segments)
        case _:
            assert_never(cond)


def window_time(
    leaf: WindowedCondition, events: Sequence[PersonEvent], now: datetime
) -> datetime | None:
    """The earliest event a `performed` leaf counts in its window at `now`, or the latest a
    `not_performed` leaf sees there (None when there is none)."""
    times = _counted(leaf, events, now)
    if not times:
        return None
    return min(times) if isinstance(leaf, PerformedCondition) else max(times)
