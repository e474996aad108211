"""Phase 5, send: due outbox rows to the transport, and what happened back into the log.

Runs in the sender process, so a slow or hung SMTP server delays sending and nothing else.
Each row is built, sent and recorded on its own: one email that cannot be built (an address
with CR/LF, a header the email library refuses) is marked failed with the reason and the
others claimed with it go on. A row is marked sent in the same transaction that logs its
`email_sent`; the one window left open is between the server accepting the message and that
commit: a crash exactly there re-sends on restart, with the same Message-ID, which receiving
systems use to drop duplicates.

A sender claims rows under its own name (stable across restarts: the supervisor gives each
sender a slot), so a restarted sender takes back its unfinished rows at once; the lease only
covers a sender that died and did not come back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from pertinent.clock import Clock
from pertinent.content.render import RenderedEmail
from pertinent.delivery.address import address_problem
from pertinent.delivery.message import build_message
from pertinent.delivery.outbox import MAX_ATTEMPTS, SEND_LEASE, PendingEmail, backoff
from pertinent.delivery.smtp import DeliveryError
from pertinent.events.system import system_event
from pertinent.privacy.consent import ConsentPolicy, by_person
from pertinent.privacy.settings import ConsentSettings
from pertinent.processor.apply import apply
from pertinent.processor.compose import blocked
from pertinent.processor.effects import (
    Effect,
    EmitEvents,
    MarkFailed,
    MarkRetry,
    MarkSent,
    Suppress,
)
from pertinent.storage.ports import Storage


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def __bool__(self) -> bool:
        return self.sent + self.retried + self.failed > 0


def _facts(pending: PendingEmail) -> dict[str, object]:
    item = pending.item
    return {
        "message_id": item.message_id,
        "template": item.template,
        "journey": item.journey_key,
        **item.meta,
    }


def sent(pending: PendingEmail, now: datetime) -> list[Effect]:
    item = pending.item
    return [
        MarkSent(pending.id, now),
        EmitEvents([system_event("email_sent", item.profile_id, dict(_facts(pending)), now)]),
    ]


def not_sent(
    pending: PendingEmail, error: DeliveryError, now: datetime, retry_base: timedelta
) -> list[Effect]:
    """A retry while the error is temporary and attempts remain; otherwise failed, with an
    `email_bounced` event, and a permanent refusal suppresses the address."""
    if error.retryable and pending.attempts + 1 < MAX_ATTEMPTS:
        return [MarkRetry(pending.id, now + backoff(pending.attempts + 1, retry_base), str(error))]
    item = pending.item
    effects: list[Effect] = [
        MarkFailed(pending.id, str(error)),
        EmitEvents(
            [
                system_event(
                    "email_bounced",
                    item.profile_id,
                    {**_facts(pending), "reason": str(error), "permanent": not error.retryable},
                    now,
                )
            ]
        ),
    ]
    if not error.retryable:
        effects.append(Suppress(item.to_address, item.profile_id, "bounced", now))
    return effects


def message_for(pending: PendingEmail, from_addr: str, now: datetime) -> EmailMessage:
    item = pending.item
    return build_message(
        RenderedEmail(
            subject=item.subject,
            preheader="",
            html=item.html,
            text=item.text,
            links=(),
            tracked_links=(),
        ),
        from_addr=from_addr,
        to_addr=item.to_address,
        message_id=item.message_id,
        unsubscribe_url=item.unsubscribe_url,
        sent_at=now,
    )


class Sender:
    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        transport: Transport,
        from_addr: str,
        *,
        owner: str = "sender",
        retry_base: timedelta = timedelta(seconds=30),
        lease: timedelta = SEND_LEASE,
        consent: ConsentPolicy | None = None,
    ):
        self._storage = storage
        self._clock = clock
        self._transport = transport
        self._from = from_addr
        self.owner = owner
        self._retry_base = retry_base
        self._lease = lease
        self._consent = consent or ConsentPolicy(ConsentSettings())

    def take_back(self) -> int:
        """Make this sender's unfinished rows (from before a restart) due at once."""
        with self._storage.transaction() as tx:
            return tx.outbox.release(self.owner, self._clock.now())

    def _claim(self, limit: int) -> tuple[list[PendingEmail], dict[str, str], dict[int, str]]:
        """Due rows, why each of their addresses is suppressed now (if it is), and the rows
        whose person left the email's topic since it was written (by row id, why)."""
        # A look in a snapshot first: an idle poll must not take SQLite's one writer.
        with self._storage.snapshot() as tx:
            first = tx.outbox.next_due()
        if first is None or first > self._clock.now():
            return [], {}, {}
        with self._storage.transaction() as tx:
            due = tx.outbox.claim(self._clock.now(), self._lease, limit, self.owner)
            suppressed = tx.suppressions.reasons({p.item.to_address for p in due})
            topical = [p for p in due if p.item.meta.get("topic")]
            history = by_person(tx.consent.history({p.item.profile_id for p in topical}))
        refused = {
            p.id: reason
            for p in topical
            if (
                reason := self._consent.refusal(
                    p.item.meta["topic"], history.get(p.item.profile_id, [])
                )
            )
        }
        return due, suppressed, refused

    def _record(self, effects: Sequence[Effect]) -> None:
        with self._storage.transaction() as tx:
            tx.log.append(apply(tx, effects))

    async def send_due(self, limit: int = 100) -> SendReport:
        """Deliver what is due now; each outcome commits on its own."""
        due, suppressed, refused = await asyncio.to_thread(self._claim, limit)
        counts = {"sent": 0, "retried": 0, "failed": 0}
        for pending in due:
            effects = (
                [MarkFailed(pending.id, f"not sent: {refused[pending.id]}")]
                if pending.id in refused
                else await self._deliver(pending, suppressed)
            )
            kind = (
                "sent"
                if isinstance(effects[0], MarkSent)
                else "retried"
                if isinstance(effects[0], MarkRetry)
                else "failed"
            )
            counts[kind] += 1
            await asyncio.to_thread(self._record, effects)
        return SendReport(**counts)

    async def _deliver(self, pending: PendingEmail, suppressed: dict[str, str]) -> list[Effect]:
        now = self._clock.now()
        category = str(pending.item.meta.get("category", "marketing"))
        if blocked(category, suppressed.get(pending.item.to_address)):
            return [MarkFailed(pending.id, "suppressed before sending")]
        # Checked again here: a row may come from somewhere other than compose (old data).
        if (problem := address_problem(pending.item.to_address)) is not None:
            return [MarkFailed(pending.id, f"bad address: {problem}")]
        try:
            message = message_for(pending, self._from, now)
        except (ValueError, TypeError) as exc:
            # The email library refuses the header (CR/LF, a malformed address ...).
            return [MarkFailed(pending.id, f"cannot build the message: {exc}")]
        try:
            await self._transport.send(message)
        except DeliveryError as exc:
            return not_sent(pending, exc, self._clock.now(), self._retry_base)
        return sent(pending, self._clock.now())
