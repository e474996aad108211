"""Everything the in-memory adapter keeps, as one value a transaction can copy and swap in.

The fields mirror the SQL tables (`storage/sql/tables.py`) so that each store reads like its
SQL twin. Values go in and come out the way a SQL column would give them back: JSON through
a JSON round trip, times as aware UTC. A test that passes here on a value SQL could not keep
(a tuple, a datetime inside properties, a naive time) would be a false pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from pertinent.delivery.outbox import OutboxItem
from pertinent.events.model import Event
from pertinent.journeys.broadcasts import Broadcast
from pertinent.journeys.model import Instance
from pertinent.journeys.webhooks import Attempt, WebhookCall
from pertinent.privacy.consent import ConsentChange
from pertinent.profiles.state import ProfileState
from pertinent.recommend.catalogue import Product
from pertinent.storage.ports import DefinitionVersion


def json_value(value: Any) -> Any:
    """`value` as a JSON column returns it (the same serializer as the SQL adapter's)."""
    return orjson.loads(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))


def utc(at: datetime) -> datetime:
    """`at` as a UTC time column returns it; a naive time is refused, as `UtcDateTime` does."""
    if at.tzinfo is None:
        raise ValueError(f"a stored time must be timezone-aware, got {at!r}")
    return at.astimezone(UTC)


def utc_or_none(at: datetime | None) -> datetime | None:
    return utc(at) if at is not None else None


def stored_event(event: Event) -> Event:
    return replace(
        event,
        timestamp=utc(event.timestamp),
        received_at=utc(event.received_at),
        properties=json_value(event.properties),
        traits=json_value(event.traits),
        context=json_value(event.context),
    )


def stored_profile(state: ProfileState, version: int) -> ProfileState:
    return ProfileState(
        profile_id=state.profile_id,
        traits=json_value(state.traits),
        trait_times=json_value(state.trait_times),
        computed=json_value(state.computed),
        first_seen=utc_or_none(state.first_seen),
        last_seen=utc_or_none(state.last_seen),
        version=version,
    )


def stored_instance(instance: Instance) -> Instance:
    return replace(
        instance,
        started_at=utc(instance.started_at),
        trigger=json_value(instance.trigger),
        wake_at=utc_or_none(instance.wake_at),
        ended_at=utc_or_none(instance.ended_at),
        step_at=utc_or_none(instance.step_at),
        goal_at=utc_or_none(instance.goal_at),
    )


def stored_call(call: WebhookCall) -> WebhookCall:
    return replace(call, created_at=utc(call.created_at), headers=json_value(dict(call.headers)))


def stored_item(item: OutboxItem) -> OutboxItem:
    return replace(item, created_at=utc(item.created_at), meta=json_value(item.meta))


def stored_product(product: Product) -> Product:
    """The product as the SQL adapter rebuilds it: every column set, the rest as extras."""
    return Product(
        item_id=product.item_id,
        title=product.title,
        url=product.url,
        image=product.image,
        price=product.price,
        category=product.category,
        in_stock=product.in_stock,
        created_at=utc_or_none(product.created_at),
        **json_value(product.extra()),
    )


@dataclass
class Attribution:
    profile_id: str
    action: str | None
    timestamp: datetime
    properties: dict[str, Any]


@dataclass
class Membership:
    id: int
    segment_key: str
    profile_id: str
    entered_at: datetime
    exited_at: datetime | None = None


@dataclass
class InstanceRow:
    id: int
    instance: Instance
    pkey: int  # the partition key of its person, as the SQL `pkey` column


@dataclass
class OutboxRow:
    id: int
    item: OutboxItem
    status: str
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None = None
    last_error: str | None = None
    lease_owner: str | None = None


@dataclass
class JourneyVersion:
    digest: str
    definition: dict[str, Any]
    created_at: datetime


@dataclass
class WebhookRow:
    id: int
    call: WebhookCall
    status: str
    attempts: int
    next_attempt_at: datetime
    lease_owner: str | None = None
    log: list[Attempt] = field(default_factory=list)


@dataclass
class RecipientRow:
    due_at: datetime
    pkey: int
    status: str = "pending"
    outcome: str | None = None


@dataclass
class Suppression:
    profile_id: str | None
    reason: str
    created_at: datetime


@dataclass
class StoredArtefact:
    meta: dict[str, Any]
    blob: bytes
    created_at: datetime


@dataclass
class Erasure:
    profile_id: str
    erased_at: datetime


@dataclass
class Worker:
    role: str
    heartbeat_at: datetime


@dataclass
class Lease:
    owner: str
    expires_at: datetime


@dataclass
class State:
    """One table per field; dicts keep insertion order, which for seq and id keys is their
    order, since `next_id` only ever counts up."""

    events: dict[int, Event] = field(default_factory=dict)
    message_ids: dict[str, int] = field(default_factory=dict)
    cursors: dict[str, int] = field(default_factory=dict)
    profiles: dict[str, ProfileState] = field(default_factory=dict)
    identities: dict[tuple[str, str], str] = field(default_factory=dict)
    profile_events: dict[int, Attribution] = field(default_factory=dict)
    memberships: list[Membership] = field(default_factory=list)
    segment_versions: dict[str, list[DefinitionVersion]] = field(default_factory=dict)
    timers: dict[tuple[str, str], datetime] = field(default_factory=dict)
    instances: dict[str, InstanceRow] = field(default_factory=dict)
    journey_versions: dict[tuple[str, int], JourneyVersion] = field(default_factory=dict)
    journey_counts: dict[tuple[str, int, str, str], int] = field(default_factory=dict)
    journey_schedules: dict[str, datetime] = field(default_factory=dict)
    webhook_calls: dict[int, WebhookRow] = field(default_factory=dict)
    broadcasts: dict[int, Broadcast] = field(default_factory=dict)
    recipients: dict[tuple[int, str], RecipientRow] = field(default_factory=dict)
    outbox: dict[int, OutboxRow] = field(default_factory=dict)
    suppressions: dict[tuple[str, str], Suppression] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    product_describers: dict[str, str] = field(default_factory=dict)  # products.described_by
    consent: list[ConsentChange] = field(default_factory=list)  # in the order recorded
    artefacts: dict[tuple[str, int], StoredArtefact] = field(default_factory=dict)
    erasures: dict[int, Erasure] = field(default_factory=dict)
    workers: dict[str, Worker] = field(default_factory=dict)
    leases: dict[int, Lease] = field(default_factory=dict)
    # (event, field, rejected) -> (count, first seen, last seen)
    violations: dict[tuple[str, str, bool], tuple[int, datetime, datetime]] = field(
        default_factory=dict
    )
    last_ids: dict[str, int] = field(default_factory=dict)

    def next_id(self, sequence: str) -> int:
        """The next number of a sequence (seq, outbox id ...), never one handed out before."""
        self.last_ids[sequence] = self.last_ids.get(sequence, 0) + 1
        return self.last_ids[sequence]
