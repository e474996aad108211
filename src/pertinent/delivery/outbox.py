"""The outbox: rendered emails waiting to be delivered.

A send step writes its row in the same transaction as the step itself, keyed by an
idempotency key (instance, step), so the row exists once or not at all. An email that cannot
be built (a broken template, an address that is not one) is written as failed, with its
reason, so it is visible and holds nobody up. The sender delivers the rest and marks them;
retries back off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

MAX_ATTEMPTS = 6
# How long a sender owns a claimed row; the rows of a sender that died are retried after it.
SEND_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class OutboxItem:
    idempotency_key: str
    message_id: str
    profile_id: str
    template: str
    to_address: str
    subject: str
    html: str
    text: str
    unsubscribe_url: str
    created_at: datetime
    journey_key: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # Set when the email could not be built: the row is stored as failed with this reason.
    error: str | None = None


@dataclass(frozen=True)
class PendingEmail:
    id: int
    attempts: int
    item: OutboxItem


def backoff(attempts: int, base: timedelta = timedelta(seconds=30)) -> timedelta:
    """How long to wait before the next try: base, 2 x base, 4 x base ... capped at an hour."""
    later: timedelta = base * 2 ** max(attempts - 1, 0)
    return min(later, timedelta(hours=1))
