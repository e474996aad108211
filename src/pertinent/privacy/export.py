"""A person's export: everything Pertinent holds on them, as one JSON document.

Read in one snapshot (`ReadModel.person`): the profile and its identities, every log event of
theirs (the same events an erasure would delete, processed or not), segment memberships as
history, journeys, every email with its content, consent as history and as it stands, the
addresses of theirs on the suppression list, and the catalogue rows their events described.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pertinent.errors import NotFoundError
from pertinent.privacy.consent import EVERY_TOPIC, ConsentPolicy
from pertinent.profiles.computed import with_recency
from pertinent.storage.ports import PersonRecord, Storage


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_person(
    storage: Storage, policy: ConsentPolicy, user_id: str, now: datetime
) -> dict[str, Any]:
    """Everything held on the person known by `user_id` (a user or anonymous id)."""
    pid = storage.reads.find(user_id)
    record = storage.reads.person(pid) if pid is not None else None
    if record is None:
        raise NotFoundError(f"no profile for {user_id!r}", where="user_id")
    return {"exported_at": now.isoformat(), **_document(record, policy, now)}


def _document(record: PersonRecord, policy: ConsentPolicy, now: datetime) -> dict[str, Any]:
    state = record.profile.state
    return {
        "profile": {
            "profile_id": state.profile_id,
            "identities": [{"kind": k, "id": v} for k, v in record.profile.identities],
            "traits": state.traits,
            "computed": with_recency(state.computed, now),
            "first_seen": _at(state.first_seen),
            "last_seen": _at(state.last_seen),
            "segments": record.profile.segments,
        },
        "events": [
            {
                "seq": logged.seq,
                "type": logged.event.type,
                "name": logged.event.name,
                "timestamp": _at(logged.event.timestamp),
                "received_at": _at(logged.event.received_at),
                "user_id": logged.event.user_id,
                "anonymous_id": logged.event.anonymous_id,
                "properties": logged.event.properties,
                "traits": logged.event.traits,
                "context": logged.event.context,
            }
            for logged in record.events
        ],
        "segment_memberships": [
            {"segment": key, "entered_at": _at(entered), "exited_at": _at(exited)}
            for key, entered, exited in record.memberships
        ],
        "journeys": [
            {
                "journey": j.journey_key,
                "status": j.status,
                "step": j.step,
                "started_at": _at(j.started_at),
                "ended_at": _at(j.ended_at),
            }
            for j in record.journeys
        ],
        "emails": [
            {
                "message_id": e.item.message_id,
                "template": e.item.template,
                "journey": e.item.journey_key,
                "to": e.item.to_address,
                "subject": e.item.subject,
                "html": e.item.html,
                "text": e.item.text,
                "status": e.status,
                "created_at": _at(e.item.created_at),
                "sent_at": _at(e.sent_at),
            }
            for e in record.emails
        ],
        "consent": {
            "topics": policy.statuses(record.consent),
            "unsubscribed_from_everything": policy.status(record.consent, EVERY_TOPIC)
            == "opted_out",
            "history": [
                {
                    "topic": c.topic,
                    "status": c.status,
                    "at": _at(c.at),
                    "source": c.source,
                    "address": c.address,
                }
                for c in record.consent
            ],
        },
        "suppressed_addresses": record.suppressed,
        "catalogue_rows_described": record.described,
    }
