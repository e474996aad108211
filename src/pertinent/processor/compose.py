"""Phase 4, compose: each send request of the journeys phase becomes an outbox row.

The email is rendered for the person as the fold left them (no reload), with the trigger
event and the extra context hooks give (recommendations ...). What cannot be sent is said:
no address, a suppressed address and a marketing email of a topic the person is not opted in
to are skips; a broken template or an address that is not one is an outbox row marked failed
with its reason, so it is visible and holds nobody up. Each request's `journey_step` event
records the outcome, in its place in the timeline, and the outcome is counted at its step.

Suppression depends on the category: a marketing email goes to no suppressed address; a
transactional one (an order confirmation) still goes to an address that unsubscribed from
marketing, but never to one that bounced for good.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pertinent.content.context import ContextBuilder
from pertinent.content.render import Renderer
from pertinent.delivery.address import AddressError, normalize_address
from pertinent.delivery.message import HeaderError, checked
from pertinent.delivery.outbox import OutboxItem
from pertinent.delivery.suppression import HARD_BOUNCE
from pertinent.errors import TemplateError
from pertinent.events.model import Event
from pertinent.events.system import system_event
from pertinent.journeys.broadcasts import Recipient
from pertinent.privacy.consent import ConsentChange, ConsentPolicy
from pertinent.privacy.settings import ConsentSettings
from pertinent.processor.broadcasts import BroadcastSend
from pertinent.processor.effects import (
    CountSteps,
    Effect,
    EmitEvents,
    EnqueueEmails,
    RecordOutcomes,
)
from pertinent.processor.journeys import Counts, SendRequest
from pertinent.profiles.state import ProfileState


def blocked(category: str, reason: str | None) -> bool:
    """Whether a suppression (its reason; None: none) stops an email of this category."""
    if reason is None:
        return False
    # Transactional email stops only where the mailbox does not exist.
    return category != "transactional" or reason == HARD_BOUNCE


Request = SendRequest | BroadcastSend


def _person(request: Request) -> str:
    return request.instance.profile_id if isinstance(request, SendRequest) else request.profile_id


def recipients(requests: Sequence[Event | Request]) -> set[str]:
    """The people the requests send to (to look up their consent)."""
    return {_person(entry) for entry in requests if not isinstance(entry, Event)}


def addresses(
    requests: Sequence[Event | Request], profiles: Mapping[str, ProfileState]
) -> set[str]:
    """The email traits of the people the requests send to (to look up suppressions)."""
    found: set[str] = set()
    for entry in requests:
        if isinstance(entry, Event):
            continue
        state = profiles.get(_person(entry))
        value = state.traits.get("email") if state else None
        try:
            found.add(normalize_address(value))
        except AddressError:
            continue  # composed as a failed email with its reason; nothing to look up
    return found


def _about(request: Request) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """What the template sees of the request (`event`, `journey`/`broadcast`), the meta the
    outbox row keeps, and its journey."""
    if isinstance(request, BroadcastSend):
        broadcast = {"broadcast": {"id": request.recipient.broadcast_id}}
        return broadcast, request.meta, None
    inst = request.instance
    seen = {
        "event": inst.trigger,
        "journey": {"key": inst.journey_key, "step": request.step, "version": inst.version},
    }
    meta = {"step": request.step, "version": inst.version, "category": request.category}
    return seen, meta, inst.journey_key


@dataclass
class Composer:
    renderer: Renderer
    secret: str
    contexts: ContextBuilder = field(default_factory=ContextBuilder)
    consent: ConsentPolicy = field(default_factory=lambda: ConsentPolicy(ConsentSettings()))

    def message_id(self, idempotency_key: str) -> str:
        """The email's id, derived from its idempotency key under the workspace secret: the
        same email always has the same id, and nobody can guess another's."""
        return hashlib.blake2b(
            idempotency_key.encode(), key=self.secret.encode()[:64], digest_size=16
        ).hexdigest()

    def compose(
        self,
        timeline: Sequence[Event | Request],
        profiles: Mapping[str, ProfileState],
        suppressed: Mapping[str, str],
        now: datetime,
        consent: Mapping[str, Sequence[ConsentChange]] | None = None,
        segments: Mapping[str, Collection[str]] | None = None,
    ) -> list[Effect]:
        """`suppressed`: the reason each suppressed address of the timeline's people is;
        `consent`: their consent histories, by person; `segments`: the keys of the segments
        each is in now (`profile.segments`). A journey's send is recorded as a
        `journey_step` event and counted at its step; a broadcast's outcome goes on its
        recipient row."""
        items: list[OutboxItem] = []
        events: list[Event] = []
        counts: Counts = Counter()
        outcomes: list[tuple[Recipient, str]] = []
        for entry in timeline:
            if isinstance(entry, Event):
                events.append(entry)
                continue
            pid = _person(entry)
            history = (consent or {}).get(pid, ())
            member_of = (segments or {}).get(pid, ())
            item, outcome = self._one(entry, profiles.get(pid), suppressed, history, member_of, now)
            if item is not None:
                items.append(item)
            sent = item is not None and item.error is None
            metric = "sent" if sent else "failed" if item is not None else "not sent"
            if isinstance(entry, BroadcastSend):
                outcomes.append((entry.recipient, metric if metric != "not sent" else outcome))
                continue
            inst = entry.instance
            counts[(inst.journey_key, inst.version, entry.step, metric)] += 1
            events.append(
                system_event(
                    "journey_step",
                    inst.profile_id,
                    {
                        "journey": inst.journey_key,
                        "version": inst.version,
                        "step": entry.step,
                        "transition": "send",
                        "template": entry.template,
                        "message_id": item.message_id if item else None,
                        "outcome": outcome,
                    },
                    now,
                    cause=f"{entry.idempotency_key}\x1fsend",
                )
            )
        effects: list[Effect] = [EnqueueEmails(items), EmitEvents(events), CountSteps(counts)]
        if outcomes:
            effects.append(RecordOutcomes(outcomes))
        return effects

    def _one(
        self,
        request: Request,
        state: ProfileState | None,
        suppressed: Mapping[str, str],
        consent: Sequence[ConsentChange],
        segments: Collection[str],
        now: datetime,
    ) -> tuple[OutboxItem | None, str]:
        if state is None:
            return None, "no profile"
        address = state.traits.get("email")
        if address is None or address == "":
            return None, "no email address"
        pid = _person(request)
        message_id = self.message_id(request.idempotency_key)
        seen, meta, journey_key = _about(request)

        def item(**fields: Any) -> OutboxItem:
            content = {"subject": "", "html": "", "text": "", "unsubscribe_url": "", **fields}
            return OutboxItem(
                idempotency_key=request.idempotency_key,
                message_id=message_id,
                profile_id=pid,
                template=request.template,
                to_address=str(address),
                created_at=now,
                journey_key=journey_key,
                **content,
            )

        try:
            # The one form the address is sent, stored and matched against suppressions in.
            address = normalize_address(address)
        except AddressError as exc:
            return item(error=f"bad address: {exc}"), f"bad address: {exc}"
        if blocked(request.category, suppressed.get(address)):
            return None, "suppressed"
        try:
            settings = self.renderer.library.get(request.template).settings
        except TemplateError as exc:
            return item(error=f"template error: {exc}"), f"template error: {exc}"
        if settings.category == "marketing" and (
            refusal := self.consent.refusal(settings.topic, consent)
        ):
            return None, refusal
        if settings.category == "marketing" and settings.topic is not None:
            meta["topic"] = settings.topic  # the sender checks it again; one click leaves it
        context = self.contexts.build(state, now, segments=segments, about=seen)
        try:
            rendered = self.renderer.render(
                request.template, context, message_id=message_id, now=now
            )
        except TemplateError as exc:
            return item(error=f"template error: {exc}"), f"template error: {exc}"
        try:
            checked("Subject", rendered.subject)
        except HeaderError as exc:
            return item(error=f"bad header: {exc}"), f"bad header: {exc}"
        recommended = context.get("recommendations")
        if recommended is not None and hasattr(recommended, "served_ids"):
            meta["recommended"] = list(recommended.served_ids)
        sent = item(
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            unsubscribe_url=rendered.unsubscribe_url,
            meta=meta,
        )
        return sent, "enqueued"
