"""Phase 4, compose: each send request of the journeys phase becomes an outbox row.

The email is rendered for the person as the fold left them (no reload), with the trigger
event and the extra context hooks give (recommendations ...). What cannot be sent is said:
no address, a suppressed address and a marketing email of a topic the person is not opted in
to are skips; a broken template or an address that is not one is an outbox row marked failed
with its reason, so it is visible and holds nobody up.
Each request's `journey_step` event records the outcome, in its place in the timeline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pertinent.content.context import profile_context
from pertinent.content.render import Renderer
from pertinent.delivery.address import address_problem
from pertinent.delivery.outbox import OutboxItem
from pertinent.errors import TemplateError
from pertinent.events.model import Event
from pertinent.events.system import system_event
from pertinent.privacy.consent import ConsentChange, ConsentPolicy
from pertinent.privacy.settings import ConsentSettings
from pertinent.processor.effects import Effect, EmitEvents, EnqueueEmails
from pertinent.processor.journeys import SendRequest, Timeline
from pertinent.profiles.settings import ProfileSettings
from pertinent.profiles.state import ProfileState

# Extra template context per email (recommendations, experiments ...), computed lazily.
ContextHook = Callable[[ProfileState, Mapping[str, Any]], Mapping[str, Any]]


def recipients(requests: Timeline) -> set[str]:
    """The people the timeline sends to (to look up their consent)."""
    return {entry.instance.profile_id for entry in requests if isinstance(entry, SendRequest)}


def addresses(requests: Timeline, profiles: Mapping[str, ProfileState]) -> set[str]:
    """The email traits of the people the timeline sends to (to look up suppressions)."""
    found: set[str] = set()
    for entry in requests:
        if isinstance(entry, SendRequest):
            state = profiles.get(entry.instance.profile_id)
            value = state.traits.get("email") if state else None
            if isinstance(value, str):
                found.add(value)
    return found


@dataclass
class Composer:
    renderer: Renderer
    secret: str
    hooks: list[ContextHook] = field(default_factory=list)
    consent: ConsentPolicy = field(default_factory=lambda: ConsentPolicy(ConsentSettings()))
    profiles: ProfileSettings = field(default_factory=ProfileSettings)

    def message_id(self, idempotency_key: str) -> str:
        """The email's id, derived from its idempotency key under the workspace secret: the
        same email always has the same id, and nobody can guess another's."""
        return hashlib.blake2b(
            idempotency_key.encode(), key=self.secret.encode()[:64], digest_size=16
        ).hexdigest()

    def compose(
        self,
        timeline: Timeline,
        profiles: Mapping[str, ProfileState],
        suppressed: Collection[str],
        now: datetime,
        consent: Mapping[str, Sequence[ConsentChange]] | None = None,
    ) -> list[Effect]:
        """`consent`: the history of the people the timeline sends to, by person."""
        items: list[OutboxItem] = []
        events: list[Event] = []
        for entry in timeline:
            if isinstance(entry, Event):
                events.append(entry)
                continue
            pid = entry.instance.profile_id
            item, outcome = self._one(
                entry, profiles.get(pid), suppressed, (consent or {}).get(pid, ()), now
            )
            if item is not None:
                items.append(item)
            inst = entry.instance
            events.append(
                system_event(
                    "journey_step",
                    inst.profile_id,
                    {
                        "journey": inst.journey_key,
                        "step": entry.step,
                        "transition": "send",
                        "template": entry.template,
                        "message_id": item.message_id if item else None,
                        "outcome": outcome,
                    },
                    now,
                    cause=f"{inst.key}\x1f{entry.step}\x1fsend",
                )
            )
        return [EnqueueEmails(items), EmitEvents(events)]

    def _one(
        self,
        request: SendRequest,
        state: ProfileState | None,
        suppressed: Collection[str],
        consent: Sequence[ConsentChange],
        now: datetime,
    ) -> tuple[OutboxItem | None, str]:
        if state is None:
            return None, "no profile"
        address = state.traits.get("email")
        if address is None or address == "":
            return None, "no email address"
        inst = request.instance
        message_id = self.message_id(request.idempotency_key)

        def failed(reason: str) -> tuple[OutboxItem, str]:
            return self._item(request, message_id, str(address), now, error=reason), reason

        if (problem := address_problem(address)) is not None:
            return failed(f"bad address: {problem}")
        assert isinstance(address, str)
        if address in suppressed:
            return None, "suppressed"
        try:
            settings = self.renderer.library.get(request.template).settings
        except TemplateError as exc:
            return failed(f"template error: {exc}")
        if settings.category == "marketing" and (
            refusal := self.consent.refusal(settings.topic, consent)
        ):
            return None, refusal
        context: dict[str, Any] = {
            "profile": profile_context(state, now, self.profiles),
            "event": inst.trigger,
            "journey": {"key": inst.journey_key, "step": request.step},
        }
        for hook in self.hooks:
            context.update(hook(state, context))
        try:
            rendered = self.renderer.render(
                request.template, context, message_id=message_id, profile_id=inst.profile_id
            )
        except TemplateError as exc:
            return failed(f"template error: {exc}")
        meta: dict[str, Any] = {"step": request.step}
        if settings.category == "marketing" and settings.topic is not None:
            meta["topic"] = settings.topic  # the sender checks it again; one click leaves it
        recommended = context.get("recommendations")
        if recommended is not None and hasattr(recommended, "served_ids"):
            meta["recommended"] = list(recommended.served_ids)
        item = self._item(
            request,
            message_id,
            address,
            now,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            unsubscribe_url=self.renderer.unsubscribe_url(message_id, inst.profile_id),
            meta=meta,
        )
        return item, "enqueued"

    @staticmethod
    def _item(
        request: SendRequest, message_id: str, address: str, now: datetime, **fields: Any
    ) -> OutboxItem:
        content = {"subject": "", "html": "", "text": "", "unsubscribe_url": "", **fields}
        return OutboxItem(
            idempotency_key=request.idempotency_key,
            message_id=message_id,
            profile_id=request.instance.profile_id,
            template=request.template,
            to_address=address,
            created_at=now,
            journey_key=request.instance.journey_key,
            **content,
        )
