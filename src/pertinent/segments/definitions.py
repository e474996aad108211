"""A workspace's segments as one ordered set: checked references, evaluation order, and the
leaves whose truth can change with time.

An `in_segment` leaf means the referenced segment's condition, evaluated at the same instant
(not the membership table as it was last written), so a segment and the segments built on it
can never disagree, and the window edges of a referenced segment are edges of its referrers.
"""

from __future__ import annotations

from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from typing import assert_never

from pertinent.errors import ConfigError
from pertinent.segments.language import (
    AllCondition,
    AnyCondition,
    Condition,
    InSegmentCondition,
    NotCondition,
    NotPerformedCondition,
    PerformedCondition,
    SegmentDefinition,
    TraitCondition,
    WindowedCondition,
    referenced_segments,
)


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
    """The segments of a workspace, in evaluation order."""

    def __init__(self, segments: list[SegmentDefinition]):
        self.ordered = evaluation_order(segments)
        self.conditions: dict[str, Condition] = {s.key: s.condition for s in self.ordered}

    def __iter__(self) -> Iterator[SegmentDefinition]:
        return iter(self.ordered)

    def __len__(self) -> int:
        return len(self.ordered)

    def by_key(self, key: str) -> SegmentDefinition | None:
        return next((s for s in self.ordered if s.key == key), None)

    def windowed_leaves(self, key: str) -> list[WindowedCondition]:
        """The leaves of a segment (referenced segments included) with a time window."""
        return list(self._leaves(self.conditions[key]))

    def _leaves(self, cond: Condition) -> Iterator[WindowedCondition]:
        match cond:
            case PerformedCondition() | NotPerformedCondition():
                if cond.within is not None:
                    yield cond
            case AllCondition() | AnyCondition():
                for child in cond.conditions:
                    yield from self._leaves(child)
            case NotCondition():
                yield from self._leaves(cond.condition)
            case InSegmentCondition():
                yield from self._leaves(self.conditions[cond.segment])
            case TraitCondition():
                return
            case _:
                assert_never(cond)
