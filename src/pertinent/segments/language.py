"""The segment language: a condition tree over a person.

A closed set of node types, each a pydantic model with a `type` tag, so a YAML typo is an
error naming its path, and adding a node type breaks the type check wherever nodes are handled.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_DURATION = re.compile(r"(\d+)\s*(w|d|h|m|s)")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(value: Any) -> timedelta:
    """'7d', '24h', '1h30m', '2w' → timedelta; a bare number is seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.replace(" ", "").lower()
        parts = _DURATION.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            total = timedelta()
            for number, unit in parts:
                total += timedelta(**{_UNITS[unit]: int(number)})
            if total > timedelta():
                return total
    raise ValueError(f"{value!r} is not a duration; write it like 30m, 24h, 7d or 2w")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Op = Literal[
    "eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "exists", "not_exists", "contains"
]


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


class Comparison(_Node):
    """A value compared by type: a number only matches JSON numbers, text only JSON strings,
    true/false only JSON booleans (so "5" is not 5, on every backend alike)."""

    op: Op = "eq"
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Comparison:
        op, value = self.op, self.value
        if op in ("exists", "not_exists"):
            return self
        if value is None:
            raise ValueError(f"'{op}' needs a value")
        if op == "between":
            if not (isinstance(value, list) and len(value) == 2):
                raise ValueError("'between' needs a value list of two bounds, like [25, 35]")
            if not (all(map(_is_number, value)) or all(isinstance(v, str) for v in value)):
                raise ValueError("'between' needs two numbers or two strings")
        elif op == "in":
            if not isinstance(value, list) or not all(map(_is_scalar, value)):
                raise ValueError("'in' needs a list of numbers, strings or true/false")
        elif op == "contains":
            if not isinstance(value, str):
                raise ValueError("'contains' needs a string")
        elif op in ("gt", "gte", "lt", "lte"):
            if not (_is_number(value) or isinstance(value, str)):
                raise ValueError(f"'{op}' needs a number or a string")
        elif not _is_scalar(value):
            raise ValueError(f"'{op}' needs a number, a string or true/false")
        return self


# A dotted path into JSON (`address.city`); quotes and backslashes have no place in a key here.
FieldPath = Annotated[str, Field(min_length=1, max_length=256, pattern=r'^[^"\\]+$')]


class PropertyFilter(Comparison):
    property: FieldPath


class TraitCondition(Comparison):
    """A trait (`city`) or computed property (`computed.orders`) compared to a value."""

    type: Literal["trait"]
    trait: FieldPath


class PerformedCondition(_Node):
    """Performed `event` at least `at_least` times, within the last `within` if given."""

    type: Literal["performed"]
    event: str = Field(min_length=1)
    at_least: int = Field(default=1, ge=1)
    within: Duration | None = None
    where: list[PropertyFilter] = Field(default_factory=list)


class NotPerformedCondition(_Node):
    """Has not performed `event` within the last `within` (ever, if not given)."""

    type: Literal["not_performed"]
    event: str = Field(min_length=1)
    within: Duration | None = None
    where: list[PropertyFilter] = Field(default_factory=list)


class InSegmentCondition(_Node):
    type: Literal["in_segment"]
    segment: str = Field(min_length=1)


class AllCondition(_Node):
    type: Literal["all"]
    conditions: list[Condition] = Field(min_length=1)


class AnyCondition(_Node):
    type: Literal["any"]
    conditions: list[Condition] = Field(min_length=1)


class NotCondition(_Node):
    type: Literal["not"]
    condition: Condition


class EventStep(_Node):
    """One step of a sequence: an event, with filters on its properties."""

    event: str = Field(min_length=1)
    where: list[PropertyFilter] = Field(default_factory=list)


class FirstStep(EventStep):
    """The first step; with `within`, only such an event of the last `within` counts."""

    within: Duration | None = None


class SequenceCondition(_Node):
    """`first`, then `then` at most `within` after it; or, with `then_not`, a `first` whose
    `within` has run out without a `then_not` following it (the sequence is complete only
    once its time is up: a cart is abandoned 24 hours after it was filled, not before)."""

    type: Literal["sequence"]
    first: FirstStep
    then: EventStep | None = None
    then_not: EventStep | None = None
    within: Duration

    @model_validator(mode="after")
    def _one_second_step(self) -> SequenceCondition:
        if (self.then is None) == (self.then_not is None):
            raise ValueError("a sequence needs exactly one of 'then' and 'then_not'")
        return self

    @property
    def second(self) -> EventStep:
        step = self.then or self.then_not
        assert step is not None
        return step

    @property
    def negated(self) -> bool:
        return self.then_not is not None


# Amounts that aggregates add up: numbers below a billion, each taken to the millionth (so
# the sums are exact integers, the same on every backend and in Python).
AMOUNT_LIMIT = 1e9
Function = Literal["count", "sum", "avg", "min", "max", "last"]
_NUMERIC_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "between")


class AggregateCondition(Comparison):
    """`function` over the person's `event`s (of the last `within`, passing `where`),
    compared: `count` of the events; `sum`, `avg`, `min`, `max` of the numeric `property`;
    `last`: the `property` of the latest event that has it, compared like a trait."""

    type: Literal["aggregate"]
    event: str = Field(min_length=1)
    function: Function
    property: FieldPath | None = None
    where: list[PropertyFilter] = Field(default_factory=list)
    within: Duration | None = None

    @model_validator(mode="after")
    def _fits_function(self) -> AggregateCondition:
        if self.function == "count":
            if self.property is not None:
                raise ValueError("'count' counts events: it takes no 'property'")
        elif self.property is None:
            raise ValueError(f"'{self.function}' needs the 'property' it reads")
        if self.function == "last":
            return self
        if self.op not in _NUMERIC_OPS:
            raise ValueError(f"'{self.function}' compares with {', '.join(_NUMERIC_OPS)}")
        bounds = self.value if isinstance(self.value, list) else [self.value]
        if not all(_is_number(v) and abs(v) < AMOUNT_LIMIT for v in bounds):
            raise ValueError(f"'{self.function}' compares with numbers below a billion")
        return self


_DAY_OPS = Literal["eq", "ne", "gt", "gte", "lt", "lte", "between", "exists", "not_exists"]
# More days than lie between any two instants a datetime can hold.
MAX_DAYS = 4_000_000


class DaysSinceCondition(_Node):
    """Whole days since a date (`floor((now - date) / 1 day)`, negative for a date to come),
    compared as a number. `date` is a computed time (`computed.last_order_at`) or a trait
    holding an ISO-8601 date (`signed_up_at`)."""

    type: Literal["days_since"]
    date: FieldPath
    op: _DAY_OPS = "gte"
    value: Any = None

    @model_validator(mode="after")
    def _days(self) -> DaysSinceCondition:
        if self.op in ("exists", "not_exists"):
            return self
        bounds = self.value if isinstance(self.value, list) else [self.value]
        if self.op == "between" and len(bounds) != 2:
            raise ValueError("'between' needs a value list of two bounds, like [7, 30]")
        if self.op != "between" and isinstance(self.value, list):
            raise ValueError(f"'{self.op}' needs one number of days")
        if not all(_is_number(v) and abs(v) <= MAX_DAYS for v in bounds):
            raise ValueError(f"days are numbers (at most {MAX_DAYS:,})")
        return self


class AnniversaryCondition(_Node):
    """The day and month of a date (a birthday, a sign-up) fall in the next `in_next_days`
    days, today included, in UTC. A 29 February falls on the 28th in other years."""

    type: Literal["anniversary"]
    date: FieldPath
    in_next_days: int = Field(ge=1, le=366)


# A leaf whose truth can change with time alone: a window slides, a date comes nearer.
TimedCondition = (
    PerformedCondition
    | NotPerformedCondition
    | SequenceCondition
    | AggregateCondition
    | DaysSinceCondition
    | AnniversaryCondition
)
# A leaf with a window over events.
WindowedCondition = PerformedCondition | NotPerformedCondition

Condition = Annotated[
    TraitCondition
    | PerformedCondition
    | NotPerformedCondition
    | SequenceCondition
    | AggregateCondition
    | DaysSinceCondition
    | AnniversaryCondition
    | InSegmentCondition
    | AllCondition
    | AnyCondition
    | NotCondition,
    Field(discriminator="type"),
]


class SegmentDefinition(_Node):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=128)
    name: str = ""
    description: str = ""
    condition: Condition


def referenced_segments(condition: Condition) -> set[str]:
    """The segments a condition depends on (for evaluation order)."""
    match condition:
        case InSegmentCondition():
            return {condition.segment}
        case AllCondition() | AnyCondition():
            return set().union(*(referenced_segments(c) for c in condition.conditions))
        case NotCondition():
            return referenced_segments(condition.condition)
        case _:
            return set()


AllCondition.model_rebuild()
AnyCondition.model_rebuild()
NotCondition.model_rebuild()
