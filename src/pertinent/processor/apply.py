"""Carrying out effects through the storage ports, in the caller's transaction.

Effects apply in the order given, except the events they emit: those are returned, and the
caller appends all of a transaction's events as its last statement. On PostgreSQL an append
holds the log's order lock until commit; a transaction that went on to write rows after it
could wait for a row lock held by another processor that waits for the order lock: a
deadlock. With the append last, whoever holds the order lock waits for nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import assert_never

from pertinent.events.model import Event
from pertinent.processor.effects import (
    CountSteps,
    Defer,
    DelayRecipients,
    Effect,
    EmitEvents,
    EnqueueEmails,
    EnqueueWebhooks,
    EnterSegment,
    ExitSegment,
    LinkIdentities,
    MarkFailed,
    MarkRetry,
    MarkSent,
    MergeProfiles,
    RecordEvents,
    RecordOutcomes,
    SaveInstances,
    SaveProfiles,
    SetSegmentTimers,
    Suppress,
    TargetBroadcast,
    UpsertProducts,
)
from pertinent.storage.ports import Transaction


def apply(tx: Transaction, effects: Iterable[Effect]) -> list[Event]:
    """Carry out the effects; return the events they emit, for the caller to append last."""
    emitted: list[Event] = []
    for effect in effects:
        match effect:
            case MergeProfiles():
                tx.profiles.merge(effect.loser, effect.winner, effect.loser_version)
            case LinkIdentities():
                tx.profiles.link(effect.links)
            case SaveProfiles():
                tx.profiles.save(effect.states)
            case RecordEvents():
                tx.profiles.record(effect.rows)
            case UpsertProducts():
                tx.products.upsert(effect.products, effect.described_by)
            case EnterSegment():
                tx.segments.enter(effect.key, effect.profile_ids, effect.at)
            case ExitSegment():
                tx.segments.exit(effect.key, effect.profile_ids, effect.at)
            case SetSegmentTimers():
                tx.segments.set_timers(effect.key, effect.due, effect.clear)
            case SaveInstances():
                tx.journeys.save(effect.instances)
            case CountSteps():
                tx.journeys.count(effect.counts)
            case EnqueueWebhooks():
                tx.webhooks.enqueue(effect.calls)
            case TargetBroadcast():
                tx.broadcasts.target(effect.broadcast_id, effect.recipients)
            case DelayRecipients():
                tx.broadcasts.delay(effect.recipients)
            case RecordOutcomes():
                tx.broadcasts.record(effect.outcomes)
            case EnqueueEmails():
                tx.outbox.enqueue(effect.items)
            case EmitEvents():
                emitted.extend(effect.events)
            case MarkSent():
                tx.outbox.mark_sent(effect.outbox_id, effect.at)
            case MarkRetry():
                tx.outbox.mark_retry(effect.outbox_id, effect.next_at, effect.error)
            case MarkFailed():
                tx.outbox.mark_failed(effect.outbox_id, effect.error)
            case Suppress():
                tx.suppressions.add(effect.address, effect.profile_id, effect.reason, effect.at)
            case Defer():
                tx.outbox.defer(effect.outbox_id, effect.until)
            case _:
                assert_never(effect)
    return emitted
