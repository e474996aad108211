"""The storage ports: what the parts need from storage, in their own words.

A `Storage` opens transactions; a `Transaction` exposes one store per concern, all bound to
the same atomic unit, so a micro-batch's effects and its cursor commit together or not at all.
Reads for the API and the dashboard go through `ReadModel`, in a snapshot of their own.

Adapters: `storage.memory` (the reference, for fast tests) and `storage.sql` (SQLite,
PostgreSQL). One contract suite per port in `tests/contract/` runs against every adapter.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pertinent.events.model import Event, LoggedEvent
from pertinent.profiles.state import ProfileState, anonymous_profile_id

if TYPE_CHECKING:
    from pertinent.delivery.outbox import OutboxItem, PendingEmail
    from pertinent.journeys.broadcasts import Broadcast, BroadcastNumbers, Recipient
    from pertinent.journeys.caps import SentRecord
    from pertinent.journeys.model import Instance
    from pertinent.journeys.webhooks import Attempt, Delivery, PendingCall, WebhookCall
    from pertinent.privacy.consent import ConsentChange
    from pertinent.profiles.rfm import Customer
    from pertinent.recommend.catalogue import Product
    from pertinent.segments.evaluate import PersonEvent
    from pertinent.segments.language import Condition
    from pertinent.segments.timing import Clock


class ConcurrentUpdate(Exception):
    """Another writer changed what this transaction read; roll back and try again. Only
    several processors over one PostgreSQL database can meet it (SQLite has one writer)."""


def partition_key(profile_id: str) -> int:
    """A stable 32-bit hash of a profile id (the same in every process and on every run)."""
    return zlib.crc32(profile_id.encode())


def event_partition_key(event: Event) -> int:
    """The partition key of an event: that of the profile its ids name before any merge, so
    a person's events under one id stay in one partition, in log order."""
    if event.user_id is not None:
        return partition_key(event.user_id)
    return partition_key(anonymous_profile_id(event.anonymous_id or ""))


@dataclass(frozen=True)
class Partition:
    """One of `count` shares of the log and of the timers, by partition key."""

    index: int = 0
    count: int = 1

    def owns(self, key: int) -> bool:
        return key % self.count == self.index

    @property
    def cursor(self) -> str:
        return "processor" if self.count == 1 else f"processor/{self.index}of{self.count}"


EVERYTHING = Partition()


@dataclass(frozen=True)
class AppendResult:
    accepted: int
    duplicates: int


class EventLog(Protocol):
    def append(self, events: Sequence[Event]) -> AppendResult:
        """Append events not seen before (by message id); duplicates are skipped, not errors.
        Appends commit in seq order, so a reader that has seen seq n never later finds a
        smaller one."""
        ...

    def read_after(
        self, seq: int, limit: int, partition: Partition = EVERYTHING
    ) -> list[LoggedEvent]:
        """The partition's events with a seq greater than `seq`, in seq order."""
        ...

    def last_seq(self) -> int: ...

    def received_after(self, seq: int) -> datetime | None:
        """When the first event after `seq` arrived (None when there is none)."""
        ...


class Cursors(Protocol):
    def get(self, name: str) -> int: ...

    def take(self, name: str) -> int:
        """The cursor's position, held against other processors until the transaction ends."""
        ...

    def set(self, name: str, seq: int) -> None: ...

    def drop(self, name: str) -> None: ...

    def all(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    action: str | None
    timestamp: datetime
    properties: dict[str, Any]
    event: Event


# (seq, profile id, action, event time, properties): a processed event, attributed.
AttributedEvent = tuple[int, str, str | None, datetime, dict[str, Any]]


class ProfileStore(Protocol):
    def load(self, profile_ids: Iterable[str]) -> dict[str, ProfileState]: ...

    def save(self, states: Iterable[ProfileState]) -> None:
        """Store each state and advance its version; raises `ConcurrentUpdate` if another
        writer stored the same profile since it was loaded (version 0: it must be new)."""
        ...

    def touch(self, profile_ids: Collection[str]) -> None:
        """Advance the stored versions of these people without changing them, so that any
        other writer holding them loaded fails its save (a claim without a lock)."""
        ...

    def resolve_many(self, kind: str, values: Iterable[str]) -> dict[str, str]:
        """The profile of each value that has one (values without one are left out)."""
        ...

    def resolve(self, kind: str, value: str) -> str | None:
        """The profile an identity (kind "user" or "anon") belongs to, if any."""
        ...

    def link(self, links: Iterable[tuple[str, str, str]]) -> None:
        """Point each (kind, value), which has no profile yet, at a profile id; raises
        `ConcurrentUpdate` if another writer linked one of them first."""
        ...

    def identities(self, profile_id: str) -> list[tuple[str, str]]: ...

    def record(self, rows: Sequence[AttributedEvent]) -> None:
        """Attribute processed log events to profiles (what segments count, timelines show).
        Each row names an event in the log by its seq; its time and properties are the log's."""
        ...

    def merge(self, loser: str, winner: str, loser_version: int) -> None:
        """Move everything that points at `loser` to `winner` and drop the loser's row;
        raises `ConcurrentUpdate` if the loser's stored version is not `loser_version`."""
        ...

    def actions(self, names: Sequence[str]) -> list[tuple[str, str, datetime, dict[str, Any]]]:
        """(profile, action, time, properties) of every processed event with one of `names`."""
        ...

    def events_of(
        self, profile_ids: Collection[str], actions: Collection[str]
    ) -> dict[str, list[PersonEvent]]:
        """The processed events of these people with one of `actions`, oldest first, by
        person (what journeys' conditions look at)."""
        ...

    def ids_after(self, after: str | None, limit: int) -> list[str]:
        """Up to `limit` profile ids after `after` (from the first: None), in order: everyone,
        a page at a time, however many there are."""
        ...

    def customers(self, after: str | None, limit: int) -> list[Customer]:
        """Up to `limit` people with at least one order, by profile id after `after` (from
        the first: None), with the RFM score they were last given: everyone who bought, a
        page at a time (`profiles.rfm`)."""
        ...

    def erase(self, profile_id: str) -> int:
        """Remove the person from every store, their log events, consent history and the
        catalogue rows their events described last included; return events erased. An address
        they unsubscribed stays suppressed, without a profile."""
        ...


class SegmentStore(Protocol):
    def matching(
        self,
        segments: Mapping[str, Condition],
        wanted: Mapping[str, Collection[str] | None],
        now: datetime,
    ) -> dict[str, set[str]]:
        """For each segment in `wanted`, those of its people (None: everyone) its condition
        holds for at `now`. An `in_segment` leaf means that segment's condition in `segments`.
        Each segment is evaluated only for its own people: a batch's events change different
        segments for different people."""
        ...

    def anchors(
        self, clocks: Sequence[tuple[Clock, Collection[str] | None]], now: datetime
    ) -> list[tuple[int, str, datetime]]:
        """(clock index, person, anchor) for each clock and each of its people (None:
        everyone) that has an anchor at `now` (see `segments.timing`)."""
        ...

    def current(self, among: Collection[str] | None) -> dict[str, set[str]]:
        """Open memberships by segment."""
        ...

    def enter(self, key: str, profile_ids: Collection[str], at: datetime) -> None: ...

    def exit(self, key: str, profile_ids: Collection[str], at: datetime) -> None: ...

    def set_timers(self, key: str, due: Mapping[str, datetime], clear: Collection[str]) -> None:
        """Schedule each person's next re-evaluation; drop timers of people in `clear`."""
        ...

    def next_due(self, partition: Partition) -> datetime | None:
        """When the partition's earliest timer is due (None: it has none)."""
        ...

    def claim_due(self, now: datetime, limit: int, partition: Partition) -> dict[str, set[str]]:
        """People whose window edge has passed, by segment; their timers are removed, and no
        other processor can take the same ones."""
        ...

    def history(self, key: str) -> list[tuple[str, datetime, datetime | None]]: ...

    def definitions(self) -> dict[str, DefinitionVersion]:
        """The live definition of each segment: its newest saved version, unless removed."""
        ...

    def save_definition(self, key: str, definition: Mapping[str, Any], at: datetime) -> int:
        """Keep a new version of a segment's definition (live from now); return its number."""
        ...

    def remove_definition(self, key: str, at: datetime) -> None:
        """Mark a segment's live version removed (its versions stay)."""
        ...

    def versions(self, key: str) -> list[DefinitionVersion]:
        """Every saved version of a segment, oldest first."""
        ...


@dataclass(frozen=True)
class DefinitionVersion:
    key: str
    version: int
    definition: dict[str, Any]
    saved_at: datetime
    removed_at: datetime | None = None


class JourneyStore(Protocol):
    def active(self, profile_ids: Collection[str]) -> list[Instance]:
        """Waiting instances of these people, oldest first."""
        ...

    def last_entered(
        self, journey_keys: Collection[str], profile_ids: Collection[str]
    ) -> dict[tuple[str, str], datetime]:
        """When each (journey, person) pair of these last started an instance (pairs that
        never did are left out)."""
        ...

    def ended_since(self, profile_ids: Collection[str], since: datetime) -> list[Instance]:
        """Instances of these people that started at or after `since` and have ended."""
        ...

    def save(self, instances: Sequence[Instance]) -> None:
        """Insert or replace each instance by its key."""
        ...

    def versions(self) -> list[tuple[str, int, str, dict[str, Any]]]:
        """(journey, version, digest, definition) of every stored version."""
        ...

    def add_version(
        self, journey_key: str, version: int, digest: str, definition: dict[str, Any], at: datetime
    ) -> None:
        """Store a new version; raises `ConcurrentUpdate` if another writer stored it first."""
        ...

    def wake(
        self, journey_key: str, steps: Collection[str] | None, before_version: int, at: datetime
    ) -> int:
        """Make the journey's waiting instances of versions before `before_version` (at one
        of `steps`; None: at any) due at `at`; return how many."""
        ...

    def count(self, counts: Mapping[tuple[str, int, str, str], int]) -> None:
        """Add to the numbers per (journey, version, step, metric)."""
        ...

    def schedules(self) -> dict[str, datetime]:
        """When each scheduled journey next fires."""
        ...

    def set_schedule(self, journey_key: str, next_at: datetime | None) -> None:
        """Set when the journey next fires (None: it has no schedule any more)."""
        ...

    def next_due(self, partition: Partition) -> datetime | None:
        """When the partition's earliest waiting instance wakes (None: none waits on time)."""
        ...

    def claim_due(self, now: datetime, limit: int, partition: Partition) -> list[Instance]:
        """Waiting instances whose wake time has come; no other processor gets the same until
        the transaction ends."""
        ...


class Outbox(Protocol):
    def enqueue(self, items: Sequence[OutboxItem]) -> int:
        """Add each email unless its idempotency key is already there; return how many."""
        ...

    def next_due(self) -> datetime | None:
        """When the earliest row waiting to be sent (or whose sender's lease runs out) is due."""
        ...

    def claim(self, now: datetime, lease: timedelta, limit: int, owner: str) -> list[PendingEmail]:
        """Take due rows for `owner` to send; nobody else gets them until `lease` has passed."""
        ...

    def release(self, owner: str, now: datetime) -> int:
        """Make the rows `owner` had claimed and not finished due now (a restarted sender
        takes back its own work at once); return how many."""
        ...

    def mark_sent(self, outbox_id: int, at: datetime) -> None: ...

    def mark_retry(self, outbox_id: int, next_at: datetime, error: str) -> None: ...

    def mark_failed(self, outbox_id: int, error: str) -> None: ...

    def get(self, message_id: str) -> tuple[OutboxItem, str] | None:
        """The email with this Message-ID and its status (None if there is none, or its
        recipient was erased)."""
        ...

    def defer(self, outbox_id: int, until: datetime) -> None:
        """Put a claimed row back, due at `until`, without counting an attempt (a rate limit
        held it back; nothing was tried)."""
        ...

    def latest_to(self, address: str) -> OutboxItem | None:
        """The newest email to this address (as stored, normalized), to tie a bounce or a
        complaint that names no email to a person."""

    def history(self, profile_ids: Collection[str], since: datetime) -> list[SentRecord]:
        """The emails to these people created after `since` that did not fail, oldest first
        (what caps count and what says a step was already sent)."""
        ...


class Suppressions(Protocol):
    """Addresses not to mail, each for one or more reasons: `unsubscribed`, `complained`
    (no more marketing mail) and `bounced` (a hard bounce: the mailbox does not exist, so no
    mail at all, transactional included). Addresses match in their normalized form
    (`delivery.address`), lowercase whatever the caller passes. A per-topic opt-out is a
    narrower question, asked of consent, not of this list."""

    def add(self, address: str, profile_id: str | None, reason: str, at: datetime) -> None:
        """Record the reason; an address may hold several, each once (the first time kept)."""
        ...

    def suppressed(self, addresses: Collection[str]) -> set[str]:
        """Those of `addresses` (as given) that must not get marketing mail, for any reason."""
        ...

    def reasons(self, addresses: Collection[str]) -> dict[str, str]:
        """Why each suppressed one of `addresses` (as given) is suppressed; one held for
        several reasons answers `bounced` if it hard-bounced (what stops even transactional
        mail), else its oldest reason. Those not suppressed are left out."""
        ...

    def lift(self, address: str, reason: str) -> bool:
        """Mail the address again if it was suppressed for `reason` (a person who had
        unsubscribed opts back in); any other reason stays. True if it was lifted."""
        ...


class BroadcastStore(Protocol):
    def add(self, broadcast: Broadcast) -> int:
        """Store a scheduled broadcast (its `id` is ignored); return its id."""
        ...

    def get(self, broadcast_ids: Collection[int]) -> dict[int, Broadcast]: ...

    def due(self, now: datetime, early: timedelta) -> list[Broadcast]:
        """Scheduled broadcasts whose time has come: `send_at` at or before `now`, or (with
        local time) before `now + early`."""
        ...

    def target(self, broadcast_id: int, recipients: Sequence[Recipient]) -> None:
        """Add the recipients (a person at most once per broadcast) and mark it sending."""
        ...

    def next_due(self, partition: Partition) -> datetime | None:
        """When the partition's earliest pending recipient is due."""
        ...

    def claim_due(self, now: datetime, limit: int, partition: Partition) -> list[Recipient]:
        """Pending recipients of the partition that are due; no other processor gets the
        same until the transaction ends."""
        ...

    def delay(self, recipients: Sequence[Recipient]) -> None:
        """Make each (still pending) recipient due at its new `due_at`."""
        ...

    def record(self, outcomes: Sequence[tuple[Recipient, str]]) -> None:
        """Each recipient is done, with its outcome."""
        ...


class WebhookOutbox(Protocol):
    def enqueue(self, calls: Sequence[WebhookCall]) -> int:
        """Add each call unless its idempotency key is already there; return how many."""
        ...

    def next_due(self) -> datetime | None: ...

    def claim(self, now: datetime, lease: timedelta, limit: int, owner: str) -> list[PendingCall]:
        """Take due calls for `owner`; nobody else gets them until `lease` has passed."""
        ...

    def record(self, attempt: Attempt, status: str, next_at: datetime | None) -> None:
        """Log an attempt and set the call's status (pending again at `next_at`, delivered,
        or failed)."""
        ...

    def deliveries(self, journey_key: str | None, limit: int) -> list[Delivery]:
        """The newest calls (of one journey, or all) with every attempt, newest first."""
        ...


class ConsentStore(Protocol):
    """Each person's consent per topic, as history (`privacy.consent`)."""

    def record(self, changes: Sequence[ConsentChange]) -> None:
        """Add changes to the history, after everything recorded before."""
        ...

    def history(self, profile_ids: Collection[str]) -> list[ConsentChange]:
        """Every change of these people, in the order recorded (merged people's included)."""
        ...


class ProductStore(Protocol):
    def upsert(
        self, products: Sequence[Product], described_by: Mapping[str, str] | None = None
    ) -> None:
        """Write products; fields a product does not set keep their stored value. A product
        that changes remembers who described it (`described_by`, by item id: the person whose
        event it came from; None for imports and the API), for their erasure."""
        ...

    def get(self, item_ids: Sequence[str]) -> dict[str, Product]: ...

    def all(self) -> dict[str, Product]: ...

    def share(self, item_ids: Collection[str]) -> None:
        """These products are described by more than one person: nobody's erasure takes
        them (their describer is forgotten)."""
        ...


@dataclass(frozen=True)
class Artefact:
    name: str
    version: int
    meta: dict[str, Any]


class Artefacts(Protocol):
    """Trained models as blobs with versions every process can poll, and the erasures a
    model trained before them must still forget."""

    def put(self, name: str, blob: bytes, meta: Mapping[str, Any], at: datetime) -> int:
        """Store a new version; return its number."""
        ...

    def latest(self, name: str) -> Artefact | None: ...

    def blob(self, name: str, version: int) -> bytes | None: ...

    def prune(self, name: str, keep: int) -> None:
        """Drop all but the newest `keep` versions."""
        ...

    def record_erasure(self, profile_id: str, at: datetime) -> None: ...

    def erasures_after(self, mark: int) -> list[tuple[int, str]]:
        """(id, profile id) of erasures recorded after `mark`, oldest first."""
        ...

    def forget_erasures(self, upto: int) -> None:
        """Drop erasure records up to `upto` once every model has applied them."""
        ...


class Coordination(Protocol):
    """Which processes are alive and which processor holds which partition."""

    def heartbeat(self, owner: str, role: str, now: datetime) -> None: ...

    def alive(self, role: str, since: datetime) -> list[str]:
        """Owners of `role` with a heartbeat at or after `since`, sorted."""
        ...

    def leases(self, now: datetime) -> dict[int, str]:
        """Unexpired partition leases: partition index -> owner."""
        ...

    def acquire(self, partition: int, owner: str, now: datetime, until: datetime) -> bool:
        """Take or renew the lease if it is free, expired or already the owner's."""
        ...

    def release_lease(self, partition: int, owner: str) -> None: ...


@dataclass(frozen=True)
class Violation:
    """One event that broke the tracking plan at one field (a JSON pointer), and whether it
    was rejected for it or accepted with a flag."""

    event: str
    field: str
    rejected: bool
    at: datetime


@dataclass(frozen=True)
class ViolationCount:
    event: str
    field: str
    rejected: bool
    count: int
    first_seen: datetime
    last_seen: datetime


def tally(
    violations: Sequence[Violation],
) -> dict[tuple[str, str, bool], tuple[int, datetime, datetime]]:
    """(event, field, rejected) -> (count, first seen, last seen): what an adapter adds."""
    counts: dict[tuple[str, str, bool], tuple[int, datetime, datetime]] = {}
    for v in violations:
        key = (v.event, v.field, v.rejected)
        count, first, last = counts.get(key, (0, v.at, v.at))
        counts[key] = (count + 1, min(first, v.at), max(last, v.at))
    return counts


class Violations(Protocol):
    """Tracking-plan violations counted per event name, field and outcome. Rejected events
    never reach the log, so the count is kept here rather than read back from it."""

    def add(self, violations: Sequence[Violation]) -> None: ...

    def counts(self) -> list[ViolationCount]:
        """Every count, the largest first (then by event and field)."""
        ...


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
    def webhooks(self) -> WebhookOutbox: ...
    @property
    def broadcasts(self) -> BroadcastStore: ...
    @property
    def products(self) -> ProductStore: ...
    @property
    def consent(self) -> ConsentStore: ...
    @property
    def artefacts(self) -> Artefacts: ...
    @property
    def coordination(self) -> Coordination: ...
    @property
    def violations(self) -> Violations: ...


@dataclass(frozen=True)
class Status:
    log_seq: int
    processed_seq: int
    lag: int
    profiles: int
    segments: dict[str, int]
    journeys: dict[str, dict[str, int]]
    outbox: dict[str, int]


@dataclass(frozen=True)
class ProfileView:
    state: ProfileState
    identities: list[tuple[str, str]]
    segments: list[str]


@dataclass(frozen=True)
class SentEmail:
    item: OutboxItem
    status: str
    sent_at: datetime | None
    last_error: str | None = None


@dataclass(frozen=True)
class Member:
    profile_id: str
    entered_at: datetime


@dataclass(frozen=True)
class StepNumber:
    journey_key: str
    version: int
    step: str
    metric: str
    n: int


@dataclass(frozen=True)
class PersonRecord:
    """Everything stored about one person, as of one moment: what their export hands over."""

    profile: ProfileView
    events: list[LoggedEvent]  # every log event of theirs (as an erasure finds them), in order
    memberships: list[tuple[str, datetime, datetime | None]]  # (segment, entered, exited)
    journeys: list[Instance]
    emails: list[SentEmail]  # with their content
    consent: list[ConsentChange]  # oldest first
    suppressed: list[str]  # addresses of theirs that must not be mailed, sorted
    described: list[str]  # catalogue rows their events described last, sorted


class ReadModel(Protocol):
    """What the API and the dashboard read, each call in a consistent snapshot of its own."""

    def status(self) -> Status: ...

    def find(self, id_: str) -> str | None:
        """The profile a user id or anonymous id belongs to."""
        ...

    def profile(self, profile_id: str) -> ProfileView | None: ...

    def profile_ids(self, limit: int, offset: int) -> list[str]:
        """Profile ids in order, a page at a time."""
        ...

    def timeline(self, profile_id: str, limit: int) -> list[TimelineEntry]:
        """The person's events, newest first."""
        ...

    def segment_sizes(self) -> dict[str, int]: ...

    def members(self, key: str, limit: int, offset: int) -> list[Member]: ...

    def members_at(self, key: str, at: datetime, limit: int, offset: int) -> list[Member]:
        """Who was in the segment at `at` (in by then, not yet out), by entry."""
        ...

    def segment_history(self, key: str, points: Sequence[datetime]) -> list[int]:
        """The segment's size at each of `points`."""
        ...

    def emails(self, limit: int) -> list[SentEmail]:
        """The newest emails in the outbox, newest first."""
        ...

    def email(self, message_id: str) -> SentEmail | None: ...

    def count_lacking(self, paths: Sequence[tuple[str, ...]]) -> tuple[int, list[int]]:
        """How many profiles there are, and for each path how many of them lack a value
        there (no key, null or empty text): what a template's variable would render empty
        for. A path starts at "traits" or "computed": ("traits", "address", "city")."""
        ...

    def journey_numbers(self) -> list[StepNumber]:
        """Every number per journey, version and step, with `waiting` counted now."""
        ...

    def webhook_deliveries(self, journey_key: str | None, limit: int) -> list[Delivery]:
        """The newest webhook calls (of one journey, or all) with every attempt."""
        ...

    def broadcasts(self, limit: int) -> list[Broadcast]:
        """The newest broadcasts, newest first."""
        ...

    def broadcast_numbers(self, broadcast_id: int) -> BroadcastNumbers | None:
        """Recipients by outcome, still pending, and how many opened and clicked it."""
        ...

    def person(self, profile_id: str) -> PersonRecord | None:
        """Everything held on the person, in one snapshot (None if there is no such profile)."""
        ...

    def violations(self) -> list[ViolationCount]:
        """Tracking-plan violation counts, as `Violations.counts`."""
        ...

    def recent_events(self, limit: int) -> list[LoggedEvent]:
        """The newest `limit` events in the log, newest first (what the dashboard shows
        arriving live and checks for bots and flags)."""
        ...

    def arrivals(self, edges: Sequence[datetime]) -> list[int]:
        """How many events arrived in each interval [edges[i], edges[i + 1]) of these
        increasing instants (one count fewer than edges). Arrival times are taken in log
        order from the newest back, so the cost grows with the events since `edges[0]`, not
        with the log."""
        ...


class Storage(Protocol):
    def append(
        self, batches: Sequence[Sequence[Event]], violations: Sequence[Violation] = ()
    ) -> list[AppendResult]:
        """Append each batch to the log (as `EventLog.append`) and count the violations, all
        in one transaction of their own: ingestion's path, where an adapter can prepare rows
        before it writes."""
        ...

    def transaction(self) -> AbstractContextManager[Transaction]: ...

    def snapshot(self) -> AbstractContextManager[Transaction]:
        """A read-only view (writes through it are an error or lost)."""
        ...

    @property
    def reads(self) -> ReadModel: ...

    def forget_deleted(self) -> bool:
        """Make what was deleted unrecoverable from the storage's own files, as far as the
        backend allows (an erasure's last step); False if that could not finish now."""
        ...

    def close(self) -> None: ...
