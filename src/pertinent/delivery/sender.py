"""The sender: delivers due outbox rows and writes what happened back into the log.

A row is marked sent in the same transaction that logs its `email_sent`. The one window left
open is between the SMTP server accepting the message and that commit: a crash exactly there
re-sends on restart with the same Message-ID, which receiving systems use to drop duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from pertinent.clock import Clock
from pertinent.content.render import RenderedEmail
from pertinent.delivery.message import build_message
from pertinent.delivery.outbox import MAX_ATTEMPTS, SEND_LEASE, PendingEmail, backoff
from pertinent.delivery.smtp import DeliveryError
from pertinent.events.system import system_event
from pertinent.storage.ports import Storage


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SendReport:
    sent: int
    retried: int
    failed: int


class Sender:
    def __init__(self, storage: Storage, clock: Clock, transport: Transport, from_addr: str):
        self._storage = storage
        self._clock = clock
        self._transport = transport
        self._from = from_addr

    async def send_due(self, limit: int = 100) -> SendReport:
        """Deliver what is due now; each outcome commits on its own."""
        with self._storage.transaction() as tx:
            due = tx.outbox.claim(self._clock.now(), SEND_LEASE, limit)
        sent = retried = failed = 0
        for pending in due:
            outcome = await self._deliver(pending)
            sent += outcome == "sent"
            retried += outcome == "retry"
            failed += outcome == "failed"
        return SendReport(sent, retried, failed)

    async def _deliver(self, pending: PendingEmail) -> str:
        item = pending.item
        with self._storage.snapshot() as tx:
            suppressed = tx.suppressions.is_suppressed(item.to_address)
        if suppressed:
            with self._storage.transaction() as tx:
                tx.outbox.mark_failed(pending.id, "suppressed before sending")
            return "failed"
        message = build_message(
            RenderedEmail(
                subject=item.subject,
                preheader="",
                html=item.html,
                text=item.text,
                links=(),
                tracked_links=(),
            ),
            from_addr=self._from,
            to_addr=item.to_address,
            message_id=item.message_id,
            unsubscribe_url=item.unsubscribe_url,
            sent_at=self._clock.now(),
        )
        try:
            await self._transport.send(message)
        except DeliveryError as exc:
            return self._failed(pending, exc)
        now = self._clock.now()
        with self._storage.transaction() as tx:
            tx.outbox.mark_sent(pending.id, now)
            tx.log.append(
                [
                    system_event(
                        "email_sent",
                        item.profile_id,
                        {
                            "message_id": item.message_id,
                            "template": item.template,
                            "journey": item.journey_key,
                            **item.meta,
                        },
                        now,
                    )
                ]
            )
        return "sent"

    def _failed(self, pending: PendingEmail, exc: DeliveryError) -> str:
        item = pending.item
        now = self._clock.now()
        with self._storage.transaction() as tx:
            if exc.retryable and pending.attempts + 1 < MAX_ATTEMPTS:
                tx.outbox.mark_retry(pending.id, now + backoff(pending.attempts + 1), str(exc))
                return "retry"
            tx.outbox.mark_failed(pending.id, str(exc))
            tx.log.append(
                [
                    system_event(
                        "email_bounced",
                        item.profile_id,
                        {
                            "message_id": item.message_id,
                            "template": item.template,
                            "journey": item.journey_key,
                            "reason": str(exc),
                            "permanent": not exc.retryable,
                        },
                        now,
                    )
                ]
            )
            if not exc.retryable:
                tx.suppressions.add(item.to_address, item.profile_id, "bounced", now)
        return "failed"
