"""The storage ports: what the parts need from storage, in their own words.

A `Storage` opens transactions; a `Transaction` exposes one store per concern, all bound to
the same atomic unit, so a journey transition and its outbox row commit together or not at
all. Adapters: `storage.sql` (SQLite, PostgreSQL). Contract suites in `tests/contract/`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from pertinent.events.model import Event, LoggedEvent
from pertinent.profiles.state import ProfileState

if TYPE_CHECKING:
    from pertinent.delivery.outbox import Outbox
    from pertinent.journeys.runtime import JourneyStore
    from pertinent.recommend.catalogue import Product
    from pertinent.segments.engine import SegmentStore


@dataclass(frozen=True)
class AppendResult:
    accepted: int
    duplicates: int


class EventLog(Protocol):
    def append(self, events: Sequence[Event]) -> AppendResult:
        """Append events not seen before (by message id); duplicates are skipped, not errors."""
        ...

    def read_after(self, seq: int, limit: int) -> list[LoggedEvent]:
        """Events with a seq greater than `seq`, in seq order."""
        ...

    def last_seq(self) -> int: ...

    def received_after(self, seq: int) -> datetime | None:
        """When the first event after `seq` arrived (None when there is none)."""
        ...


class Cursors(Protocol):
    def get(self, name: str) -> int: ...

    def set(self, name: str, seq: int) -> None: ...


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    action: str | None
    timestamp: datetime
    properties: dict[str, Any]
    event: Event


class ProfileStore(Protocol):
    def load(self, profile_ids: Iterable[str]) -> dict[str, ProfileState]: ...

    def save(self, states: Iterable[ProfileState]) -> None: ...

    def count(self) -> int: ...

    def resolve_many(self, kind: str, values: Iterable[str]) -> dict[str, str]:
        """The profile of each value that has one (values without one are left out)."""
        ...

    def resolve(self, kind: str, value: str) -> str | None:
        """The profile an identity (kind "user" or "anon") belongs to, if any."""
        ...

    def link(self, links: Iterable[tuple[str, str, str]]) -> None:
        """Point each (kind, value) at a profile id, replacing an earlier link."""
        ...

    def identities(self, profile_id: str) -> list[tuple[str, str]]: ...

    def record(self, rows: Sequence[tuple[int, str, str | None, datetime, dict[str, Any]]]) -> None:
        """Attribute processed events (seq, profile, action, time, properties) to profiles."""
        ...

    def merge(self, loser: str, winner: str) -> None:
        """Move everything that points at `loser` to `winner` and drop the loser's row."""
        ...

    def actions(self, names: Sequence[str]) -> list[tuple[str, str, datetime, dict[str, Any]]]:
        """(profile, action, time, properties) of every processed event with one of `names`."""
        ...

    def timeline(self, profile_id: str, limit: int) -> list[TimelineEntry]:
        """The person's events, newest first."""
        ...

    def erase(self, profile_id: str) -> int:
        """Remove the person from every table, their log events included; return events erased."""
        ...


class Storage(Protocol):
    def transaction(self) -> AbstractContextManager[Transaction]: ...

    def snapshot(self) -> AbstractContextManager[Transaction]: ...


class Suppressions(Protocol):
    def add(self, address: str, profile_id: str | None, reason: str, at: datetime) -> None: ...

    def is_suppressed(self, address: str) -> bool: ...


class ProductStore(Protocol):
    def upsert(self, products: Sequence[Product]) -> None: ...

    def get(self, item_ids: Sequence[str]) -> dict[str, Product]: ...

    def all(self) -> dict[str, Product]: ...


class Transaction(Protocol):
    """Every store, bound to one atomic unit of work."""

    @property
    def log(self) -> EventLog: ...
    @property
    def cursors(self) -> Cursors: ...
    @property
    def profiles(self) -> ProfileStore: ...
    @property
    def segments(self) -> SegmentStore: ...
    @property
    def journeys(self) -> JourneyStore: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def suppressions(self) -> Suppressions: ...
    @property
    def products(self) -> ProductStore: ...
