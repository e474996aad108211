"""Events Pertinent writes about a person: email_sent, segment_entered, journey_step ...

They go into the same log as everything else, addressed the way a client would address the
person, so identity resolution files them under the right profile even after a merge.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from pertinent.events.model import Event

_ANON_PREFIX = "anon:"

# The names of the events Pertinent writes. Only Pertinent writes them: experiment metrics,
# engagement and journeys trust them, so ingestion rejects a client's event of one of these
# names (the write key ships in browser JavaScript). A new system event is added here.
SYSTEM_EVENTS = frozenset(
    {
        "email_sent",
        "email_opened",
        "email_clicked",
        "email_bounced",
        "email_complained",
        "unsubscribed",
        "consent_changed",
        "consent_requested",
        "segment_entered",
        "segment_exited",
        "journey_step",
    }
)


def system_event(
    name: str,
    profile_id: str,
    properties: dict[str, Any],
    at: datetime,
    *,
    cause: str | None = None,
) -> Event:
    """A track event about `profile_id`, timestamped `at`.

    An engine names the `cause` (what made it happen, unique to this event), and the message
    id is derived from it, so a replayed decision emits the same event and the log's dedupe
    drops the copy; an edge (a click, a delivery) without one gets a random id.
    """
    if name not in SYSTEM_EVENTS:
        raise ValueError(f"{name!r} is not in SYSTEM_EVENTS; add it there")
    anonymous = profile_id.startswith(_ANON_PREFIX)
    message_id = (
        hashlib.blake2b(f"{name}\x1f{profile_id}\x1f{cause}".encode(), digest_size=16).hexdigest()
        if cause is not None
        else str(uuid.uuid4())
    )
    return Event(
        message_id=message_id,
        type="track",
        name=name,
        timestamp=at,
        received_at=at,
        properties=properties,
        context={"library": {"name": "pertinent"}},
        user_id=None if anonymous else profile_id,
        anonymous_id=profile_id[len(_ANON_PREFIX) :] if anonymous else None,
    )
