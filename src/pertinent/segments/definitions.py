"""A workspace's segments as one ordered set: checked references, evaluation order, and the
clocks of the leaves whose truth can change with time.

An `in_segment` leaf means the referenced segment's condition, evaluated at the same instant
(not the membership table as it was last written), so a segment and the segments built on it
can never disagree, and the window edges of a referenced segment are edges of its referrers.
"""

from __future__ import annotations

from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from typing import assert_never

from pertinent.errors import ConfigError
from pertinent.profiles.settings import ProfileSettings
from pertinent.segments.derived import lower
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
    SegmentDefinition,
    SequenceCondition,
    TraitCondition,
    referenced_segments,
)
from pertinent.segments.timing import Clock, leaf_clocks


def evaluation_order(segments: list[SegmentDefinition]) -> list[SegmentDefinition]:
    """Segments ordered so each comes after the segments its condition refers to."""
    by_key = {s.key: s for s in segments}
    graph: dict[str, set[str]] = {}
    for seg in segments:
        deps = referenced_segments(seg.condition)
        unknown = deps - by_key.keys()
        if unknown:
            raise ConfigError(
                f"refers to unknown segment(s) {sorted(unknown)}",
                where=f"segment {seg.key}",
                hint="define the segment or fix the key in 'in_segment'",
            )
        graph[seg.key] = deps
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise ConfigError(f"segments refer to each other in a cycle: {exc.args[1]}") from exc
    return [by_key[k] for k in order]


class SegmentSet:
    """The segments of a workspace, in evaluation order, their conditions in stored terms
    (`segments.derived`: what `computed.engagement_tier` and custom computed properties mean
    under the workspace's `profiles:` settings)."""

    def __init__(self, segments: list[SegmentDefinition], profiles: ProfileSettings | None = None):
        self.ordered = evaluation_order(segments)
        self.profiles = profiles or ProfileSettings()
        self.conditions: dict[str, Condition] = {}
        for seg in self.ordered:
            try:
                self.conditions[seg.key] = lower(seg.condition, self.profiles)
            except ConfigError as exc:
                raise ConfigError(str(exc), where=f"segment {seg.key}") from None

    def __iter__(self) -> Iterator[SegmentDefinition]:
        return iter(self.ordered)

    def __len__(self) -> int:
        return len(self.ordered)

    def by_key(self, key: str) -> SegmentDefinition | None:
        return next((s for s in self.ordered if s.key == key), None)

    def clocks(self, key: str) -> list[Clock]:
        """The clocks of a segment's timed leaves (referenced segments' included)."""
        return [clock for leaf in self._leaves(self.conditions[key]) for clock in leaf_clocks(leaf)]

    def _leaves(self, cond: Condition) -> Iterator[Condition]:
        match cond:
            case AllCondition() | AnyCondition():
                for child in cond.conditions:
                    yield from self._leaves(child)
            case NotCondition():
                yield from self._leaves(cond.condition)
            case InSegmentCondition():
                yield from self._leaves(self.conditions[cond.segment])
            case (
                TraitCondition()
                | PerformedCondition()
                | NotPerformedCondition()
                | SequenceCondition()
                | AggregateCondition()
                | DaysSinceCondition()
                | AnniversaryCondition()
            ):
                yield cond
            case _:
                assert_never(cond)
