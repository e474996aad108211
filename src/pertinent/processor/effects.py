"""What the engines decide, as values. `apply.apply` carries them out in a transaction.

A closed set: adding an effect breaks the type check in `apply` until it is handled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pertinent.delivery.outbox import OutboxItem
from pertinent.events.model import Event
from pertinent.journeys.broadcasts import Recipient
from pertinent.journeys.model import Instance
from pertinent.journeys.webhooks import WebhookCall
from pertinent.profiles.state import ProfileState
from pertinent.recommend.catalogue import Product
from pertinent.storage.ports import AttributedEvent


@dataclass(frozen=True)
class MergeProfiles:
    loser: str
    winner: str
    loser_version: int  # as loaded; the merge fails if another writer changed the loser since


@dataclass(frozen=True)
class LinkIdentities:
    links: Sequence[tuple[str, str, str]]


@dataclass(frozen=True)
class SaveProfiles:
    states: Sequence[ProfileState]


@dataclass(frozen=True)
class RecordEvents:
    rows: Sequence[AttributedEvent]


@dataclass(frozen=True)
class UpsertProducts:
    products: Sequence[Product]
    described_by: Mapping[str, str]  # item id -> the person whose event described it


@dataclass(frozen=True)
class EnterSegment:
    key: str
    profile_ids: frozenset[str]
    at: datetime


@dataclass(frozen=True)
class ExitSegment:
    key: str
    profile_ids: frozenset[str]
    at: datetime


@dataclass(frozen=True)
class SetSegmentTimers:
    key: str
    due: Mapping[str, datetime]
    clear: frozenset[str]


@dataclass(frozen=True)
class SaveInstances:
    instances: Sequence[Instance]


@dataclass(frozen=True)
class CountSteps:
    """Add to the numbers per journey, version and step: (journey, version, step, metric)."""

    counts: Mapping[tuple[str, int, str, str], int]


@dataclass(frozen=True)
class EnqueueWebhooks:
    calls: Sequence[WebhookCall]


@dataclass(frozen=True)
class TargetBroadcast:
    """The broadcast's recipients, chosen when its time came."""

    broadcast_id: int
    recipients: Sequence[Recipient]


@dataclass(frozen=True)
class DelayRecipients:
    recipients: Sequence[Recipient]  # each with the time to look at it again


@dataclass(frozen=True)
class RecordOutcomes:
    """What happened to each broadcast recipient (sent, capped, suppressed ...)."""

    outcomes: Sequence[tuple[Recipient, str]]


@dataclass(frozen=True)
class EnqueueEmails:
    items: Sequence[OutboxItem]


@dataclass(frozen=True)
class EmitEvents:
    """System events into the log (segment_entered, journey_step, email_sent ...)."""

    events: Sequence[Event]


@dataclass(frozen=True)
class MarkSent:
    outbox_id: int
    at: datetime


@dataclass(frozen=True)
class MarkRetry:
    outbox_id: int
    next_at: datetime
    error: str


@dataclass(frozen=True)
class MarkFailed:
    outbox_id: int
    error: str


@dataclass(frozen=True)
class Defer:
    """A claimed email back to the queue, due at `until`, no attempt counted."""

    outbox_id: int
    until: datetime


@dataclass(frozen=True)
class Suppress:
    address: str
    profile_id: str | None
    reason: str
    at: datetime


Effect = (
    MergeProfiles
    | LinkIdentities
    | SaveProfiles
    | RecordEvents
    | UpsertProducts
    | EnterSegment
    | ExitSegment
    | SetSegmentTimers
    | SaveInstances
    | CountSteps
    | EnqueueWebhooks
    | TargetBroadcast
    | DelayRecipients
    | RecordOutcomes
    | EnqueueEmails
    | EmitEvents
    | MarkSent
    | MarkRetry
    | MarkFailed
    | Suppress
    | Defer
)
