"""What the API and the dashboard read, in memory: each call over one committed state."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from pertinent.storage.memory.journeys import MemoryJourneyStore
from pertinent.storage.memory.outbox import item_of, row_of
from pertinent.storage.memory.profiles import MemoryProfileStore
from pertinent.storage.memory.state import OutboxRow, State, stored_event
from pertinent.storage.memory.violations import MemoryViolations
from pertinent.storage.ports import (
    Member,
    Partition,
    ProfileView,
    SentEmail,
    Status,
    TimelineEntry,
    ViolationCount,
    event_partition_key,
)

_PARTITION = re.compile(r"^processor/(\d+)of(\d+)$")


def _lag(state: State) -> tuple[int, int]:
    """(the lowest processor cursor, events after their cursors in their partitions)."""
    shares: list[tuple[Partition, int]] = []
    for name, seq in state.cursors.items():
        found = _PARTITION.match(name)
        if found:
            shares.append((Partition(int(found[1]), int(found[2])), seq))
        elif name == "processor":
            shares.append((Partition(), seq))
    if not shares:
        return 0, len(state.events)
    lag = sum(
        1
        for partition, seq in shares
        for at, event in state.events.items()
        if at > seq and partition.owns(event_partition_key(event))
    )
    return min(seq for _partition, seq in shares), lag


def _sent(row: OutboxRow) -> SentEmail:
    return SentEmail(item_of(row), row.status, row.sent_at, row.last_error)


class MemoryReadModel:
    """Reads the state committed last; a commit replaces that state instead of changing it,
    so a read needs no lock and sees one consistent state throughout."""

    def __init__(self, committed: Callable[[], State]):
        self._committed = committed

    def status(self) -> Status:
        state = self._committed()
        processed, lag = _lag(state)
        return Status(
            log_seq=max(state.events, default=0),
            processed_seq=processed,
            lag=lag,
            profiles=len(state.profiles),
            segments=_sizes(state),
            journeys=MemoryJourneyStore(state).counts(),
            outbox=dict(Counter(row.status for row in state.outbox.values())),
        )

    def find(self, id_: str) -> str | None:
        profiles = MemoryProfileStore(self._committed())
        return profiles.resolve("user", id_) or profiles.resolve("anon", id_)

    def profile(self, profile_id: str) -> ProfileView | None:
        state = self._committed()
        profiles = MemoryProfileStore(state)
        stored = profiles.load([profile_id]).get(profile_id)
        if stored is None:
            return None
        segments = sorted(
            m.segment_key
            for m in state.memberships
            if m.profile_id == profile_id and m.exited_at is None
        )
        return ProfileView(stored, profiles.identities(profile_id), segments)

    def profile_ids(self, limit: int, offset: int) -> list[str]:
        return sorted(self._committed().profiles)[offset : offset + limit]

    def timeline(self, profile_id: str, limit: int) -> list[TimelineEntry]:
        state = self._committed()
        rows = sorted(
            (
                (row.timestamp, seq, row.action)
                for seq, row in state.profile_events.items()
                if row.profile_id == profile_id and seq in state.events
            ),
            reverse=True,
        )
        entries = []
        for _at, seq, action in rows[:limit]:
            event = stored_event(state.events[seq])
            entries.append(TimelineEntry(seq, action, event.timestamp, event.properties, event))
        return entries

    def segment_sizes(self) -> dict[str, int]:
        return _sizes(self._committed())

    def members(self, key: str, limit: int, offset: int) -> list[Member]:
        open_ = sorted(
            (m.entered_at, m.profile_id)
            for m in self._committed().memberships
            if m.segment_key == key and m.exited_at is None
        )
        return [Member(pid, at) for at, pid in open_[offset : offset + limit]]

    def emails(self, limit: int) -> list[SentEmail]:
        rows = sorted(self._committed().outbox.items(), reverse=True)[:limit]
        return [_sent(row) for _id, row in rows]

    def email(self, message_id: str) -> SentEmail | None:
        row = row_of(self._committed(), message_id)
        return _sent(row) if row is not None else None

    def violations(self) -> list[ViolationCount]:
        return MemoryViolations(self._committed()).counts()


def _sizes(state: State) -> dict[str, int]:
    return dict(Counter(m.segment_key for m in state.memberships if m.exited_at is None))
