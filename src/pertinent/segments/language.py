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


# A leaf whose truth can change with time alone: the window slides.
WindowedCondition = PerformedCondition | NotPerformedCondition

Condition = Annotated[
    TraitCondition
    | PerformedCondition
    | NotPerformedCondition
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
