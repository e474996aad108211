"""Evaluating segments: batch (everyone), incremental (the people a batch touched), and timed
(a window edge passed). One predicate per segment, compiled per evaluation instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from graphlib import CycleError, TopologicalSorter
from typing import Literal, Protocol

from sqlalchemy import ColumnElement, Select

from pertinent.errors import ConfigError
from pertinent.segments.compile import compile_condition, window_edge_queries
from pertinent.segments.language import SegmentDefinition, referenced_segments

# An edge is the first instant strictly after the window boundary (windows include their start).
_EPSILON = timedelta(microseconds=1)


@dataclass(frozen=True)
class MembershipChange:
    segment: str
    profile_id: str
    kind: Literal["entered", "exited"]


class SegmentStore(Protocol):
    def matching(self, predicate: ColumnElement[bool], among: set[str] | None) -> set[str]: ...

    def current(self, key: str, among: set[str] | None) -> set[str]: ...

    def enter(self, key: str, profile_ids: set[str], at: datetime) -> None: ...

    def exit(self, key: str, profile_ids: set[str], at: datetime) -> None: ...

    def edges(
        self, query: Select[object], among: set[str] | None
    ) -> list[tuple[str, datetime]]: ...

    def set_timers(self, key: str, due: dict[str, datetime], clear: set[str]) -> None: ...

    def due_timers(self, now: datetime, limit: int) -> dict[str, set[str]]: ...

    def exit_all(self, profile_id: str, at: datetime) -> list[str]: ...


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


class SegmentEngine:
    def __init__(self, segments: list[SegmentDefinition]):
        self.segments = evaluation_order(segments)

    def evaluate(
        self, store: SegmentStore, now: datetime, among: set[str] | None
    ) -> list[MembershipChange]:
        """Bring membership up to date at `now` for `among` (None: everyone)."""
        changes: list[MembershipChange] = []
        for seg in self.segments:
            changes.extend(self.evaluate_one(store, seg, now, among))
        return changes

    def evaluate_one(
        self, store: SegmentStore, seg: SegmentDefinition, now: datetime, among: set[str] | None
    ) -> list[MembershipChange]:
        matching = store.matching(compile_condition(seg.condition, now), among)
        current = store.current(seg.key, among)
        entered, exited = matching - current, current - matching
        store.enter(seg.key, entered, now)
        store.exit(seg.key, exited, now)
        self._schedule(store, seg, now, among)
        return [MembershipChange(seg.key, p, "entered") for p in sorted(entered)] + [
            MembershipChange(seg.key, p, "exited") for p in sorted(exited)
        ]

    def _schedule(
        self, store: SegmentStore, seg: SegmentDefinition, now: datetime, among: set[str] | None
    ) -> None:
        queries = window_edge_queries(seg.condition, now)
        if not queries:
            return
        due: dict[str, datetime] = {}
        for query, window in queries:
            for pid, t in store.edges(query, among):
                edge = t + window + _EPSILON
                if edge > now and (pid not in due or edge < due[pid]):
                    due[pid] = edge
        store.set_timers(seg.key, due, among or set())

    def by_key(self, key: str) -> SegmentDefinition | None:
        return next((s for s in self.segments if s.key == key), None)
