"""Events Pertinent writes about a person: email_sent, segment_entered, journey_step ...

They go into the same log as everything else, addressed the way a client would address the
person, so identity resolution files them under the right profile even after a merge.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pertinent.events.model import Event

_ANON_PREFIX = "anon:"


def system_event(name: str, profile_id: str, properties: dict[str, Any], at: datetime) -> Event:
    """A track event about `profile_id`, timestamped `at`."""
    anonymous = profile_id.startswith(_ANON_PREFIX)
    return Event(
        message_id=str(uuid.uuid4()),
        type="track",
        name=name,
        timestamp=at,
        received_at=at,
        properties=properties,
        context={"library": {"name": "pertinent"}},
        user_id=None if anonymous else profile_id,
        anonymous_id=profile_id[len(_ANON_PREFIX) :] if anonymous else None,
    )
