"""When a condition can change with no new event: clocks and their edges.

A timed leaf has one or more clocks. For each person, the store finds a clock's anchor (an
event time, or a date) and `next_edge` turns it into the first instant after `now` at which
the leaf's truth may flip. The processor sets a timer there, re-evaluates the person when it
fires, and sets the next one: between two edges nothing changes without an event.

An edge may come early (the re-evaluation then changes nothing); it must never come late.

- `performed ... within W`, `aggregate ... within W`: from the oldest event counted, + W;
- `not_performed ... within W`: from the newest event seen, + W;
- `sequence` whose first step has `within` W: from the oldest first step that completes it,
  + W;
- `sequence` with `then_not` and `within` T: from the oldest first step not yet followed
  whose T is not up, + T (the instant it completes);
- `days_since`, `anniversary`: from the date, the next day the comparison turns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, assert_never

from pertinent.segments.dates import next_anniversary_edge, next_day_edge
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
    TimedCondition,
    TraitCondition,
)

# A window includes its start: it lets go of an event the first instant after that.
EPSILON = timedelta(microseconds=1)
Part = Literal["earliest", "latest", "qualified", "pending", "date"]


@dataclass(frozen=True)
class Clock:
    leaf: TimedCondition
    part: Part


def leaf_clocks(leaf: Condition) -> list[Clock]:
    """The clocks of one node (none for a node whose truth needs an event to change)."""
    match leaf:
        case PerformedCondition() | AggregateCondition():
            return [Clock(leaf, "earliest")] if leaf.within is not None else []
        case NotPerformedCondition():
            return [Clock(leaf, "latest")] if leaf.within is not None else []
        case SequenceCondition():
            clocks = [Clock(leaf, "pending")] if leaf.negated else []
            if leaf.first.within is not None:
                clocks.append(Clock(leaf, "qualified"))
            return clocks
        case DaysSinceCondition():
            return [] if leaf.op in ("exists", "not_exists") else [Clock(leaf, "date")]
        case AnniversaryCondition():
            return [Clock(leaf, "date")]
        case (
            TraitCondition()
            | InSegmentCondition()
            | AllCondition()
            | AnyCondition()
            | NotCondition()
        ):
            return []
        case _:
            assert_never(leaf)


def next_edge(clock: Clock, anchor: datetime, now: datetime) -> datetime | None:
    """The first instant after `now` at which the clock's leaf may flip for a person whose
    anchor is `anchor` (None: never, by time alone)."""
    leaf = clock.leaf
    match clock.part:
        case "earliest" | "latest":
            assert isinstance(leaf, PerformedCondition | NotPerformedCondition | AggregateCondition)
            assert leaf.within is not None
            edge = anchor + leaf.within + EPSILON
        case "qualified":
            assert isinstance(leaf, SequenceCondition) and leaf.first.within is not None
            edge = anchor + leaf.first.within + EPSILON
        case "pending":
            assert isinstance(leaf, SequenceCondition)
            edge = anchor + leaf.within
        case "date":
            if isinstance(leaf, AnniversaryCondition):
                found = next_anniversary_edge(anchor, leaf.in_next_days, now)
            else:
                assert isinstance(leaf, DaysSinceCondition)
                found = next_day_edge(leaf.op, leaf.value, anchor, now)
            if found is None:
                return None
            edge = found
        case _:
            assert_never(clock.part)
    return edge if edge > now else None
