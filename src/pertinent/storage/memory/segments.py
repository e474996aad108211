"""Segment membership (with history), evaluation and window-edge timers in memory.

Conditions are evaluated by the language's one Python evaluator (`segments.evaluate`), over
each stored profile and the events attributed to it: the same answers the SQL compiler is
property-tested against.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from pertinent.segments.evaluate import Person, PersonEvent, anchor, holds
from pertinent.segments.language import Condition
from pertinent.segments.timing import Clock
from pertinent.storage.memory.state import Membership, State, json_value, utc
from pertinent.storage.ports import ConcurrentUpdate, DefinitionVersion, Partition, partition_key


def _union(groups: Iterable[Collection[str] | None]) -> set[str] | None:
    """Everyone some group names (None: one of them is everyone)."""
    people: set[str] = set()
    for group in groups:
        if group is None:
            return None
        people.update(group)
    return people


class MemorySegmentStore:
    def __init__(self, state: State):
        self._state = state

    def _events(self, among: set[str] | None) -> dict[str, list[PersonEvent]]:
        """The attributed events of each person (of `among`), whether or not they have a
        profile, as SQL's `profile_events` are."""
        found: dict[str, list[PersonEvent]] = {}
        for row in self._state.profile_events.values():
            if among is None or row.profile_id in among:
                found.setdefault(row.profile_id, []).append(
                    PersonEvent(row.action, row.timestamp, row.properties)
                )
        return found

    def matching(
        self,
        segments: Mapping[str, Condition],
        wanted: Mapping[str, Collection[str] | None],
        now: datetime,
    ) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {key: set() for key in wanted}
        people = _union(wanted.values())
        if people == set():
            return found
        events = self._events(people)
        for pid, profile in self._state.profiles.items():
            if people is not None and pid not in people:
                continue
            person = Person(profile.traits, profile.computed, events.get(pid, []))
            for key, among in wanted.items():
                if (among is None or pid in among) and holds(segments[key], person, now, segments):
                    found[key].add(pid)
        return found

    def anchors(
        self, clocks: Sequence[tuple[Clock, Collection[str] | None]], now: datetime
    ) -> list[tuple[int, str, datetime]]:
        people = _union(among for _, among in clocks)
        if people == set():
            return []
        events = self._events(people)
        found: list[tuple[int, str, datetime]] = []
        for index, (clock, among) in enumerate(clocks):
            for pid in sorted(set(events) | set(self._state.profiles)):
                if among is not None and pid not in among:
                    continue
                profile = self._state.profiles.get(pid)
                person = Person(
                    profile.traits if profile else {},
                    profile.computed if profile else {},
                    events.get(pid, []),
                )
                at = anchor(clock, person, now)
                if at is not None:
                    found.append((index, pid, at))
        return found

    def current(self, among: Collection[str] | None) -> dict[str, set[str]]:
        wanted = set(among) if among is not None else None
        found: dict[str, set[str]] = {}
        for m in self._state.memberships:
            if m.exited_at is None and (wanted is None or m.profile_id in wanted):
                found.setdefault(m.segment_key, set()).add(m.profile_id)
        return found

    def enter(self, key: str, profile_ids: Collection[str], at: datetime) -> None:
        """A second open membership is a unique key taken, as in SQL (`ux_membership_open`),
        which PostgreSQL reports as a race lost."""
        already = self.current(profile_ids).get(key, set())
        if already:
            raise ConcurrentUpdate(f"{sorted(already)} are already in segment {key!r}")
        for pid in sorted(profile_ids):
            self._state.memberships.append(
                Membership(self._state.next_id("membership"), key, pid, utc(at))
            )

    def exit(self, key: str, profile_ids: Collection[str], at: datetime) -> None:
        leaving = set(profile_ids)
        for m in self._state.memberships:
            if m.segment_key == key and m.exited_at is None and m.profile_id in leaving:
                m.exited_at = utc(at)

    def set_timers(self, key: str, due: Mapping[str, datetime], clear: Collection[str]) -> None:
        timers = self._state.timers
        for pid in set(clear) - set(due):
            timers.pop((key, pid), None)
        for pid, at in due.items():
            timers[(key, pid)] = utc(at)

    def _due(self, partition: Partition) -> list[tuple[datetime, str, str]]:
        """(due time, segment, person) of the partition's timers, earliest first."""
        return sorted(
            (at, key, pid)
            for (key, pid), at in self._state.timers.items()
            if partition.owns(partition_key(pid))
        )

    def next_due(self, partition: Partition) -> datetime | None:
        due = self._due(partition)
        return due[0][0] if due else None

    def claim_due(self, now: datetime, limit: int, partition: Partition) -> dict[str, set[str]]:
        """Claimed by removal: a transaction is the only one while it lasts."""
        found: dict[str, set[str]] = {}
        for at, key, pid in self._due(partition)[:limit]:
            if at > now:
                break
            del self._state.timers[(key, pid)]
            found.setdefault(key, set()).add(pid)
        return found

    def history(self, key: str) -> list[tuple[str, datetime, datetime | None]]:
        rows = sorted(
            (m for m in self._state.memberships if m.segment_key == key),
            key=lambda m: (m.entered_at, m.id),
        )
        return [(m.profile_id, m.entered_at, m.exited_at) for m in rows]

    def definitions(self) -> dict[str, DefinitionVersion]:
        return {
            key: versions[-1]
            for key, versions in self._state.segment_versions.items()
            if versions and versions[-1].removed_at is None
        }

    def save_definition(self, key: str, definition: Mapping[str, Any], at: datetime) -> int:
        versions = self._state.segment_versions.setdefault(key, [])
        number = versions[-1].version + 1 if versions else 1
        versions.append(DefinitionVersion(key, number, json_value(definition), utc(at)))
        return number

    def remove_definition(self, key: str, at: datetime) -> None:
        versions = self._state.segment_versions.get(key)
        if versions and versions[-1].removed_at is None:
            versions[-1] = replace(versions[-1], removed_at=utc(at))

    def versions(self, key: str) -> list[DefinitionVersion]:
        return list(self._state.segment_versions.get(key, []))
