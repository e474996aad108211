"""From a journey's send step to an outbox row: who, with what data, rendered how.

This is the glue between journeys (who gets what, when), content (how it looks) and delivery
(the outbox). It runs inside the journey transition's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from pertinent.clock import Clock
from pertinent.content.render import Renderer
from pertinent.delivery.outbox import OutboxItem
from pertinent.errors import TemplateError
from pertinent.journeys.model import SendStep
from pertinent.journeys.runtime import Instance
from pertinent.profiles.computed import with_recency
from pertinent.profiles.state import ProfileState
from pertinent.storage.ports import Transaction

# Extra template context per email (recommendations, experiments ...), computed lazily.
ContextHook = Callable[[ProfileState, Mapping[str, Any]], Mapping[str, Any]]


def profile_context(state: ProfileState, clock: Clock) -> dict[str, Any]:
    """What a template sees as `profile`: traits at the top, computed under `computed`."""
    return {
        **state.traits,
        "id": state.profile_id,
        "computed": with_recency(state.computed, clock.now()),
        "first_seen": state.first_seen.isoformat() if state.first_seen else None,
        "last_seen": state.last_seen.isoformat() if state.last_seen else None,
    }


class Composer:
    def __init__(self, renderer: Renderer, clock: Clock, hooks: list[ContextHook] | None = None):
        self._renderer = renderer
        self._clock = clock
        self._hooks = hooks or []

    def __call__(
        self, tx: Transaction, inst: Instance, step: SendStep, idempotency_key: str
    ) -> tuple[str | None, str]:
        state = tx.profiles.load([inst.profile_id]).get(inst.profile_id)
        if state is None:
            return None, "no profile"
        address = state.traits.get("email")
        if not isinstance(address, str) or "@" not in address:
            return None, "no email address"
        if tx.suppressions.is_suppressed(address):
            return None, "suppressed"
        message_id = uuid.uuid4().hex
        context: dict[str, Any] = {
            "profile": profile_context(state, self._clock),
            "event": inst.trigger,
            "journey": {"key": inst.journey_key, "step": inst.step},
        }
        meta: dict[str, Any] = {"step": inst.step}
        for hook in self._hooks:
            context.update(hook(state, context))
        try:
            rendered = self._renderer.render(
                step.template, context, message_id=message_id, profile_id=inst.profile_id
            )
        except TemplateError as exc:
            return None, f"template error: {exc}"
        recommended = context.get("recommendations")
        if recommended is not None and hasattr(recommended, "served_ids"):
            meta["recommended"] = list(recommended.served_ids)
        item = OutboxItem(
            idempotency_key=idempotency_key,
            message_id=message_id,
            profile_id=inst.profile_id,
            template=step.template,
            to_address=address,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            unsubscribe_url=self._renderer.unsubscribe_url(message_id, inst.profile_id),
            created_at=self._clock.now(),
            journey_key=inst.journey_key,
            meta=meta,
        )
        if not tx.outbox.enqueue(item):
            return None, "already enqueued"
        return message_id, "enqueued"
