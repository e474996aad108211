"""What the API and the dashboard read, in memory: each call over one committed state."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pertinent.events.model import LoggedEvent
from pertinent.journeys.broadcasts import Broadcast, BroadcastNumbers
from pertinent.journeys.webhooks import Delivery
from pertinent.profiles.state import ProfileState
from pertinent.storage.memory.broadcasts import MemoryBroadcasts
from pertinent.storage.memory.consent import MemoryConsentStore
from pertinent.storage.memory.journeys import MemoryJourneyStore
from pertinent.storage.memory.outbox import item_of, row_of
from pertinent.storage.memory.profiles import MemoryProfileStore, events_of
from pertinent.storage.memory.state import OutboxRow, State, stored_event, stored_instance
from pertinent.storage.memory.violations import MemoryViolations
from pertinent.storage.memory.webhooks import MemoryWebhooks
from pertinent.storage.ports import (
    Member,
    Partition,
    PersonRecord,
    ProfileView,
    SentEmail,
    Status,
    StepNumber,
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
        return self._profile(self._committed(), profile_id)

    @staticmethod
    def _profile(state: State, profile_id: str) -> ProfileView | None:
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

    def members_at(self, key: str, at: datetime, limit: int, offset: int) -> list[Member]:
        inside = sorted(
            (m.entered_at, m.profile_id)
            for m in self._committed().memberships
            if m.segment_key == key
            and m.entered_at <= at
            and (m.exited_at is None or m.exited_at > at)
        )
        return [Member(pid, entered) for entered, pid in inside[offset : offset + limit]]

    def segment_history(self, key: str, points: Sequence[datetime]) -> list[int]:
        return [len(self.members_at(key, at, 10**12, 0)) for at in points]

    def emails(self, limit: int) -> list[SentEmail]:
        rows = sorted(self._committed().outbox.items(), reverse=True)[:limit]
        return [_sent(row) for _id, row in rows]

    def email(self, message_id: str) -> SentEmail | None:
        row = row_of(self._committed(), message_id)
        return _sent(row) if row is not None else None

    def count_lacking(self, paths: Sequence[tuple[str, ...]]) -> tuple[int, list[int]]:
        profiles = self._committed().profiles.values()
        counts = [sum(1 for p in profiles if _lacks(p, path)) for path in paths]
        return len(profiles), counts

    def journey_numbers(self) -> list[StepNumber]:
        return MemoryJourneyStore(self._committed()).numbers()

    def webhook_deliveries(self, journey_key: str | None, limit: int) -> list[Delivery]:
        return MemoryWebhooks(self._committed()).deliveries(journey_key, limit)

    def broadcasts(self, limit: int) -> list[Broadcast]:
        found = self._committed().broadcasts
        return [found[i] for i in sorted(found, reverse=True)[:limit]]

    def broadcast_numbers(self, broadcast_id: int) -> BroadcastNumbers | None:
        return MemoryBroadcasts(self._committed()).numbers(broadcast_id)

    def person(self, profile_id: str) -> PersonRecord | None:
        state = self._committed()
        view = self._profile(state, profile_id)
        if view is None:
            return None
        seqs = events_of(state, profile_id, view.identities)
        memberships = sorted(
            (m for m in state.memberships if m.profile_id == profile_id),
            key=lambda m: (m.entered_at, m.id),
        )
        instances = sorted(
            (row for row in state.instances.values() if row.instance.profile_id == profile_id),
            key=lambda row: row.id,
        )
        return PersonRecord(
            profile=view,
            events=[LoggedEvent(seq, stored_event(state.events[seq])) for seq in sorted(seqs)],
            memberships=[(m.segment_key, m.entered_at, m.exited_at) for m in memberships],
            journeys=[stored_instance(row.instance) for row in instances],
            emails=[
                _sent(row)
                for _id, row in sorted(state.outbox.items())
                if row.item.profile_id == profile_id
            ],
            consent=MemoryConsentStore(state).history([profile_id]),
            suppressed=sorted(
                {a for (a, _why), s in state.suppressions.items() if s.profile_id == profile_id}
            ),
            described=sorted(i for i, p in state.product_describers.items() if p == profile_id),
        )

    def violations(self) -> list[ViolationCount]:
        return MemoryViolations(self._committed()).counts()

    def recent_events(self, limit: int) -> list[LoggedEvent]:
        events = self._committed().events
        newest = sorted(events, reverse=True)[:limit]
        return [LoggedEvent(seq, stored_event(events[seq])) for seq in newest]

    def arrivals(self, edges: Sequence[datetime]) -> list[int]:
        counts = [0] * max(len(edges) - 1, 0)
        for event in self._committed().events.values():
            index = bisect_right(edges, event.received_at) - 1
            if 0 <= index < len(counts):
                counts[index] += 1
        return counts


def _lacks(profile: ProfileState, path: tuple[str, ...]) -> bool:
    value: Any = {"traits": profile.traits, "computed": profile.computed}
    for key in path:
        if not isinstance(value, dict):
            return True
        value = value.get(key)
    return value is None or value == ""


def _sizes(state: State) -> dict[str, int]:
    return dict(Counter(m.segment_key for m in state.memberships if m.exited_at is None))
