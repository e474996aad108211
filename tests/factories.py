"""Small builders for events in tests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pertinent.events.model import Event


def track(
    name: str,
    at: datetime,
    *,
    user: str | None = None,
    anon: str | None = None,
    message_id: str | None = None,
    **props: Any,
) -> Event:
    return Event(
        message_id=message_id or uuid.uuid4().hex,
        type="track",
        name=name,
        timestamp=at,
        received_at=at,
        user_id=user,
        anonymous_id=anon,
        properties=props,
    )


def identify(
    at: datetime,
    *,
    user: str | None = None,
    anon: str | None = None,
    message_id: str | None = None,
    **traits: Any,
) -> Event:
    return Event(
        message_id=message_id or uuid.uuid4().hex,
        type="identify",
        timestamp=at,
        received_at=at,
        user_id=user,
        anonymous_id=anon,
        traits=traits,
    )


def alias(at: datetime, *, previous: str, user: str, message_id: str | None = None) -> Event:
    return Event(
        message_id=message_id or uuid.uuid4().hex,
        type="alias",
        timestamp=at,
        received_at=at,
        user_id=user,
        previous_id=previous,
    )
