"""The outbox: rendered emails waiting to be delivered.

A journey's send step writes its row in the same transaction as the step itself, keyed by an
idempotency key (instance, step), so the row exists once or not at all. The sender delivers
rows and marks them; retries back off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

MAX_ATTEMPTS = 6
# How long a sender owns a claimed row; a dead sender's rows are retried after it.
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


@dataclass(frozen=True)
class PendingEmail:
    id: int
    attempts: int
    item: OutboxItem


class Outbox(Protocol):
    def enqueue(self, item: OutboxItem) -> bool:
        """Add the email unless its idempotency key is already there; True if added."""
        ...

    def claim(self, now: datetime, lease: timedelta, limit: int) -> list[PendingEmail]:
        """Take due rows for sending; nobody else gets them until `lease` has passed."""
        ...

    def mark_sent(self, outbox_id: int, at: datetime) -> None: ...

    def mark_retry(self, outbox_id: int, next_at: datetime, error: str) -> None: ...

    def mark_failed(self, outbox_id: int, error: str) -> None: ...

    def get(self, message_id: str) -> tuple[OutboxItem, str] | None:
        """The email with this Message-ID and its status (None if there is none, or its
        recipient was erased)."""
        ...


def backoff(attempts: int) -> timedelta:
    """How long to wait before the next try: 30 s, 1 min, 2 min ... capped at one hour."""
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), timedelta(hours=1))
