"""Journey instances, versions, numbers and schedules in memory."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from pertinent.journeys.model import Instance
from pertinent.storage.memory.state import (
    InstanceRow,
    JourneyVersion,
    State,
    json_value,
    stored_instance,
    utc,
)
from pertinent.storage.ports import ConcurrentUpdate, Partition, StepNumber, partition_key


class MemoryJourneyStore:
    def __init__(self, state: State):
        self._state = state

    def _waiting(self) -> list[InstanceRow]:
        return [row for row in self._state.instances.values() if row.instance.status == "waiting"]

    def active(self, profile_ids: Collection[str]) -> list[Instance]:
        wanted = set(profile_ids)
        rows = sorted(
            (row for row in self._waiting() if row.instance.profile_id in wanted),
            key=lambda row: row.id,
        )
        return [stored_instance(row.instance) for row in rows]

    def last_entered(
        self, journey_keys: Collection[str], profile_ids: Collection[str]
    ) -> dict[tuple[str, str], datetime]:
        wanted = set(profile_ids)
        found: dict[tuple[str, str], datetime] = {}
        for row in self._state.instances.values():
            inst = row.instance
            if inst.journey_key in journey_keys and inst.profile_id in wanted:
                pair = (inst.journey_key, inst.profile_id)
                found[pair] = max(found.get(pair, inst.started_at), inst.started_at)
        return found

    def ended_since(self, profile_ids: Collection[str], since: datetime) -> list[Instance]:
        wanted = set(profile_ids)
        rows = sorted(
            (
                row
                for row in self._state.instances.values()
                if row.instance.profile_id in wanted
                and row.instance.status != "waiting"
                and row.instance.started_at >= since
            ),
            key=lambda row: row.id,
        )
        return [stored_instance(row.instance) for row in rows]

    def save(self, instances: Sequence[Instance]) -> None:
        """A saved key keeps its journey, start and trigger, which the SQL upsert does not
        overwrite: they are what the key was derived from."""
        rows = self._state.instances
        for new in instances:
            old = rows.get(new.key)
            if old is None:
                row_id, instance = self._state.next_id("instance"), new
            else:
                row_id = old.id
                instance = replace(
                    new,
                    journey_key=old.instance.journey_key,
                    started_at=old.instance.started_at,
                    trigger=old.instance.trigger,
                )
            rows[new.key] = InstanceRow(
                row_id, stored_instance(instance), partition_key(new.profile_id)
            )

    def _due(self, partition: Partition) -> list[tuple[datetime, InstanceRow]]:
        """(wake time, row) of the partition's waiting instances that wait on time, in wake
        order."""
        due: list[tuple[datetime, InstanceRow]] = []
        for row in self._waiting():
            if row.instance.wake_at is not None and partition.owns(row.pkey):
                due.append((row.instance.wake_at, row))
        return sorted(due, key=lambda pair: (pair[0], pair[1].id))

    def next_due(self, partition: Partition) -> datetime | None:
        due = self._due(partition)
        return due[0][0] if due else None

    def claim_due(self, now: datetime, limit: int, partition: Partition) -> list[Instance]:
        """Nothing to lock: no other transaction runs while this one lasts."""
        due = [row for at, row in self._due(partition) if at <= now]
        return [stored_instance(row.instance) for row in due[:limit]]

    def versions(self) -> list[tuple[str, int, str, dict[str, Any]]]:
        return [
            (key, number, v.digest, json_value(v.definition))
            for (key, number), v in sorted(self._state.journey_versions.items())
        ]

    def add_version(
        self, journey_key: str, version: int, digest: str, definition: dict[str, Any], at: datetime
    ) -> None:
        versions = self._state.journey_versions
        if (journey_key, version) in versions:
            raise ConcurrentUpdate(f"journey {journey_key} version {version} exists")
        versions[(journey_key, version)] = JourneyVersion(digest, json_value(definition), utc(at))

    def wake(
        self, journey_key: str, steps: Collection[str] | None, before_version: int, at: datetime
    ) -> int:
        woken = 0
        for row in self._waiting():
            inst = row.instance
            if inst.journey_key != journey_key or inst.version >= before_version:
                continue
            if steps is None or inst.step in steps:
                row.instance = replace(inst, wake_at=utc(at))
                woken += 1
        return woken

    def count(self, counts: Mapping[tuple[str, int, str, str], int]) -> None:
        table = self._state.journey_counts
        for key, n in counts.items():
            table[key] = table.get(key, 0) + n

    def schedules(self) -> dict[str, datetime]:
        return dict(self._state.journey_schedules)

    def set_schedule(self, journey_key: str, next_at: datetime | None) -> None:
        if next_at is None:
            self._state.journey_schedules.pop(journey_key, None)
        else:
            self._state.journey_schedules[journey_key] = utc(next_at)

    def counts(self) -> dict[str, dict[str, int]]:
        """Instances per journey and status, for the status page."""
        found: dict[str, dict[str, int]] = {}
        for row in self._state.instances.values():
            by_status = found.setdefault(row.instance.journey_key, {})
            by_status[row.instance.status] = by_status.get(row.instance.status, 0) + 1
        return found

    def numbers(self) -> list[StepNumber]:
        """The counted numbers and, per step, how many wait there now."""
        waiting: dict[tuple[str, int, str], int] = {}
        for row in self._waiting():
            inst = row.instance
            key = (inst.journey_key, inst.version, inst.step)
            waiting[key] = waiting.get(key, 0) + 1
        found = [StepNumber(*key, n) for key, n in sorted(self._state.journey_counts.items())]
        found += [StepNumber(*key, "waiting", n) for key, n in sorted(waiting.items())]
        return found
