"""Journey instances in memory."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from pertinent.journeys.model import Instance
from pertinent.storage.memory.state import InstanceRow, State, stored_instance
from pertinent.storage.ports import Partition, partition_key


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

    def entered(
        self, journey_keys: Collection[str], profile_ids: Collection[str]
    ) -> set[tuple[str, str]]:
        wanted = set(profile_ids)
        return {
            (row.instance.journey_key, row.instance.profile_id)
            for row in self._state.instances.values()
            if row.instance.journey_key in journey_keys and row.instance.profile_id in wanted
        }

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
                    old.instance,
                    step=new.step,
                    status=new.status,
                    wake_at=new.wake_at,
                    wait_event=new.wait_event,
                    ended_at=new.ended_at,
                    profile_id=new.profile_id,
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

    def counts(self) -> dict[str, dict[str, int]]:
        """Instances per journey and status, for the status page."""
        found: dict[str, dict[str, int]] = {}
        for row in self._state.instances.values():
            by_status = found.setdefault(row.instance.journey_key, {})
            by_status[row.instance.status] = by_status.get(row.instance.status, 0) + 1
        return found
