"""A segment condition as one SQL predicate over `profiles`, with the language's semantics
(`segments.evaluate`, which a property test holds this to), and the anchors of its clocks
(`segments.timing`).

Every node is two-valued (a missing value is false, never NULL), so `not` means what it says.
`in_segment` is the referenced segment's condition, inlined. Event nodes read
`profile_events`; a sequence pairs two of its rows (its own alias each). They take one of two
shapes with the same meaning: for some people (a micro-batch's, a page's), a correlated
subquery, a few index probes per person; over everyone (a backfill, a preview), the set of
people with such events, each event of the window read once (`profile_events` has an index by
action and time for that), which is what makes a backfill over a million people a matter of
seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, assert_never

from sqlalchemy import (
    ColumnElement,
    Interval,
    Numeric,
    Select,
    and_,
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
)
from sqlalchemy.sql.expression import FromClause

from pertinent.segments.dates import anniversary_days, day_range, stored_path
from pertinent.segments.evaluate import Person, holds, micro
from pertinent.segments.language import (
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
)
from pertinent.segments.timing import Clock
from pertinent.storage.sql import tables
from pertinent.storage.sql.json_values import JsonValue, compare

_P = tables.profiles
_PE = tables.profile_events


def _two_valued(expr: ColumnElement[bool]) -> ColumnElement[bool]:
    return func.coalesce(expr, false())


def _numbers(value: Any, op: str, targets: Sequence[Any]) -> ColumnElement[bool]:
    """A number that is always there (a count, a sum) compared with `targets` (one value,
    two for `between`)."""
    match op:
        case "eq":
            return _two_valued(value == targets[0])
        case "ne":
            return _two_valued(value != targets[0])
        case "gt":
            return _two_valued(value > targets[0])
        case "gte":
            return _two_valued(value >= targets[0])
        case "lt":
            return _two_valued(value < targets[0])
        case "lte":
            return _two_valued(value <= targets[0])
        case "between":
            return _two_valued(and_(value >= targets[0], value <= targets[1]))
    raise AssertionError(f"validated: {op} is not an aggregate comparison")


def _bounds(cmp: Comparison) -> list[Any]:
    return list(cmp.value) if isinstance(cmp.value, list) else [cmp.value]


class ConditionCompiler:
    """Compiles conditions for one backend, with the workspace's segments for `in_segment`;
    `everyone`: for a query over every profile (the set-based shapes)."""

    def __init__(
        self, segments: Mapping[str, Condition], *, postgresql: bool, everyone: bool = False
    ):
        self._segments = segments
        self._pg = postgresql
        self._everyone = everyone

    # --- events ------------------------------------------------------------------------------

    def _filters(self, table: FromClause, where: Sequence[PropertyFilter]) -> list[Any]:
        return [compare(JsonValue(table.c.properties, f.property, self._pg), f) for f in where]

    def _events(
        self,
        table: FromClause,
        step: EventStep | PerformedCondition | NotPerformedCondition | AggregateCondition,
        within: timedelta | None,
        now: datetime,
        correlated: bool,
    ) -> list[Any]:
        """The rows of `table` that are the person's `step` events of the last `within`."""
        clauses: list[Any] = [table.c.action == step.event]
        if correlated:
            clauses.append(table.c.profile_id == _P.c.profile_id)
        if within is not None:
            clauses.append(table.c.timestamp >= now - within)
        clauses.extend(self._filters(table, step.where))
        return clauses

    def _performed(
        self, table: FromClause, clauses: list[Any], at_least: int
    ) -> ColumnElement[bool]:
        """The person has at least `at_least` rows of `table` passing `clauses` (built
        correlated for some people, not for everyone)."""
        if self._everyone:
            people = select(table.c.profile_id).where(*clauses)
            if at_least > 1:
                people = people.group_by(table.c.profile_id).having(func.count() >= at_least)
            return _P.c.profile_id.in_(people)
        if at_least == 1:
            return exists().where(*clauses)
        return select(func.count()).select_from(table).where(*clauses).scalar_subquery() >= at_least

    def _plus(self, stamp: Any, delta: timedelta) -> Any:
        """A time column moved by a whole number of seconds, exact to the microsecond."""
        if self._pg:
            return stamp + literal(delta, Interval())
        # SQLite keeps times as 'YYYY-MM-DD HH:MM:SS.ffffff': shift the whole seconds (parsed
        # without the fraction, which SQLite would round to milliseconds), keep the fraction.
        seconds = f"{int(delta.total_seconds()):+d} seconds"
        return func.strftime("%Y-%m-%d %H:%M:%S", func.substr(stamp, 1, 19), seconds).op("||")(
            func.substr(stamp, 20)
        )

    def _followed(self, cond: SequenceCondition, first: FromClause) -> ColumnElement[bool]:
        """Another of the person's events is the second step, at most `within` after `first`."""
        second = _PE.alias()
        return exists().where(
            second.c.profile_id == first.c.profile_id,
            second.c.action == cond.second.event,
            second.c.seq != first.c.seq,
            second.c.timestamp >= first.c.timestamp,
            second.c.timestamp <= self._plus(first.c.timestamp, cond.within),
            *self._filters(second, cond.second.where),
        )

    def _firsts(
        self, cond: SequenceCondition, now: datetime, *, correlated: bool, part: str
    ) -> tuple[FromClause, list[Any]]:
        """The first steps that complete the sequence (`part` "complete"), or that wait for
        their time to be up (`part` "pending", a `then_not` only)."""
        first = _PE.alias()
        clauses = self._events(first, cond.first, cond.first.within, now, correlated)
        followed = self._followed(cond, first)
        if part == "pending":
            clauses += [first.c.timestamp > now - cond.within, not_(followed)]
        elif cond.negated:
            clauses += [first.c.timestamp <= now - cond.within, not_(followed)]
        else:
            clauses.append(followed)
        return first, clauses

    # --- aggregates --------------------------------------------------------------------------

    def _aggregate(self, cond: AggregateCondition, now: datetime) -> ColumnElement[bool]:
        if cond.function == "last":
            return self._last(cond, now)
        rows = self._events(_PE, cond, cond.within, now, correlated=not self._everyone)
        table: FromClause = _PE
        if cond.function == "count":
            test = _numbers(func.count(), cond.op, _bounds(cond))
        else:
            table, amount = self._amounts(cond, rows)
            test, rows = self._aggregate_test(cond, amount), []
        if not self._everyone:
            return _two_valued(select(test).select_from(table).where(*rows).scalar_subquery())
        people = select(table.c.profile_id).where(*rows).group_by(table.c.profile_id)
        if holds(cond, Person(), now, {}):  # true of a person without such events
            return not_(_P.c.profile_id.in_(people.having(not_(test))))
        return _P.c.profile_id.in_(people.having(test))

    def _amounts(self, cond: AggregateCondition, rows: list[Any]) -> tuple[FromClause, Any]:
        """The rows with their `property` read out of the JSON once each, and the amount
        (`JsonValue.micro`) of that. On SQLite a LIMIT keeps the subquery from being merged
        into the aggregate, where the amount's several uses of the value would each read the
        document again."""
        assert cond.property is not None
        value = JsonValue(_PE.c.properties, cond.property, self._pg)
        read = select(_PE.c.profile_id, *value.parts()).where(*rows).correlate(_P)
        if not self._pg:
            read = read.limit(-1)
        table = read.subquery()
        return table, JsonValue.of_parts(table.c.kind, table.c.raw, self._pg).micro()

    def _aggregate_test(self, cond: AggregateCondition, amount: Any) -> ColumnElement[bool]:
        """The comparison of the amounts of one person's rows (none at all included)."""
        targets = [micro(v) for v in _bounds(cond)]
        if cond.function == "sum":
            total = func.coalesce(func.sum(amount), 0) if self._pg else func.total(amount)
            return _numbers(total, cond.op, targets)
        n = func.count(amount)
        match cond.function:
            case "avg":
                # avg > v as sum > v * n: exact in integers, no division.
                total = func.sum(amount) if self._pg else func.total(amount)
                scaled = [
                    cast(literal(t), Numeric) * n if self._pg else literal(t) * n for t in targets
                ]
                test = _numbers(total, cond.op, scaled)
            case "min":
                test = _numbers(func.min(amount), cond.op, targets)
            case "max":
                test = _numbers(func.max(amount), cond.op, targets)
            case _:
                raise AssertionError(cond.function)
        # Of no amounts at all there is no average: a missing value matches `ne` only.
        return _two_valued(case((n == 0, true() if cond.op == "ne" else false()), else_=test))

    def _last(self, cond: AggregateCondition, now: datetime) -> ColumnElement[bool]:
        """The property of the person's latest such event that has it, compared (a probe per
        person in either shape)."""
        assert cond.property is not None
        rows = self._events(_PE, cond, cond.within, now, correlated=True)
        value = JsonValue(_PE.c.properties, cond.property, self._pg)
        latest = (
            select(_PE.c.properties)
            .where(*rows, value.present())
            .order_by(_PE.c.timestamp.desc(), _PE.c.seq.desc())
            .limit(1)
            .scalar_subquery()
        )
        return compare(JsonValue(latest, cond.property, self._pg), cond)

    # --- dates -------------------------------------------------------------------------------

    def _date(self, date: str) -> JsonValue:
        return JsonValue(_P.c.computed, stored_path(date), self._pg)

    def _days_since(self, cond: DaysSinceCondition, now: datetime) -> ColumnElement[bool]:
        date = self._date(cond.date)
        if cond.op == "exists":
            return date.is_string()
        if cond.op == "not_exists":
            return not_(date.is_string())
        lo, hi = day_range(cond.op, cond.value, now)
        text = date.string()
        inside = _two_valued(
            and_(
                date.is_string(),
                text > lo if lo is not None else true(),
                text <= hi if hi is not None else true(),
            )
        )
        return not_(inside) if cond.op == "ne" else inside

    def _anniversary(self, cond: AnniversaryCondition, now: datetime) -> ColumnElement[bool]:
        text = self._date(cond.date).string()
        days = anniversary_days(now, cond.in_next_days)
        return _two_valued(func.substr(text, 6, 5).in_(days))

    # --- the tree ----------------------------------------------------------------------------

    def compile(self, cond: Condition, now: datetime) -> ColumnElement[bool]:
        """The predicate true for the `profiles` rows matching `cond` at `now`."""
        match cond:
            case TraitCondition():
                if cond.trait.startswith("computed."):
                    path, column = cond.trait.removeprefix("computed."), _P.c.computed
                else:
                    path, column = cond.trait.removeprefix("traits."), _P.c.traits
                return compare(JsonValue(column, path, self._pg), cond)
            case PerformedCondition():
                rows = self._events(_PE, cond, cond.within, now, not self._everyone)
                return self._performed(_PE, rows, cond.at_least)
            case NotPerformedCondition():
                # A probe per person, in either shape: the set of those who did is most of
                # a window's events, and costs more to build than the probes.
                return not_(exists().where(*self._events(_PE, cond, cond.within, now, True)))
            case SequenceCondition():
                first, clauses = self._firsts(
                    cond, now, correlated=not self._everyone, part="complete"
                )
                return self._performed(first, clauses, 1)
            case AggregateCondition():
                return self._aggregate(cond, now)
            case DaysSinceCondition():
                return self._days_since(cond, now)
            case AnniversaryCondition():
                return self._anniversary(cond, now)
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

    # --- clocks ------------------------------------------------------------------------------

    def event_anchor(self, index: int, clock: Clock, now: datetime) -> Select[Any]:
        """(index, profile, anchor time) per person, for a clock reckoned from events."""
        leaf = clock.leaf
        match leaf:
            case PerformedCondition() | NotPerformedCondition() | AggregateCondition():
                table: FromClause = _PE
                clauses = self._events(_PE, leaf, leaf.within, now, correlated=False)
            case SequenceCondition():
                part = "pending" if clock.part == "pending" else "complete"
                table, clauses = self._firsts(leaf, now, correlated=False, part=part)
            case _:
                raise AssertionError(f"{clock.part} is not reckoned from events")
        at = table.c.timestamp
        edge = func.max(at) if clock.part == "latest" else func.min(at)
        return (
            select(literal(index).label("clock"), table.c.profile_id, edge.label("t"))
            .where(*clauses)
            .group_by(table.c.profile_id)
        )

    def date_anchor(self, index: int, clock: Clock) -> Select[Any]:
        """(index, profile, the date as stored) per person with a date, for a date clock."""
        leaf = clock.leaf
        assert isinstance(leaf, DaysSinceCondition | AnniversaryCondition)
        date = self._date(leaf.date)
        return select(literal(index).label("clock"), _P.c.profile_id, date.string()).where(
            date.is_string()
        )
