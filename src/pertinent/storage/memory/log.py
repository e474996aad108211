"""The event log and processor cursors in memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pertinent.events.model import Event, LoggedEvent
from pertinent.storage.memory.state import State, stored_event
from pertinent.storage.ports import EVERYTHING, AppendResult, Partition, event_partition_key


class MemoryEventLog:
    def __init__(self, state: State):
        self._state = state

    def append(self, events: Sequence[Event]) -> AppendResult:
        """Seqs come from a counter, so an erased event's seq is never handed out again (a
        reader past it would otherwise never see the new event)."""
        accepted = 0
        for event in events:
            if event.message_id in self._state.message_ids:
                continue
            seq = self._state.next_id("seq")
            self._state.events[seq] = stored_event(event)
            self._state.message_ids[event.message_id] = seq
            accepted += 1
        return AppendResult(accepted, len(events) - accepted)

    def read_after(
        self, seq: int, limit: int, partition: Partition = EVERYTHING
    ) -> list[LoggedEvent]:
        found: list[LoggedEvent] = []
        for at, event in self._state.events.items():
            if len(found) >= limit:
                break
            if at > seq and partition.owns(event_partition_key(event)):
                found.append(LoggedEvent(at, stored_event(event)))
        return found

    def last_seq(self) -> int:
        """The newest seq still in the log (as SQL's max(seq): lower after an erasure of the
        newest events)."""
        return max(self._state.events, default=0)

    def received_after(self, seq: int) -> datetime | None:
        return next((e.received_at for at, e in self._state.events.items() if at > seq), None)


class MemoryCursors:
    def __init__(self, state: State):
        self._state = state

    def get(self, name: str) -> int:
        return self._state.cursors.get(name, 0)

    def take(self, name: str) -> int:
        """Held by holding the transaction: there is only one at a time."""
        return self._state.cursors.setdefault(name, 0)

    def set(self, name: str, seq: int) -> None:
        self._state.cursors[name] = seq

    def drop(self, name: str) -> None:
        self._state.cursors.pop(name, None)

    def all(self) -> dict[str, int]:
        return dict(self._state.cursors)
