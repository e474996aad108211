"""Which events can change which segments.

A segment's truth for a person changes only when something it reads changes: a trait it
names (an identify that sets it, for a date trait too), a computed property it names (an event
that folds into it), an event condition (an event of that name passing the filters: of a
sequence, either step's), or time (a window edge, a date coming nearer, which timers
handle). The processor re-evaluates a segment only for people with such an event, and every
segment for people who are new or merged. Unsure means yes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import assert_never

from pertinent.events.model import Event
from pertinent.profiles.computed import changed_keys
from pertinent.segments.evaluate import matches_filters
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


def can_change(cond: Condition, event: Event, segments: Mapping[str, Condition]) -> bool:
    """Whether folding `event` into a person can change the truth of `cond` for them."""
    match cond:
        case TraitCondition():
            if cond.trait.startswith("computed."):
                return cond.trait.split(".")[1] in changed_keys(event)
            name = cond.trait.removeprefix("traits.").split(".")[0]
            return event.type == "identify" and name in event.traits
        case DaysSinceCondition() | AnniversaryCondition():
            if cond.date.startswith("computed."):
                return cond.date.split(".")[1] in changed_keys(event)
            name = cond.date.removeprefix("traits.").split(".")[0]
            return event.type == "identify" and name in event.traits
        case PerformedCondition() | NotPerformedCondition() | AggregateCondition():
            return event.action == cond.event and matches_filters(cond.where, event.properties)
        case SequenceCondition():
            return any(
                event.action == step.event and matches_filters(step.where, event.properties)
                for step in (cond.first, cond.second)
            )
        case InSegmentCondition():
            return can_change(segments[cond.segment], event, segments)
        case AllCondition() | AnyCondition():
            return any(can_change(c, event, segments) for c in cond.conditions)
        case NotCondition():
            return can_change(cond.condition, event, segments)
        case _:
            assert_never(cond)
