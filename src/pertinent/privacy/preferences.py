"""Changing what a person gets: the preference centre, one-click unsubscribe, the confirmation
of a sign-up, and the admin API.

Links in an email name the email (its Message-ID); the email's outbox row names who got it
and at which address, so whoever holds the email acts for its recipient, and an erased
person's old email changes nothing. Every change is written with the history and logged
(`consent_changed`; `unsubscribed` as well when someone leaves), in one transaction.

Leaving everything also suppresses the address, which outlives an erasure (docs/decisions.md);
coming back through the person's own link or a confirmed sign-up lifts that suppression,
never one for a bounce or a complaint.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pertinent.events.model import Event
from pertinent.events.system import system_event
from pertinent.privacy.consent import (
    EVERY_TOPIC,
    ConsentChange,
    ConsentPolicy,
    ConsentSource,
    ConsentStatus,
    changes_to,
    ends_everything_off,
)
from pertinent.storage.ports import Storage, Transaction

UNSUBSCRIBED = "unsubscribed"  # the suppression reason an unsubscribe from everything writes


@dataclass(frozen=True)
class Preferences:
    """What the preference centre shows: the address, each topic's status, whether the
    person left everything, and the email's own topic."""

    address: str
    statuses: dict[str, ConsentStatus]
    everything_off: bool
    topic: str | None


@dataclass(frozen=True)
class _Recipient:
    profile_id: str
    address: str
    topic: str | None
    history: list[ConsentChange]


def _recipient(tx: Transaction, message_id: str) -> _Recipient | None:
    found = tx.outbox.get(message_id)
    if found is None:
        return None
    item = found[0]
    topic = item.meta.get("topic")
    return _Recipient(
        item.profile_id,
        item.to_address,
        topic if isinstance(topic, str) else None,
        tx.consent.history([item.profile_id]),
    )


def consent_events(changes: list[ConsentChange], message_id: str | None) -> list[Event]:
    facts: dict[str, Any] = {"message_id": message_id} if message_id else {}
    return [
        system_event(
            "consent_changed",
            c.profile_id,
            {**facts, "topic": c.topic, "status": c.status, "source": c.source},
            c.at,
        )
        for c in changes
    ]


def record_changes(
    tx: Transaction, changes: list[ConsentChange], events: list[Event], address: str | None
) -> None:
    """Record the changes and log the events; a person coming back from "everything off"
    has `address`'s unsubscribe suppression lifted with it."""
    tx.consent.record(changes)
    if address is not None and ends_everything_off(changes):
        tx.suppressions.lift(address, UNSUBSCRIBED)
    if events:
        tx.log.append(events)


def preferences(storage: Storage, policy: ConsentPolicy, message_id: str) -> Preferences | None:
    """The preference centre of the email's recipient (None: unknown email, or erased)."""
    with storage.snapshot() as tx:
        found = _recipient(tx, message_id)
        if found is None:
            return None
        suppressed = bool(tx.suppressions.suppressed([found.address]))
    return Preferences(
        address=found.address,
        statuses=policy.statuses(found.history),
        everything_off=suppressed or policy.status(found.history, EVERY_TOPIC) == "opted_out",
        topic=found.topic,
    )


def pending_topics(
    storage: Storage, policy: ConsentPolicy, message_id: str
) -> tuple[str, list[str]] | None:
    """The address the email went to and the topics waiting for its confirmation (None:
    unknown email)."""
    with storage.snapshot() as tx:
        found = _recipient(tx, message_id)
    if found is None:
        return None
    return found.address, policy.pending(found.history, found.address)


def save_preferences(
    storage: Storage,
    policy: ConsentPolicy,
    message_id: str,
    opted_in: Collection[str],
    now: datetime,
) -> bool:
    """The topics in `opted_in` on, every other topic off, as the person ticked them. Any
    topic on also ends an unsubscribe from everything. False if the email is unknown."""
    wanted: dict[str, ConsentStatus] = {
        topic: "opted_in" if topic in opted_in else "opted_out" for topic in policy.topics
    }
    with storage.transaction() as tx:
        found = _recipient(tx, message_id)
        if found is None:
            return False
        changes = changes_to(
            policy, found.profile_id, found.history, wanted, "preference_centre", now
        )
        record_changes(tx, changes, consent_events(changes, message_id), found.address)
    return True


def unsubscribe(
    storage: Storage,
    policy: ConsentPolicy,
    message_id: str,
    now: datetime,
    *,
    everything: bool,
    source: ConsentSource = "one_click",
) -> str | None:
    """Leave the email's topic, or everything (an email without a topic leaves everything);
    return the topic left (EVERY_TOPIC for everything), None if the email is unknown.

    Leaving everything suppresses the address the email went to, whatever the profile's
    email trait says now, and opts out of every topic."""
    with storage.transaction() as tx:
        found = _recipient(tx, message_id)
        if found is None:
            return None
        left = EVERY_TOPIC if everything or found.topic is None else found.topic
        if left == EVERY_TOPIC:
            tx.suppressions.add(found.address, found.profile_id, UNSUBSCRIBED, now)
        changes = changes_to(
            policy, found.profile_id, found.history, {left: "opted_out"}, source, now
        )
        event = system_event(
            "unsubscribed",
            found.profile_id,
            {"message_id": message_id, "email": found.address, "topic": left},
            now,
        )
        record_changes(tx, changes, [*consent_events(changes, message_id), event], None)
    return left


def confirm(storage: Storage, policy: ConsentPolicy, message_id: str, now: datetime) -> list[str]:
    """Confirm the opt-ins waiting for the address this email went to (double opt-in: the
    click proves the address is the person's); return the topics confirmed."""
    with storage.transaction() as tx:
        found = _recipient(tx, message_id)
        if found is None:
            return []
        topics = policy.pending(found.history, found.address)
        wanted: dict[str, ConsentStatus] = dict.fromkeys(topics, "opted_in")
        changes = changes_to(policy, found.profile_id, found.history, wanted, "confirmation", now)
        record_changes(tx, changes, consent_events(changes, message_id), found.address)
    return topics


def set_consent(
    storage: Storage,
    policy: ConsentPolicy,
    profile_id: str,
    wanted: Mapping[str, ConsentStatus],
    source: ConsentSource,
    now: datetime,
) -> list[ConsentChange]:
    """Set the person's choices as the shop recorded them elsewhere (the admin API, an
    import); return the changes made. Bringing them back from "everything off" lifts the
    unsubscribe of the address they have now."""
    with storage.transaction() as tx:
        history = tx.consent.history([profile_id])
        changes = changes_to(policy, profile_id, history, wanted, source, now)
        state = tx.profiles.load([profile_id]).get(profile_id)
        address = state.traits.get("email") if state is not None else None
        record_changes(
            tx,
            changes,
            consent_events(changes, None),
            address if isinstance(address, str) else None,
        )
    return changes
