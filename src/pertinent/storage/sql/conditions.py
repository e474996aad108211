"""A segment condition as one SQL predicate over `profiles`, with the language's semantics
(`segments.evaluate`, which a property test holds this to).

Every leaf is two-valued (a missing value is false, never NULL), so `not` means what it says;
values are compared by JSON type (a number only with a number, text only with text, in
code-point order), the same on SQLite and PostgreSQL. `in_segment` is the referenced
segment's condition, inlined.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, assert_never

from sqlalchemy import (
    ColumnElement,
    Numeric,
    Text,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    type_coerce,
)

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
from pertinent.storage.sql import tables

_P = tables.profiles
_PE = tables.profile_events


class _Json:
    """Typed access to the value at a path of a JSON column, per backend."""

    def __init__(self, column: Any, dotted: str, postgresql: bool):
        parts = dotted.split(".")
        self._pg = postgresql
        if postgresql:
            # A chain of `->` with text keys, not `#>`: a path through an array is missing (as
            # in `evaluate.lookup`), where `#>` would take a key like `0` as an array index.
            keys = [bindparam(None, p, type_=Text) for p in parts]
            parent = column
            for key in keys[:-1]:
                parent = parent.op("->")(key)
            self._type: Any = func.jsonb_typeof(parent.op("->")(keys[-1]))
            self._text: Any = type_coerce(parent.op("->>")(keys[-1]), Text)
        else:
            path = bindparam(None, "$" + "".join(f'."{p}"' for p in parts), type_=Text)
            self._type = func.json_type(column, path)
            self._text = func.json_extract(column, path)

    def present(self) -> ColumnElement[bool]:
        return func.coalesce(self._type, "null") != "null"

    def number(self) -> Any:
        kinds = ("number",) if self._pg else ("integer", "real")
        value = cast(self._text, Numeric) if self._pg else self._text
        return case((self._type.in_(kinds), value))

    def string(self) -> Any:
        value = case((self._type == ("string" if self._pg else "text"), self._text))
        return value.collate("C") if self._pg else value

    def boolean(self, wanted: bool) -> ColumnElement[bool]:
        if self._pg:
            return and_(self._type == "boolean", self._text == ("true" if wanted else "false"))
        return self._type == ("true" if wanted else "false")  # type: ignore[no-any-return]

    def typed(self, sample: Any) -> Any:
        return self.number() if isinstance(sample, int | float) else self.string()


def _two_valued(expr: ColumnElement[bool]) -> ColumnElement[bool]:
    return func.coalesce(expr, false())


def _equal(json: _Json, value: Any) -> ColumnElement[bool]:
    if isinstance(value, bool):
        return _two_valued(json.boolean(value))
    return _two_valued(json.typed(value) == value)


def compare(json: _Json, cmp: Comparison) -> ColumnElement[bool]:
    value = cmp.value
    match cmp.op:
        case "exists":
            return json.present()
        case "not_exists":
            return not_(json.present())
        case "eq":
            return _equal(json, value)
        case "ne":
            return not_(_equal(json, value))
        case "in":
            return or_(false(), *(_equal(json, v) for v in value))
        case "contains":
            position = (
                func.strpos(json.string(), value) if json._pg else func.instr(json.string(), value)
            )
            return _two_valued(position > 0)
        case "between":
            low, high = value
            # Not BETWEEN: PostgreSQL's grammar takes no COLLATE on its bounds.
            typed = json.typed(low)
            return _two_valued(and_(typed >= low, typed <= high))
        case "gt":
            return _two_valued(json.typed(value) > value)
        case "gte":
            return _two_valued(json.typed(value) >= value)
        case "lt":
            return _two_valued(json.typed(value) < value)
        case "lte":
            return _two_valued(json.typed(value) <= value)
        case _:
            assert_never(cmp.op)


class ConditionCompiler:
    """Compiles conditions for one backend, with the workspace's segments for `in_segment`."""

    def __init__(self, segments: Mapping[str, Condition], *, postgresql: bool):
        self._segments = segments
        self._pg = postgresql

    def _trait(self, cond: TraitCondition) -> ColumnElement[bool]:
        if cond.trait.startswith("computed."):
            return compare(
                _Json(_P.c.computed, cond.trait.removeprefix("computed."), self._pg), cond
            )
        return compare(_Json(_P.c.traits, cond.trait.removeprefix("traits."), self._pg), cond)

    def event_filter(
        self, leaf: WindowedCondition, now: datetime, *, correlated: bool
    ) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = [_PE.c.action == leaf.event]
        if correlated:
            clauses.append(_PE.c.profile_id == _P.c.profile_id)
        if leaf.within is not None:
            clauses.append(_PE.c.timestamp >= now - leaf.within)
        clauses.extend(self._property(f) for f in leaf.where)
        return clauses

    def _property(self, f: PropertyFilter) -> ColumnElement[bool]:
        return compare(_Json(_PE.c.properties, f.property, self._pg), f)

    def compile(self, cond: Condition, now: datetime) -> ColumnElement[bool]:
        """The predicate true for the `profiles` rows matching `cond` at `now`."""
        match cond:
            case TraitCondition():
                return self._trait(cond)
            case PerformedCondition():
                where = self.event_filter(cond, now, correlated=True)
                if cond.at_least == 1:
                    return exists().where(*where)
                counted = select(func.count()).select_from(_PE).where(*where).scalar_subquery()
                return counted >= cond.at_least
            case NotPerformedCondition():
                return not_(exists().where(*self.event_filter(cond, now, correlated=True)))
            case InSegmentCondition():
                return self.compile(self._segments[cond.segment], now)
            case AllCondition():
                return and_(true(), *(self.compile(c, now) for c in cond.conditions))
            case AnyCondition():
                return or_(false(), *(self.compile(c, now) for c in cond.conditions))
            case NotCondition():
                return not_(self.compile(cond.condition, now))
            case _:
                assert_never(cond)

    def window_time(self, index: int, leaf: WindowedCondition, now: datetime) -> Any:
        """(index, profile, time) of the earliest (performed) or latest (not_performed)
        matching event in the leaf's window, per person."""
        edge = (
            func.min(_PE.c.timestamp)
            if isinstance(leaf, PerformedCondition)
            else func.max(_PE.c.timestamp)
        )
        return (
            select(literal(index).label("leaf"), _PE.c.profile_id, edge.label("t"))
            .where(*self.event_filter(leaf, now, correlated=False))
            .group_by(_PE.c.profile_id)
        )
