"""Condition tree → one SQL predicate over `profiles`, and the window edges of a tree.

The same predicate serves batch evaluation (everyone), incremental evaluation (the people a
batch touched) and timed re-evaluation (a window edge passed). Only portable SQLAlchemy
constructs are used, so it runs unchanged on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, assert_never

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
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
)
from pertinent.storage.sql import tables

_P = tables.profiles
_PE = tables.profile_events
_M = tables.segment_membership


def _json_path(column: Any, dotted: str) -> Any:
    parts = dotted.split(".")
    return column[parts[0]] if len(parts) == 1 else column[tuple(parts)]


def _typed(element: Any, sample: Any) -> Any:
    if isinstance(sample, bool):
        return element.as_boolean()
    if isinstance(sample, int | float):
        return element.as_float()
    return element.as_string()


def _compare(element: Any, cmp: Comparison) -> ColumnElement[bool]:
    value = cmp.value
    match cmp.op:
        case "exists":
            return element.as_string().is_not(None)  # type: ignore[no-any-return]
        case "not_exists":
            return element.as_string().is_(None)  # type: ignore[no-any-return]
        case "between":
            low, high = value
            return _typed(element, low).between(low, high)  # type: ignore[no-any-return]
        case "in":
            sample = value[0] if value else ""
            return _typed(element, sample).in_(value)  # type: ignore[no-any-return]
        case "contains":
            return element.as_string().contains(str(value))  # type: ignore[no-any-return]
        case "eq":
            return _typed(element, value) == value  # type: ignore[no-any-return]
        case "ne":
            typed = _typed(element, value)
            return or_(typed != value, typed.is_(None))
        case "gt":
            return _typed(element, value) > value  # type: ignore[no-any-return]
        case "gte":
            return _typed(element, value) >= value  # type: ignore[no-any-return]
        case "lt":
            return _typed(element, value) < value  # type: ignore[no-any-return]
        case "lte":
            return _typed(element, value) <= value  # type: ignore[no-any-return]
        case _:
            assert_never(cmp.op)


def _trait(cond: TraitCondition) -> ColumnElement[bool]:
    if cond.trait.startswith("computed."):
        return _compare(_json_path(_P.c.computed, cond.trait.removeprefix("computed.")), cond)
    return _compare(_json_path(_P.c.traits, cond.trait.removeprefix("traits.")), cond)


def _event_filter(
    event: str, within_start: datetime | None, where: list[PropertyFilter]
) -> ColumnElement[bool]:
    clauses = [_PE.c.profile_id == _P.c.profile_id, _PE.c.action == event]
    if within_start is not None:
        clauses.append(_PE.c.timestamp >= within_start)
    clauses.extend(_compare(_json_path(_PE.c.properties, f.property), f) for f in where)
    return and_(*clauses)


def compile_condition(cond: Condition, now: datetime) -> ColumnElement[bool]:
    """The SQL predicate that is true for the `profiles` rows matching `cond` at `now`."""
    match cond:
        case TraitCondition():
            return _trait(cond)
        case PerformedCondition():
            start = now - cond.within if cond.within else None
            counted = (
                select(func.count())
                .select_from(_PE)
                .where(_event_filter(cond.event, start, cond.where))
                .scalar_subquery()
            )
            return counted >= cond.at_least
        case NotPerformedCondition():
            start = now - cond.within if cond.within else None
            return not_(exists().where(_event_filter(cond.event, start, cond.where)))
        case InSegmentCondition():
            return exists().where(
                _M.c.segment_key == cond.segment,
                _M.c.profile_id == _P.c.profile_id,
                _M.c.exited_at.is_(None),
            )
        case AllCondition():
            return and_(true(), *(compile_condition(c, now) for c in cond.conditions))
        case AnyCondition():
            return or_(false(), *(compile_condition(c, now) for c in cond.conditions))
        case NotCondition():
            return not_(compile_condition(cond.condition, now))
        case _:
            assert_never(cond)


def _windowed_leaves(
    cond: Condition,
) -> list[PerformedCondition | NotPerformedCondition]:
    match cond:
        case PerformedCondition() | NotPerformedCondition():
            return [cond] if cond.within is not None else []
        case AllCondition() | AnyCondition():
            return [leaf for c in cond.conditions for leaf in _windowed_leaves(c)]
        case NotCondition():
            return _windowed_leaves(cond.condition)
        case TraitCondition() | InSegmentCondition():
            return []
        case _:
            assert_never(cond)


def window_edge_queries(cond: Condition, now: datetime) -> list[tuple[Select[Any], Any]]:
    """Queries for the next instant each windowed leaf could change its truth, per person.

    Each query yields (profile_id, t) and the edge is t + window: for "at least N in the last
    D" the count drops when its oldest counted event leaves the window; for "not in the last D"
    the silence completes D after the latest event. Re-evaluating at the earliest edge of all
    leaves is enough, because between edges no leaf's truth can change without a new event.
    """
    queries: list[tuple[Select[Any], Any]] = []
    for leaf in _windowed_leaves(cond):
        assert leaf.within is not None
        start = now - leaf.within
        clauses = [_PE.c.action == leaf.event, _PE.c.timestamp >= start]
        clauses.extend(_compare(_json_path(_PE.c.properties, f.property), f) for f in leaf.where)
        edge = (
            func.min(_PE.c.timestamp)
            if isinstance(leaf, PerformedCondition)
            else func.max(_PE.c.timestamp)
        )
        query = select(_PE.c.profile_id, edge.label("t")).where(*clauses).group_by(_PE.c.profile_id)
        queries.append((query, leaf.within))
    return queries
