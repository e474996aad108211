"""Phase 5, send: due outbox rows to the transport, and what happened back into the log.

Runs in the sender process, so a slow or hung SMTP server delays sending and nothing else.
A round claims the due rows and sends them concurrently, as many at once as the transport
has connections. Each row is built, signed, sent and judged on its own: one email that
cannot be built (an address that is not one, a subject with a line break) is marked failed
with the reason and the others go on; one over its domain's rate limit goes back to the
queue for later without counting an attempt.

Outcomes are committed as they come, in group commits: while one commit runs, the outcomes
that arrive gather for the next. A row is marked sent in the same transaction that logs its
`email_sent`; the window left open is between the server accepting a message and that
commit: a crash there re-sends on restart, with the same Message-ID, which receiving systems
use to drop duplicates. At the pace of a shop's sign-ups that is one message at most; at
full speed, the messages accepted during one commit.

A sender claims rows under its own name (stable across restarts: the supervisor gives each
sender a slot), so a restarted sender takes back its unfinished rows at once; the lease only
covers a sender that died and did not come back.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from pertinent.clock import Clock
from pertinent.content.render import RenderedEmail
from pertinent.delivery.address import AddressError, normalize_address, stored_recipient
from pertinent.delivery.dkim import DkimSigner
from pertinent.delivery.feedback import email_facts
from pertinent.delivery.message import Envelope, HeaderError, Originator, message_bytes
from pertinent.delivery.outbox import (
    MAX_ATTEMPTS,
    SEND_LEASE,
    OutboxItem,
    PendingEmail,
    backoff,
)
from pertinent.delivery.ratelimit import DomainLimits
from pertinent.delivery.smtp import DeliveryError
from pertinent.errors import InputError
from pertinent.events.system import system_event
from pertinent.privacy.consent import ConsentPolicy, by_person
from pertinent.privacy.settings import ConsentSettings
from pertinent.processor.apply import apply
from pertinent.processor.compose import blocked
from pertinent.processor.effects import (
    Defer,
    Effect,
    EmitEvents,
    MarkFailed,
    MarkRetry,
    MarkSent,
    Suppress,
)
from pertinent.storage.ports import Storage


class Transport(Protocol):
    async def send(self, envelope: Envelope) -> None:
        """Deliver, or raise `DeliveryError` saying what kind of failure it was."""
        ...

    async def close(self) -> None:
        """Let go of open connections (politely, where the server still listens)."""
        ...


@dataclass(frozen=True)
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0

    def __bool__(self) -> bool:
        return self.sent + self.retried + self.failed + self.deferred > 0


@dataclass(frozen=True)
class Outgoing:
    """How this workspace's emails go out: From and return path, DKIM, per-domain limits."""

    originator: Originator
    dkim: DkimSigner | None = None
    rate_limits: dict[str, float] = field(default_factory=dict)


def sent(pending: PendingEmail, now: datetime) -> list[Effect]:
    item = pending.item
    return [
        MarkSent(pending.id, now),
        EmitEvents([system_event("email_sent", item.profile_id, email_facts(item), now)]),
    ]


def not_sent(
    pending: PendingEmail, error: DeliveryError, now: datetime, retry_base: timedelta
) -> list[Effect]:
    """A retry while the error is temporary and attempts remain; otherwise failed, with an
    `email_bounced` event: `hard` when the receiving side refused the recipient or the
    message (5xx at RCPT or DATA), which also suppresses the address; `soft` otherwise."""
    if error.retryable and pending.attempts + 1 < MAX_ATTEMPTS:
        return [MarkRetry(pending.id, now + backoff(pending.attempts + 1, retry_base), str(error))]
    item = pending.item
    hard = error.kind == "recipient"
    facts = {**email_facts(item), "bounce": "hard" if hard else "soft", "reason": str(error)}
    effects: list[Effect] = [
        MarkFailed(pending.id, str(error)),
        EmitEvents([system_event("email_bounced", item.profile_id, facts, now)]),
    ]
    if hard:
        effects.append(Suppress(item.to_address, item.profile_id, "bounced", now))
    return effects


def _kind(effects: Sequence[Effect]) -> str:
    match effects[0]:
        case MarkSent():
            return "sent"
        case MarkRetry():
            return "retried"
        case Defer():
            return "deferred"
        case _:
            return "failed"


class _GroupCommit:
    """Outcomes committed in the order they come; those arriving during a commit go in the
    next one, so a fast round needs few transactions and a slow one waits for none."""

    def __init__(self, record: Callable[[Sequence[Effect]], None]):
        self._record = record
        self._queue: list[Effect] = []
        self._flushing: asyncio.Task[None] | None = None
        self.counts: Counter[str] = Counter()

    def add(self, effects: Sequence[Effect]) -> None:
        self.counts[_kind(effects)] += 1
        self._queue.extend(effects)
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                await asyncio.to_thread(self._record, batch)
        finally:
            self._flushing = None

    async def drain(self) -> None:
        while (flushing := self._flushing) is not None:
            await flushing


class Sender:
    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        transport: Transport,
        outgoing: Outgoing,
        *,
        owner: str = "sender",
        retry_base: timedelta = timedelta(seconds=30),
        lease: timedelta = SEND_LEASE,
        consent: ConsentPolicy | None = None,
    ):
        self._storage = storage
        self._clock = clock
        self._transport = transport
        self._outgoing = outgoing
        self._limits = DomainLimits(outgoing.rate_limits)
        self.owner = owner
        self._retry_base = retry_base
        self._lease = lease
        self._consent = consent or ConsentPolicy(ConsentSettings())

    async def close(self) -> None:
        await self._transport.close()

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

    async def send_due(self, limit: int = 200) -> SendReport:
        """Deliver what is due now; outcomes commit as they come."""
        due, suppressed, refused = await asyncio.to_thread(self._claim, limit)
        if not due:
            return SendReport()
        commits = _GroupCommit(self._record)

        async def one(pending: PendingEmail) -> None:
            if pending.id in refused:
                commits.add([MarkFailed(pending.id, f"not sent: {refused[pending.id]}")])
                return
            commits.add(await self._deliver(pending, suppressed))

        await asyncio.gather(*(one(pending) for pending in due))
        await commits.drain()
        return SendReport(**commits.counts)

    def _envelope(
        self, address: str, message_id: str, now: datetime, content: RenderedEmail | OutboxItem
    ) -> Envelope:
        """The email as it goes on the wire, unsigned; `HeaderError` if a header cannot go."""
        originator = self._outgoing.originator
        data = message_bytes(
            originator,
            to_address=address,
            subject=content.subject,
            text=content.text,
            html=content.html,
            message_id=message_id,
            unsubscribe_url=content.unsubscribe_url,
            sent_at=now,
        )
        return Envelope(originator.return_path(message_id), address, data)

    def _signed(self, envelope: Envelope, now: datetime) -> Envelope:
        dkim = self._outgoing.dkim
        return envelope if dkim is None else replace(envelope, data=dkim.sign(envelope.data, now))

    async def send_now(self, rendered: RenderedEmail, to_address: str, message_id: str) -> None:
        """Deliver one email at once, outside the outbox (a test send): built, signed and
        sent like every other, nothing recorded. Raises InputError for an address that is
        not one or a header that cannot go, DeliveryError when the server refuses."""
        try:
            address = normalize_address(to_address)
        except AddressError as exc:
            raise InputError(exc.message, where="to") from None
        now = self._clock.now()
        envelope = self._envelope(address, message_id, now, rendered)
        await self._transport.send(self._signed(envelope, now))

    async def _deliver(self, pending: PendingEmail, suppressed: dict[str, str]) -> list[Effect]:
        now = self._clock.now()
        category = str(pending.item.meta.get("category", "marketing"))
        if blocked(category, suppressed.get(pending.item.to_address)):
            return [MarkFailed(pending.id, "suppressed before sending")]
        item = pending.item
        try:
            # Checked again here: a row may come from somewhere other than compose (old data).
            envelope = self._envelope(stored_recipient(item.to_address), item.message_id, now, item)
        except AddressError as exc:
            return [MarkFailed(pending.id, f"bad address: {exc}")]
        except HeaderError as exc:
            return [MarkFailed(pending.id, f"cannot build the message: {exc}")]
        retry_at = self._limits.admit(envelope.rcpt_to.rpartition("@")[2], now)
        if retry_at is not None:
            return [Defer(pending.id, retry_at)]
        try:
            await self._transport.send(self._signed(envelope, now))
        except DeliveryError as exc:
            return not_sent(pending, exc, self._clock.now(), self._retry_base)
        return sent(pending, self._clock.now())
