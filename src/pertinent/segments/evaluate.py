"""A condition evaluated in Python for one person: the reference semantics of the language.

Journey trigger filters use it, the in-memory storage adapter evaluates segments with it, and
a property test holds the SQL compiler (`storage/sql/conditions.py`) to the same answers.

Comparisons are typed: a number in the condition only matches a JSON number, a string only a
string, true/false only a boolean. A missing value (or JSON null) matches nothing but
`not_exists` and `ne`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, assert_never

from pertinent.segments.dates import (
    anniversary_days,
    day_range,
    in_range,
    month_day,
    parse_instant,
    stored_path,
)
from pertinent.segments.language import (
    AMOUNT_LIMIT,
    AggregateCondition,
    AllCondition,
    AnniversaryCondition,
    AnyCondition,
    Comparison,
    Condition,
    DaysSinceCondition,
    EventStep,
    InSegmentCondition,
    NotCondition,
    NotPerformedCondition,
    PerformedCondition,
    PropertyFilter,
    SequenceCondition,
    TraitCondition,
    WindowedCondition,
)
from pertinent.segments.timing import Clock

if TYPE_CHECKING:
    from pertinent.profiles.settings import ComputedProperty

MISSING: Any = object()


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
            return MISSING
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
    present = value is not MISSING and value is not None
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
    leaf: WindowedCondition | AggregateCondition | ComputedProperty,
    events: Sequence[PersonEvent],
    now: datetime,
) -> list[PersonEvent]:
    start = now - leaf.within if leaf.within is not None else None
    return [
        e
        for e in events
        if e.action == leaf.event
        and (start is None or e.timestamp >= start)
        and matches_filters(leaf.where, e.properties)
    ]


def micro(value: Any) -> int | None:
    """An amount as whole millionths, rounded half up (`floor(x * 1e6 + 0.5)` in doubles,
    as the SQL computes it); None for a non-number or one of a billion or more."""
    if not _number(value) or not abs(value) < AMOUNT_LIMIT:
        return None
    return math.floor(float(value) * 1e6 + 0.5)


def _integer_compare(total: int, count: int, cmp: Comparison) -> bool:
    """`total / count` compared with the condition's value, without dividing:
    `avg > v` is `sum > v * n` (count is 1 for sum, min and max)."""
    bounds = cmp.value if isinstance(cmp.value, list) else [cmp.value]
    scaled = [micro(v) for v in bounds]
    assert all(v is not None for v in scaled), "validated: numbers below a billion"
    targets = [v * count for v in scaled if v is not None]
    match cmp.op:
        case "eq":
            return total == targets[0]
        case "ne":
            return total != targets[0]
        case "gt":
            return total > targets[0]
        case "gte":
            return total >= targets[0]
        case "lt":
            return total < targets[0]
        case "lte":
            return total <= targets[0]
        case "between":
            return targets[0] <= total <= targets[1]
    raise AssertionError(f"validated: {cmp.op} is not an aggregate comparison")


def aggregate_value(
    cond: AggregateCondition | ComputedProperty, events: Sequence[PersonEvent], now: datetime
) -> Any:
    """The aggregate as a person's profile shows it (amounts as numbers, not millionths);
    missing for an average, minimum, maximum or last value of nothing. A custom computed
    property is such an aggregate without the comparison."""
    counted = _counted(cond, events, now)
    if cond.function == "count":
        return len(counted)
    assert cond.property is not None
    if cond.function == "last":
        return _last(cond.property, counted)
    amounts = [m for e in counted if (m := micro(lookup(e.properties, cond.property))) is not None]
    if cond.function == "sum":
        return sum(amounts) / 1e6
    if not amounts:
        return MISSING
    match cond.function:
        case "avg":
            return round(sum(amounts) / len(amounts) / 1e6, 6)
        case "min":
            return min(amounts) / 1e6
        case "max":
            return max(amounts) / 1e6
    raise AssertionError(cond.function)


def _last(path: str, events: Sequence[PersonEvent]) -> Any:
    """The value at `path` of the latest event that has one (of equal times, the later in
    the log)."""
    best: tuple[datetime, int] | None = None
    value: Any = MISSING
    for index, e in enumerate(events):
        found = lookup(e.properties, path)
        if found is MISSING or found is None:
            continue
        if best is None or (e.timestamp, index) > best:
            best, value = (e.timestamp, index), found
    return value


def _aggregate(cond: AggregateCondition, events: Sequence[PersonEvent], now: datetime) -> bool:
    counted = _counted(cond, events, now)
    if cond.function == "count":
        return compare(len(counted), cond)
    assert cond.property is not None
    if cond.function == "last":
        return compare(_last(cond.property, counted), cond)
    amounts = [m for e in counted if (m := micro(lookup(e.properties, cond.property))) is not None]
    if cond.function == "sum":
        return _integer_compare(sum(amounts), 1, cond)
    if not amounts:
        return cond.op == "ne"  # a missing value matches `ne` only
    match cond.function:
        case "avg":
            return _integer_compare(sum(amounts), len(amounts), cond)
        case "min":
            return _integer_compare(min(amounts), 1, cond)
        case "max":
            return _integer_compare(max(amounts), 1, cond)
    raise AssertionError(cond.function)


def _step(step: EventStep, e: PersonEvent) -> bool:
    return e.action == step.event and matches_filters(step.where, e.properties)


def _firsts(
    cond: SequenceCondition, events: Sequence[PersonEvent], now: datetime
) -> list[tuple[datetime, bool]]:
    """(time, followed) of each first step (of its window): followed when another event
    is a matching second step at most `within` after it."""
    first, second = cond.first, cond.second
    start = now - first.within if first.within is not None else None
    found = []
    for i, a in enumerate(events):
        if not _step(first, a) or (start is not None and a.timestamp < start):
            continue
        end = a.timestamp + cond.within
        followed = any(
            j != i and _step(second, b) and a.timestamp <= b.timestamp <= end
            for j, b in enumerate(events)
        )
        found.append((a.timestamp, followed))
    return found


def _complete(cond: SequenceCondition, at: datetime, followed: bool, now: datetime) -> bool:
    """Whether a first step at `at` completes the sequence at `now`."""
    if cond.negated:
        return not followed and at + cond.within <= now
    return followed


def date_text(person: Person, path: str) -> Any:
    """The stored string a date condition reads (see `segments.dates`)."""
    return lookup(person.computed, stored_path(path))


def _days_since(cond: DaysSinceCondition, person: Person, now: datetime) -> bool:
    text = date_text(person, cond.date)
    present = isinstance(text, str)
    if cond.op == "exists":
        return present
    if cond.op == "not_exists":
        return not present
    inside = present and in_range(text, day_range(cond.op, cond.value, now))
    return not inside if cond.op == "ne" else inside


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
        case SequenceCondition():
            return any(_complete(cond, at, f, now) for at, f in _firsts(cond, person.events, now))
        case AggregateCondition():
            return _aggregate(cond, person.events, now)
        case DaysSinceCondition():
            return _days_since(cond, person, now)
        case AnniversaryCondition():
            text = date_text(person, cond.date)
            return isinstance(text, str) and month_day(text) in anniversary_days(
                now, cond.in_next_days
            )
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


def anchor(clock: Clock, person: Person, now: datetime) -> datetime | None:
    """The instant a clock's edge is reckoned from, for one person (None: no edge):
    see `segments.timing`."""
    leaf = clock.leaf
    match clock.part:
        case "earliest" | "latest":
            assert isinstance(leaf, PerformedCondition | NotPerformedCondition | AggregateCondition)
            times = [e.timestamp for e in _counted(leaf, person.events, now)]
            if not times:
                return None
            return min(times) if clock.part == "earliest" else max(times)
        case "qualified" | "pending":
            assert isinstance(leaf, SequenceCondition)
            firsts = _firsts(leaf, person.events, now)
            if clock.part == "qualified":
                times = [at for at, f in firsts if _complete(leaf, at, f, now)]
            else:
                times = [at for at, f in firsts if not f and at + leaf.within > now]
            return min(times) if times else None
        case "date":
            assert isinstance(leaf, DaysSinceCondition | AnniversaryCondition)
            return parse_instant(date_text(person, leaf.date))
        case _:
            assert_never(clock.part)
